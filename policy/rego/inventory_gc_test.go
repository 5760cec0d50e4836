package rego

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// clusterService is the nth Service of a cluster as the API server stores it: the fields it
// sets (uid, resourceVersion, clusterIP, IP families) unique or defaulted, names, labels
// and ports varying as a namespace's Services do.
func clusterService(n int) *corev1.Service {
	ns, name := fmt.Sprintf("team-%d", n/100), fmt.Sprintf("svc-%d", n%100)
	ip := fmt.Sprintf("10.96.%d.%d", n/250, n%250)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(fmt.Sprintf("0c7b0e3e-8f5a-4f7e-9a4e-%012d", n)),
			ResourceVersion: fmt.Sprint(1000 + n), CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1+n%28, 0, 0, 0, 0, time.UTC)),
			Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns, "tier": []string{"core", "edge"}[n%2]}},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app.kubernetes.io/name": name},
			ClusterIP: ip, ClusterIPs: []string{ip}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy: new(corev1.IPFamilyPolicySingleStack), SessionAffinity: corev1.ServiceAffinityNone,
			InternalTrafficPolicy: new(corev1.ServiceInternalTrafficPolicyCluster),
			Ports: []corev1.ServicePort{
				{Name: "ngap", Port: int32(38412 + n%8), Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromInt32(int32(38412 + n%8))},
				{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("metrics")},
			},
		},
	}
}

// BenchmarkInventoryGC is what 10,000 Services cost the garbage collector at every cycle:
// the typed objects an informer's cache holds (what the webhook without user policies
// keeps), and data.inventory made from them. Each op is a full collection with the objects
// live; gc-cpu-ms/op is the collector's CPU time for it, which a mark phase takes from the
// reviews, and scanned-MB the heap it scanned (the mark's work, which the machine's load
// does not move); live-MB and live-objects are the heap the objects hold. Compare the two within
// one run: their ratio is what user policies add to every mark phase.
func BenchmarkInventoryGC(b *testing.B) {
	gvk := corev1.SchemeGroupVersion.WithKind("Service")
	for _, c := range []string{"typed", "data.inventory"} {
		b.Run(c, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var typed []*corev1.Service
			inv := NewInventory()
			for n := range 10000 {
				svc := clusterService(n)
				if c == "typed" {
					typed = append(typed, svc)
				} else if err := inv.Put(svc, gvk); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			gc := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/scan/heap:bytes"}}
			metrics.Read(gc)
			start := gc[0].Value.Float64()
			for b.Loop() {
				runtime.GC()
			}
			metrics.Read(gc)
			b.ReportMetric((gc[0].Value.Float64()-start)/float64(b.N)*1e3, "gc-cpu-ms/op")
			b.ReportMetric(float64(gc[1].Value.Uint64())/1e6, "scanned-MB")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "live-MB")
			b.ReportMetric(float64(after.HeapObjects-before.HeapObjects), "live-objects")
			runtime.KeepAlive(typed)
			runtime.KeepAlive(inv)
		})
	}
}
