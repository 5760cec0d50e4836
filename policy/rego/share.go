package rego

import (
	"encoding/json"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// sharer makes the objects of an inventory share the terms of the values they have in
// common: strings and numbers, and objects and arrays equal to one seen before. An
// inventory's objects repeat most of what they hold (label keys and values, namespace
// names, types and protocols, ports, IP families, an empty status, timestamps), and as
// converted each is a term of its own: a Service of a typical cluster held 136 heap objects
// in data.inventory against 14 as the typed object it comes from, 41 when shared
// (BenchmarkInventoryGC: 55 MB live for 10,000 Services, 28 MB shared). Every one of them
// is marked at every garbage collection, and the webhook keeps data.inventory for as long
// as it runs.
//
// Terms are values: OPA never changes a term once made (it interns the terms of small
// numbers and booleans the same way), and the inventory never changes an object's value
// after it is put, only the objects that lead to it, which are not shared. The tables are
// bounded: one that reaches maxShared entries starts again empty, so values that never
// repeat (uids, resourceVersions) cannot grow it past that, and what is already shared
// stays shared.
//
// A nil *sharer shares nothing: a review's object is converted the same way, once, and
// dropped.
type sharer struct {
	mu      sync.Mutex
	strings map[string]*ast.Term
	ints    map[int64]*ast.Term
	numbers map[ast.Number]*ast.Term
	// composites are objects and arrays by hash; a later term equal to the one kept for
	// its hash is replaced by it.
	composites map[int]*ast.Term
}

// maxShared bounds each of the sharer's tables: 65,536 entries, a few MiB at most.
const maxShared = 1 << 16

// value converts an inventory object as toValue does, sharing what it can, and shares the
// terms of its path in the inventory in place.
func (s *sharer) value(obj any, gvk schema.GroupVersionKind, path []*ast.Term) (ast.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strings = ready(s.strings)
	s.ints = ready(s.ints)
	s.numbers = ready(s.numbers)
	s.composites = ready(s.composites)
	for i, p := range path {
		path[i] = s.term(p)
	}
	return convert(obj, gvk, s)
}

// ready returns table, or a new one when it is missing or full.
func ready[K comparable](table map[K]*ast.Term) map[K]*ast.Term {
	if table == nil || len(table) >= maxShared {
		return make(map[K]*ast.Term)
	}
	return table
}

func (s *sharer) str(v string) *ast.Term {
	if s == nil {
		return ast.StringTerm(v)
	}
	return shared(s.strings, v, ast.StringTerm)
}

func (s *sharer) int(v int64) *ast.Term {
	if s == nil || (v >= 0 && v < 512) {
		return ast.InternedTerm(v) // OPA's own
	}
	return shared(s.ints, v, ast.InternedTerm[int64])
}

func (s *sharer) number(v json.Number) *ast.Term {
	if s == nil {
		return ast.NumberTerm(v)
	}
	return shared(s.numbers, ast.Number(v), func(n ast.Number) *ast.Term { return ast.NewTerm(n) })
}

func shared[K comparable](table map[K]*ast.Term, k K, make func(K) *ast.Term) *ast.Term {
	if t, ok := table[k]; ok {
		return t
	}
	t := make(k)
	table[k] = t
	return t
}

// composite returns the object or array term kept for a value equal to t's, or keeps t.
func (s *sharer) composite(t *ast.Term) *ast.Term {
	if s == nil {
		return t
	}
	h := t.Value.Hash()
	if have, ok := s.composites[h]; ok {
		if have.Value.Compare(t.Value) == 0 {
			return have
		}
		return t // a collision: the first stays
	}
	s.composites[h] = t
	return t
}

// term shares the values of a term made otherwise (parsed JSON, an unstructured object's
// map): objects and arrays are made again from shared parts.
func (s *sharer) term(t *ast.Term) *ast.Term {
	if s == nil {
		return t
	}
	switch v := t.Value.(type) {
	case ast.String:
		return shared(s.strings, string(v), func(string) *ast.Term { return t })
	case ast.Number:
		return shared(s.numbers, v, func(ast.Number) *ast.Term { return t })
	case ast.Object:
		items := make([][2]*ast.Term, 0, v.Len())
		v.Foreach(func(k, x *ast.Term) { items = append(items, [2]*ast.Term{s.term(k), s.term(x)}) })
		return s.composite(ast.ObjectTerm(items...))
	case *ast.Array:
		items := make([]*ast.Term, v.Len())
		for i := range items {
			items[i] = s.term(v.Elem(i))
		}
		return s.composite(ast.ArrayTerm(items...))
	}
	return t
}

// parsed shares the values of a term parsed from JSON.
func (s *sharer) parsed(t *ast.Term, err error) (*ast.Term, error) {
	if err != nil {
		return nil, err
	}
	return s.term(t), nil
}

// withKind is an object's root with apiVersion and kind set. A shared root is never
// changed: the root is made again (and, being its object's own, not kept for sharing).
func (s *sharer) withKind(root ast.Object, apiVersion, kind string) ast.Object {
	if s == nil {
		root.Insert(apiVersionKey, ast.StringTerm(apiVersion))
		root.Insert(kindKey, ast.StringTerm(kind))
		return root
	}
	if h := root.Hash(); s.composites[h] != nil && s.composites[h].Value == root {
		delete(s.composites, h)
	}
	items := make([][2]*ast.Term, 0, root.Len()+2)
	root.Foreach(func(k, v *ast.Term) {
		if !k.Equal(apiVersionKey) && !k.Equal(kindKey) {
			items = append(items, [2]*ast.Term{k, v})
		}
	})
	items = append(items, [2]*ast.Term{apiVersionKey, s.str(apiVersion)}, [2]*ast.Term{kindKey, s.str(kind)})
	return ast.NewObject(items...)
}

// unstructuredValue is an unstructured object's value, shared.
func (s *sharer) unstructuredValue(u *unstructured.Unstructured) (ast.Value, error) {
	v, err := ast.InterfaceToValue(u.Object)
	if err != nil {
		return nil, err
	}
	return s.term(ast.NewTerm(v)).Value, nil
}
