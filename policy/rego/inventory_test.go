package rego

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

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
		// The copy reviews read, which is the other one after every change: each is
		// checked in turn, the one behind brought up to date first.
		root, done := inv.read()
		want, _ := fresh.read()
		if root.Compare(want) != 0 || root.Hash() != want.Hash() {
			t.Fatalf("seed %d step %d: kept\n%v\nbuilt\n%v", seed, step, root, want)
		}
		done()
	}
	if len(live) == 0 {
		t.Fatal("the stream left nothing; the test checks too little")
	}
}

// TestInventoryHeldRead: a review reading the inventory across changes keeps its view
// whole, and a change that would touch the copy it reads waits for it to end.
func TestInventoryHeldRead(t *testing.T) {
	gvk := corev1.SchemeGroupVersion.WithKind("Service")
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "telco"}}
	}
	snapshot := func(names ...string) ast.Object {
		t.Helper()
		inv := NewInventory()
		for _, n := range names {
			if err := inv.Put(svc(n), gvk); err != nil {
				t.Fatal(err)
			}
		}
		root, _ := inv.read()
		return root
	}
	inv := NewInventory()
	if err := inv.Put(svc("a"), gvk); err != nil {
		t.Fatal(err)
	}
	held, release := inv.read()
	if err := inv.Put(svc("b"), gvk); err != nil { // made to the copy held is not read
		t.Fatal(err)
	}
	changed := make(chan struct{})
	go func() {
		defer close(changed)
		if err := inv.Put(svc("c"), gvk); err != nil { // must wait: it brings the held copy up to date
			t.Error(err)
		}
	}()
	select {
	case <-changed:
		t.Fatal("a change wrote the copy a review is reading")
	case <-time.After(100 * time.Millisecond):
	}
	if want := snapshot("a"); held.Compare(want) != 0 || held.Hash() != want.Hash() {
		t.Errorf("the held view changed:\n%v\nwant\n%v", held, want)
	}
	if now, done := inv.read(); now.Compare(snapshot("a", "b")) != 0 {
		t.Errorf("a review starting now reads\n%v\nwant a and b", now)
	} else {
		done()
	}
	release()
	<-changed
	if now, done := inv.read(); now.Compare(snapshot("a", "b", "c")) != 0 {
		t.Errorf("after the held review:\n%v\nwant a, b and c", now)
	} else {
		done()
	}
}
