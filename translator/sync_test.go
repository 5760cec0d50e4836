package translator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/translator"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// fixture is a translator connected to a fresh avisim, the test double of the Avi
// Controller, over TLS.
type fixture struct {
	t      *testing.T
	ts     *httptest.Server
	sim    *avisim.Server
	client *avi.Client
	syncer *translator.Syncer
	ctx    context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := avisim.New(avisim.Options{})
	ts := sim.StartTLS()
	t.Cleanup(ts.Close)
	c, err := avi.NewClient(avi.Config{
		Host:          ts.URL,
		Credentials:   func() (avi.Credentials, error) { return avi.Credentials{Username: "admin", Password: "admin"}, nil },
		CAData:        avisim.CertPEM(ts),
		RetryInterval: time.Millisecond,
		Timeout:       10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ts: ts, sim: sim, client: c, ctx: context.Background()}
	f.syncer = &translator.Syncer{Client: c, State: translator.NewState(translator.Owner("cluster")), Cluster: "cluster", Cloud: "Default-Cloud", Log: testr.New(t)}
	return f
}

// units builds every unit of a scenario (testdata/scenarios/<name>) or of inline YAML.
func units(t *testing.T, b *translator.Builder) []*translator.Unit {
	t.Helper()
	keys, err := b.Keys()
	if err != nil {
		t.Fatal(err)
	}
	var out []*translator.Unit
	for _, k := range keys {
		u, err := b.Build(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out
}

// builderFor builds from inline manifests with clusterName "cluster" and AKO's defaults.
func builderFor(t *testing.T, manifests string, values string) *translator.Builder {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.yaml"), []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	if values != "" {
		if err := os.WriteFile(filepath.Join(dir, "ako.yaml"), []byte(values), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return loadScenario(t, dir)
}

func (f *fixture) sync(us ...*translator.Unit) []*translator.Outcome {
	f.t.Helper()
	var out []*translator.Outcome
	for _, u := range us {
		o, err := f.syncer.Sync(f.ctx, u)
		if err != nil {
			f.t.Fatalf("sync %s: %v", u.Key, err)
		}
		out = append(out, o)
	}
	return out
}

// calls renders the journal as "METHOD path[?query] status" lines.
func (f *fixture) calls() []string {
	var out []string
	for _, r := range f.sim.Journal() {
		line := r.Method + " " + r.Path
		if r.Query != "" {
			line += "?" + r.Query
		}
		out = append(out, fmt.Sprintf("%s %d", line, r.Status))
	}
	return out
}

func (f *fixture) writes() []string {
	var out []string
	for _, r := range f.sim.Writes() {
		out = append(out, fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status))
	}
	return out
}

// ours returns our objects of a type on the controller by name, as a plain GET renders them.
func (f *fixture) names(typ string) []string {
	var out []string
	for _, o := range f.sim.Objects("admin", typ) {
		out = append(out, o["name"].(string))
	}
	slices.Sort(out)
	return out
}

func readWant(t *testing.T, scenario string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/scenarios", scenario, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var units []struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(data, &units); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, u := range units {
		out = append(out, u.Objects...)
	}
	return out
}

// TestWorkedExampleOnTheWire syncs worked example 1 (avi-translation.md §7) and compares the
// requests the controller received with the spec's POST bodies, in order; then a second
// pass over unchanged inputs sends nothing at all.
func TestWorkedExampleOnTheWire(t *testing.T) {
	f := newFixture(t)
	us := units(t, loadScenario(t, "testdata/scenarios/lb-service"))
	out := f.sync(us...)
	if diff := cmp.Diff([]string{"10.250.250.1"}, out[0].VIPs); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
	if !out[0].Created || out[0].Writes != 4 {
		t.Errorf("outcome %+v, want created with 4 writes", out[0])
	}
	var got []map[string]any
	for _, r := range f.sim.Writes() {
		var body map[string]any
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		got = append(got, map[string]any{"method": r.Method, "path": r.Path, "status": float64(r.Status), "body": body})
	}
	var want []map[string]any
	for _, o := range readWant(t, "lb-service") {
		want = append(want, map[string]any{"method": "POST", "path": "/api/" + o["type"].(string), "status": float64(201), "body": o["body"]})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range f.sim.Journal() {
		if r.Header.Get("X-Avi-Version") != "22.1.3" || r.Header.Get("X-Avi-Tenant") != "admin" {
			t.Errorf("%s %s sent headers %v", r.Method, r.Path, r.Header)
		}
	}

	f.sim.ResetJournal()
	out = f.sync(us...)
	if out[0].Writes != 0 || len(f.calls()) != 0 {
		t.Errorf("second pass: %d writes, calls %v; want none", out[0].Writes, f.calls())
	}

	// A full sync re-reads the owned objects (one list per type) and still writes nothing:
	// the normalized comparison sees through server defaults, #name refs and key order.
	if err := f.syncer.State.Load(f.ctx, f.client, "cluster", "Default-Cloud"); err != nil {
		t.Fatal(err)
	}
	out = f.sync(us...)
	wantCalls := []string{
		"GET /api/virtualservice?cloud_ref.name=Default-Cloud&created_by=sctpguard-cluster&include_name=true&page_size=100 200",
		"GET /api/vsvip?cloud_ref.name=Default-Cloud&include_name=true&name.contains=cluster--&page_size=100 200",
		"GET /api/l4policyset?created_by=sctpguard-cluster&include_name=true&page_size=100 200",
		"GET /api/pool?cloud_ref.name=Default-Cloud&created_by=sctpguard-cluster&include_name=true&page_size=100 200",
	}
	if diff := cmp.Diff(wantCalls, f.calls()); diff != "" {
		t.Errorf("full sync calls (-want +got):\n%s", diff)
	}
	if out[0].Writes != 0 {
		t.Errorf("full sync wrote %d times", out[0].Writes)
	}
}

const serverV1 = `
apiVersion: v1
kind: Service
metadata: {name: server, namespace: default}
spec:
  type: LoadBalancer
  ports:
  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: server-1, namespace: default, labels: {kubernetes.io/service-name: server}}
addressType: IPv4
ports:
- {name: sctp, protocol: SCTP, port: 9090}
- {name: diameter, protocol: SCTP, port: 3868}
endpoints:
- addresses: [10.244.1.5]
- addresses: [10.244.2.7]
`

// poolServers returns the servers of a stored pool as "addr:port enabled".
// object returns an object of the admin tenant from avisim, failing when it is missing.
func (f *fixture) object(typ, name string) map[string]any {
	o, ok := f.sim.Object("admin", typ, name)
	if !ok {
		f.t.Fatalf("%s %s is missing", typ, name)
	}
	return o
}

func (f *fixture) poolServers(name string) []string {
	o := f.object("pool", name)
	var out []string
	servers, _ := o["servers"].([]any)
	for _, s := range servers {
		m := s.(map[string]any)
		ip := m["ip"].(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v %v", ip["addr"], m["port"], m["enabled"]))
	}
	return out
}

func (f *fixture) l4Rules(name string) []string {
	o := f.object("l4policyset", name)
	var out []string
	for _, r := range o["l4_connection_policy"].(map[string]any)["rules"].([]any) {
		m := r.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", m["index"], m["name"]))
	}
	return out
}

func (f *fixture) vsServices(name string) []string {
	o := f.object("virtualservice", name)
	var out []string
	for _, s := range o["services"].([]any) {
		m := s.(map[string]any)
		line := fmt.Sprint(m["port"])
		if p, ok := m["override_network_profile_ref"].(string); ok {
			r, _ := avi.ParseRef(p)
			line += " " + r.UUID
		}
		out = append(out, line)
	}
	np, _ := avi.ParseRef(o["network_profile_ref"].(string))
	return append(out, "profile "+np.UUID)
}

// TestUpdates applies changes to a synced Service and checks both the writes (only the
// objects that changed, in dependency order) and the result on the controller.
func TestUpdates(t *testing.T) {
	f := newFixture(t)
	f.sync(units(t, builderFor(t, serverV1, ""))...)
	if diff := cmp.Diff([]string{"10.244.1.5:9090 true", "10.244.2.7:9090 true"}, f.poolServers("cluster--default-server-SCTP-80")); diff != "" {
		t.Fatalf("servers (-want +got):\n%s", diff)
	}

	t.Run("port added", func(t *testing.T) {
		f.sim.ResetJournal()
		m := strings.Replace(serverV1, "  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}\n",
			"  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}\n  - {name: diameter, port: 3868, protocol: SCTP, targetPort: 3868}\n", 1)
		f.sync(units(t, builderFor(t, m, ""))...)
		want := []string{
			"POST /api/pool 201",
			"PUT /api/l4policyset/" + f.uuid("l4policyset", "cluster--default-server") + " 200",
			"PUT /api/virtualservice/" + f.uuid("virtualservice", "cluster--default-server") + " 200",
		}
		if diff := cmp.Diff(want, f.writes()); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"0 SCTP-80", "1 SCTP-3868"}, f.l4Rules("cluster--default-server")); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"80", "3868", "profile " + f.uuid("networkprofile", "System-SCTP-Proxy")}, f.vsServices("cluster--default-server")); diff != "" {
			t.Errorf("VS services (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"10.244.1.5:3868 true", "10.244.2.7:3868 true"}, f.poolServers("cluster--default-server-SCTP-3868")); diff != "" {
			t.Errorf("servers (-want +got):\n%s", diff)
		}
	})

	t.Run("endpoint gone", func(t *testing.T) {
		f.sim.ResetJournal()
		m := strings.Replace(serverV1, "- addresses: [10.244.2.7]\n", "", 1)
		m = strings.Replace(m, "  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}\n",
			"  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}\n  - {name: diameter, port: 3868, protocol: SCTP, targetPort: 3868}\n", 1)
		f.sync(units(t, builderFor(t, m, ""))...)
		want := []string{
			"PUT /api/pool/" + f.uuid("pool", "cluster--default-server-SCTP-80") + " 200",
			"PUT /api/pool/" + f.uuid("pool", "cluster--default-server-SCTP-3868") + " 200",
		}
		if diff := cmp.Diff(want, f.writes()); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"10.244.1.5:9090 true"}, f.poolServers("cluster--default-server-SCTP-80")); diff != "" {
			t.Errorf("servers (-want +got):\n%s", diff)
		}
	})

	t.Run("protocol changed", func(t *testing.T) {
		// Port 80 becomes TCP beside the SCTP 3868 port: the SCTP-80 pool goes, a TCP-80
		// pool comes, and the VS switches to the TCP proxy with an SCTP override.
		f.sim.ResetJournal()
		m := strings.Replace(serverV1, "  - {name: sctp, port: 80, protocol: SCTP, targetPort: 9090}\n",
			"  - {name: sctp, port: 80, protocol: TCP, targetPort: 9090}\n  - {name: diameter, port: 3868, protocol: SCTP, targetPort: 3868}\n", 1)
		oldPool := f.uuid("pool", "cluster--default-server-SCTP-80")
		f.sync(units(t, builderFor(t, m, ""))...)
		want := []string{
			"POST /api/pool 201", // TCP-80 first: pools are written in unit order
			"PUT /api/pool/" + f.uuid("pool", "cluster--default-server-SCTP-3868") + " 200", // the endpoint is back
			"PUT /api/l4policyset/" + f.uuid("l4policyset", "cluster--default-server") + " 200",
			"PUT /api/virtualservice/" + f.uuid("virtualservice", "cluster--default-server") + " 200",
			"DELETE /api/pool/" + oldPool + " 204",
		}
		if diff := cmp.Diff(want, f.writes()); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"cluster--default-server-SCTP-3868", "cluster--default-server-TCP-80"}, f.names("pool")); diff != "" {
			t.Errorf("pools (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"0 TCP-80", "1 SCTP-3868"}, f.l4Rules("cluster--default-server")); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"80", "3868 " + f.uuid("networkprofile", "System-SCTP-Proxy"), "profile " + f.uuid("networkprofile", "System-TCP-Proxy")}, f.vsServices("cluster--default-server")); diff != "" {
			t.Errorf("VS services (-want +got):\n%s", diff)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		f.sim.ResetJournal()
		key := translator.UnitKey{Kind: translator.KindService, Namespace: "default", Name: "server"}
		want := []string{
			"DELETE /api/virtualservice/" + f.uuid("virtualservice", "cluster--default-server") + " 204",
			"DELETE /api/vsvip/" + f.uuid("vsvip", "cluster--default-server") + " 204",
			"DELETE /api/l4policyset/" + f.uuid("l4policyset", "cluster--default-server") + " 204",
			"DELETE /api/pool/" + f.uuid("pool", "cluster--default-server-SCTP-3868") + " 204",
			"DELETE /api/pool/" + f.uuid("pool", "cluster--default-server-TCP-80") + " 204",
		}
		out, err := f.syncer.Delete(f.ctx, key, "cluster--default-server")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, f.writes()); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		for _, typ := range []string{"virtualservice", "vsvip", "l4policyset", "pool"} {
			if n := f.names(typ); len(n) != 0 {
				t.Errorf("%s left: %v", typ, n)
			}
		}
		if diff := cmp.Diff([]string{"10.250.250.1"}, out.VIPs); diff != "" {
			t.Errorf("VIPs of the deleted unit (-want +got):\n%s", diff)
		}
	})
}

// uuid returns the uuid of a stored object (admin objects included).
func (f *fixture) uuid(typ, name string) string {
	f.t.Helper()
	if o, ok := f.sim.Object("admin", typ, name); ok {
		return o["uuid"].(string)
	}
	f.t.Fatalf("%s %s not found", typ, name)
	return ""
}

// manyServices returns n SCTP LoadBalancer Services, each with one ready endpoint.
func manyServices(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata: {name: svc-%[1]d, namespace: telco}
spec:
  type: LoadBalancer
  ports:
  - {name: sctp, port: 3868, protocol: SCTP, targetPort: 3868}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-%[1]d-1, namespace: telco, labels: {kubernetes.io/service-name: svc-%[1]d}}
addressType: IPv4
ports:
- {name: sctp, protocol: SCTP, port: 3868}
endpoints:
- addresses: [10.244.%[2]d.%[3]d]
`, i, i/250, i%250+1)
	}
	return b.String()
}

// TestConvergeWithMinimumCalls converges N Services from empty: one login, the four lists
// of the state, and exactly four POSTs per Service, nothing else; a resync then makes no
// call at all, and a full sync only the four lists.
func TestConvergeWithMinimumCalls(t *testing.T) {
	const n = 40
	f := newFixture(t)
	if err := f.syncer.State.Load(f.ctx, f.client, "cluster", "Default-Cloud"); err != nil {
		t.Fatal(err)
	}
	us := units(t, builderFor(t, manyServices(n), ""))
	if len(us) != n {
		t.Fatalf("%d units, want %d", len(us), n)
	}
	f.sync(us...)
	var want []string
	want = append(want, "POST /login 200",
		"GET /api/virtualservice?cloud_ref.name=Default-Cloud&created_by=sctpguard-cluster&include_name=true&page_size=100 200",
		"GET /api/vsvip?cloud_ref.name=Default-Cloud&include_name=true&name.contains=cluster--&page_size=100 200",
		"GET /api/l4policyset?created_by=sctpguard-cluster&include_name=true&page_size=100 200",
		"GET /api/pool?cloud_ref.name=Default-Cloud&created_by=sctpguard-cluster&include_name=true&page_size=100 200")
	for range n {
		want = append(want, "POST /api/pool 201", "POST /api/l4policyset 201", "POST /api/vsvip 201", "POST /api/virtualservice 201")
	}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got := len(f.names("virtualservice")); got != n {
		t.Errorf("%d virtual services, want %d", got, n)
	}
	// A full sync lists 4n objects, 100 per page.
	f.steady(us)
}

// steady checks that the units are in sync: a pass over them makes no call at all, and a
// full sync, which reads every owned object back, writes nothing.
func (f *fixture) steady(us []*translator.Unit) {
	f.t.Helper()
	f.sim.ResetJournal()
	f.sync(us...)
	if c := f.calls(); len(c) != 0 {
		f.t.Errorf("resync calls: %v", c)
	}
	if err := f.syncer.State.Load(f.ctx, f.client, "cluster", "Default-Cloud"); err != nil {
		f.t.Fatal(err)
	}
	f.sync(us...)
	if w := f.writes(); len(w) != 0 {
		f.t.Errorf("full sync writes: %v", w)
	}
}

// TestFaultsEndConverged injects the controller's failures and checks that the next passes
// end converged: every desired object exactly once, nothing lost, nothing duplicated.
func TestFaultsEndConverged(t *testing.T) {
	manifests := manyServices(3)
	converged := func(t *testing.T, f *fixture) {
		t.Helper()
		for _, typ := range []string{"virtualservice", "vsvip", "l4policyset"} {
			if diff := cmp.Diff([]string{"cluster--telco-svc-0", "cluster--telco-svc-1", "cluster--telco-svc-2"}, f.names(typ)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", typ, diff)
			}
		}
		if diff := cmp.Diff([]string{"cluster--telco-svc-0-SCTP-3868", "cluster--telco-svc-1-SCTP-3868", "cluster--telco-svc-2-SCTP-3868"}, f.names("pool")); diff != "" {
			t.Errorf("pools (-want +got):\n%s", diff)
		}
		f.sim.ResetJournal()
		f.sync(units(t, builderFor(t, manifests, ""))...)
		if w := f.writes(); len(w) != 0 {
			t.Errorf("not converged: a further pass wrote %v", w)
		}
	}
	// syncUntil retries failed units the way the reconciler would, up to 5 passes.
	syncUntil := func(t *testing.T, f *fixture) []error {
		t.Helper()
		var errs []error
		for range 5 {
			failed := false
			for _, u := range units(t, builderFor(t, manifests, "")) {
				if _, err := f.syncer.Sync(f.ctx, u); err != nil {
					errs = append(errs, err)
					failed = true
				}
			}
			if !failed {
				return errs
			}
		}
		t.Fatalf("still failing after 5 passes: %v", errs)
		return errs
	}

	t.Run("5xx burst", func(t *testing.T) {
		f := newFixture(t)
		// Two 503s are absorbed by the client's three attempts; a 500 fails the unit once.
		f.sim.FailNext(avisim.Match{Method: "POST", Type: "vsvip"}, 2, 503, "")
		f.sim.FailNext(avisim.Match{Method: "POST", Type: "virtualservice"}, 1, 500, `{"error":"record not found"}`)
		errs := syncUntil(t, f)
		if len(errs) != 1 || avi.Classify(errs[0]) != avi.ClassFast {
			t.Errorf("errors %v, want one fast-class 500", errs)
		}
		converged(t, f)
	})

	t.Run("expired sessions", func(t *testing.T) {
		f := newFixture(t)
		f.sync(units(t, builderFor(t, manyServices(1), ""))...)
		f.sim.ExpireSessions()
		if errs := syncUntil(t, f); len(errs) != 0 {
			t.Errorf("errors %v, want none: the client logs in again by itself", errs)
		}
		if got := f.sim.Logins(); got != 2 {
			t.Errorf("%d logins, want 2 (one re-login)", got)
		}
		converged(t, f)
	})

	t.Run("controller down for a while", func(t *testing.T) {
		f := newFixture(t)
		// Every connection is dropped for a while: POSTs whose answer is lost may have
		// landed; the retry gets 409 and adopts them.
		f.sim.DropNext(avisim.Match{Method: "POST"}, 4)
		errs := syncUntil(t, f)
		if len(errs) == 0 || avi.Classify(errs[0]) != avi.ClassSlow {
			t.Errorf("errors %v, want slow-class transport errors", errs)
		}
		converged(t, f)
	})

	t.Run("controller stopped and started again", func(t *testing.T) {
		f := newFixture(t)
		f.sync(units(t, builderFor(t, manyServices(1), ""))...)
		addr := f.ts.Listener.Addr().String()
		f.ts.Close()
		// svc-0 is in sync and needs no call; svc-1 and svc-2 fail to be created.
		var failed []string
		for _, u := range units(t, builderFor(t, manifests, "")) {
			if _, err := f.syncer.Sync(f.ctx, u); err != nil {
				if avi.Classify(err) != avi.ClassSlow {
					t.Errorf("%s: %v, want a slow-class error", u.Key, err)
				}
				failed = append(failed, u.Key.String())
			}
		}
		if diff := cmp.Diff([]string{"svc/telco/svc-1", "svc/telco/svc-2"}, failed); diff != "" {
			t.Errorf("failed units (-want +got):\n%s", diff)
		}
		ts, err := f.sim.ListenTLS(addr)
		if err != nil {
			t.Skipf("cannot listen on %s again to restart the test double: %v", addr, err)
		}
		t.Cleanup(ts.Close)
		if errs := syncUntil(t, f); len(errs) != 0 {
			t.Errorf("errors after the restart: %v", errs)
		}
		converged(t, f)
	})

	t.Run("leftover of ours answers 409", func(t *testing.T) {
		f := newFixture(t)
		// A pool of this unit left by an earlier run that the state does not know.
		pool := readWant(t, "lb-service")[0]["body"].(map[string]any)
		pool["name"] = "cluster--telco-svc-1-SCTP-3868"
		pool["markers"] = []any{
			map[string]any{"key": "clustername", "values": []any{"cluster"}},
			map[string]any{"key": "managed_by", "values": []any{"sctpguard-cluster"}},
			map[string]any{"key": "Namespace", "values": []any{"telco"}},
			map[string]any{"key": "ServiceName", "values": []any{"svc-1"}},
		}
		if _, err := f.sim.Preload("admin", "pool", pool); err != nil {
			t.Fatal(err)
		}
		if errs := syncUntil(t, f); len(errs) != 0 {
			t.Errorf("errors %v, want the leftover adopted", errs)
		}
		converged(t, f)
	})

	t.Run("a same-named virtual service in another cloud of the tenant is not looked at", func(t *testing.T) {
		f := newFixture(t)
		markers := []any{
			map[string]any{"key": "clustername", "values": []any{"cluster"}},
			map[string]any{"key": "managed_by", "values": []any{"sctpguard-cluster"}},
			map[string]any{"key": "Namespace", "values": []any{"telco"}},
			map[string]any{"key": "ServiceName", "values": []any{"svc-1"}},
		}
		if _, err := f.sim.Preload("admin", "cloud", map[string]any{"name": "other-cloud", "vtype": "CLOUD_VCENTER"}); err != nil {
			t.Fatal(err)
		}
		for _, vs := range []map[string]any{
			{"name": "cluster--telco-svc-1", "created_by": "sctpguard-cluster", "markers": markers},
			{"name": "cluster--telco-svc-1", "created_by": "ako-other", "cloud_ref": "/api/cloud/?name=other-cloud"},
		} {
			if _, err := f.sim.Preload("admin", "virtualservice", vs); err != nil {
				t.Fatal(err)
			}
		}
		if errs := syncUntil(t, f); len(errs) != 0 {
			t.Errorf("errors %v, want the leftover of this cloud adopted (AKO looks up with cloud_ref.name)", errs)
		}
		var lookups []string
		for _, c := range f.calls() {
			if strings.HasPrefix(c, "GET /api/virtualservice?") {
				lookups = append(lookups, c)
			}
		}
		want := []string{"GET /api/virtualservice?cloud_ref.name=Default-Cloud&include_name=true&name=cluster--telco-svc-1&page_size=100 200"}
		if diff := cmp.Diff(want, lookups); diff != "" {
			t.Errorf("look-ups (-want +got):\n%s", diff)
		}
	})
}

// TestNothingNotOursIsTouched preloads objects of AKO (created_by ako-cluster) under the
// names sctpguard wants and beside them: the unit reports OwnershipConflict, and neither a
// sync nor a delete writes any of them.
func TestNothingNotOursIsTouched(t *testing.T) {
	f := newFixture(t)
	for _, p := range []map[string]any{
		{"name": "cluster--telco-svc-0-SCTP-3868", "created_by": "ako-cluster"},
		{"name": "cluster--telco-other-TCP-80", "created_by": "ako-cluster",
			"markers": []any{map[string]any{"key": "Namespace", "values": []any{"telco"}}, map[string]any{"key": "ServiceName", "values": []any{"svc-0"}}}},
	} {
		if _, err := f.sim.Preload("admin", "pool", p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.Preload("admin", "vsvip", map[string]any{"name": "cluster--telco-svc-1",
		"vip": []any{map[string]any{"vip_id": "0", "auto_allocate_ip": true}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.syncer.State.Load(f.ctx, f.client, "cluster", "Default-Cloud"); err != nil {
		t.Fatal(err)
	}
	before := map[string][]map[string]any{"pool": f.sim.Objects("admin", "pool"), "vsvip": f.sim.Objects("admin", "vsvip")}
	var reasons []string
	for _, u := range units(t, builderFor(t, manyServices(2), "")) {
		_, err := f.syncer.Sync(f.ctx, u)
		var se *translator.SyncError
		if errors.As(err, &se) {
			reasons = append(reasons, fmt.Sprintf("%s %s %s: %v", u.Key, se.Reason, se.Class, se.Err))
		} else if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"svc/telco/svc-0 OwnershipConflict slow: pool cluster--telco-svc-0-SCTP-3868 already exists and is not sctpguard's (created_by: ako-cluster); it is left alone",
		"svc/telco/svc-1 OwnershipConflict slow: vsvip cluster--telco-svc-1 already exists and is not sctpguard's (created_by: unknown (no created_by)); it is left alone",
	}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	// svc-1's pool and policy set were written before its VsVip failed; deleting both
	// units removes exactly ours.
	for _, name := range []string{"svc-0", "svc-1"} {
		if _, err := f.syncer.Delete(f.ctx, translator.UnitKey{Kind: translator.KindService, Namespace: "telco", Name: name}, "cluster--telco-"+name); err != nil {
			t.Fatal(err)
		}
	}
	for typ, objs := range before {
		if diff := cmp.Diff(objs, f.sim.Objects("admin", typ)); diff != "" {
			t.Errorf("%s changed (-before +after):\n%s", typ, diff)
		}
	}
	if n := f.names("l4policyset"); len(n) != 0 {
		t.Errorf("L4 policy sets left: %v", n)
	}
}

// TestStaleObjectIsReread changes a synced pool behind sctpguard's back: the PUT carries
// the old _last_modified, the controller answers 412, and the syncer re-reads the object
// and puts it again, keeping the field the operator added.
func TestStaleObjectIsReread(t *testing.T) {
	f := newFixture(t)
	f.sync(units(t, builderFor(t, serverV1, ""))...)
	name := "cluster--default-server-SCTP-80"
	// An operator edits the pool on the controller (another session): a PUT that bumps
	// _last_modified and sets a field sctpguard does not manage.
	cur, err := f.client.GetByName(f.ctx, "pool", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur["inline_health_monitor"] = false
	other, err := avi.NewClient(avi.Config{Host: f.ts.URL, CAData: avisim.CertPEM(f.ts),
		Credentials: func() (avi.Credentials, error) { return avi.Credentials{Username: "admin", Password: "admin"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Update(f.ctx, "pool", cur.UUID(), cur); err != nil {
		t.Fatal(err)
	}
	f.sim.ResetJournal()
	m := strings.Replace(serverV1, "- addresses: [10.244.2.7]\n", "", 1)
	f.sync(units(t, builderFor(t, m, ""))...)
	uuid := cur.UUID()
	want := []string{"PUT /api/pool/" + uuid + " 412", "GET /api/pool/" + uuid + "?include_name=true 200", "PUT /api/pool/" + uuid + " 200"}
	if diff := cmp.Diff(want, f.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	o, _ := f.sim.Object("admin", "pool", name)
	if o["inline_health_monitor"] != false {
		t.Errorf("the operator's inline_health_monitor was lost: %v", o["inline_health_monitor"])
	}
	if diff := cmp.Diff([]string{"10.244.1.5:9090 true"}, f.poolServers(name)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
}

// TestSharedVIPFrozenMemberKeepsItsShare syncs a shared-VIP pair, then a third member that
// clashes with the first (shared-vip-port-clash: the newer is frozen): the group stays as
// it is, the frozen member gets nothing, and when the older member that synced first is
// later frozen as well (it changes to clash) its pool and rule stay as they were.
func TestSharedVIPFrozenMemberKeepsItsShare(t *testing.T) {
	f := newFixture(t)
	base := `
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z", annotations: {ako.vmware.com/enable-shared-vip: voice}}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: SCTP, targetPort: 5060}]
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default, creationTimestamp: "2026-01-02T00:00:00Z", annotations: {ako.vmware.com/enable-shared-vip: voice}}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: TCP, targetPort: 5060}]
`
	f.sync(units(t, builderFor(t, base, ""))...)
	if diff := cmp.Diff([]string{"0 SCTP-5060", "1 TCP-5060"}, f.l4Rules("cluster--default-voice")); diff != "" {
		t.Fatalf("rules (-want +got):\n%s", diff)
	}
	// c, newer, claims 5060/SCTP too: frozen; a and b unchanged, nothing written.
	clash := base + `---
apiVersion: v1
kind: Service
metadata: {name: c, namespace: default, creationTimestamp: "2026-01-03T00:00:00Z", annotations: {ako.vmware.com/enable-shared-vip: voice}}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: SCTP, targetPort: 5060}, {name: m3ua, port: 2905, protocol: SCTP, targetPort: 2905}]
`
	f.sim.ResetJournal()
	us := units(t, builderFor(t, clash, ""))
	var frozen []string
	for _, fr := range us[0].Frozen {
		frozen = append(frozen, fr.Object.Name+" "+fr.Rule())
	}
	if diff := cmp.Diff([]string{"c shared-vip-port-clash"}, frozen); diff != "" {
		t.Errorf("frozen (-want +got):\n%s", diff)
	}
	f.sync(us...)
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes with a frozen newcomer: %v", w)
	}
	// b changes its port to clash with a (the older): b is frozen now, and keeps its pool,
	// rule and port exactly as the controller holds them; nothing is written (the shared
	// VS's service_metadata names no member, as AKO's, avi-translation.md §5.6).
	bClash := strings.Replace(base, "ports: [{name: sip, port: 5060, protocol: TCP, targetPort: 5060}]",
		"ports: [{name: sip, port: 5060, protocol: TCP, targetPort: 5060}, {name: sip2, port: 5060, protocol: SCTP, targetPort: 5061}]", 1)
	f.sim.ResetJournal()
	f.sync(units(t, builderFor(t, bClash, ""))...)
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes with a frozen member: %v", w)
	}
	vs, _ := f.sim.Object("admin", "virtualservice", "cluster--default-voice")
	if vs["service_metadata"] != `{}` {
		t.Errorf("service_metadata %v", vs["service_metadata"])
	}
	if diff := cmp.Diff([]string{"5060 " + f.uuid("networkprofile", "System-SCTP-Proxy"), "5060", "profile " + f.uuid("networkprofile", "System-TCP-Proxy")}, f.vsServices("cluster--default-voice")); diff != "" {
		t.Errorf("VS services (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cluster--default-a-voice-SCTP-5060", "cluster--default-b-voice-TCP-5060"}, f.names("pool")); diff != "" {
		t.Errorf("pools (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0 SCTP-5060", "1 TCP-5060"}, f.l4Rules("cluster--default-voice")); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

// TestIPv6OnlyVIPNetwork syncs the ipv6-only-vip-network scenario to a controller whose
// network has only an IPv6 subnet: the VsVip asks for V6_ONLY, as AKO's UpdateV6 does, and
// gets an IPv6 address from that subnet. (Asking for V4_V6 there is refused with "No
// available free IPs", which avisim's own tests show.)
func TestIPv6OnlyVIPNetwork(t *testing.T) {
	f := newFixture(t)
	if _, err := f.sim.Preload("admin", "network", map[string]any{"name": "v6-net", "configured_subnets": []any{
		map[string]any{"prefix": map[string]any{"ip_addr": map[string]any{"addr": "2001:db8:10::", "type": "V6"}, "mask": 64}},
	}}); err != nil {
		t.Fatal(err)
	}
	out := f.sync(units(t, loadScenario(t, "testdata/scenarios/ipv6-only-vip-network"))...)
	if diff := cmp.Diff([]string{"2001:db8:10::1"}, out[0].VIPs); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
}

// TestUnreadableObjectIsReported holds a pool the controller returned in a shape the model
// cannot read (graceful_disable_timeout as a string): the sync fails with that error, as
// SyncFailed without retry, and writes nothing, rather than PUTting it on every pass in
// silence.
func TestUnreadableObjectIsReported(t *testing.T) {
	f := newFixture(t)
	us := units(t, builderFor(t, serverV1, ""))
	f.sync(us...)
	name := "cluster--default-server-SCTP-80"
	pool := f.syncer.State.Get(avi.TypePool, name)
	odd := avi.Object{}
	for k, v := range pool {
		odd[k] = v
	}
	odd["graceful_disable_timeout"] = "one"
	f.syncer.State.Put(avi.TypePool, odd)
	f.sim.ResetJournal()
	_, err := f.syncer.Sync(f.ctx, us[0])
	var se *translator.SyncError
	if !errors.As(err, &se) || se.Reason != translator.ReasonSyncFailed || se.Class != avi.ClassNone ||
		se.Error() != "compare pool "+name+": the object as the controller holds it cannot be read: decode pool: json: cannot unmarshal string into Go struct field Pool.graceful_disable_timeout of type int32" {
		t.Errorf("sync: %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes: %v", w)
	}
}

// TestAKOInputsOnTheWire syncs the scenarios of AKO's inputs (AviInfraSettings, network
// settings, L4Rules) to avisim with the configuration objects they name: the controller
// receives exactly the scenario's bodies, and a second pass, and a full sync that reads
// everything back, write nothing (the server's defaults and by-uuid network refs compare
// equal).
func TestAKOInputsOnTheWire(t *testing.T) {
	f := newFixture(t)
	for _, p := range []struct {
		typ  string
		body map[string]any
	}{
		{"network", map[string]any{"name": "vip-net"}},
		{"network", map[string]any{"name": "gold-vip", "uuid": "dvportgroup-42-cloud-1"}},
		{"network", map[string]any{"name": "gold-nodes"}},
		{"network", map[string]any{"name": "global-nodes", "uuid": "dvportgroup-7-cloud-1"}},
		{"network", map[string]any{"name": "sctp-vip"}},
		{"network", map[string]any{"name": "sctp-nodes"}},
		{"serviceenginegroup", map[string]any{"name": "gold-seg"}},
		{"serviceenginegroup", map[string]any{"name": "silver-seg"}},
		{"serviceenginegroup", map[string]any{"name": "sctp-seg"}},
		{"networkprofile", map[string]any{"name": "sctp-tuned", "profile": map[string]any{"type": "PROTOCOL_TYPE_SCTP_PROXY"}}},
		{"applicationprofile", map[string]any{"name": "telco-l4", "type": "APPLICATION_PROFILE_TYPE_L4"}},
		{"analyticsprofile", map[string]any{"name": "telco-analytics"}},
		{"healthmonitor", map[string]any{"name": "sctp-hb", "type": "HEALTH_MONITOR_SCTP"}},
	} {
		if _, err := f.sim.Preload("admin", p.typ, p.body); err != nil {
			t.Fatalf("preload %s %v: %v", p.typ, p.body["name"], err)
		}
	}
	var us []*translator.Unit
	var want []map[string]any
	for _, sc := range []string{"infrasetting-service", "infrasetting-gateway", "l4rule"} {
		us = append(us, units(t, loadScenario(t, "testdata/scenarios/"+sc))...)
		for _, o := range readWant(t, sc) {
			want = append(want, map[string]any{"path": "/api/" + o["type"].(string), "body": o["body"]})
		}
	}
	f.sim.ResetJournal()
	f.sync(us...)
	var got []map[string]any
	for _, r := range f.sim.Writes() {
		var body map[string]any
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		if r.Method != "POST" || r.Status != 201 {
			t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
		}
		got = append(got, map[string]any{"path": r.Path, "body": body})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	f.steady(us)
}
