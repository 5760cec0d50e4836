package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// inventorySize is the objects in the cluster besides the Gateway and its backends.
const inventorySize = 10000

// bigInventory adds Namespaces and Services to the inventory: 100 Namespaces of 99
// Services.
func bigInventory(inv *policy.MemoryInventory) []policy.Object {
	var objs []policy.Object
	for n := range 100 {
		ns := fmt.Sprintf("team-%d", n)
		objs = append(objs, &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": ns}}})
		for s := range inventorySize/100 - 1 {
			objs = append(objs, teamService(ns, fmt.Sprintf("svc-%d", s), 0))
		}
	}
	for _, o := range objs {
		inv.Add(o)
	}
	return objs
}

func teamService(ns, name string, generation int) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name, "generation": fmt.Sprint(generation)},
			CreationTimestamp: metav1.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "sctp", Port: 38412, Protocol: corev1.ProtocolSCTP}, {Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}},
	}
}

// fedInventory is the webhook's inventory as the user policies see it: data.inventory kept
// from watch events (here a churn of updates, as a busy cluster sends), never listed.
type fedInventory struct {
	*policy.MemoryInventory
	rego *rego.Inventory
}

var _ rego.InventorySource = fedInventory{}

func (f fedInventory) RegoInventory() (*rego.Inventory, error) { return f.rego, nil }

// churn updates a Service of the inventory every interval, until ctx is done, counting the
// changes in changes.
func churn(ctx context.Context, inv *rego.Inventory, objs []policy.Object, every time.Duration, changes *atomic.Int64) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for g := 1; ; g++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		o := objs[g*7919%len(objs)] // a stride that visits every object
		if svc, ok := o.(*corev1.Service); ok {
			if inv.Put(teamService(svc.Namespace, svc.Name, g), svc.GroupVersionKind()) == nil {
				changes.Add(1)
			}
		}
	}
}
