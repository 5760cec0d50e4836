package rego_test

import (
	"fmt"
	"testing"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// twentyPolicies is a realistic user set: 10 constraints of 5 ConstraintTemplates (Rego v0,
// parameters, match) and 10 conftest modules.
func twentyPolicies() []rego.Source {
	var out []rego.Source
	for t := range 5 {
		kind := fmt.Sprintf("K8sPortRule%d", t)
		out = append(out, src(fmt.Sprintf("t%d.yaml", t), fmt.Sprintf(`apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sportrule%d}
spec:
  crd:
    spec:
      names: {kind: %s}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            ports: {type: array, items: {type: integer}}
            protocol: {type: string}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sportrule%d

        violation[{"msg": msg}] {
          port := input.review.object.spec.ports[_]
          port.port == input.parameters.ports[_]
          port.protocol != input.parameters.protocol
          msg := sprintf("port %%v must be %%v", [port.port, input.parameters.protocol])
        }
`, t, kind, t)))
		for c := range 2 {
			out = append(out, src(fmt.Sprintf("c%d-%d.yaml", t, c), fmt.Sprintf(`apiVersion: constraints.gatekeeper.sh/v1beta1
kind: %s
metadata: {name: rule-%d-%d}
spec:
  match:
    kinds: [{apiGroups: [""], kinds: ["Service"]}]
    excludedNamespaces: ["kube-*"]
  parameters: {ports: [%d, %d], protocol: SCTP}
`, kind, t, c, 3868+t*10+c, 2905+t*10+c)))
		}
	}
	for m := range 10 {
		out = append(out, src(fmt.Sprintf("m%d.rego", m), fmt.Sprintf(`package team%d

deny contains msg if {
	input.kind == "Service"
	some port in input.spec.ports
	port.protocol == "SCTP"
	not input.metadata.labels["team%d.example.com/owner"]
	input.metadata.namespace == "team%d"
	msg := "owner label required"
}

warn contains msg if {
	input.kind == "Service"
	count(input.spec.ports) > 16
	msg := sprintf("%%d ports", [count(input.spec.ports)])
}
`, m, m, m)))
	}
	return out
}

// mixedPolicies is 20 policies as a platform team has them, over several kinds: 10
// constraints of 10 ConstraintTemplates and 10 conftest modules, of which 5 apply to a Service.
func mixedPolicies() []rego.Source {
	kinds := []string{"Namespace", "Pod", "Pod", "Service", "Service", "Ingress", "Deployment", "Pod", "Pod", "Service"}
	var out []rego.Source
	for i, kind := range kinds {
		group := ""
		switch kind {
		case "Deployment":
			group = "apps"
		case "Ingress":
			group = "networking.k8s.io"
		}
		out = append(out, src(fmt.Sprintf("t%d.yaml", i), fmt.Sprintf(`apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8smixed%d}
spec:
  crd:
    spec:
      names: {kind: K8sMixed%d}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels: {type: array, items: {type: string}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8smixed%d

        violation[{"msg": msg}] {
          provided := {l | input.review.object.metadata.labels[l]}
          required := {l | l := input.parameters.labels[_]}
          missing := required - provided
          count(missing) > 0
          msg := sprintf("missing labels %%v", [missing])
        }
`, i, i, i)), src(fmt.Sprintf("c%d.yaml", i), fmt.Sprintf(`apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sMixed%d
metadata: {name: mixed-%d}
spec:
  match:
    kinds: [{apiGroups: [%q], kinds: [%q]}]
  parameters: {labels: ["team%d"]}
`, i, i, group, kind, i)))
	}
	for i, kind := range []string{"Deployment", "Deployment", "Deployment", "Pod", "Pod", "ConfigMap", "Ingress", "NetworkPolicy", "Service", "Service"} {
		out = append(out, src(fmt.Sprintf("m%d.rego", i), fmt.Sprintf(`package mixed%d

deny contains msg if {
	input.kind == %q
	not input.metadata.labels["policy%d.example.com/ok"]
	msg := "policy %d"
}
`, i, kind, i, i)))
	}
	return out
}

// BenchmarkEvaluate20 is the cost one review pays for 20 user policies: building the input,
// matching, and evaluating the prepared queries. "mixed" is a set over several kinds of which
// 5 apply to the Service under review; "all-apply" is the worst case, all 20 judging it.
func BenchmarkEvaluate20(b *testing.B) {
	for _, set := range []struct {
		name    string
		sources []rego.Source
	}{{"mixed", mixedPolicies()}, {"all-apply", twentyPolicies()}} {
		b.Run(set.name, func(b *testing.B) { benchmarkEvaluate(b, set.sources) })
	}
}

func benchmarkEvaluate(b *testing.B, sources []rego.Source) {
	if n := len(sources); n != 30 && n != 25 {
		b.Fatalf("%d sources", n)
	}
	set, err := rego.Load(b.Context(), sources, rego.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t := &testing.T{}
	r := review(t, amf)
	env := policy.Env{Inventory: policy.NewMemoryInventory(), Context: policy.Context{AKO: policy.DefaultAKOSettings()}}
	// The policies must find something, or the benchmark measures a broken set.
	if got, err := set.Evaluate(b.Context(), r, env); err != nil || len(got) == 0 {
		b.Fatalf("findings %v, err %v", got, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Evaluate(b.Context(), r, env); err != nil {
			b.Fatal(err)
		}
	}
}
