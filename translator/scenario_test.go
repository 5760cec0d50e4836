package translator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
	"github.com/sctpguard/sctpguard/test/avisim/schema"
	"github.com/sctpguard/sctpguard/translator"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// loadScenario reads a scenario directory: input.yaml (the Kubernetes objects) and
// optionally ako.yaml (AKO's values; default clusterName "cluster", AKO's defaults).
func loadScenario(t *testing.T, dir string) *translator.Builder {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("input.yaml", data)
	for _, e := range errs {
		t.Fatalf("decode: %v", e)
	}
	var objs []policy.Object
	for _, d := range docs {
		if d.Typed != nil {
			objs = append(objs, d.Typed)
		}
	}
	values := []byte("AKOSettings:\n  clusterName: cluster\n")
	if v, err := os.ReadFile(filepath.Join(dir, "ako.yaml")); err == nil {
		values = v
	}
	ctx, err := policy.ParseAKOValues(values)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &translator.Builder{Context: ctx, Source: translator.NewMemorySource(objs...), Engine: engine}
}

// update rewrites the want.json files from the results; review the diff before committing.
var update = flag.Bool("update", false, "rewrite testdata/scenarios/*/want.json from the results")

// TestScenarios renders each scenario of testdata/scenarios and compares the whole result
// (every object, field by field, in creation order) with want.json. Each scenario names the
// AKO function it follows in an "# AKO: " comment of its input.yaml.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if src, err := os.ReadFile(filepath.Join(dir, "input.yaml")); err != nil || !bytes.Contains(src, []byte("\n# AKO: ")) {
				t.Errorf("input.yaml names no AKO function in a line starting \"# AKO: \" (%v)", err)
			}
			b := loadScenario(t, dir)
			got, err := translator.Render(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if *update && !sameJSON(t, dir, gotJSON) {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, gotJSON, "", " "); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "want.json"), append(pretty.Bytes(), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantJSON, err := os.ReadFile(filepath.Join(dir, "want.json"))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(gotJSON, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wantJSON, &w); err != nil {
				t.Fatalf("want.json: %v", err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("units (-want +got):\n%s\ngot:\n%s", diff, gotJSON)
			}
		})
	}
}

// sameJSON reports whether a scenario's want.json already holds got, so that -update keeps
// the hand-written layout of the files it need not change.
func sameJSON(t *testing.T, dir string, got []byte) bool {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(dir, "want.json"))
	if err != nil {
		return false
	}
	var g, w any
	return json.Unmarshal(got, &g) == nil && json.Unmarshal(want, &w) == nil && cmp.Equal(w, g)
}

// TestScenarioBodiesFitTheSchema checks every body the scenario corpus makes the translator
// send against the controller's published object schema (test/avisim/schema), field by
// field: names, JSON types, enums, ranges, ref targets, required fields, and no field newer
// than the API version sent. The test double accepts unknown fields as the real controller
// does (and drops them), so this is what catches a misspelt or invented one.
func TestScenarioBodiesFitTheSchema(t *testing.T) {
	s, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil {
		t.Fatal(err)
	}
	bodies := 0
	for _, dir := range dirs {
		units, err := translator.Render(context.Background(), loadScenario(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			for _, o := range u.Objects {
				data, err := json.Marshal(o.Body)
				if err != nil {
					t.Fatal(err)
				}
				var body any
				if err := json.Unmarshal(data, &body); err != nil {
					t.Fatal(err)
				}
				bodies++
				for _, p := range s.Check(o.Type, body, avi.MinSCTPVersion) {
					t.Errorf("%s: %s %s: %s", filepath.Base(dir), o.Type, o.Name, p)
				}
			}
		}
	}
	// Every scenario that syncs contributes: the check must have had bodies to look at.
	if bodies < 4*len(dirs)/2 {
		t.Errorf("only %d bodies in %d scenarios", bodies, len(dirs))
	}
}
