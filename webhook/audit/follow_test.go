package audit

import (
	"testing"

	"github.com/sctpguard/sctpguard/policy"
)

// TestStale: follow queues a full pass when the last one, with none queued after it, judged
// with other settings or policies than those in force, as when AKO's mode is switched and
// switched back between two of its polls while that pass ran.
func TestStale(t *testing.T) {
	clusterIP := policy.Context{AKO: &policy.AKOSettings{ServiceType: "ClusterIP"}}
	npl := policy.Context{AKO: &policy.AKOSettings{ServiceType: "NodePortLocal"}}
	engine, other := &policy.Engine{}, &policy.Engine{}
	var a Auditor
	if a.stale(clusterIP, engine) {
		t.Error("stale before any pass")
	}
	a.queued.Add(1) // follow queued a pass under ClusterIP; AKO went NodePortLocal before it ran
	a.judged.Store(&judgedWith{queued: a.queued.Load(), settings: npl, engine: engine})
	for _, tc := range []struct {
		name     string
		settings policy.Context
		engine   Policy
		want     bool
	}{
		{"back to ClusterIP after the pass judged NodePortLocal", clusterIP, engine, true},
		{"NodePortLocal still", npl, engine, false},
		{"the policies changed", npl, other, true},
	} {
		if got := a.stale(tc.settings, tc.engine); got != tc.want {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.want)
		}
	}
	a.queued.Add(1) // a later pass is queued: it will judge with what is in force then
	if a.stale(clusterIP, engine) {
		t.Error("stale with a pass queued after the last one")
	}
}
