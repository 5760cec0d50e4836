package policy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

var update = flag.Bool("update", false, "rewrite the expected findings of the scenario files from the actual ones (review the diff)")

// scenario is one case of a rule scenario file: an object under review, what it is judged
// against, and the exact findings expected.
type scenario struct {
	Name string `yaml:"name"`
	// Context is a policy.Context; an "ako" key starts from AKO's defaults.
	Context map[string]any `yaml:"context,omitempty"`
	// Config is a policy.Config.
	Config map[string]any `yaml:"config,omitempty"`
	// Operation defaults to CREATE.
	Operation string `yaml:"operation,omitempty"`
	// Object is the manifest under review; OldObject its stored version on UPDATE.
	Object    string `yaml:"object"`
	OldObject string `yaml:"oldObject,omitempty"`
	// Inventory holds the related objects (multi-document YAML).
	Inventory string `yaml:"inventory,omitempty"`
	// Covers names the rules a clean case (no findings) exercises.
	Covers []string `yaml:"covers,omitempty"`
	// Want are the findings, in order; empty means clean.
	Want []wantFinding `yaml:"want"`
}

type wantFinding struct {
	Rule    string `yaml:"rule"`
	Action  string `yaml:"action"`
	Path    string `yaml:"path"`
	Message string `yaml:"message"`
	// Standing marks a denial an UPDATE did not introduce, demoted to a warning.
	Standing bool `yaml:"standing,omitempty"`
}

func loadScenarios(t *testing.T, dir string) map[string][]scenario {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files in %s: %v", dir, err)
	}
	out := map[string][]scenario{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []scenario
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = cases
	}
	return out
}

// decodeOne decodes a manifest the way `check` does (defaults included).
func decodeOne(t *testing.T, src string) *manifest.Document {
	t.Helper()
	docs := decodeAll(t, src)
	if len(docs) != 1 {
		t.Fatalf("want one object, got %d in:\n%s", len(docs), src)
	}
	return docs[0]
}

func decodeAll(t *testing.T, src string) []*manifest.Document {
	t.Helper()
	dec := manifest.NewDecoder(policy.Scheme(), "default")
	dec.KeepText = true // the mutation scenarios print the patched text
	docs, errs := dec.Decode("test.yaml", []byte(src))
	for _, e := range errs {
		t.Fatalf("decode: %v", e)
	}
	return docs
}

func (s scenario) context(t *testing.T) policy.Context {
	t.Helper()
	var ctx policy.Context
	if s.Context == nil {
		return ctx
	}
	if _, ok := s.Context["ako"]; ok {
		ctx.AKO = policy.DefaultAKOSettings()
	}
	data, _ := json.Marshal(s.Context)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ctx); err != nil {
		t.Fatalf("context: %v", err)
	}
	if errs := ctx.Validate(); len(errs) > 0 {
		t.Fatalf("context: %v", errs.ToAggregate())
	}
	return ctx
}

func (s scenario) engine(t *testing.T) *policy.Engine {
	t.Helper()
	var cfg policy.Config
	if s.Config != nil {
		data, _ := json.Marshal(s.Config)
		if err := sigsyaml.UnmarshalStrict(data, &cfg); err != nil {
			t.Fatalf("config: %v", err)
		}
	}
	e, err := policy.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (s scenario) inventory(t *testing.T) *policy.MemoryInventory {
	return s.inventoryIn(t, policy.NewMemoryInventory())
}

// inventoryIn adds the scenario's related objects to inv.
func (s scenario) inventoryIn(t *testing.T, inv *policy.MemoryInventory) *policy.MemoryInventory {
	t.Helper()
	for _, d := range decodeAll(t, s.Inventory) {
		if d.Typed != nil {
			inv.Add(d.Typed)
		} else if d.Ref().Kind == policy.MachineConfigKind {
			inv.AddMachineConfig(policy.MachineConfigFromUnstructured(d.Object))
		}
	}
	return inv
}

func (s scenario) review(t *testing.T) (*policy.Review, *manifest.Document) {
	t.Helper()
	doc := decodeOne(t, s.Object)
	if doc.Typed == nil {
		t.Fatalf("object of unknown kind %s", doc.Ref())
	}
	r := &policy.Review{Operation: policy.OperationCreate, Object: doc.Typed}
	if s.Operation != "" {
		r.Operation = policy.Operation(s.Operation)
	}
	if s.OldObject != "" {
		r.OldObject = decodeOne(t, s.OldObject).Typed
	}
	return r, doc
}

// TestRuleScenarios runs every case of testdata/rules and compares the whole finding list:
// rule IDs, actions, field paths and messages, in order.
func TestRuleScenarios(t *testing.T) {
	for file, cases := range loadScenarios(t, "testdata/rules") {
		actual := make([][]wantFinding, len(cases))
		for i := range cases {
			sc := &cases[i]
			t.Run(filepath.Base(file)+"/"+sc.Name, func(t *testing.T) {
				r, doc := sc.review(t)
				engine := sc.engine(t)
				want := make([]policy.Finding, len(sc.Want))
				for j, w := range sc.Want {
					want[j] = policy.Finding{Rule: w.Rule, Action: policy.Action(w.Action), Object: policy.Ref(r.Object), Path: w.Path, Message: w.Message, Standing: w.Standing}
				}
				// The whole related objects, as the webhook's cache holds them; and only
				// what the rules look up of them, as a bounded check holds them
				// (policy.NewCompactInventory): a rule that reads a field the compact
				// inventory drops finds something else.
				for _, inv := range []struct {
					name string
					inv  *policy.MemoryInventory
				}{{"whole", sc.inventory(t)}, {"compact", sc.inventoryIn(t, policy.NewCompactInventory())}} {
					got, err := engine.Validate(t.Context(), r, policy.Env{Context: sc.context(t), Inventory: inv.inv})
					if err != nil {
						t.Fatalf("%s inventory: %v", inv.name, err)
					}
					got = append(engine.UnknownFieldFindings(r.Object, doc.UnknownFields), got...)
					policy.SortFindings(got)
					if inv.name == "whole" {
						for _, f := range got {
							actual[i] = append(actual[i], wantFinding{Rule: f.Rule, Action: string(f.Action), Path: f.Path, Message: f.Message, Standing: f.Standing})
						}
					}
					if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(policy.Finding{}, "Summary"), cmpopts.EquateEmpty()); diff != "" && !*update {
						t.Errorf("findings with the %s inventory (-want +got):\n%s", inv.name, diff)
					}
				}
			})
		}
		if *update {
			updateWants(t, file, actual)
		}
	}
}

// updateWants replaces the want list of each case in a scenario file, keeping the rest
// of the file (comments, anchors, layout) as it is.
func updateWants(t *testing.T, file string, actual [][]wantFinding) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for i, c := range doc.Content[0].Content {
		var want yaml.Node
		list := actual[i]
		if list == nil {
			list = []wantFinding{}
		}
		if err := want.Encode(list); err != nil {
			t.Fatal(err)
		}
		for j := 0; j+1 < len(c.Content); j += 2 {
			if c.Content[j].Value == "want" {
				c.Content[j+1] = &want
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryRuleHasScenarios requires, for every rule of the catalogue, a case where it
// fires and a clean case that exercises it.
func TestEveryRuleHasScenarios(t *testing.T) {
	fires, clean := map[string]bool{}, map[string]bool{}
	for _, cases := range loadScenarios(t, "testdata/rules") {
		for _, c := range cases {
			for _, w := range c.Want {
				fires[w.Rule] = true
			}
			if len(c.Want) == 0 {
				for _, id := range c.Covers {
					clean[id] = true
				}
			}
			for _, id := range c.Covers {
				if _, ok := policy.LookupRule(id); !ok {
					t.Errorf("case %q covers unknown rule %q", c.Name, id)
				}
			}
		}
	}
	var missing []string
	for _, r := range policy.Catalogue() {
		if r.Mutation {
			continue
		}
		if !fires[string(r.ID)] {
			missing = append(missing, fmt.Sprintf("%s: no case where it fires", r.ID))
		}
		if !clean[string(r.ID)] {
			missing = append(missing, fmt.Sprintf("%s: no clean case", r.ID))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("rules without scenarios:\n%s", strings.Join(missing, "\n"))
	}
}
