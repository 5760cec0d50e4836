package rego

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/sctpguard/sctpguard/policy"
)

// TestToValueIsJSON: for every kind sctpguard decodes, filled at random, the direct
// conversion gives exactly the Rego value of the object's JSON text.
func TestToValueIsJSON(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	f := randfill.NewWithSeed(seed).NilChance(0.3).NumElements(0, 2).MaxDepth(8).Funcs(fillers()...)
	for gvk, typ := range policy.Scheme().AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		for range 3 {
			obj := reflect.New(typ).Interface()
			f.Fill(obj)
			text, err := json.Marshal(obj)
			if err != nil {
				continue // randfill made something JSON cannot hold; not the converter's concern
			}
			want, err := ast.ValueFromReader(bytes.NewReader(text))
			if err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
			got, err := toValue(obj, schema.GroupVersionKind{})
			if err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s (seed %d):\n got %s\nwant %s", gvk, seed, got, want)
			}
		}
	}
}

// fillers fill the types whose random values JSON cannot hold, or that are JSON already.
func fillers() []any {
	return []any{
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(c.Int63n(1<<40), resource.DecimalSI)
		},
		func(is *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*is = intstr.FromInt32(c.Int31())
			} else {
				*is = intstr.FromString(c.String(8))
			}
		},
		func(tm *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*tm = metav1.Unix(c.Int63n(1<<32), 0)
			}
		},
		func(tm *metav1.MicroTime, c randfill.Continue) {
			if c.Bool() {
				*tm = metav1.NewMicroTime(time.Unix(c.Int63n(1<<32), c.Int63n(1e9)))
			}
		},
		func(re *runtime.RawExtension, c randfill.Continue) {
			if c.Bool() {
				re.Raw = []byte(`{"a":[1,"b",null,2.5]}`)
			}
		},
		func(m *metav1.FieldsV1, c randfill.Continue) { m.SetRawBytes([]byte(`{"f:spec":{}}`)) },
		func(f *float64, c randfill.Continue) { *f = float64(c.Int31()) / 7 },
		func(v *any, c randfill.Continue) {}, // free-form fields are JSON from the wire, not Go values
	}
}

// TestProjection: an object converted for what the policies read holds, at every path they
// read, what the whole object holds, and nothing that no path reaches.
func TestProjection(t *testing.T) {
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewPCG(uint64(seed), 2))
	// Types with their own JSON form are converted whole: left out here, whose JSON is
	// nested, they would be kept below paths no read reaches.
	f := randfill.NewWithSeed(seed).NilChance(0.2).NumElements(1, 3).MaxDepth(6).Funcs(append(fillers(),
		func(*runtime.RawExtension, randfill.Continue) {}, func(*metav1.FieldsV1, randfill.Continue) {})...)
	for gvk, typ := range policy.Scheme().AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		obj := reflect.New(typ).Interface()
		f.Fill(obj)
		full, err := toValue(obj, schema.GroupVersionKind{})
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var leaves []ast.Ref
		collectPaths(ast.NewTerm(full), nil, &leaves)
		if len(leaves) == 0 {
			continue
		}
		// Read paths: prefixes of leaves, some with a variable in place of a key.
		p := &projection{}
		var read []ast.Ref
		for range 1 + r.IntN(4) {
			leaf := leaves[r.IntN(len(leaves))]
			path := leaf[:1+r.IntN(len(leaf))].Copy()
			ref := path.Copy()
			if r.IntN(2) == 0 {
				ref[r.IntN(len(ref))] = ast.VarTerm("x")
			}
			p.add(ref)
			read = append(read, path, ref)
		}
		p = p.finish()
		got, err := toValueProjected(obj, p)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		for i := 0; i < len(read); i += 2 {
			want, _ := full.Find(read[i])
			have, _ := got.Find(read[i])
			if want == nil || have == nil || want.Compare(have) != 0 {
				t.Fatalf("%s (seed %d): at %v (read %v): projected %v, whole %v", gvk, seed, read[i], read[i+1], have, want)
			}
		}
		var kept []ast.Ref
		collectPaths(ast.NewTerm(got), nil, &kept)
		for _, k := range kept {
			if !slices.ContainsFunc(read, func(ref ast.Ref) bool { return covers(ref, k) }) {
				if v, _ := got.Find(k); v != nil && v.Compare(ast.Null{}) == 0 {
					continue // an array element that no path reads keeps its place as null
				}
				t.Fatalf("%s (seed %d): kept %v, which no read path %v reaches", gvk, seed, k, read)
			}
		}
	}
}

// collectPaths lists the paths of the leaves (scalars, empty collections) of a value.
func collectPaths(t *ast.Term, at ast.Ref, out *[]ast.Ref) {
	n := 0
	switch v := t.Value.(type) {
	case ast.Object:
		v.Foreach(func(k, c *ast.Term) { n++; collectPaths(c, append(at.Copy(), k), out) })
	case *ast.Array:
		v.Foreach(func(c *ast.Term) { collectPaths(c, append(at.Copy(), ast.InternedTerm(n)), out); n++ })
	}
	if n == 0 && len(at) > 0 {
		*out = append(*out, at)
	}
}

// covers reports whether a read reference reaches a path, or passes through it (a leaf
// on the way of a longer reference is kept whole), variables matching any key.
func covers(ref, path ast.Ref) bool {
	for i, t := range ref[:min(len(ref), len(path))] {
		// Keys that are not strings, array indexes too, read every key and element.
		if _, isString := t.Value.(ast.String); isString && t.Value.Compare(path[i].Value) != 0 {
			return false
		}
	}
	return true
}
