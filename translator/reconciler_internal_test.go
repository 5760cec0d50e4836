package translator

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// reconcilerFixture is a Reconciler over a fake Kubernetes client (status, Events) and
// avisim (the Avi Controller's test double), connected by the Runner's own connect.
type reconcilerFixture struct {
	t       *testing.T
	sim     *avisim.Server
	kube    client.Client
	events  *events.FakeRecorder
	rec     *Reconciler
	runner  *Runner
	objs    []policy.Object
	context policy.Context
}

func lbService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{
			{Name: "sctp-80", Port: 80, Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromInt32(9090)},
		}},
	}
}

func newReconcilerFixture(t *testing.T, objs ...client.Object) *reconcilerFixture {
	t.Helper()
	sim := avisim.New(avisim.Options{})
	ts := sim.StartTLS()
	t.Cleanup(ts.Close)
	kube := fake.NewClientBuilder().WithScheme(policy.Scheme()).WithObjects(objs...).WithStatusSubresource(&corev1.Service{}).Build()
	f := &reconcilerFixture{t: t, sim: sim, kube: kube, events: events.NewFakeRecorder(100)}
	for _, o := range objs {
		f.objs = append(f.objs, o.(policy.Object))
	}
	settings, err := policy.ParseAKOValues([]byte("AKOSettings:\n  clusterName: cluster\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.context = settings
	engine, err := policy.NewEngine(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.rec = &Reconciler{
		Kube: kube, Engine: engine, Context: func() policy.Context { return f.context },
		Events: f.events, Log: testr.New(t), SlowRetry: 90 * time.Second,
	}
	f.setSource()
	trigger := make(chan event.TypedGenericEvent[UnitKey], 100)
	f.runner = &Runner{
		Reconciler: f.rec, Trigger: trigger, Log: testr.New(t),
		NewController: func(policy.Context) (Controller, error) {
			return avi.NewClient(avi.Config{Host: ts.URL, CAData: avisim.CertPEM(ts), RetryInterval: time.Millisecond,
				Credentials: func() (avi.Credentials, error) { return avi.Credentials{Username: "admin", Password: "admin"}, nil }})
		},
	}
	return f
}

// setSource makes the builder read the fixture's objects.
func (f *reconcilerFixture) setSource() { f.rec.Source = NewMemorySource(f.objs...) }

func (f *reconcilerFixture) connect() {
	f.t.Helper()
	ctrl, err := f.runner.newController(f.context)
	if err != nil {
		f.t.Fatal(err)
	}
	conn, err := f.runner.connect(context.Background(), ctrl, f.context)
	if conn == nil {
		f.t.Fatalf("connect: %v", err)
	}
	f.rec.conn.Store(conn)
}

func (f *reconcilerFixture) reconcile(key UnitKey) reconcile.Result {
	f.t.Helper()
	res, err := f.rec.Reconcile(context.Background(), key)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *reconcilerFixture) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-f.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *reconcilerFixture) writes() []string {
	var out []string
	for _, r := range f.sim.Writes() {
		out = append(out, r.Method+" "+strings.SplitN(r.Path, "/", 4)[2])
	}
	return out
}

var keyServer = UnitKey{Kind: KindService, Namespace: "default", Name: "server"}

// TestReconcileSyncStatusAndGarbage: a Service is synced, gets the VIP in its status and a
// Synced Event; when it is gone (deleted while the translator was down, found at full sync)
// its objects are deleted.
func TestReconcileSyncStatusAndGarbage(t *testing.T) {
	f := newReconcilerFixture(t, lbService("server"))
	if res := f.reconcile(keyServer); res != (reconcile.Result{}) {
		t.Errorf("reconcile before connecting: %+v", res)
	}
	if w := f.writes(); len(w) != 0 {
		t.Fatalf("writes before the gate ran: %v", w)
	}
	f.connect()
	if res := f.reconcile(keyServer); res != (reconcile.Result{}) {
		t.Errorf("result %+v", res)
	}
	if diff := cmp.Diff([]string{"POST pool", "POST l4policyset", "POST vsvip", "POST virtualservice"}, f.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	var svc corev1.Service
	if err := f.kube.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "server"}, &svc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]corev1.LoadBalancerIngress{{IP: "10.250.250.1"}}, svc.Status.LoadBalancer.Ingress); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Normal Synced Added virtualservice cluster--default-server for default/server"}, f.drainEvents()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// The translator restarts after the Service was deleted: the state lists the unit, the
	// full sync enqueues it, and its reconcile deletes everything it owns.
	if err := f.kube.Delete(context.Background(), &svc); err != nil {
		t.Fatal(err)
	}
	f.objs = nil
	f.setSource()
	f.connect()
	units := f.rec.conn.Load().syncer.State.Units()
	if diff := cmp.Diff([]UnitKey{keyServer}, units); diff != "" {
		t.Errorf("units in the state (-want +got):\n%s", diff)
	}
	f.sim.ResetJournal()
	f.reconcile(keyServer)
	if diff := cmp.Diff([]string{"DELETE virtualservice", "DELETE vsvip", "DELETE l4policyset", "DELETE pool"}, f.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

// TestReconcileFrozenAndGate: under NodePortLocal the synced unit is frozen (a Warning Event
// named after the rule, nothing written); on a controller older than 22.1.3, or without
// the Enterprise licence, nothing is written either, and the objects say why.
func TestReconcileFrozenAndGate(t *testing.T) {
	f := newReconcilerFixture(t, lbService("server"))
	f.connect()
	f.reconcile(keyServer)
	f.drainEvents()

	f.sim.ResetJournal()
	f.context.AKO.ServiceType = policy.ServiceTypeNodePortLocal
	f.reconcile(keyServer)
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes while frozen: %v", w)
	}
	want := "Warning sctp-nodeportlocal port 80/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
		"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
		"Run AKO in ClusterIP or NodePort mode for SCTP workloads, or expose this port over TCP or UDP; existing Avi objects left unchanged"
	if diff := cmp.Diff([]string{want}, f.drainEvents()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, ok := f.sim.Object("admin", "virtualservice", "cluster--default-server"); !ok {
		t.Error("the frozen unit's virtual service was deleted")
	}
	f.context.AKO.ServiceType = policy.ServiceTypeClusterIP

	for _, tt := range []struct {
		name    string
		setup   func()
		wantErr string
		events  []string
	}{
		{
			name:    "controller older than 22.1.3",
			setup:   func() { _ = f.sim.SetVersion("22.1.2") },
			wantErr: "Avi Controller 22.1.2 does not support SCTP; 22.1.3 or later is required",
			events: []string{"Warning sctp-controller-version port 80/SCTP: Avi Controller 22.1.2 has no SCTP profiles (System-SCTP-Proxy, System-SCTP need 22.1.3 or newer), " +
				"so creating the virtual service would fail; upgrade the controller or expose this port over TCP or UDP; existing Avi objects left unchanged"},
		},
		{
			name:    "Essentials licence",
			setup:   func() { f.sim.SetLicense("ESSENTIALS") },
			wantErr: "the Avi Controller's licence tier ESSENTIALS does not include SCTP (the SCTP network profile, the SCTP health monitor and L4 protocol matching need ENTERPRISE)",
			events: []string{"Warning ControllerUnsupported the Avi Controller's licence tier ESSENTIALS does not include SCTP " +
				"(the SCTP network profile, the SCTP health monitor and L4 protocol matching need ENTERPRISE)"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_ = f.sim.SetVersion("22.1.3")
			f.sim.SetLicense("ENTERPRISE")
			tt.setup()
			ctrl, err := f.runner.newController(f.context)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := f.runner.connect(context.Background(), ctrl, f.context)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("connect: %v, want %q", err, tt.wantErr)
			}
			f.rec.conn.Store(conn)
			f.sim.ResetJournal()
			// A unit whose Service was deleted would be deleted, were anything written.
			f.objs = nil
			f.setSource()
			f.reconcile(keyServer)
			f.objs = []policy.Object{lbService("server")}
			f.setSource()
			f.reconcile(keyServer)
			if w := f.writes(); len(w) != 0 {
				t.Errorf("writes while the gate fails: %v", w)
			}
			if diff := cmp.Diff(tt.events, f.drainEvents()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReconcileRetryClasses: a 500 is retried fast with doubling backoff, an ownership
// conflict slowly, and a validation error not at all.
func TestReconcileRetryClasses(t *testing.T) {
	f := newReconcilerFixture(t, lbService("server"), lbService("taken"), lbService("invalid"))
	if _, err := f.sim.Preload("admin", "vsvip", map[string]any{"name": "cluster--default-taken",
		"vip": []any{map[string]any{"vip_id": "0", "auto_allocate_ip": true}}}); err != nil {
		t.Fatal(err)
	}
	f.connect()
	f.sim.FailNext(avisim.Match{Method: "POST", Type: "virtualservice"}, 3, 500, `{"error":"record not found"}`)
	var got []string
	for range 4 {
		got = append(got, f.reconcile(keyServer).RequeueAfter.String())
	}
	if diff := cmp.Diff([]string{"1s", "2s", "4s", "0s"}, got); diff != "" {
		t.Errorf("fast retries (-want +got):\n%s", diff)
	}
	if res := f.reconcile(UnitKey{Kind: KindService, Namespace: "default", Name: "taken"}); res.RequeueAfter != 90*time.Second {
		t.Errorf("ownership conflict: %+v, want a slow retry", res)
	}
	f.sim.FailNext(avisim.Match{Method: "POST", Type: "pool"}, 1, 400, `{"error":"servers[0].port: 70000 is out of range [1, 65535]"}`)
	if res := f.reconcile(UnitKey{Kind: KindService, Namespace: "default", Name: "invalid"}); res != (reconcile.Result{}) {
		t.Errorf("validation error: %+v, want no retry", res)
	}
	var reasons []string
	for _, e := range f.drainEvents() {
		reasons = append(reasons, strings.Join(strings.Fields(e)[:2], " "))
	}
	slices.Sort(reasons)
	// server: Synced once created, SyncFailed from its third fast failure; taken: the
	// conflict; invalid: the validation error.
	want := []string{"Normal Synced", "Warning OwnershipConflict", "Warning SyncFailed", "Warning SyncFailed"}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("event reasons (-want +got):\n%s", diff)
	}
}

// TestReconcileFreezeExact: a synced Service that joins a shared VIP where an older member
// has its port (written past the webhook) is frozen: its own virtual service is kept, not
// deleted, and neither its status nor the group's gives it the VIP, since the port goes to
// the older member's pool; the older member gets the VIP.
func TestReconcileFreezeExact(t *testing.T) {
	f := newReconcilerFixture(t, lbService("server"))
	f.connect()
	f.reconcile(keyServer)
	f.drainEvents()
	ingressOf := func(name string) []corev1.LoadBalancerIngress {
		t.Helper()
		var svc corev1.Service
		if err := f.kube.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &svc); err != nil {
			t.Fatal(err)
		}
		return svc.Status.LoadBalancer.Ingress
	}
	if diff := cmp.Diff([]corev1.LoadBalancerIngress{{IP: "10.250.250.1"}}, ingressOf("server")); diff != "" {
		t.Fatalf("ingress (-want +got):\n%s", diff)
	}

	older := lbService("a")
	older.CreationTimestamp = metav1.NewTime(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))
	older.Annotations = map[string]string{policy.AnnotationSharedVIP: "voice"}
	if err := f.kube.Create(context.Background(), older); err != nil {
		t.Fatal(err)
	}
	joined := lbService("server")
	joined.Annotations = map[string]string{policy.AnnotationSharedVIP: "voice"}
	f.objs = []policy.Object{older, joined}
	f.setSource()
	f.sim.ResetJournal()
	f.reconcile(keyServer)
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes for the frozen Service's own unit: %v", w)
	}
	if _, ok := f.sim.Object("admin", "virtualservice", "cluster--default-server"); !ok {
		t.Error("the frozen Service's virtual service was deleted")
	}
	if got := ingressOf("server"); len(got) != 0 {
		t.Errorf("a frozen Service shows the VIP %v", got)
	}
	clash := "Warning shared-vip-port-clash port 80/SCTP is also exposed by Service default/a, which shares the VIP \"voice\": AKO gives both to one virtual service " +
		"and one pool silently wins; use another port, or another ako.vmware.com/enable-shared-vip key; existing Avi objects left unchanged"
	if diff := cmp.Diff([]string{clash}, f.drainEvents()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	f.reconcile(UnitKey{Kind: KindSharedVIP, Namespace: "default", Name: "voice"})
	if got := ingressOf("server"); len(got) != 0 {
		t.Errorf("the frozen member shows the group's VIP %v", got)
	}
	if diff := cmp.Diff([]corev1.LoadBalancerIngress{{IP: "10.250.250.2"}}, ingressOf("a")); diff != "" {
		t.Errorf("the older member's ingress (-want +got):\n%s", diff)
	}
}

// TestReconcileCloudFacts: what the runner reads of AKO's cloud at connect shapes the
// objects as in AKO: in ClusterIP mode without vrfName every object takes the VRF of the
// first VIP network (checkAndSetVRFFromNetwork), and on a public cloud the SCTP Service is
// frozen (ako-input-unsupported), nothing written.
func TestReconcileCloudFacts(t *testing.T) {
	f := newReconcilerFixture(t, lbService("server"))
	settings, err := policy.ParseAKOValues([]byte("AKOSettings:\n  clusterName: cluster\nNetworkSettings:\n  vipNetworkList: [{networkName: vip-net}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.context = settings
	if _, err := f.sim.Preload("admin", "vrfcontext", map[string]any{"name": "vrf-blue"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.Preload("admin", "network", map[string]any{"name": "vip-net", "vrf_context_ref": "/api/vrfcontext/?name=vrf-blue"}); err != nil {
		t.Fatal(err)
	}
	f.connect()
	if diff := cmp.Diff(&policy.AviCloud{Type: "CLOUD_NONE", NetworkVRF: "vrf-blue"}, f.rec.conn.Load().cloud); diff != "" {
		t.Errorf("cloud (-want +got):\n%s", diff)
	}
	f.reconcile(keyServer)
	vrf := map[string]string{}
	for typ, field := range map[string]string{"virtualservice": "vrf_context_ref", "vsvip": "vrf_context_ref", "pool": "vrf_ref"} {
		for _, o := range f.sim.Objects("admin", typ) {
			ref, _ := o[field].(string)
			r, err := avi.ParseRef(ref)
			if err != nil {
				t.Fatalf("%s %s: %v", typ, field, err)
			}
			// Objects renders refs without names: look the uuid up.
			for _, v := range f.sim.Objects("admin", "vrfcontext") {
				if v["uuid"] == r.UUID {
					vrf[typ] = v["name"].(string)
				}
			}
		}
	}
	if diff := cmp.Diff(map[string]string{"virtualservice": "vrf-blue", "vsvip": "vrf-blue", "pool": "vrf-blue"}, vrf); diff != "" {
		t.Errorf("VRFs (-want +got):\n%s", diff)
	}

	g := newReconcilerFixture(t, lbService("server"))
	if _, err := g.sim.Preload("admin", "cloud", map[string]any{"name": "aws", "vtype": "CLOUD_AWS"}); err != nil {
		t.Fatal(err)
	}
	aws, err := policy.ParseAKOValues([]byte("AKOSettings:\n  clusterName: cluster\nControllerSettings:\n  cloudName: aws\n"))
	if err != nil {
		t.Fatal(err)
	}
	g.context = aws
	g.connect()
	g.sim.ResetJournal()
	g.reconcile(keyServer)
	if w := g.writes(); len(w) != 0 {
		t.Errorf("writes on a public cloud: %v", w)
	}
	want := []string{"Warning ako-input-unsupported the cloud's type CLOUD_AWS (AKO builds VsVips and pools differently on public and NSX-T clouds) " +
		"shapes this virtual service, and sctpguard does not translate it, so it does not sync the object; change it, or demote " +
		"ako-input-unsupported to warn to sync without it; existing Avi objects left unchanged"}
	if diff := cmp.Diff(want, g.drainEvents()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
