package rego_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// TestLoadCRLF: a ConstraintTemplate and its constraint in one file (or one policy
// ConfigMap key) edited on Windows load both: the constraint was silently dropped when the
// CRLF file was split in the wrong place.
func TestLoadCRLF(t *testing.T) {
	constraint := "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata: {name: all}\nspec:\n  parameters: {reason: CRLF}\n"
	for name, text := range map[string]string{
		"CRLF":  strings.ReplaceAll(template+"---\n"+constraint, "\n", "\r\n"),
		"mixed": strings.ReplaceAll(template, "\n", "\r\n") + "---\n" + constraint,
	} {
		t.Run(name, func(t *testing.T) {
			set, err := rego.Load(t.Context(), []rego.Source{src("configmap/sctpguard/policies/deny.yaml", text)}, rego.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.Evaluate(t.Context(), review(t, amf), policy.Env{Inventory: policy.NewMemoryInventory()})
			if err != nil {
				t.Fatal(err)
			}
			want := []policy.Finding{{Rule: "all", Action: policy.ActionDeny, Message: "Service/amf: CRLF"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}
