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
