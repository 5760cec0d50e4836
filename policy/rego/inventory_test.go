package rego

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
)

// TestInventoryEvents: an inventory kept from a stream of adds, updates and deletes is
// exactly the inventory built from the objects that remain, at every step.
func TestInventoryEvents(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	serviceGVK := corev1.SchemeGroupVersion.WithKind("Service")
	nsGVK := corev1.SchemeGroupVersion.WithKind("Namespace")
	type key struct{ kind, ns, name string }
	live := map[key]policy.Object{}
	inv := NewInventory()
	for step := range 2000 {
		k := key{kind: "Service", ns: fmt.Sprintf("ns%d", r.IntN(4)), name: fmt.Sprintf("svc%d", r.IntN(6))}
		if r.IntN(5) == 0 {
			k = key{kind: "Namespace", name: fmt.Sprintf("ns%d", r.IntN(4))}
		}
		gvk := serviceGVK
		if k.kind == "Namespace" {
			gvk = nsGVK
		}
		if r.IntN(3) == 0 {
			inv.Delete(gvk, k.ns, k.name)
			delete(live, k)
		} else {
			var obj policy.Object
			if k.kind == "Namespace" {
				obj = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: k.name, Labels: map[string]string{"step": fmt.Sprint(step)}}}
			} else {
				obj = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: k.ns},
					Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: int32(step), Protocol: corev1.ProtocolSCTP}}}}
			}
			if err := inv.Put(obj, gvk); err != nil {
				t.Fatal(err)
			}
			live[k] = obj
		}
		fresh := NewInventory()
		for k, o := range live {
			g := serviceGVK
			if k.kind == "Namespace" {
				g = nsGVK
			}
			if err := fresh.Put(o, g); err != nil {
				t.Fatal(err)
			}
		}
		// Both copies, each as the reviews read it.
		for range 2 {
			root, done := inv.read()
			want, _ := fresh.read()
			if root.Compare(want) != 0 || root.Hash() != want.Hash() || inv.Len() != len(live) {
				t.Fatalf("seed %d step %d: kept\n%v\nbuilt\n%v", seed, step, root, want)
			}
			done()
			inv.active.Store(1 - inv.active.Load())
		}
	}
	if inv.Len() == 0 {
		t.Fatal("the stream left nothing; the test checks too little")
	}
}
