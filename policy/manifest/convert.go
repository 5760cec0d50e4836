package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxNodes bounds the values one document may expand to through YAML aliases, so that an
// alias bomb ("billion laughs") is an error instead of an out-of-memory kill.
const maxNodes = 1 << 20

// maxDepth bounds nesting. Kubernetes objects nest a few dozen levels; the bound keeps a
// hostile document from exhausting the stack, which would kill the process, not fail it.
const maxDepth = 500

// lineError is a conversion problem at a line of the stream (0: the document as a whole),
// and at a field path when the problem is one field.
type lineError struct {
	line int
	path string
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// converter decodes yaml.Node trees the way the API server decodes the JSON it is sent:
// into a Go type by its json tags (reporting fields the type does not have, and values of
// the wrong type with their path), or into generic JSON values for kinds it does not know.
// It records the line of every value, refuses alias cycles, alias bombs and hostile
// nesting, and rejects keys set twice, as the API server's strict decoding does.
type converter struct {
	offset int // lines before the document in its stream
	nodes  int
	depth  int
	// expanding holds the alias targets being decoded, to catch an alias inside its own
	// anchor ("&a [*a]", "&m {<<: *m}"), which would otherwise recurse forever.
	expanding map[*yaml.Node]bool
	// lines records, for every value, the hash of its path and its line, so findings can be
	// placed without parsing the document again.
	lines []lineEntry
	// segs is the path of the value being decoded, for messages.
	segs []segment
	// unknown collects the paths of fields the Go type does not have.
	unknown []string
	// src is the document's text, for what its nodes do not keep (nil: not needed).
	src *source
}

// segment is one step of a field path: a struct field or map key, or a list index.
type segment struct {
	key   string
	index int  // -1 for keys
	inMap bool // a map key renders as [key], a field as .key
}

func (c *converter) push(s segment) { c.segs = append(c.segs, s) }
func (c *converter) pop()           { c.segs = c.segs[:len(c.segs)-1] }

// path renders the current path as field.Path does: spec.ports[0].name, labels[app].
func (c *converter) path() string {
	var b strings.Builder
	for _, s := range c.segs {
		switch {
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case s.inMap:
			b.WriteString("[" + s.key + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		}
	}
	return b.String()
}

func (c *converter) errorAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: c.offset + n.Line, msg: fmt.Sprintf(format, args...)}
}

// fieldError is a value that does not fit its field.
func (c *converter) fieldError(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: c.offset + n.Line, path: c.path(), msg: fmt.Sprintf(format, args...)}
}

// enter does the bookkeeping of every value: its line, the size and depth limits.
func (c *converter) enter(n *yaml.Node, h uint64, keyLine int) error {
	line := n.Line
	// A block mapping or list starts on the line after its key; point at the key.
	if keyLine > 0 && n.Style&yaml.FlowStyle == 0 && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) {
		line = keyLine
	}
	c.lines = append(c.lines, lineEntry{hash: h, line: int32(c.offset + line)}) //nolint:gosec // lines fit in int32
	c.nodes++
	if c.nodes > maxNodes {
		return &lineError{msg: fmt.Sprintf("document expands to more than %d values through aliases", maxNodes)}
	}
	c.depth++
	if c.depth > maxDepth {
		return c.errorAt(n, "nesting deeper than %d levels", maxDepth)
	}
	return nil
}

// alias decodes the target of an alias with f, refusing an alias inside its own anchor.
func (c *converter) alias(n *yaml.Node, f func(*yaml.Node) error) error {
	if n.Alias == nil {
		return c.errorAt(n, "unknown alias")
	}
	if c.expanding[n.Alias] {
		return c.errorAt(n, "alias *%s refers to the anchor it is inside of", n.Value)
	}
	if c.expanding == nil {
		c.expanding = map[*yaml.Node]bool{}
	}
	c.expanding[n.Alias] = true
	defer delete(c.expanding, n.Alias)
	return f(n.Alias)
}

// pair is one key and value of a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

// pairs flattens a mapping: its own keys, then the keys its merge key ("<<") adds that it
// does not set itself. A key written twice is an error, and so are the merges that
// kubectl would read differently from the YAML specification: yaml.v2 (under
// sigs.k8s.io/yaml) applies a merge key where it stands, so that the merged value wins
// over a key written before it, and a second merge key over the first.
func (c *converter) pairs(n *yaml.Node) ([]pair, error) {
	out := make([]pair, 0, len(n.Content)/2)
	var merge, mergeKey *yaml.Node
	var seen keySet
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if mergeKey != nil {
				return nil, c.errorAt(k, "a second merge key (<<) in one mapping (first at line %d); merge several mappings with one: <<: [*a, *b]", c.offset+mergeKey.Line)
			}
			merge, mergeKey = v, k
			continue
		}
		key, err := c.mapKey(k)
		if err != nil {
			return nil, err
		}
		if first := seen.add(key, k); first != nil {
			return nil, c.twice(key, k, first)
		}
		out = append(out, pair{key: key, k: k, v: v})
	}
	if merge == nil {
		return out, nil
	}
	merged, err := c.merge(merge)
	if err != nil {
		return nil, err
	}
	for _, p := range merged {
		first := seen.get(p.key)
		if first == nil {
			out = append(out, p)
			continue
		}
		if first.Line < mergeKey.Line || (first.Line == mergeKey.Line && first.Column < mergeKey.Column) {
			return nil, c.errorAt(first, "key %q is set before the merge key (<<) on line %d, which sets it too: kubectl takes the merged value, YAML the one written here; write the key after the merge key", p.key, c.offset+mergeKey.Line)
		}
	}
	return out, nil
}

// isMerge is yaml.v2's merge key: a plain "<<", or one tagged !!merge.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Style == 0 || (k.Style&yaml.TaggedStyle != 0 && k.Tag == tagMerge))
}

// twice is the error of a key written twice.
func (c *converter) twice(key string, k, first *yaml.Node) error {
	if k.Value != key || first.Value != key {
		return c.errorAt(k, "key %q is set twice in one mapping (first at line %d, as %q; kubectl reads %q and %q alike)", key, c.offset+first.Line, first.Value, first.Value, k.Value)
	}
	return c.errorAt(k, "key %q is set twice in one mapping (first at line %d)", key, c.offset+first.Line)
}

// keySet is the keys of one mapping seen so far, to find a key set twice. Small mappings
// (nearly all of a manifest's) are scanned; from smallKeySet keys on, a map keeps the cost
// linear in the number of keys: a ConfigMap of 300,000 keys took 21 minutes when each key
// was compared with every earlier one.
type keySet struct {
	// The first smallKeySet keys, in arrays that stay on the stack with the set: no
	// allocation for the mappings of a usual manifest.
	small [smallKeySet]*yaml.Node
	keys  [smallKeySet]string
	n     int
	large map[string]*yaml.Node
}

const smallKeySet = 16

// get returns where key was written, or nil.
func (s *keySet) get(key string) *yaml.Node {
	if s.large != nil {
		return s.large[key]
	}
	for i, seen := range s.keys[:s.n] {
		if seen == key {
			return s.small[i]
		}
	}
	return nil
}

// add records key (written at k) and returns where it was written before, or nil.
func (s *keySet) add(key string, k *yaml.Node) *yaml.Node {
	if s.large == nil {
		for i, seen := range s.keys[:s.n] {
			if seen == key {
				return s.small[i]
			}
		}
		if s.n < smallKeySet {
			s.keys[s.n], s.small[s.n] = key, k
			s.n++
			return nil
		}
		s.large = make(map[string]*yaml.Node, 2*smallKeySet)
		for i, seen := range s.keys[:s.n] {
			s.large[seen] = s.small[i]
		}
	}
	if first, ok := s.large[key]; ok {
		return first
	}
	s.large[key] = k
	return nil
}

// merge returns the pairs a merge value (a mapping, an alias of one, or a list of them)
// adds, the earlier mappings of a list taking precedence.
func (c *converter) merge(m *yaml.Node) ([]pair, error) {
	switch m.Kind {
	case yaml.AliasNode:
		if m.Alias != nil && m.Alias.Kind != yaml.MappingNode {
			break // yaml.v2 merges an alias of a mapping only
		}
		var out []pair
		err := c.alias(m, func(target *yaml.Node) error {
			var err error
			out, err = c.merge(target)
			return err
		})
		return out, err
	case yaml.SequenceNode:
		var out []pair
		var have keySet
		for _, s := range m.Content {
			if s.Kind != yaml.MappingNode && s.Kind != yaml.AliasNode {
				return nil, c.errorAt(s, "merge key (<<) needs a mapping or a list of mappings")
			}
			ps, err := c.merge(s)
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if have.add(p.key, p.k) == nil {
					out = append(out, p)
				}
			}
		}
		return out, nil
	case yaml.MappingNode:
		c.depth++
		defer func() { c.depth-- }()
		if c.depth > maxDepth {
			return nil, c.errorAt(m, "nesting deeper than %d levels", maxDepth)
		}
		return c.pairs(m)
	}
	return nil, c.errorAt(m, "merge key (<<) needs a mapping or a list of mappings")
}

// mapKey returns the JSON key a mapping key becomes: the text of what it resolves to, as
// kubectl writes it (0x10 is "16", yes is "true").
func (c *converter) mapKey(k *yaml.Node) (string, error) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode {
		return "", c.errorAt(k, "mapping key is not a scalar")
	}
	if k.Style == 0 && k.Value != "" && hint(k.Value[0]) == 0 && !c.src.bang {
		return k.Value, nil // plain text that resolves to itself: nearly every key
	}
	r, err := resolve11(k, c.src)
	if err != nil {
		return "", c.errorAt(k, "%v", err)
	}
	text, err := r.keyText()
	if err != nil {
		return "", c.errorAt(k, "key %q: %v", k.Value, err)
	}
	return text, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// value decodes n, found at the path hashing to h (keyLine is the line of its mapping key,
// or 0), into generic JSON values: map[string]any, []any, string, int64, float64, bool, nil.
func (c *converter) value(n *yaml.Node, h uint64, keyLine int) (any, error) {
	if err := c.enter(n, h, keyLine); err != nil {
		return nil, err
	}
	defer func() { c.depth-- }()
	return c.genericOf(n, h)
}

// genericOf decodes a node whose line is recorded into generic values.
func (c *converter) genericOf(n *yaml.Node, h uint64) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.genericOf(n.Content[0], h)
	case yaml.AliasNode:
		var v any
		err := c.alias(n, func(target *yaml.Node) error {
			var err error
			v, err = c.genericOf(target, h)
			return err
		})
		return v, err
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		var buf [20]byte
		for i, item := range n.Content {
			v, err := c.value(item, pathHash(h, strconv.AppendInt(buf[:0], int64(i), 10)), 0)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		ps, err := c.pairs(n)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(ps))
		for _, p := range ps {
			v, err := c.value(p.v, pathHash(h, p.key), p.k.Line)
			if err != nil {
				return nil, err
			}
			out[p.key] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.errorAt(n, "unexpected YAML node")
}

// scalar reads a scalar as kubectl does (see resolve11) into a JSON value. Timestamps stay
// strings: Kubernetes objects carry them as RFC 3339 text.
func (c *converter) scalar(n *yaml.Node) (any, error) {
	r, err := c.resolve(n)
	if err != nil {
		return nil, err
	}
	v, err := r.jsonValue()
	if err != nil {
		return nil, c.errorAt(n, "%s: %v", n.Value, err)
	}
	return v, nil
}

// resolve reads a scalar as kubectl does, and places its errors.
func (c *converter) resolve(n *yaml.Node) (resolved, error) {
	r, err := resolve11(n, c.src)
	if err != nil {
		return r, c.errorAt(n, "%v", err)
	}
	return r, nil
}

// tag is the tag a node resolves to: that of a scalar as kubectl reads it, "" for a
// collection or a scalar kubectl refuses.
func (c *converter) tag(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	r, err := resolve11(n, c.src)
	if err != nil {
		return ""
	}
	return r.tag
}

// lineEntry is the line of the value at a path, by the path's hash.
type lineEntry struct {
	hash uint64
	line int32
}

// rootHash is the hash of the empty path.
const rootHash uint64 = 14695981039346656037 // FNV-1a offset basis

// pathHash extends the hash of a path by one segment (FNV-1a, with a separator so that
// "a.bc" and "ab.c" differ).
func pathHash[S string | []byte](h uint64, seg S) uint64 {
	const prime = 1099511628211
	for i := 0; i < len(seg); i++ {
		h ^= uint64(seg[i])
		h *= prime
	}
	h ^= 0xff
	h *= prime
	return h
}

var (
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	quantityType    = reflect.TypeFor[resource.Quantity]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// typeInfo is what decoding needs to know of a Go type, computed once per type.
type typeInfo struct {
	// unmarshaler: the type decodes its own JSON (metav1.Time, RawExtension, FieldsV1).
	unmarshaler bool
	// fields maps JSON names to struct fields.
	fields map[string]structField
}

var typeCache sync.Map // reflect.Type -> *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{unmarshaler: t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType)}
	if t.Kind() == reflect.Struct {
		ti.fields = map[string]structField{}
		collectFields(t, nil, ti.fields)
	}
	actual, _ := typeCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// structField is how a JSON key reaches a struct field: its index path through inlined
// structs, and its type.
type structField struct {
	index []int
	typ   reflect.Type
}

func collectFields(t reflect.Type, prefix []int, out map[string]structField) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(append([]int{}, prefix...), i)
		if strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct) {
			collectFields(f.Type, index, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := out[name]; !taken {
			out[name] = structField{index: index, typ: f.Type}
		}
	}
}

// typed decodes n, found at the path hashing to h, into v, which must be settable.
func (c *converter) typed(n *yaml.Node, v reflect.Value, h uint64, keyLine int) error {
	if err := c.enter(n, h, keyLine); err != nil {
		return err
	}
	defer func() { c.depth-- }()
	if n.Kind == yaml.AliasNode {
		return c.alias(n, func(target *yaml.Node) error { return c.into(target, v, h) })
	}
	return c.into(n, v, h)
}

// into decodes a non-alias node into v (its line is recorded already).
func (c *converter) into(n *yaml.Node, v reflect.Value, h uint64) error {
	if c.tag(n) == tagNull {
		v.Set(reflect.Zero(v.Type())) // null clears, as in JSON
		return nil
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	t := v.Type()
	switch t {
	case intOrStringType:
		return c.intOrString(n, v)
	case quantityType:
		if t := c.tag(n); t != tagStr && t != tagInt && t != tagFloat && t != tagTimestamp {
			return c.mismatch(n, "a quantity such as 100m or 1Gi")
		}
		q, err := resource.ParseQuantity(n.Value)
		if err != nil {
			return c.fieldError(n, "%q is not a quantity: %v", n.Value, err)
		}
		v.Set(reflect.ValueOf(q))
		return nil
	}
	info := infoOf(t)
	if info.unmarshaler {
		// A type with its own JSON decoding (metav1.Time, RawExtension, FieldsV1): give it
		// the JSON the API server would.
		g, err := c.genericOf(n, h)
		if err != nil {
			return err
		}
		data, err := json.Marshal(g)
		if err != nil {
			return c.fieldError(n, "%v", err)
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(data); err != nil {
			return c.fieldError(n, "cannot decode: %v", err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return c.structInto(n, v, h, info.fields)
	case reflect.Map:
		return c.mapInto(n, v, h)
	case reflect.Slice:
		return c.sliceInto(n, v, h)
	case reflect.Interface:
		g, err := c.genericOf(n, h)
		if err != nil {
			return err
		}
		if g != nil {
			v.Set(reflect.ValueOf(g))
		}
		return nil
	}
	return c.scalarInto(n, v)
}

func (c *converter) structInto(n *yaml.Node, v reflect.Value, h uint64, fields map[string]structField) error {
	if n.Kind != yaml.MappingNode {
		return c.mismatch(n, "an object")
	}
	return c.eachPair(n, func(key string, k, val *yaml.Node) error {
		c.push(segment{key: key, index: -1})
		defer c.pop()
		ph := pathHash(h, key)
		f, ok := fields[key]
		if !ok {
			// Dropped, as the API server drops it, but converted as kubectl converts it:
			// a value JSON cannot carry fails the document there too.
			c.unknown = append(c.unknown, c.path())
			_, err := c.value(val, ph, k.Line)
			return err
		}
		fv := v
		for i, idx := range f.index {
			if i > 0 && fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(fv.Type().Elem()))
				}
				fv = fv.Elem()
			}
			fv = fv.Field(idx)
		}
		return c.typed(val, fv, ph, k.Line)
	})
}

// eachPair calls f for every key of a mapping, as pairs lists them, without building the
// list for the usual mapping (plain keys, no merge key).
func (c *converter) eachPair(n *yaml.Node, f func(key string, k, v *yaml.Node) error) error {
	plain := true
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind != yaml.ScalarNode || isMerge(k) {
			plain = false
			break
		}
	}
	if !plain {
		ps, err := c.pairs(n)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := f(p.key, p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	}
	var seen keySet
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		key, err := c.mapKey(k)
		if err != nil {
			return err
		}
		if first := seen.add(key, k); first != nil {
			return c.twice(key, k, first)
		}
		if err := f(key, k, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (c *converter) mapInto(n *yaml.Node, v reflect.Value, h uint64) error {
	if n.Kind != yaml.MappingNode {
		return c.mismatch(n, "an object")
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return c.fieldError(n, "cannot decode into a map keyed by %s", t.Key())
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	// One key and one element, reused: SetMapIndex copies them into the map (a new one of
	// each per member was a third of the objects a label map cost).
	kv, elem := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
	err := c.eachPair(n, func(key string, k, val *yaml.Node) error {
		c.push(segment{key: key, index: -1, inMap: true})
		defer c.pop()
		elem.SetZero()
		if err := c.typed(val, elem, pathHash(h, key), k.Line); err != nil {
			return err
		}
		kv.SetString(key)
		m.SetMapIndex(kv, elem)
		return nil
	})
	if err != nil {
		return err
	}
	v.Set(m)
	return nil
}

func (c *converter) sliceInto(n *yaml.Node, v reflect.Value, h uint64) error {
	if v.Type().Elem().Kind() == reflect.Uint8 {
		if t := c.tag(n); t != tagStr && t != tagTimestamp {
			return c.mismatch(n, "a base64 string")
		}
		v.SetBytes([]byte(n.Value)) // JSON would base64-decode; only Secrets use []byte
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return c.mismatch(n, "a list")
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	var buf [20]byte
	for i, item := range n.Content {
		c.push(segment{index: i})
		if err := c.typed(item, s.Index(i), pathHash(h, strconv.AppendInt(buf[:0], int64(i), 10)), 0); err != nil {
			return err
		}
		c.pop()
	}
	v.Set(s)
	return nil
}

func (c *converter) intOrString(n *yaml.Node, v reflect.Value) error {
	if n.Kind == yaml.ScalarNode {
		switch c.tag(n) {
		case tagInt, tagFloat:
			i, err := c.integer(n)
			if err != nil {
				return err
			}
			if i < math.MinInt32 || i > math.MaxInt32 {
				return c.fieldError(n, "%d does not fit in int32", i)
			}
			v.Set(reflect.ValueOf(intstr.FromInt32(int32(i))))
			return nil
		case tagStr, tagTimestamp:
			v.Set(reflect.ValueOf(intstr.FromString(n.Value)))
			return nil
		}
	}
	return c.mismatch(n, "an integer or a string")
}

// integer parses a number scalar that must be a whole number within int64.
func (c *converter) integer(n *yaml.Node) (int64, error) {
	g, err := c.scalar(n)
	if err != nil {
		return 0, err
	}
	switch x := g.(type) {
	case int64:
		return x, nil
	case float64:
		if x != math.Trunc(x) {
			return 0, c.mismatch(n, "an integer")
		}
		if x > math.MaxInt64 || x < math.MinInt64 {
			return 0, c.fieldError(n, "%s does not fit in int64", n.Value)
		}
		return int64(x), nil
	}
	return 0, c.mismatch(n, "an integer")
}

func (c *converter) scalarInto(n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.ScalarNode {
		return c.mismatch(n, "a "+scalarName(v.Kind()))
	}
	r, err := c.resolve(n)
	if err != nil {
		return err
	}
	tag := r.tag
	switch v.Kind() {
	case reflect.String:
		// In JSON these would be numbers and booleans; every other scalar is text.
		if tag == tagInt || tag == tagFloat || tag == tagBool {
			return c.mismatch(n, "a string")
		}
		v.SetString(r.text)
	case reflect.Bool:
		if tag != tagBool {
			return c.mismatch(n, "a boolean")
		}
		g, err := c.scalar(n)
		if err != nil {
			return err
		}
		v.SetBool(g.(bool))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag != tagInt && tag != tagFloat {
			return c.mismatch(n, "an integer")
		}
		i, err := c.integer(n)
		if err != nil {
			return err
		}
		if v.OverflowInt(i) {
			return c.fieldError(n, "%d does not fit in %s", i, v.Kind())
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != tagInt && tag != tagFloat {
			return c.mismatch(n, "an integer")
		}
		i, err := c.integer(n)
		if err != nil {
			return err
		}
		if i < 0 || v.OverflowUint(uint64(i)) {
			return c.fieldError(n, "%d does not fit in %s", i, v.Kind())
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		if tag != tagInt && tag != tagFloat {
			return c.mismatch(n, "a number")
		}
		g, err := c.scalar(n)
		if err != nil {
			return err
		}
		switch x := g.(type) {
		case int64:
			v.SetFloat(float64(x))
		case float64:
			v.SetFloat(x)
		}
	default:
		return c.fieldError(n, "cannot decode into %s", v.Type())
	}
	return nil
}

func scalarName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "integer"
}

// mismatch reports a value of the wrong JSON type.
func (c *converter) mismatch(n *yaml.Node, want string) error {
	var got string
	switch n.Kind {
	case yaml.MappingNode:
		got = "an object"
	case yaml.SequenceNode:
		got = "a list"
	default:
		switch c.tag(n) {
		case tagInt, tagFloat:
			got = "number " + n.Value
		case tagBool:
			got = "boolean " + n.Value
		default:
			got = "string " + strconv.Quote(n.Value)
		}
	}
	return c.fieldError(n, "expected %s, got %s", want, got)
}
