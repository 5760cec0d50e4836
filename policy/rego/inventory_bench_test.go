package rego

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// BenchmarkInventoryPut replaces one Service of an inventory of 10,000 (100 namespaces of
// 100), as an informer's update event does in the webhook.
func BenchmarkInventoryPut(b *testing.B) {
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	inv := NewInventory()
	svc := func(ns, name string, port int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port, Protocol: corev1.ProtocolSCTP}}}}
	}
	for n := range 100 {
		for s := range 100 {
			if err := inv.Put(svc(fmt.Sprintf("ns-%d", n), fmt.Sprintf("svc-%d", s), 38412), gvk); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := inv.Put(svc(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("svc-%d", i%100), int32(i)), gvk); err != nil {
			b.Fatal(err)
		}
	}
}
