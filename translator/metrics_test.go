package translator_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sctpguard/sctpguard/translator"
)

// TestMetricsClass: every metric of the translator carries the classes it syncs, as the
// chart's translator.classes names them: sctpguard beside AKO, sctpguard-and-ako in its place.
func TestMetricsClass(t *testing.T) {
	for _, tc := range []struct {
		syncAKOClass bool
		want         string
	}{{false, "sctpguard"}, {true, "sctpguard-and-ako"}} {
		o := translator.NewOptions()
		o.SyncAKOClass = tc.syncAKOClass
		reg := prometheus.NewRegistry()
		m, err := translator.NewMetrics(o.MetricsRegisterer(reg))
		if err != nil {
			t.Fatal(err)
		}
		m.ObserveRequest("GET", "pool", 200, time.Millisecond)
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, f := range families {
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "class" && !slices.Contains(got[f.GetName()], l.GetValue()) {
						got[f.GetName()] = append(got[f.GetName()], l.GetValue())
					}
				}
			}
		}
		want := map[string][]string{}
		for _, name := range []string{
			"sctpguard_avi_request_duration_seconds", "sctpguard_avi_requests_total", "sctpguard_translator_connected",
			"sctpguard_translator_dry_run_pending_units", "sctpguard_translator_sync_duration_seconds", "sctpguard_translator_writes_total",
		} {
			want[name] = []string{tc.want}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SyncAKOClass %t: class labels by metric (-want +got):\n%s", tc.syncAKOClass, diff)
		}
	}
}
