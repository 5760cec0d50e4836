package rego

import (
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sctpguard/sctpguard/policy"
)

// stored is the value data.inventory holds for an object.
func stored(t *testing.T, inv *Inventory, gvk schema.GroupVersionKind, namespace, name string) *ast.Term {
	t.Helper()
	root, done := inv.read()
	defer done()
	got := ast.NewTerm(root)
	for _, k := range inv.path(gvk, namespace, name) {
		o, ok := termObject(got)
		if !ok {
			t.Fatalf("%s %s/%s: %v is no object", gvk.Kind, namespace, name, got)
		}
		if got = o.Get(k); got == nil {
			t.Fatalf("%s %s/%s: no %v in the inventory", gvk.Kind, namespace, name, k)
		}
	}
	return got
}

// TestInventorySharing: the inventory's objects share the terms of what they have in
// common, and each is still exactly the value toValue makes of it, whatever it shares with
// the others (the same content under two kinds included), and the tables stay bounded.
func TestInventorySharing(t *testing.T) {
	svcGVK := corev1.SchemeGroupVersion.WithKind("Service")
	cmGVK := corev1.SchemeGroupVersion.WithKind("ConfigMap")
	secretGVK := corev1.SchemeGroupVersion.WithKind("Secret")
	crdGVK := schema.GroupVersionKind{Group: "ako.vmware.com", Version: "v1alpha2", Kind: "L4Rule"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ako.vmware.com/v1alpha2", "kind": "L4Rule",
		"metadata": map[string]any{"name": "rule", "namespace": "team-0", "labels": map[string]any{"tier": "core"}},
		"spec": map[string]any{"ports": []any{int64(38412), 9090.5}, "enabled": true, "note": nil,
			// Equal to the ConfigMap's root below before its kind is set.
			"template": map[string]any{"metadata": map[string]any{"name": "x", "namespace": "team-0"}}},
	}}
	type entry struct {
		obj policy.Object
		gvk schema.GroupVersionKind
	}
	entries := []entry{
		{clusterService(0), svcGVK}, {clusterService(8), svcGVK}, {clusterService(100), svcGVK}, {clusterService(109), svcGVK},
		{crd, crdGVK},
		// The same content under two kinds, and inside the L4Rule: none may take the
		// others' kind.
		{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-0"}}, cmGVK},
		{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-0"}}, secretGVK},
	}
	inv := NewInventory()
	for _, e := range entries {
		if err := inv.Put(e.obj, e.gvk); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range entries {
		want, err := toValue(e.obj, e.gvk)
		if err != nil {
			t.Fatal(err)
		}
		if got := stored(t, inv, e.gvk, e.obj.GetNamespace(), e.obj.GetName()); got.Value.Compare(want) != 0 {
			t.Errorf("%s %s/%s:\n got %v\nwant %v", e.gvk.Kind, e.obj.GetNamespace(), e.obj.GetName(), got, want)
		}
	}

	// What is shared: the same term, not an equal one.
	field := func(obj *ast.Term, path ...string) *ast.Term {
		t.Helper()
		ref := make(ast.Ref, len(path))
		for i, p := range path {
			ref[i] = ast.StringTerm(p)
		}
		v, err := obj.Value.Find(ref)
		if err != nil {
			t.Fatalf("%v: %v", ref, err)
		}
		return ast.NewTerm(v)
	}
	svc0 := stored(t, inv, svcGVK, "team-0", "svc-0")
	svc8 := stored(t, inv, svcGVK, "team-0", "svc-8")   // ports like svc-0's
	svc100 := stored(t, inv, svcGVK, "team-1", "svc-0") // its tier label like svc-0's, in another namespace
	svc109 := stored(t, inv, svcGVK, "team-1", "svc-9") // another SCTP port
	for _, c := range []struct {
		name string
		a, b ast.Value
		same bool
	}{
		{"a label value in two namespaces", field(svc0, "metadata", "labels", "tier").Value, field(svc100, "metadata", "labels", "tier").Value, true},
		{"equal ports", field(svc0, "spec", "ports").Value, field(svc8, "spec", "ports").Value, true},
		{"an equal port of unequal ports", field(svc0, "spec", "ports").Value.(*ast.Array).Elem(1).Value, field(svc109, "spec", "ports").Value.(*ast.Array).Elem(1).Value, true},
		{"the IP families", field(svc0, "spec", "ipFamilies").Value, field(svc109, "spec", "ipFamilies").Value, true},
		{"unequal ports", field(svc0, "spec", "ports").Value, field(svc109, "spec", "ports").Value, false},
	} {
		if (c.a == c.b) != c.same {
			t.Errorf("%s: the same value is %v, want %v (%v, %v)", c.name, c.a == c.b, c.same, c.a, c.b)
		}
	}

	// Bounded: more distinct values than a table holds; every object still exact.
	for n := range maxShared + 100 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", n%50), Namespace: "team-2"},
			Data: map[string]string{"n": fmt.Sprint(n)}}
		if err := inv.Put(cm, cmGVK); err != nil {
			t.Fatal(err)
		}
		if len(inv.values.strings) > maxShared || len(inv.values.composites) > maxShared {
			t.Fatalf("after %d values: %d strings, %d composites kept, the bound is %d", n, len(inv.values.strings), len(inv.values.composites), maxShared)
		}
		if n >= maxShared+50 {
			want, _ := toValue(cm, cmGVK)
			if got := stored(t, inv, cmGVK, "team-2", cm.Name); got.Value.Compare(want) != 0 {
				t.Fatalf("ConfigMap %s after the tables were emptied:\n got %v\nwant %v", cm.Name, got, want)
			}
		}
	}
	for _, e := range entries {
		want, _ := toValue(e.obj, e.gvk)
		if got := stored(t, inv, e.gvk, e.obj.GetNamespace(), e.obj.GetName()); got.Value.Compare(want) != 0 {
			t.Errorf("%s %s/%s after the tables were emptied:\n got %v\nwant %v", e.gvk.Kind, e.obj.GetNamespace(), e.obj.GetName(), got, want)
		}
	}
}
