package startup

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sctpguard/sctpguard/test/cluster"
)

// shutdownDelay is the replicas' drain delay (a variable, so the test can be shown to fail
// without one: go test -ldflags "-X .../startup.shutdownDelay=0s").
var shutdownDelay = "2s"

// admissionRate is the load a rolling restart must carry without a failed admission.
const admissionRate = 200

// load sends server-side dry-run creations of SCTP Services through the API server at a
// steady rate (open loop: a slow answer does not slow the sender), every one through both
// webhooks; one in four is denied by the validating webhook (Antrea's NodePortLocal
// annotation), the others allowed with the mutating webhook's defaults. An admission fails
// when its answer is anything else: an error, a wrong verdict, defaults missing.
type load struct {
	client            kubernetes.Interface
	sent, ok, failed  atomic.Int64
	mu                sync.Mutex
	samples           []string
	wg                sync.WaitGroup
	started, finished time.Time
}

func (l *load) fail(format string, args ...any) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) < 10 {
		l.samples = append(l.samples, fmt.Sprintf(format, args...))
	}
}

func (l *load) admit(ctx context.Context, i int64) {
	defer l.wg.Done()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("load-%d", i), Namespace: "load"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "amf"},
			Ports: []corev1.ServicePort{{Port: 38412, Protocol: corev1.ProtocolSCTP}}},
	}
	deny := i%4 == 3
	if deny {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Annotations = map[string]string{"nodeportlocal.antrea.io/enabled": "true"}
	}
	got, err := l.client.CoreV1().Services("load").Create(ctx, svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	switch {
	case deny && apierrors.IsForbidden(err) && strings.Contains(err.Error(), `admission webhook "services.validate.sctpguard.io" denied the request: [sctp-npl-annotation]`):
		l.ok.Add(1)
	case deny:
		l.fail("admission %d: want the sctp-npl-annotation denial, got %v", i, err)
	case err != nil:
		l.fail("admission %d: %v", i, err)
	case got.Labels["sctpguard.io/sctp"] != "true" || got.Spec.Ports[0].Name != "sctp-38412":
		l.fail("admission %d: the mutating webhook's defaults are missing: labels %v, port name %q", i, got.Labels, got.Spec.Ports[0].Name)
	default:
		l.ok.Add(1)
	}
}

// run sends admissions at rate per second until ctx ends, then waits for the answers. A
// tick that comes late (a busy machine) sends what is due, so the rate holds on average.
func (l *load) run(ctx context.Context, rate int) {
	l.started = time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			l.finished = time.Now()
			l.wg.Wait()
			return
		case now := <-tick.C:
			due := int64(now.Sub(l.started).Seconds() * float64(rate))
			for l.sent.Load() < due {
				i := l.sent.Add(1)
				l.wg.Add(1)
				go l.admit(context.Background(), i)
			}
		}
	}
}

// TestRollingRestart: two replicas behind a stand-in Service take a rolling restart, as the
// chart's Deployment does it (a new replica ready before an old one stops, maxUnavailable
// 0), while 200 admissions a second go through the API server: not one fails. A stopping
// replica turns not ready, serves on while the endpoints drop it, then finishes what is in
// flight and closes its connections, so the API server reconnects to a ready one.
func TestRollingRestart(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	ep, err := cluster.NewEndpoints(100 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	// The drain delay covers the stand-in's probe period many times over, as the chart's
	// covers the kubelet's probes and the endpoints' propagation.
	args := []string{"--shutdown-delay=" + shutdownDelay}
	start := func() *replica {
		r := startReplica(t, args...)
		if err := r.WaitReady(t.Context()); err != nil {
			t.Fatalf("%v\n--- log ---\n%s", err, r.log.String())
		}
		ep.Add(r.Replica)
		return r
	}
	old := []*replica{start(), start()}
	if err := cl.InstallWebhooks(t.Context(), ep.URL, ep.URL, cl.ServingCA()); err != nil {
		t.Fatal(err)
	}
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = 2*admissionRate, 2*admissionRate
	l := &load{client: kubernetes.NewForConfigOrDie(cfg)}
	ctx, stopLoad := context.WithCancel(t.Context())
	loaded := make(chan struct{})
	go func() { l.run(ctx, admissionRate); close(loaded) }()

	time.Sleep(3 * time.Second)
	var stops []time.Duration
	for _, r := range old {
		start() // the surge replica, ready before the old one goes
		began := time.Now()
		if err := r.Stop(); err != nil {
			t.Errorf("replica stopped with %v", err)
		}
		stops = append(stops, time.Since(began))
		ep.Remove(r.Replica)
	}
	time.Sleep(3 * time.Second)
	stopLoad()
	<-loaded
	elapsed := l.finished.Sub(l.started)
	t.Logf("rolling restart of 2 replicas (stops took %v): %d admissions in %v (%.0f/s offered, %d per second asked), %d answered as expected, %d failed",
		stops, l.sent.Load(), elapsed.Round(time.Millisecond), float64(l.sent.Load())/elapsed.Seconds(), admissionRate, l.ok.Load(), l.failed.Load())
	if l.failed.Load() > 0 || l.ok.Load() != l.sent.Load() {
		t.Errorf("%d of %d admissions failed:\n%s", l.failed.Load(), l.sent.Load(), strings.Join(l.samples, "\n"))
	}
}
