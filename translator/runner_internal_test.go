package translator

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// runnerObjects returns n SCTP LoadBalancer Services, each with one ready endpoint.
func runnerObjects(n int) []policy.Object {
	var out []policy.Object
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		out = append(out, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "telco"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{
				{Name: "m3ua", Port: 2905, Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromInt32(2905)},
			}},
		}, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: "telco", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("m3ua"), Protocol: ptr.To(corev1.ProtocolSCTP), Port: ptr.To(int32(2905))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.244.%d.%d", i/256, i%256)}}},
		})
	}
	return out
}

// newTestRunner returns a runner over a Reconciler that reads objs, talking to the controller
// at host; trigger is its queue, which nothing reads unless the test does.
func newTestRunner(t *testing.T, host string, ca []byte, objs []policy.Object, trigger chan event.TypedGenericEvent[UnitKey]) *Runner {
	t.Helper()
	var kubeObjs []client.Object
	for _, o := range objs {
		if svc, ok := o.(*corev1.Service); ok {
			kubeObjs = append(kubeObjs, svc)
		}
	}
	kube := fake.NewClientBuilder().WithScheme(policy.Scheme()).WithObjects(kubeObjs...).WithStatusSubresource(&corev1.Service{}).Build()
	settings, err := policy.ParseAKOValues([]byte("AKOSettings:\n  clusterName: cluster\n"))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Reconciler{
		Kube: kube, Source: NewMemorySource(objs...), Engine: engine, Context: func() policy.Context { return settings },
		Events: events.NewFakeRecorder(10000), Log: testr.NewWithOptions(t, testr.Options{Verbosity: 0}), SlowRetry: DefaultSlowRetry,
	}
	return &Runner{
		Reconciler: rec, Trigger: trigger, Log: testr.NewWithOptions(t, testr.Options{Verbosity: 0}),
		NewController: func(policy.Context) (Controller, error) {
			return avi.NewClient(avi.Config{Host: host, CAData: ca,
				Credentials: func() (avi.Credentials, error) { return avi.Credentials{Username: "admin", Password: "admin"}, nil }})
		},
	}
}

// TestRunnerDaySessions runs the runner for 25 hours of a fake clock against avisim: two hours
// of a failing gate (an Essentials licence, retried every 90 s), then full syncs every 30
// minutes, with a reconcile of every unit it enqueues. One session serves it all, kept alive
// between passes, until the controller's 24-hour limit ends it: two logins in all, at the
// start and after 24 hours. At shutdown the session is logged out, and none is left open.
func TestRunnerDaySessions(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	sim := avisim.New(avisim.Options{Clock: clk.Now, License: "ESSENTIALS"})
	ts := sim.StartTLS()
	t.Cleanup(ts.Close)
	trigger := make(chan event.TypedGenericEvent[UnitKey], 1024)
	r := newTestRunner(t, ts.URL, avisim.CertPEM(ts), runnerObjects(3), trigger)
	r.Clock, r.PollInterval = clk, time.Minute
	var waits atomic.Int64
	r.idle = func() { waits.Add(1) }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()

	// settle waits until the runner waits again after n waits, and stays waiting, then
	// reconciles what it enqueued, as the controller's workers would.
	reconciled := 0
	settle := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for waits.Load() <= n {
			if time.Now().After(deadline) {
				t.Fatalf("the runner did not wait again at %s", clk.Now().Sub(start))
			}
			time.Sleep(100 * time.Microsecond)
		}
		for last := int64(-1); last != waits.Load(); {
			last = waits.Load()
			time.Sleep(2 * time.Millisecond)
		}
		for len(trigger) > 0 {
			e := <-trigger
			if _, err := r.Reconciler.Reconcile(ctx, e.Object); err != nil {
				t.Fatal(err)
			}
			reconciled++
		}
	}
	settle(0)
	loginAt := func() []string {
		var out []string
		for _, req := range sim.Journal() {
			if req.Path == "/login" {
				out = append(out, fmt.Sprint(clk.Now().Sub(start).Truncate(time.Hour)))
			}
		}
		return out
	}
	var logins []string
	for clk.Now().Sub(start) < 25*time.Hour {
		if clk.Now().Sub(start) == 2*time.Hour {
			sim.SetLicense("ENTERPRISE")
		}
		before := sim.Logins()
		n := waits.Load()
		clk.Step(time.Minute)
		settle(n)
		if sim.Logins() > before {
			logins = append(logins, loginAt()[len(loginAt())-1])
		}
		if open := sim.Sessions(); open > 1 {
			t.Fatalf("%d sessions open at %s", open, clk.Now().Sub(start))
		}
	}
	cancel()
	waitReturn(t, done, 5*time.Second)

	if got := sim.Logins(); got > 2 {
		t.Errorf("%d logins in 25 hours, want at most 2", got)
	}
	if diff := cmp.Diff([]string{"24h0m0s"}, logins); diff != "" {
		t.Errorf("logins after the first (-want +got):\n%s", diff)
	}
	if open := sim.Sessions(); open != 0 {
		t.Errorf("%d sessions open after shutdown", open)
	}
	// It did the work: gate retries for two hours, then full syncs (four lists each) and the
	// units synced once.
	var gateReads, fullSyncs int
	for _, req := range sim.Journal() {
		switch {
		case req.Path == "/api/systemconfiguration":
			gateReads++
		case req.Path == "/api/virtualservice" && strings.Contains(req.Query, "created_by="):
			fullSyncs++
		}
	}
	if fullSyncs < 45 || gateReads < 80 {
		t.Errorf("%d full syncs and %d licence reads in 25 hours", fullSyncs, gateReads)
	}
	if names := len(sim.Objects("admin", "virtualservice")); names != 3 {
		t.Errorf("%d virtual services, want 3", names)
	}
	last := sim.Journal()[len(sim.Journal())-1]
	if last.Method != "POST" || last.Path != "/logout" || last.Status != 200 {
		t.Errorf("last request %s %s %d, want the logout", last.Method, last.Path, last.Status)
	}
}

// TestRunnerShutdownControllerDown shuts the runner down while 5,000 units wait to be
// enqueued, nobody reads the queue any more, and the controller is down: Start returns
// within 2 seconds, so the Lease is released in time.
func TestRunnerShutdownControllerDown(t *testing.T) {
	objs := runnerObjects(5000)
	for _, tt := range []struct {
		name string
		// up starts a controller that the runner logs in to, and takes it down before the
		// shutdown; otherwise nothing listens at all.
		up bool
	}{{"never reached", false}, {"down after login", true}} {
		t.Run(tt.name, func(t *testing.T) {
			host, ca := "", []byte(nil)
			var sim *avisim.Server
			var stop func()
			if tt.up {
				sim = avisim.New(avisim.Options{})
				ts := sim.StartTLS()
				host, ca, stop = ts.URL, avisim.CertPEM(ts), ts.Close
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				host = "https://" + l.Addr().String()
				_ = l.Close()
			}
			trigger := make(chan event.TypedGenericEvent[UnitKey], 1024)
			r := newTestRunner(t, host, ca, objs, trigger)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- r.Start(ctx) }()
			deadline := time.Now().Add(30 * time.Second)
			for len(trigger) < cap(trigger) {
				if time.Now().After(deadline) {
					t.Fatalf("the queue did not fill: %d", len(trigger))
				}
				time.Sleep(time.Millisecond)
			}
			if stop != nil {
				stop()
			}
			begin := time.Now()
			cancel()
			waitReturn(t, done, 2*time.Second)
			t.Logf("Start returned %s after the shutdown", time.Since(begin))
			if sim != nil && sim.Logins() != 1 {
				t.Errorf("%d logins", sim.Logins())
			}
		})
	}
}

// waitReturn waits up to d for Start to return, without an error.
func waitReturn(t *testing.T, done <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		t.Fatalf("Start did not return within %s of the shutdown", d)
	}
}
