package rego

import (
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ruleCache is topdown.VirtualCache, the memo of the rules one evaluation has evaluated,
// with the semantics of OPA's own (topdown.NewVirtualCache) but a flat map per frame keyed
// by the whole reference. OPA's keeps a trie with a hash map per reference element: for the
// five policies of a typical review (data.<package>.deny,
// data.sctpguard.constraints.c<i>.violation) that was some 55 allocations, an eighth of
// the review's evaluation; this one makes a few per cached rule.
type ruleCache struct {
	// frames is a stack: evaluation pushes one for each `with`, and reads and writes only
	// the top one. A frame's map is made on its first Put.
	frames []map[uint64]*cachedRule
}

type cachedRule struct {
	ref ast.Ref
	// value is the rule's value; undefined records that it has none. As in OPA's cache,
	// once undefined is set it wins over any value put later.
	value     *ast.Term
	undefined bool
	// next is another reference with the same hash.
	next *cachedRule
}

var _ topdown.VirtualCache = (*ruleCache)(nil)

func newRuleCache() *ruleCache {
	return &ruleCache{frames: make([]map[uint64]*cachedRule, 1, 2)}
}

// Push implements topdown.VirtualCache.
func (c *ruleCache) Push() { c.frames = append(c.frames, nil) }

// Pop implements topdown.VirtualCache.
func (c *ruleCache) Pop() {
	c.frames[len(c.frames)-1] = nil
	c.frames = c.frames[:len(c.frames)-1]
}

// Get implements topdown.VirtualCache: the value cached for ref, or nil and whether ref is
// known to be undefined.
func (c *ruleCache) Get(ref ast.Ref) (*ast.Term, bool) {
	e := c.find(c.frames[len(c.frames)-1], ref, refHash(ref))
	switch {
	case e == nil:
		return nil, false
	case e.undefined:
		return nil, true
	}
	return e.value, false
}

// Put implements topdown.VirtualCache: value is cached for ref; a nil value records that
// ref is undefined. The reference is copied: evaluation reuses the slice it passes.
func (c *ruleCache) Put(ref ast.Ref, value *ast.Term) {
	top := &c.frames[len(c.frames)-1]
	if *top == nil {
		*top = map[uint64]*cachedRule{}
	}
	h := refHash(ref)
	e := c.find(*top, ref, h)
	if e == nil {
		e = &cachedRule{ref: slices.Clone(ref), next: (*top)[h]}
		(*top)[h] = e
	}
	if value != nil {
		e.value = value
	} else {
		e.undefined = true
	}
}

// Keys implements topdown.VirtualCache: the references with a value in the top frame.
func (c *ruleCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, e := range c.frames[len(c.frames)-1] {
		for ; e != nil; e = e.next {
			if e.value != nil {
				keys = append(keys, e.ref)
			}
		}
	}
	return keys
}

func (c *ruleCache) find(frame map[uint64]*cachedRule, ref ast.Ref, h uint64) *cachedRule {
	for e := frame[h]; e != nil; e = e.next {
		if e.ref.Equal(ref) {
			return e
		}
	}
	return nil
}

// refHash hashes a reference's elements in order (ast.Ref.Hash adds them up: a.b and b.a
// would collide).
func refHash(ref ast.Ref) uint64 {
	h := uint64(14695981039346656037) // FNV-1a's offset basis and prime, over whole element hashes
	for _, t := range ref {
		//nolint:gosec // a hash: its bits are reinterpreted, not converted
		h = (h ^ uint64(t.Value.Hash())) * 1099511628211
	}
	return h
}
