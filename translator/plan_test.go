package translator_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/translator"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// ownService is a LoadBalancer Service of sctpguard's class with its EndpointSlice.
func ownService(name string, ports ...string) string {
	var sp, ep strings.Builder
	for _, p := range ports {
		sp.WriteString("  - {name: p" + p + ", port: " + p + ", protocol: SCTP}\n")
		ep.WriteString("- {name: p" + p + ", port: " + p + ", protocol: SCTP}\n")
	}
	return `apiVersion: v1
kind: Service
metadata: {name: ` + name + `, namespace: telco}
spec:
  type: LoadBalancer
  loadBalancerClass: sctpguard.io/avi-sctp
  ports:
` + sp.String() + `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ` + name + `-1, namespace: telco, labels: {kubernetes.io/service-name: ` + name + `}}
addressType: IPv4
ports:
` + ep.String() + `endpoints:
- addresses: [10.244.1.5]
- addresses: [10.244.2.7]
---
`
}

// TestPlanAgainstController: with objects already on avisim (the Avi Controller's test
// double), some equal to the desired ones, some changed by hand, some orphaned, and AKO's
// own objects beside them, the plan computed against the controller names every object with
// what a sync would do to it, and the fields of every update before and after; computing it
// writes nothing.
func TestPlanAgainstController(t *testing.T) {
	f := newFixture(t)
	// What was synced before: four Services of sctpguard's class.
	before := builderFor(t, ownService("equal", "3868")+ownService("shrunk", "3868", "3869")+ownService("edited", "3868")+ownService("gone", "2905"), "")
	f.sync(units(t, before)...)
	// AKO's own objects for an AKO-class Service: not sctpguard's, never in a plan.
	for _, o := range []struct {
		typ string
		obj map[string]any
	}{
		{"vsvip", map[string]any{"name": "cluster--telco-ako", "vip": []any{map[string]any{"vip_id": "0", "auto_allocate_ip": true}}}},
		{"virtualservice", map[string]any{"name": "cluster--telco-ako", "created_by": "ako-cluster", "vsvip_ref": "/api/vsvip/?name=cluster--telco-ako",
			"services": []any{map[string]any{"port": 3868}}, "service_metadata": `{"namespace_svc_name":["telco/ako"]}`}},
	} {
		if _, err := f.sim.Preload("admin", o.typ, o.obj); err != nil {
			t.Fatal(err)
		}
	}
	// Changed by hand on the controller: traffic off on one virtual service, a server gone
	// from its pool.
	edit := func(typ, name string, change func(avi.Object)) {
		o, err := f.client.GetByName(f.ctx, typ, name, url.Values{"cloud_ref.name": {"Default-Cloud"}})
		if err != nil || o == nil {
			t.Fatalf("read %s %s: %v", typ, name, err)
		}
		change(o)
		if _, err := f.client.Update(f.ctx, typ, o.UUID(), o); err != nil {
			t.Fatal(err)
		}
	}
	edit("virtualservice", "sctpguard.cluster--telco-edited", func(o avi.Object) { o["traffic_enabled"] = false })
	edit("pool", "sctpguard.cluster--telco-edited-SCTP-3868", func(o avi.Object) { o["servers"] = o["servers"].([]any)[:1] })

	// Now: shrunk lost a port, gone is deleted, fresh is new, and an AKO-class Service is
	// left to AKO.
	now := builderFor(t, ownService("equal", "3868")+ownService("shrunk", "3868")+ownService("edited", "3868")+ownService("fresh", "38412")+`apiVersion: v1
kind: Service
metadata: {name: ako, namespace: telco}
spec:
  type: LoadBalancer
  ports: [{name: diameter, port: 3868, protocol: SCTP}]
`, "")
	now.SyncAKOClass = false
	f.sim.ResetJournal()
	plans, err := translator.PlanController(f.ctx, f.client, now, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]avisim.Request(nil), f.sim.Writes()); diff != "" {
		t.Errorf("planning wrote to the controller (-want +got):\n%s", diff)
	}
	var text strings.Builder
	if err := translator.WritePlans(&text, plans); err != nil {
		t.Fatal(err)
	}
	want := `svc/telco/edited: sctpguard.cluster--telco-edited
  ~ update pool sctpguard.cluster--telco-edited-SCTP-3868
      servers: [{"ip":{"addr":"10.244.1.5","type":"V4"},"port":3868,"enabled":true,"external_uuid":"10.244.1.5:3868"}] -> [{"ip":{"addr":"10.244.1.5","type":"V4"},"port":3868,"enabled":true,"external_uuid":"10.244.1.5:3868"},{"ip":{"addr":"10.244.2.7","type":"V4"},"port":3868,"enabled":true,"external_uuid":"10.244.2.7:3868"}]
  = unchanged l4policyset sctpguard.cluster--telco-edited
  = unchanged vsvip sctpguard.cluster--telco-edited
  ~ update virtualservice sctpguard.cluster--telco-edited
      traffic_enabled: false -> true
svc/telco/equal: sctpguard.cluster--telco-equal
  = unchanged pool sctpguard.cluster--telco-equal-SCTP-3868
  = unchanged l4policyset sctpguard.cluster--telco-equal
  = unchanged vsvip sctpguard.cluster--telco-equal
  = unchanged virtualservice sctpguard.cluster--telco-equal
svc/telco/fresh: sctpguard.cluster--telco-fresh
  + create pool sctpguard.cluster--telco-fresh-SCTP-38412
  + create l4policyset sctpguard.cluster--telco-fresh
  + create vsvip sctpguard.cluster--telco-fresh
  + create virtualservice sctpguard.cluster--telco-fresh
svc/telco/gone: sctpguard.cluster--telco-gone
  - delete virtualservice sctpguard.cluster--telco-gone
  - delete vsvip sctpguard.cluster--telco-gone
  - delete l4policyset sctpguard.cluster--telco-gone
  - delete pool sctpguard.cluster--telco-gone-SCTP-2905
svc/telco/shrunk: sctpguard.cluster--telco-shrunk
  = unchanged pool sctpguard.cluster--telco-shrunk-SCTP-3868
  ~ update l4policyset sctpguard.cluster--telco-shrunk
      l4_connection_policy: {"rules":[{"name":"SCTP-3868","index":0,"enable":true,"match":{"port":{"match_criteria":"IS_IN","ports":[3868]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"pool/sctpguard.cluster--telco-shrunk-SCTP-3868"}}},{"name":"SCTP-3869","index":1,"enable":true,"match":{"port":{"match_criteria":"IS_IN","ports":[3869]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"pool/sctpguard.cluster--telco-shrunk-SCTP-3869"}}}]} -> {"rules":[{"name":"SCTP-3868","index":0,"enable":true,"match":{"port":{"match_criteria":"IS_IN","ports":[3868]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"pool/sctpguard.cluster--telco-shrunk-SCTP-3868"}}}]}
  = unchanged vsvip sctpguard.cluster--telco-shrunk
  ~ update virtualservice sctpguard.cluster--telco-shrunk
      services: [{"port":3868,"port_range_end":3868,"enable_ssl":false,"enable_http2":false},{"port":3869,"port_range_end":3869,"enable_ssl":false,"enable_http2":false}] -> [{"port":3868,"port_range_end":3868,"enable_ssl":false,"enable_http2":false}]
  - delete pool sctpguard.cluster--telco-shrunk-SCTP-3869
Plan: 4 to create, 4 to update, 5 to delete, 8 unchanged.
`
	if diff := cmp.Diff(want, text.String()); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	data, err := json.MarshalIndent(plans, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan.json")
	if *update {
		if err := os.WriteFile(golden, append(data, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wantJSON, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantJSON), string(data)+"\n"); diff != "" {
		t.Errorf("plan as JSON (-want +got):\n%s", diff)
	}
}
