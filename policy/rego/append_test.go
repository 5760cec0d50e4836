package rego_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
	"github.com/sctpguard/sctpguard/test/userpolicies"
)

// TestAppendEvaluate: the engine gathers a review's findings in one slice through
// AppendEvaluate; what it appends is what Evaluate returns, after the caller's findings left
// as they were, whether the slice has room or not, and nothing when nothing is found.
func TestAppendEvaluate(t *testing.T) {
	broken := src("broken.rego", `package broken

deny contains 1 if input.kind == "Service"
`)
	pod := `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ran}
spec:
  containers: [{name: c, image: i}]
`
	ns := `apiVersion: v1
kind: Namespace
metadata: {name: ran}
`
	before := []policy.Finding{{Rule: "builtin", Action: policy.ActionDeny, Path: "spec.type", Message: "first"}}
	for name, sources := range map[string][]rego.Source{
		"mixed":     userpolicies.Mixed(false),
		"all-apply": twentyPolicies(),
		"broken":    append(userpolicies.Mixed(false), broken),
	} {
		set, err := rego.Load(t.Context(), sources, rego.Options{})
		if err != nil {
			t.Fatal(err)
		}
		env := policy.Env{Inventory: policy.NewMemoryInventory(), Context: policy.Context{AKO: policy.DefaultAKOSettings()}}
		for _, obj := range []string{amf, pod, ns} {
			r := review(t, obj)
			want, err := set.Evaluate(t.Context(), r, env)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, %s: %d findings", name, r.Object.GetName(), len(want))
			for _, dst := range [][]policy.Finding{nil, slices.Clip(slices.Clone(before)), append(make([]policy.Finding, 0, 16), before...)} {
				prefix := slices.Clone(dst)
				got, err := set.AppendEvaluate(t.Context(), dst, r, env)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(append(prefix, want...), got); diff != "" {
					t.Errorf("%s, %s, %d findings before: AppendEvaluate (-Evaluate +got):\n%s", name, r.Object.GetName(), len(prefix), diff)
				}
			}
		}
	}
}
