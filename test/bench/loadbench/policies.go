package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// userPolicies are 20 policies as a platform team has them, over several kinds, of which 5
// judge the Service under review: 10 constraints of 10 ConstraintTemplates (one reads
// data.inventory) and 10 conftest modules.
func userPolicies() []rego.Source {
	kinds := []string{"Namespace", "Pod", "Pod", "Service", "Service", "Ingress", "Deployment", "Pod", "Deployment"}
	var out []rego.Source
	for i, kind := range kinds {
		group := map[string]string{"Deployment": "apps", "Ingress": "networking.k8s.io"}[kind]
		out = append(out, rego.Source{Name: fmt.Sprintf("t%d.yaml", i), Data: fmt.Appendf(nil, `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8slabels%d}
spec:
  crd:
    spec:
      names: {kind: K8sLabels%d}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8slabels%d

        violation[{"msg": msg}] {
          provided := {l | input.review.object.metadata.labels[l]}
          required := {l | l := input.parameters.labels[_]}
          missing := required - provided
          count(missing) > 0
          msg := sprintf("missing labels %%v", [missing])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sLabels%d
metadata: {name: labels-%d}
spec:
  match:
    kinds: [{apiGroups: [%q], kinds: [%q]}]
    excludedNamespaces: ["kube-*"]
  parameters: {labels: ["team%d"]}
`, i, i, i, i, i, group, kind, i)})
	}
	// The tenth: SCTP ports unique in a namespace, from data.inventory.
	out = append(out, rego.Source{Name: "unique.yaml", Data: []byte(`apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8suniquesctpport}
spec:
  crd:
    spec:
      names: {kind: K8sUniqueSCTPPort}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniquesctpport

        violation[{"msg": msg}] {
          port := input.review.object.spec.ports[_]
          port.protocol == "SCTP"
          ns := input.review.object.metadata.namespace
          other := data.inventory.namespace[ns]["v1"]["Service"][name]
          name != input.review.object.metadata.name
          other.spec.ports[_].port == port.port
          msg := sprintf("SCTP port %v is taken by Service %v", [port.port, name])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueSCTPPort
metadata: {name: unique-sctp-port}
spec:
  match:
    kinds: [{apiGroups: [""], kinds: ["Service"]}]
`)})
	for i, kind := range []string{"Deployment", "Deployment", "Deployment", "Pod", "Pod", "ConfigMap", "Ingress", "NetworkPolicy", "Service", "Service"} {
		out = append(out, rego.Source{Name: fmt.Sprintf("m%d.rego", i), Data: fmt.Appendf(nil, `package team%d

deny contains msg if {
	input.kind == %q
	not input.metadata.labels["policy%d.example.com/ok"]
	msg := "policy %d"
}
`, i, kind, i, i)})
	}
	return out
}

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

// churn updates a random Service of the inventory every interval, until ctx is done.
func churn(ctx context.Context, inv *rego.Inventory, objs []policy.Object, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for g := 1; ; g++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		o := objs[rand.IntN(len(objs))]
		if svc, ok := o.(*corev1.Service); ok {
			_ = inv.Put(teamService(svc.Namespace, svc.Name, g), svc.GroupVersionKind())
		}
	}
}
