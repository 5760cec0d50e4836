package policy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
	"gomodules.xyz/jsonpatch/v2"
	jsonpatchapply "gopkg.in/evanphx/json-patch.v4"
	sigsyaml "sigs.k8s.io/yaml"

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

// applyJSONPatch applies operations to a JSON document with evanphx/json-patch, the library
// the API server applies admission patches with.
func applyJSONPatch(t *testing.T, doc []byte, ops []jsonpatch.Operation) []byte {
	t.Helper()
	data, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatchapply.DecodePatch(data)
	if err != nil {
		t.Fatalf("decode patch %s: %v", data, err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch %s: %v", data, err)
	}
	return out
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
				// The webhook's patch, fitted to the object as written, applies to it with a
				// JSON patch library and gives the same result.
				raw, err := sigsyaml.YAMLToJSON([]byte(sc.Object))
				if err != nil {
					t.Fatal(err)
				}
				rawOps, err := policy.RawPatch(raw, r.Object, mutated)
				if err != nil {
					t.Fatal(err)
				}
				patched := applyJSONPatch(t, raw, rawOps)
				var gotRaw, wantRaw any
				if err := json.Unmarshal(patched, &gotRaw); err != nil {
					t.Fatal(err)
				}
				wantJSON, err := sigsyaml.YAMLToJSON([]byte(sc.Result))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(wantJSON, &wantRaw); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantRaw, gotRaw); diff != "" {
					t.Errorf("raw object patched by the webhook's patch (-want +got):\n%s\npatch: %+v", diff, rawOps)
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
