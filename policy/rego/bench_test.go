package rego_test

import (
	"fmt"
	"testing"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
	"github.com/sctpguard/sctpguard/test/userpolicies"
)

// twentyPolicies is a realistic user set: 10 constraints of 5 ConstraintTemplates (Rego v0,
// parameters, match) and 10 conftest modules, one rule each.
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
	count(input.spec.ports) < 16
	msg := "owner label required"
}
`, m, m, m)))
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
	}{{"mixed", userpolicies.Mixed(false)}, {"all-apply", twentyPolicies()}} {
		b.Run(set.name, func(b *testing.B) { benchmarkEvaluate(b, set.sources) })
	}
}

func benchmarkEvaluate(b *testing.B, sources []rego.Source) {
	set, err := rego.Load(b.Context(), sources, rego.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if n := len(set.RuleIDs()); n != 20 {
		b.Fatalf("%d policies, want 20", n)
	}
	t := &testing.T{}
	r := review(t, amf)
	env := policy.Env{Inventory: policy.NewMemoryInventory(), Context: policy.Context{AKO: policy.DefaultAKOSettings()}}
	// The policies must find something, or the benchmark measures a broken set.
	if got, err := set.Evaluate(b.Context(), r, env); err != nil || len(got) == 0 {
		b.Fatalf("findings %v, err %v", got, err)
	}
	b.ReportAllocs()
	report := userpolicies.ReportCPU(b)
	for b.Loop() {
		if _, err := set.Evaluate(b.Context(), r, env); err != nil {
			b.Fatal(err)
		}
	}
	report()
}
