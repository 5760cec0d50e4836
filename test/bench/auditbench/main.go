// Command auditbench measures the continuous audit (webhook/audit) on the test control plane
// (real kube-apiserver and etcd), over N SCTP LoadBalancer Services and G AKO Gateways, each
// Gateway with one of the Services as its backend, in NS namespaces, under AKO's
// NodePortLocal mode (every object violates sctp-nodeportlocal: the heaviest reports):
//
//   - first full pass: from the audit's start (its caches' list and watch included) to every
//     report written: time, peak heap, API requests, beside the baseline of a plain list of
//     the same objects by a bare client in the same run;
//   - steady state: one Service's port changed (every fourth a Gateway's backend, which
//     re-judges the Gateway and its other backends too), repeated: evaluations
//     and API requests per change (goal: the object and its related ones, one report write),
//     time until the report is written (its debounce included), beside one admission
//     review of the same Service by the engine over the same cache;
//   - a settings change: one full pass, every report deleted.
//
// It needs KUBEBUILDER_ASSETS (make bench sets it) and runs from the repository root (the
// chart's CRDs):
//
//	go run ./test/bench/auditbench -services 10000 -gateways 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/webhook"
	"github.com/sctpguard/sctpguard/webhook/audit"
)

func main() {
	services := flag.Int("services", 10000, "SCTP Services (the Gateways' backends among them)")
	gateways := flag.Int("gateways", 1000, "AKO networking.x-k8s.io Gateways, each with one backend Service")
	namespaces := flag.Int("namespaces", 20, "namespaces the objects are spread over (a report each, split above audit.DefaultMaxResults results)")
	changes := flag.Int("changes", 40, "single-Service changes timed for the steady state")
	flag.Parse()
	if err := run(*services, *gateways, *namespaces, *changes); err != nil {
		fmt.Fprintf(os.Stderr, "auditbench: %v\n", err)
		os.Exit(1)
	}
}

// counter counts the API requests made through the configs it wraps.
type counter struct{ n atomic.Int64 }

type roundTripper struct {
	c    *counter
	next http.RoundTripper
}

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	r.c.n.Add(1)
	return r.next.RoundTrip(req)
}

func (c *counter) wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 1000, 2000
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return roundTripper{c, rt} })
	return cfg
}

// heap samples the Go heap in use, keeping the peak since the last reset.
type heap struct {
	peak atomic.Uint64
}

func (h *heap) run(ctx context.Context) {
	var m runtime.MemStats
	for ctx.Err() == nil {
		runtime.ReadMemStats(&m)
		for p := h.peak.Load(); m.HeapAlloc > p && !h.peak.CompareAndSwap(p, m.HeapAlloc); p = h.peak.Load() {
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reset collects garbage and returns the heap in use, the base of the next peak.
func (h *heap) reset() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak.Store(m.HeapAlloc)
	return m.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func run(nServices, nGateways, nNamespaces, nChanges int) error {
	ctrl.SetLogger(logr.Discard())
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run make bench, which builds the test control plane")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A service range for 10,000 ClusterIPs (envtest's default holds 256).
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join("charts", "sctpguard", "crds"), filepath.Join("charts", "sctpguard", "files", "crds")}}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	restConfig, err := env.Start()
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()
	admin, err := client.New(restConfig, client.Options{Scheme: policy.Scheme()})
	if err != nil {
		return err
	}
	nss := make([]string, nNamespaces)
	for i := range nss {
		nss[i] = fmt.Sprintf("bench-%02d", i)
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nss[i]}}); err != nil {
			return err
		}
	}
	fmt.Printf("auditbench: %d Services and %d Gateways (each with one of the Services as backend) in %d namespaces, AKO in NodePortLocal mode, GOMAXPROCS %d\n",
		nServices, nGateways, nNamespaces, runtime.GOMAXPROCS(0))
	start := time.Now()
	if err := populate(ctx, admin, nss, nServices, nGateways); err != nil {
		return err
	}
	fmt.Printf("created in %s\n", time.Since(start).Round(time.Millisecond))

	var h heap
	go h.run(ctx)

	// Baseline: a plain list of the same objects by a bare client.
	var listed counter
	base := h.reset()
	lc, err := client.New(listed.wrap(restConfig), client.Options{Scheme: policy.Scheme()})
	if err != nil {
		return err
	}
	start = time.Now()
	var svcs corev1.ServiceList
	var gws svcapi.GatewayList
	if err := lc.List(ctx, &svcs); err != nil {
		return err
	}
	if err := lc.List(ctx, &gws); err != nil {
		return err
	}
	listTime, listHeap := time.Since(start), h.peak.Load()-base
	runtime.KeepAlive(&svcs)
	runtime.KeepAlive(&gws)
	fmt.Printf("baseline: plain list of %d Services and %d Gateways: %s, %.1f MiB peak heap, %d API requests\n",
		len(svcs.Items), len(gws.Items), listTime.Round(time.Millisecond), mib(listHeap), listed.n.Load())
	svcs, gws = corev1.ServiceList{}, svcapi.GatewayList{}

	// The audit, as serve runs it: a manager's cache, the webhook's inventory over it.
	var requests counter
	base = h.reset()
	cfg := requests.wrap(restConfig)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: policy.Scheme(), Logger: logr.Discard(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return err
	}
	inv, err := webhook.NewCacheInventory(ctx, mgr, logr.Discard())
	if err != nil {
		return err
	}
	engine, err := policy.NewEngine(policy.Config{})
	if err != nil {
		return err
	}
	reports, err := client.New(cfg, client.Options{HTTPClient: mgr.GetHTTPClient(), Scheme: audit.Scheme()})
	if err != nil {
		return err
	}
	var settings atomic.Pointer[policy.Context]
	npl := policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal, ServicesAPI: true, DefaultLBController: true}}
	settings.Store(&npl)
	metrics, err := audit.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return err
	}
	a := &audit.Auditor{
		Cache: mgr.GetCache(), Mapper: mgr.GetRESTMapper(), Reports: reports, Inventory: inv,
		Policy: func() audit.Policy { return engine }, Settings: func() policy.Context { return *settings.Load() },
		Paused: func() audit.Pause { return audit.Pause{} }, Skip: func(string) bool { return false },
		Metrics: metrics, Resync: time.Hour, Log: logr.Discard(),
	}
	if err := mgr.Add(a); err != nil {
		return err
	}
	start = time.Now()
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "auditbench: manager: %v\n", err)
		}
	}()
	if err := wait(ctx, func() bool { s := a.Stats(); return s.FullPasses >= 1 && s.Applies >= nNamespaces }); err != nil {
		return fmt.Errorf("first full pass: %w (stats %+v)", err, a.Stats())
	}
	first, firstHeap, firstRequests := time.Since(start), h.peak.Load()-base, requests.n.Load()
	st := a.Stats()
	fmt.Printf("first full pass: %s from start (caches' list and watch included; the pass itself %s), %.1f MiB peak heap, %d API requests, %d evaluations, %d reports written\n",
		first.Round(time.Millisecond), st.LastFullPass.Round(time.Millisecond), mib(firstHeap), firstRequests, st.Evaluations, st.Applies)
	fmt.Printf("  ratio to the plain list: time %.1fx, peak heap %.1fx, API requests %.1fx\n",
		first.Seconds()/listTime.Seconds(), float64(firstHeap)/float64(listHeap), float64(firstRequests)/float64(listed.n.Load()))

	// One admission review of a Service, as the webhook judges it (the same engine and cache).
	var svc corev1.Service
	if err := mgr.GetCache().Get(ctx, client.ObjectKey{Namespace: nss[0], Name: "svc-00000"}, &svc); err != nil {
		return err
	}
	penv := policy.Env{Context: npl, Inventory: inv}
	const reviews = 2000
	start = time.Now()
	for range reviews {
		if _, err := audit.Judge(ctx, engine, &svc, penv); err != nil {
			return err
		}
	}
	review := time.Since(start) / reviews
	fmt.Printf("baseline: one review of a Service by the engine over the cache: %s\n", review.Round(time.Microsecond))

	// Steady state: single changes, each waited for until its report is written.
	var latencies []time.Duration
	evals0, req0 := a.Stats().Evaluations, requests.n.Load()
	for i := range nChanges {
		// Every fourth change is a Gateway's backend; the others plain LoadBalancers. The port
		// changes: the finding's message names it, so the report changes.
		n := nGateways + i
		if i%4 == 0 {
			n = i % nGateways
		}
		var s corev1.Service
		if err := admin.Get(ctx, client.ObjectKey{Namespace: nss[n%len(nss)], Name: fmt.Sprintf("svc-%05d", n)}, &s); err != nil {
			return err
		}
		s.Spec.Ports[0].Port++
		applies := a.Stats().Applies
		start := time.Now()
		if err := admin.Update(ctx, &s); err != nil {
			return err
		}
		if err := wait(ctx, func() bool { return a.Stats().Applies > applies }); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		latencies = append(latencies, time.Since(start))
	}
	evals, reqs := a.Stats().Evaluations-evals0, requests.n.Load()-req0
	slices.Sort(latencies)
	fmt.Printf("steady state: %d single-Service changes: %.2f evaluations and %.2f API requests each (full pass: %d evaluations), time to the report written p50 %s p99 %s (debounce %s included)\n",
		nChanges, float64(evals)/float64(nChanges), float64(reqs)/float64(nChanges), st.Evaluations,
		latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)*99/100].Round(time.Millisecond), "500ms")
	fmt.Printf("  ratio: a change costs %.5f of a full pass's evaluations, %.2f reviews' worth of judging\n",
		float64(evals)/float64(nChanges)/float64(st.Evaluations), float64(evals)/float64(nChanges))

	// A settings change: one full pass; every report deleted.
	passes, deletes, applies := a.Stats().FullPasses, a.Stats().Deletes, a.Stats().Applies
	req0 = requests.n.Load()
	clusterIP := policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeClusterIP, ServicesAPI: true, DefaultLBController: true}}
	settings.Store(&clusterIP)
	start = time.Now()
	if err := wait(ctx, func() bool { return a.Stats().FullPasses > passes }); err != nil {
		return fmt.Errorf("settings change: %w (stats %+v)", err, a.Stats())
	}
	st = a.Stats()
	fmt.Printf("settings change (NodePortLocal to ClusterIP): %d full pass, %s (the pass %s, after the 1 s poll and 500 ms debounce), %d API requests: %d reports deleted, %d written\n",
		st.FullPasses-passes, time.Since(start).Round(time.Millisecond), st.LastFullPass.Round(time.Millisecond), requests.n.Load()-req0,
		st.Deletes-deletes, st.Applies-applies)
	return nil
}

// wait polls cond until it holds, for up to 10 minutes.
func wait(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// populate creates the Services and Gateways: Gateway g in namespace g%len(nss) with the
// backend svc-g (ClusterIP, labelled for it); the other Services SCTP LoadBalancers.
func populate(ctx context.Context, c client.Client, nss []string, nServices, nGateways int) error {
	if err := c.Create(ctx, &svcapi.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "avi-lb"}, Spec: svcapi.GatewayClassSpec{Controller: policy.AKOController}}); err != nil {
		return err
	}
	var objs []client.Object
	for g := range nGateways {
		ns, name := nss[g%len(nss)], fmt.Sprintf("gw-%04d", g)
		labels := map[string]string{policy.LabelGatewayName: name, policy.LabelGatewayNamespace: ns}
		objs = append(objs, &svcapi.Gateway{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: svcapi.GatewaySpec{
			GatewayClassName: "avi-lb",
			Listeners: []svcapi.Listener{{Port: 38412, Protocol: "SCTP", Routes: svcapi.RouteBindingSelector{
				Group: ptr.To("v1"), Kind: "services", Selector: &metav1.LabelSelector{MatchLabels: labels}}}},
		}})
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%05d", g), Namespace: ns, Labels: labels},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "ngap", Port: 38412, Protocol: corev1.ProtocolSCTP}}}})
	}
	for i := nGateways; i < nServices; i++ {
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%05d", i), Namespace: nss[i%len(nss)]},
			// No node ports (30000-32767 hold 2,768): as sctpguard's mutation sets in ClusterIP mode.
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "mme"}, AllocateLoadBalancerNodePorts: ptr.To(false),
				Ports: []corev1.ServicePort{{Name: "s1ap", Port: 36412, Protocol: corev1.ProtocolSCTP}}}})
	}
	work := make(chan client.Object)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for o := range work {
				if err := c.Create(ctx, o); err != nil {
					select {
					case errs <- fmt.Errorf("create %s: %w", o.GetName(), err):
					default:
					}
				}
			}
		})
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
