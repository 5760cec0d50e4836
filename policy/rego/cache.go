package rego

import (
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
	// the top one. A frame's map is made on its first Put. Entries are held in the map
	// itself, not each in an allocation of its own; only those whose hash collides with
	// another's are chained.
	frames []map[uint64]cachedRule
	refs   refArena
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
	return &ruleCache{frames: make([]map[uint64]cachedRule, 1, 2)}
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
	frame := c.frames[len(c.frames)-1]
	head, ok := frame[refHash(ref)]
	if !ok {
		return nil, false
	}
	e := &head
	for ; e != nil && !e.ref.Equal(ref); e = e.next {
	}
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
		*top = map[uint64]cachedRule{}
	}
	set := func(e *cachedRule) {
		if value != nil {
			e.value = value
		} else {
			e.undefined = true
		}
	}
	h := refHash(ref)
	head, ok := (*top)[h]
	switch {
	case !ok:
		head = cachedRule{ref: c.refs.clone(ref)}
		set(&head)
	case head.ref.Equal(ref):
		set(&head)
	default:
		e := head.next
		for ; e != nil && !e.ref.Equal(ref); e = e.next {
		}
		if e == nil {
			e = &cachedRule{ref: c.refs.clone(ref), next: head.next}
			head.next = e
		}
		set(e)
	}
	(*top)[h] = head
}

// Keys implements topdown.VirtualCache: the references with a value in the top frame.
func (c *ruleCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, head := range c.frames[len(c.frames)-1] {
		for e := &head; e != nil; e = e.next {
			if e.value != nil {
				keys = append(keys, e.ref)
			}
		}
	}
	return keys
}

// refArena holds the copies of the references a cache keeps, several in one allocation.
type refArena struct {
	terms []*ast.Term
}

// clone copies ref into the arena; the copy's capacity ends with it, so that nothing
// appended to it reaches the next.
func (a *refArena) clone(ref ast.Ref) ast.Ref {
	if cap(a.terms)-len(a.terms) < len(ref) {
		a.terms = make([]*ast.Term, 0, max(32, len(ref)))
	}
	start := len(a.terms)
	a.terms = append(a.terms, ref...)
	return a.terms[start:len(a.terms):len(a.terms)]
}

// refHash hashes a reference's elements in order (ast.Ref.Hash adds them up: a.b and b.a
// would collide): FNV-1a's offset basis and prime, over whole element hashes.
func refHash(ref ast.Ref) uint64 {
	h := refHashBasis
	for _, t := range ref {
		h = refHashNext(h, t)
	}
	return h
}

const refHashBasis uint64 = 14695981039346656037

// refHashNext is the hash of a reference extended by t, from the hash h of the reference.
func refHashNext(h uint64, t *ast.Term) uint64 {
	//nolint:gosec // a hash: its bits are reinterpreted, not converted
	return (h ^ uint64(t.Value.Hash())) * 1099511628211
}

// dataCache is topdown.BaseCache, the memo of the data documents (store and resolvers) one
// evaluation has read, with the semantics of OPA's own but one flat map keyed by the whole
// reference. OPA's keeps a trie with a map per reference element: reading
// data.sctpguard.parameters.c<i> for three constraints made some 24 allocations and 1.7 KB
// per review.
type dataCache struct {
	entries map[uint64]*cachedData
	refs    refArena
}

type cachedData struct {
	ref   ast.Ref
	value ast.Value
	// next is another reference with the same hash.
	next *cachedData
}

var _ topdown.BaseCache = (*dataCache)(nil)

// Get implements topdown.BaseCache: the value below the shortest cached prefix of ref, nil
// when no prefix is cached or the value has nothing at the rest of ref.
func (c *dataCache) Get(ref ast.Ref) ast.Value {
	h := refHashBasis
	for i := range ref {
		h = refHashNext(h, ref[i])
		e := c.find(ref[:i+1], h)
		if e == nil {
			continue
		}
		v, err := e.value.Find(ref[i+1:])
		if err != nil {
			return nil
		}
		return v
	}
	return nil
}

// Put implements topdown.BaseCache: value is cached for ref, which hides whatever was
// cached below it (OPA's trie drops it). A nil value, or the empty reference, forgets ref
// and everything below.
func (c *dataCache) Put(ref ast.Ref, value ast.Value) {
	if value == nil || len(ref) == 0 {
		for h, e := range c.entries {
			var kept *cachedData
			for ; e != nil; e = e.next {
				if !e.ref.HasPrefix(ref) {
					kept = &cachedData{ref: e.ref, value: e.value, next: kept}
				}
			}
			if kept == nil {
				delete(c.entries, h)
			} else {
				c.entries[h] = kept
			}
		}
		return
	}
	if c.entries == nil {
		c.entries = map[uint64]*cachedData{}
	}
	h := refHash(ref)
	if e := c.find(ref, h); e != nil {
		e.value = value
		return
	}
	c.entries[h] = &cachedData{ref: c.refs.clone(ref), value: value, next: c.entries[h]}
}

func (c *dataCache) find(ref ast.Ref, h uint64) *cachedData {
	for e := c.entries[h]; e != nil; e = e.next {
		if e.ref.Equal(ref) {
			return e
		}
	}
	return nil
}
