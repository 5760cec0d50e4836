// Command syncbench measures the translator against avisim, the test double of the Avi
// Controller, over real TLS on loopback:
//
//   - converge: N SCTP LoadBalancer Services of sctpguard's class synced from an empty
//     controller by 4 workers, as the reconciler's workers would: time and REST calls, beside
//     a baseline measured in the same run (the same 4N POST bodies sent by the bare client,
//     without the translator);
//   - resync: a pass over unchanged inputs from the translator's state (REST calls; goal 0),
//     and a full sync (re-list of the owned objects, then a pass);
//   - reconcile latency: one Service's endpoints changed with N in place, build + sync of its
//     unit, repeated; p50 and p99, beside the p99 of a bare PUT of the same pool.
//
// The status write-back to Kubernetes is not part of it: that is the API server's cost.
//
//	go run ./test/bench/syncbench -services 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/translator"
	"github.com/sctpguard/sctpguard/translator/avi"
)

func main() {
	n := flag.Int("services", 1000, "SCTP LoadBalancer Services")
	changes := flag.Int("changes", 200, "single-Service changes timed for the reconcile latency")
	workers := flag.Int("workers", 4, "units synced at once (the translator's default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "syncbench: %v\n", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *changes, *workers); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintf(os.Stderr, "syncbench: %v\n", err)
		os.Exit(1) //nolint:gocritic // the profile is stopped above
	}
}

// controller is a fresh avisim with a client logged in over TLS.
type controller struct {
	sim    *avisim.Server
	client *avi.Client
	close  func()
}

func newController() (*controller, error) {
	sim := avisim.New(avisim.Options{})
	ts := sim.StartTLS()
	c, err := avi.NewClient(avi.Config{
		Host: ts.URL, CAData: avisim.CertPEM(ts),
		Credentials: func() (avi.Credentials, error) { return avi.Credentials{Username: "admin", Password: "admin"}, nil },
	})
	if err != nil {
		ts.Close()
		return nil, err
	}
	if _, err := c.Login(context.Background()); err != nil {
		ts.Close()
		return nil, err
	}
	sim.ResetJournal()
	return &controller{sim: sim, client: c, close: ts.Close}, nil
}

// tally is the journal's calls by kind.
type tally struct{ gets, writes, logins int }

func (c *controller) tally() tally {
	var t tally
	for _, r := range c.sim.Journal() {
		switch {
		case r.Path == "/login":
			t.logins++
		case r.IsWrite():
			t.writes++
		default:
			t.gets++
		}
	}
	return t
}

func (t tally) String() string {
	return fmt.Sprintf("%d calls (%d GET, %d POST/PUT/DELETE, %d logins)", t.gets+t.writes+t.logins, t.gets, t.writes, t.logins)
}

// objects returns n Services of sctpguard's class (the translator syncs those beside AKO,
// which keeps its own), with one EndpointSlice each.
func objects(n int, endpoint func(i int) string) []policy.Object {
	var out []policy.Object
	for i := range n {
		name := fmt.Sprintf("diameter-%04d", i)
		out = append(out, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "telco"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: ptr(policy.SCTPGuardClass), Ports: []corev1.ServicePort{
				{Name: "diameter", Port: 3868, Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromInt32(3868)},
			}},
		}, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: "telco", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("diameter"), Protocol: ptr(corev1.ProtocolSCTP), Port: ptr(int32(3868))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{endpoint(i)}}},
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func builder(objs []policy.Object) (*translator.Builder, error) {
	settings, err := policy.ParseAKOValues([]byte("AKOSettings:\n  clusterName: bench\n"))
	if err != nil {
		return nil, err
	}
	engine, err := policy.NewEngine(policy.Config{})
	if err != nil {
		return nil, err
	}
	return &translator.Builder{Context: settings, Source: translator.NewMemorySource(objs...), Engine: engine}, nil
}

// build builds the unit of every Service. Each must be in scope with its 4 objects (pool, L4
// policy set, VsVip, virtual service): a benchmark that synced fewer would time nothing.
func build(b *translator.Builder, n int) ([]*translator.Unit, error) {
	keys, err := b.Keys()
	if err != nil {
		return nil, err
	}
	if len(keys) != n {
		return nil, fmt.Errorf("the translator has %d units to sync, want one per Service (%d)", len(keys), n)
	}
	out := make([]*translator.Unit, 0, len(keys))
	for _, k := range keys {
		u, err := buildOne(b, k)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// buildOne builds a unit that must be in scope and not skipped, with 4 objects.
func buildOne(b *translator.Builder, key translator.UnitKey) (*translator.Unit, error) {
	u, err := b.Build(context.Background(), key)
	switch {
	case err != nil:
		return nil, err
	case u == nil:
		return nil, fmt.Errorf("unit %s is out of the translator's scope", key)
	case u.Skip != "":
		return nil, fmt.Errorf("unit %s is skipped: %s", key, u.Skip)
	case len(u.Objects()) != 4:
		return nil, fmt.Errorf("unit %s has %d objects, want 4 (pool, L4 policy set, VsVip, virtual service)", key, len(u.Objects()))
	}
	return u, nil
}

// parallel runs f on every item with w workers; it returns the first error.
func parallel[T any](items []T, w int, f func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	ch := make(chan T)
	for range w {
		wg.Go(func() {
			for it := range ch {
				if err := f(it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return first
}

func run(n, changes, workers int) error {
	ctx := context.Background()
	endpoint := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", 100+i/65536, i/256%256, i%256) }
	b, err := builder(objects(n, endpoint))
	if err != nil {
		return err
	}
	units, err := build(b, n)
	if err != nil {
		return err
	}
	fmt.Printf("syncbench: %d SCTP LoadBalancer Services, %d workers, avisim over TLS on loopback\n\n", n, workers)

	// Baseline: the same objects POSTed by the bare client, no translator logic.
	base, err := newController()
	if err != nil {
		return err
	}
	defer base.close()
	start := time.Now()
	if err := parallel(units, workers, func(u *translator.Unit) error {
		for _, o := range u.Objects() {
			if _, err := base.client.Create(ctx, o.Type, o.Body); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseTime := time.Since(start)

	// Converge from empty.
	c, err := newController()
	if err != nil {
		return err
	}
	defer c.close()
	syncer := &translator.Syncer{Client: c.client, State: translator.NewState(translator.Owner("bench")), Cluster: "bench", Cloud: "Default-Cloud", Log: logr.Discard()}
	start = time.Now()
	if err := syncer.State.Load(ctx, c.client, "bench", "Default-Cloud"); err != nil {
		return err
	}
	if err := parallel(units, workers, func(u *translator.Unit) error { _, err := syncer.Sync(ctx, u); return err }); err != nil {
		return fmt.Errorf("converge: %w", err)
	}
	convTime := time.Since(start)
	converged := c.tally()
	if converged.writes != 4*n {
		return fmt.Errorf("converge: %d writes to the controller, want %d (4 objects per Service)", converged.writes, 4*n)
	}
	fmt.Printf("converge from empty   %8.0f ms  %s\n", ms(convTime), converged)
	fmt.Printf("  baseline (bare POSTs) %6.0f ms  %d POSTs   ratio %.2fx\n", ms(baseTime), 4*n, float64(convTime)/float64(baseTime))
	fmt.Printf("  minimum possible: 4 lists + per Service a look-up of AKO's virtual service (hand-over check) and 4 POSTs = %d calls\n\n", 4+5*n)

	c.sim.ResetJournal()
	start = time.Now()
	if err := parallel(units, workers, func(u *translator.Unit) error { _, err := syncer.Sync(ctx, u); return err }); err != nil {
		return err
	}
	fmt.Printf("resync, unchanged     %8.1f ms  %s\n", ms(time.Since(start)), c.tally())
	c.sim.ResetJournal()
	start = time.Now()
	if err := syncer.State.Load(ctx, c.client, "bench", "Default-Cloud"); err != nil {
		return err
	}
	if err := parallel(units, workers, func(u *translator.Unit) error { _, err := syncer.Sync(ctx, u); return err }); err != nil {
		return err
	}
	fmt.Printf("full sync (re-list)   %8.0f ms  %s\n\n", ms(time.Since(start)), c.tally())

	// One Service changes, N in place: build its unit from the changed inputs and sync.
	var lat, bare []time.Duration
	target := n / 2
	key := translator.UnitKey{Kind: translator.KindService, Namespace: "telco", Name: fmt.Sprintf("diameter-%04d", target)}
	tu, err := buildOne(b, key)
	if err != nil {
		return err
	}
	poolName := tu.Pools()[0].Name
	for i := range changes {
		moved := func(j int) string {
			if j == target {
				return fmt.Sprintf("10.200.%d.%d", i/256%256, i%256)
			}
			return endpoint(j)
		}
		b, err := builder(objects(n, moved))
		if err != nil {
			return err
		}
		// The inputs above are rebuilt per change here, where the reconciler reads a
		// long-lived cache: their garbage is collected now, not billed to the reconcile.
		runtime.GC()
		start := time.Now()
		u, err := b.Build(ctx, key)
		if err != nil {
			return err
		}
		if u == nil {
			return fmt.Errorf("change %d: unit %s is out of the translator's scope", i, key)
		}
		out, err := syncer.Sync(ctx, u)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
		if out.Writes != 1 {
			return fmt.Errorf("change %d: %d writes, want 1 (the pool)", i, out.Writes)
		}
		// Baseline: a bare GET-free PUT of the same pool body.
		cur := syncer.State.Get(avi.TypePool, poolName)
		if cur == nil {
			return fmt.Errorf("change %d: pool %s is not in the translator's state", i, poolName)
		}
		start = time.Now()
		obj, err := c.client.Update(ctx, avi.TypePool, cur.UUID(), cur)
		if err != nil {
			return err
		}
		bare = append(bare, time.Since(start))
		syncer.State.Put(avi.TypePool, obj)
	}
	p := func(d []time.Duration, q float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	fmt.Printf("reconcile one changed Service (%d in place, %d changes): p50 %.2f ms  p99 %.2f ms\n", n, changes, ms(p(lat, 0.5)), ms(p(lat, 0.99)))
	fmt.Printf("  baseline (bare PUT of the pool):                 p50 %.2f ms  p99 %.2f ms   ratio p99 %.2fx\n",
		ms(p(bare, 0.5)), ms(p(bare, 0.99)), float64(p(lat, 0.99))/float64(p(bare, 0.99)))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
