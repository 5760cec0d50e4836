package policy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"

	"github.com/sctpguard/sctpguard/policy"
)

// mutationScenario is one case of testdata/mutations: an object, and the manifest
// expected after the mutations, as `check --mutate` prints it.
type mutationScenario struct {
	scenario `yaml:",inline"`
	// Applied are the mutation IDs expected to change the object, in order.
	Applied []policy.RuleID `yaml:"applied"`
	// Result is the expected manifest after mutation; empty when nothing changes.
	Result string `yaml:"result"`
}

func TestMutationScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/mutations/*.yaml")
	if len(files) == 0 {
		t.Fatal("no mutation scenarios")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cases []mutationScenario
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, sc := range cases {
			t.Run(filepath.Base(file)+"/"+sc.Name, func(t *testing.T) {
				r, doc := sc.review(t)
				env := policy.Env{Context: sc.context(t), Inventory: sc.inventory(t)}
				engine := sc.engine(t)
				mutated, applied, err := engine.Mutate(t.Context(), r, env)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sc.Applied, applied, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("applied mutations (-want +got):\n%s", diff)
				}
				if sc.Result == "" {
					if mutated != nil {
						t.Fatalf("want no change, got %+v", mutated)
					}
					return
				}
				if mutated == nil {
					t.Fatal("want a mutated object, got none")
				}
				ops, err := policy.Patch(r.Object, mutated)
				if err != nil {
					t.Fatal(err)
				}
				out, err := doc.Patched(ops)
				if err != nil {
					t.Fatal(err)
				}
				var got, want any
				if err := yaml.Unmarshal(out, &got); err != nil {
					t.Fatalf("patched manifest is not YAML: %v\n%s", err, out)
				}
				if err := yaml.Unmarshal([]byte(sc.Result), &want); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("mutated manifest (-want +got):\n%s\npatch: %+v", diff, ops)
				}
				// Mutations are idempotent: a second pass over the result changes nothing.
				again, applied2, err := engine.Mutate(t.Context(), &policy.Review{Operation: r.Operation, Object: mutated, OldObject: r.OldObject}, env)
				if err != nil || again != nil {
					t.Errorf("second pass changed the object again (%v, %v)", applied2, err)
				}
			})
		}
	}
}
