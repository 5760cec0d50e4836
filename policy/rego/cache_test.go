package rego

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// TestRuleCacheAsOPAs runs the same random sequences of Push, Pop, Put and Get on ruleCache
// and on OPA's own virtual cache, and wants the same answers: values, undefined marks,
// frames, prefixes of cached references (not cached themselves), references whose
// elements are permuted, and a value put after an undefined mark.
func TestRuleCacheAsOPAs(t *testing.T) {
	elems := []*ast.Term{ast.DefaultRootDocument, ast.StringTerm("a"), ast.StringTerm("b"), ast.StringTerm("violation"),
		ast.IntNumberTerm(1), ast.BooleanTerm(true), ast.ArrayTerm(ast.StringTerm("a")), ast.VarTerm("x")}
	values := []*ast.Term{nil, ast.StringTerm("v"), ast.SetTerm(ast.StringTerm("m")), ast.BooleanTerm(false)}
	rng := rand.New(rand.NewPCG(1, 2))
	ref := func() ast.Ref {
		r := ast.Ref{ast.DefaultRootDocument}
		for range rng.IntN(4) {
			r = append(r, elems[rng.IntN(len(elems))])
		}
		return r
	}
	for seq := range 2000 {
		ours, opas := newRuleCache(), topdown.NewVirtualCache()
		depth := 0
		for step := range 40 {
			switch op := rng.IntN(10); {
			case op == 0:
				ours.Push()
				opas.Push()
				depth++
			case op == 1 && depth > 0:
				ours.Pop()
				opas.Pop()
				depth--
			case op < 5:
				r, v := ref(), values[rng.IntN(len(values))]
				// Evaluation reuses the slice it passes: the cache must copy it.
				passed := slices.Clone(r)
				ours.Put(passed, v)
				opas.Put(r, v)
				for i := range passed {
					passed[i] = ast.StringTerm("reused")
				}
			default:
				r := ref()
				gotV, gotU := ours.Get(r)
				wantV, wantU := opas.Get(r)
				if gotU != wantU || (gotV == nil) != (wantV == nil) || (gotV != nil && !gotV.Equal(wantV)) {
					t.Fatalf("sequence %d step %d: Get(%v) = %v, %v; OPA's cache: %v, %v", seq, step, r, gotV, gotU, wantV, wantU)
				}
			}
		}
		keys := func(c topdown.VirtualCache) []string {
			var out []string
			for _, k := range c.Keys() {
				out = append(out, k.String())
			}
			slices.Sort(out)
			return out
		}
		if got, want := keys(ours), keys(opas); !slices.Equal(got, want) {
			t.Fatalf("sequence %d: Keys() = %v; OPA's cache: %v", seq, got, want)
		}
	}
}

// TestRuleCacheCollisions: references whose hashes collide are told apart. No two short
// references are known to collide, so the test files one reference under the other's hash,
// as a collision would.
func TestRuleCacheCollisions(t *testing.T) {
	a, b, c := ast.MustParseRef("data.a.deny"), ast.MustParseRef("data.b.deny"), ast.MustParseRef("data.c.deny")
	cache := newRuleCache()
	cache.Put(a, ast.StringTerm("va"))
	frame := cache.frames[0]
	for _, r := range []ast.Ref{b, c} {
		frame[refHash(r)] = frame[refHash(a)] // a now sits where b and c hash
	}
	if v, undefined := cache.Get(b); v != nil || undefined {
		t.Fatalf("Get(b) = %v, %v before b is put; want nothing", v, undefined)
	}
	cache.Put(b, ast.StringTerm("vb"))
	cache.Put(b, nil)
	cache.Put(c, ast.StringTerm("vc"))
	cache.Put(c, ast.StringTerm("vc2"))
	cache.Put(a, ast.StringTerm("va2")) // under a's own hash
	for _, tt := range []struct {
		ref       ast.Ref
		want      *ast.Term
		undefined bool
	}{{b, nil, true}, {c, ast.StringTerm("vc2"), false}, {a, ast.StringTerm("va2"), false}} {
		if v, undefined := cache.Get(tt.ref); undefined != tt.undefined || (v == nil) != (tt.want == nil) || (v != nil && !v.Equal(tt.want)) {
			t.Errorf("Get(%v) = %v, %v; want %v, %v", tt.ref, v, undefined, tt.want, tt.undefined)
		}
	}
	var keys []string
	for _, k := range cache.Keys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	// a thrice: under its own hash and, as put first, under b's and c's; b keeps the value
	// put before it was marked undefined, as in OPA's cache.
	if want := []string{"data.a.deny", "data.a.deny", "data.a.deny", "data.b.deny", "data.c.deny"}; !slices.Equal(keys, want) {
		t.Errorf("Keys() = %v, want %v", keys, want)
	}
}

// trieCache is OPA's base cache (topdown's baseCache, which OPA does not export) as its
// source has it: a trie of the reference's elements, a value hiding what is below it.
type trieCache struct {
	value    ast.Value
	children map[ast.Value]*trieCache
}

func (c *trieCache) Get(ref ast.Ref) ast.Value {
	node := c
	for i := 0; i < len(ref) && node != nil; i++ {
		if node = node.children[ref[i].Value]; node != nil && node.value != nil {
			if v, err := node.value.Find(ref[i+1:]); err == nil {
				return v
			}
			return nil
		}
	}
	return nil
}

func (c *trieCache) Put(ref ast.Ref, value ast.Value) {
	node := c
	for i := range ref {
		child, ok := node.children[ref[i].Value]
		if !ok {
			child = &trieCache{}
			if node.children == nil {
				node.children = map[ast.Value]*trieCache{}
			}
			node.children[ref[i].Value] = child
		}
		node = child
	}
	node.value, node.children = value, nil
}

// TestDataCacheAsOPAs runs the same random sequences of Put and Get on dataCache and on
// OPA's base cache, and wants the same answers: values found below a cached prefix, values
// hidden by a prefix put later, nil values and the empty reference forgetting what is
// below them.
func TestDataCacheAsOPAs(t *testing.T) {
	elems := []*ast.Term{ast.StringTerm("a"), ast.StringTerm("b"), ast.StringTerm("c"), ast.IntNumberTerm(0), ast.IntNumberTerm(1)}
	values := []ast.Value{nil, ast.String("s"),
		ast.MustParseTerm(`{"a": {"b": "ab", "c": [1, 2]}, "b": "b", "c": {"a": "ca"}}`).Value,
		ast.MustParseTerm(`["x", {"a": "y"}]`).Value,
		ast.MustParseTerm(`{"b": {"c": "bc"}}`).Value}
	rng := rand.New(rand.NewPCG(3, 4))
	ref := func(head int) ast.Ref {
		r := ast.Ref{ast.DefaultRootDocument}[:head]
		for range rng.IntN(5) {
			r = append(r, elems[rng.IntN(len(elems))])
		}
		return r
	}
	for seq := range 3000 {
		ours, opas := &dataCache{}, &trieCache{}
		for step := range 30 {
			if rng.IntN(3) == 0 {
				// Mostly under data, sometimes the empty reference.
				r, v := ref(min(1, rng.IntN(8))), values[rng.IntN(len(values))]
				passed := slices.Clone(r)
				ours.Put(passed, v)
				opas.Put(r, v)
				for i := range passed {
					passed[i] = ast.StringTerm("reused")
				}
				continue
			}
			r := ref(1)
			got, want := ours.Get(r), opas.Get(r)
			if (got == nil) != (want == nil) || (got != nil && got.Compare(want) != 0) {
				t.Fatalf("sequence %d step %d: Get(%v) = %v; OPA's cache: %v", seq, step, r, got, want)
			}
		}
	}
}
