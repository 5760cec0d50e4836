package translator_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sctpguard/sctpguard/translator"
)

// pinned is a LoadBalancer Service of a class with a pinned VIP.
func pinned(ns, name, class, vip string) string {
	return `apiVersion: v1
kind: Service
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec:
  type: LoadBalancer
  loadBalancerClass: ` + class + `
  loadBalancerIP: ` + vip + `
  ports: [{name: diameter, port: 3868, protocol: SCTP}]
`
}

// preloadAKO stores the VsVip and virtual service AKO builds for a Service (created_by
// ako-cluster, its service_metadata naming the Service).
func (f *fixture) preloadAKO(name, svc, vip string) {
	f.t.Helper()
	vv := map[string]any{"name": name, "vip": []any{map[string]any{"vip_id": "0", "auto_allocate_ip": true,
		"ip_address": map[string]any{"addr": vip, "type": "V4"}}}}
	if _, err := f.sim.Preload("admin", "vsvip", vv); err != nil {
		f.t.Fatal(err)
	}
	vs := map[string]any{"name": name, "created_by": "ako-cluster", "vsvip_ref": "/api/vsvip/?name=" + name,
		"services": []any{map[string]any{"port": 3868}}, "service_metadata": `{"namespace_svc_name":["` + svc + `"]}`}
	if _, err := f.sim.Preload("admin", "virtualservice", vs); err != nil {
		f.t.Fatal(err)
	}
}

// TestHandOverFromAKO: a Service recreated in sctpguard's class with its pinned VIP waits
// while AKO still holds a virtual service for it, writing nothing (AKO's VsVip holds the
// address), and takes the VIP over once AKO has deleted its objects. An AKO object that only
// shares AKO's name for the unit (a-b/c and a/b-c both give cluster--a-b-c) does not hold it up.
func TestHandOverFromAKO(t *testing.T) {
	f := newFixture(t)
	f.preloadAKO("cluster--telco-diameter", "telco/diameter", "10.250.250.50")
	f.preloadAKO("cluster--a-b-c", "a-b/c", "10.250.250.60")
	b := builderFor(t, pinned("telco", "diameter", "sctpguard.io/avi-sctp", "10.250.250.50")+"---\n"+
		pinned("a", "b-c", "sctpguard.io/avi-sctp", "10.250.250.61"), "")
	b.SyncAKOClass = false
	us := units(t, b)
	if len(us) != 2 || us[0].Key.String() != "svc/a/b-c" || us[1].Key.String() != "svc/telco/diameter" {
		t.Fatalf("units %v", us)
	}
	// The colliding AKO name does not count: a/b-c syncs at once, under its own names.
	f.sync(us[0])
	if got := f.sim.VIP("admin", "sctpguard.cluster--a-b-c"); got != "10.250.250.61" {
		t.Errorf("VIP of sctpguard.cluster--a-b-c: %q", got)
	}
	f.sim.ResetJournal()
	_, err := f.syncer.Sync(f.ctx, us[1])
	var se *translator.SyncError
	if !errors.As(err, &se) {
		t.Fatalf("want a SyncError, got %v", err)
	}
	if diff := cmp.Diff([]string{translator.ReasonHandOverPending,
		"virtualservice cluster--telco-diameter (created_by: ako-cluster) still serves svc/telco/diameter for AKO; sctpguard creates sctpguard.cluster--telco-diameter once AKO has deleted it"},
		[]string{se.Reason, se.Error()}); diff != "" {
		t.Errorf("hand-over (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), f.writes()); diff != "" {
		t.Errorf("writes while AKO holds the Service (-want +got):\n%s", diff)
	}
	// AKO deletes its objects once the Service is no longer of its class.
	for _, typ := range []string{"virtualservice", "vsvip"} {
		if err := f.client.Delete(f.ctx, typ, f.uuid(typ, "cluster--telco-diameter")); err != nil {
			t.Fatal(err)
		}
	}
	f.sim.ResetJournal()
	f.sync(us[1])
	if diff := cmp.Diff([]string{"POST /api/pool 201", "POST /api/l4policyset 201", "POST /api/vsvip 201", "POST /api/virtualservice 201"}, f.writes()); diff != "" {
		t.Errorf("writes after AKO's delete (-want +got):\n%s", diff)
	}
	if got := f.sim.VIP("admin", "sctpguard.cluster--telco-diameter"); got != "10.250.250.50" {
		t.Errorf("pinned VIP after the hand-over: %q", got)
	}
	// AKO's objects for the other Service are untouched.
	if diff := cmp.Diff([]string{"cluster--a-b-c", "sctpguard.cluster--a-b-c", "sctpguard.cluster--telco-diameter"}, f.names("virtualservice")); diff != "" {
		t.Errorf("virtual services (-want +got):\n%s", diff)
	}
}

// TestClassChangeWhereSctpguardSyncsBoth: where sctpguard syncs AKO's class too, a Service
// recreated in sctpguard's class with its pinned VIP hands over in one plan: the objects of
// AKO's class are deleted, virtual service first, before those of sctpguard's class are
// created, so both never hold the VIP at once, and the address stays.
func TestClassChangeWhereSctpguardSyncsBoth(t *testing.T) {
	f := newFixture(t)
	old := builderFor(t, pinned("telco", "diameter", "ako.vmware.com/avi-lb", "10.250.250.50"), "")
	f.sync(units(t, old)...)
	now := builderFor(t, pinned("telco", "diameter", "sctpguard.io/avi-sctp", "10.250.250.50"), "")
	us := units(t, now)
	f.sim.ResetJournal()
	p, err := f.syncer.Plan(f.ctx, us[0])
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := translator.WritePlans(&text, []*translator.Plan{p}); err != nil {
		t.Fatal(err)
	}
	want := `svc/telco/diameter: sctpguard.cluster--telco-diameter
  - delete virtualservice cluster--telco-diameter
  - delete vsvip cluster--telco-diameter
  - delete l4policyset cluster--telco-diameter
  - delete pool cluster--telco-diameter-SCTP-3868
  + create pool sctpguard.cluster--telco-diameter-SCTP-3868
  + create l4policyset sctpguard.cluster--telco-diameter
  + create vsvip sctpguard.cluster--telco-diameter
  + create virtualservice sctpguard.cluster--telco-diameter
Plan: 4 to create, 0 to update, 4 to delete, 0 unchanged.
`
	if diff := cmp.Diff(want, text.String()); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if _, err := f.syncer.Apply(f.ctx, us[0], p); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, w := range f.writes() {
		methods = append(methods, strings.Fields(w)[0]+" "+strings.Split(strings.Fields(w)[1], "/")[2])
	}
	if diff := cmp.Diff([]string{"DELETE virtualservice", "DELETE vsvip", "DELETE l4policyset", "DELETE pool",
		"POST pool", "POST l4policyset", "POST vsvip", "POST virtualservice"}, methods); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got := f.sim.VIP("admin", "sctpguard.cluster--telco-diameter"); got != "10.250.250.50" {
		t.Errorf("pinned VIP after the class change: %q", got)
	}
	if diff := cmp.Diff([]string{"sctpguard.cluster--telco-diameter"}, f.names("virtualservice")); diff != "" {
		t.Errorf("virtual services (-want +got):\n%s", diff)
	}
}

// TestDeleteLeavesCollidingUnit: names are not injective, so the deletion of a unit out of
// scope (here a/b-c, of AKO's class, left to AKO) leaves the objects that merely share its
// name and belong to another unit (a-b/c, whose sctpguard name is a/b-c's too).
func TestDeleteLeavesCollidingUnit(t *testing.T) {
	f := newFixture(t)
	b := builderFor(t, pinned("a-b", "c", "sctpguard.io/avi-sctp", "10.250.250.70")+"---\n"+pinned("a", "b-c", "ako.vmware.com/avi-lb", "10.250.250.71"), "")
	b.SyncAKOClass = false
	f.sync(units(t, b)...)
	key := translator.UnitKey{Kind: translator.KindService, Namespace: "a", Name: "b-c"}
	p := f.syncer.PlanDelete(key, b.UnitNames(key))
	if diff := cmp.Diff(&translator.Plan{Unit: "svc/a/b-c", Changes: []translator.Change{}}, p, cmpopts.IgnoreUnexported(translator.Change{})); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}
