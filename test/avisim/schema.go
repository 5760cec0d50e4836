package avisim

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/sctpguard/sctpguard/test/avisim/schema"
)

// kind is the JSON shape a field accepts.
type kind uint8

const (
	kString kind = iota
	kInt
	kBool
	kObject
	kList
	kRef
	kAny // accepted and stored verbatim: sub-objects sctpguard never writes
)

// field describes one field of a model: its shape, constraints, default and gates. One walk
// over this tree validates a request body, fills defaults, resolves refs and applies the
// version and licence gates (walker.walk); another renders a stored object (render).
type field struct {
	kind       kind
	required   bool
	def        any // default filled on POST/PUT when the field is missing
	enum       map[string]bool
	ranged     bool
	min, max   float64
	fields     map[string]*field // kObject
	keys       []string          // sorted keys of fields, for deterministic errors
	elem       *field            // kList
	target     string            // kRef: the referenced type
	sctp       bool              // introduced in 22.1.3 and Enterprise-only (avi-rest.md §2.1)
	enterprise bool              // Enterprise-only (avi-rest.md §9)
	check      func(v any) string
}

type fields map[string]*field

func str() *field     { return &field{kind: kString} }
func boolean() *field { return &field{kind: kBool} }
func num() *field     { return &field{kind: kInt} }
func anything() *field {
	return &field{kind: kAny}
}
func ref(target string) *field { return &field{kind: kRef, target: target} }
func list(elem *field) *field  { return &field{kind: kList, elem: elem} }

func integer(lo, hi float64) *field {
	return &field{kind: kInt, ranged: true, min: lo, max: hi}
}

func int32Field() *field { return integer(math.MinInt32, math.MaxInt32) }

func enum(values ...string) *field {
	f := &field{kind: kString, enum: map[string]bool{}}
	for _, v := range values {
		f.enum[v] = true
	}
	return f
}

func obj(fs fields) *field {
	f := &field{kind: kObject, fields: fs}
	for k := range fs {
		f.keys = append(f.keys, k)
	}
	sort.Strings(f.keys)
	return f
}

func (f *field) req() *field { f.required = true; return f }

// dflt sets the default; ints are kept as float64, the form encoding/json decodes to.
func (f *field) dflt(v any) *field {
	if n, ok := v.(int); ok {
		v = float64(n)
	}
	f.def = v
	return f
}

func (f *field) sctpOnly() *field       { f.sctp = true; return f }
func (f *field) enterpriseOnly() *field { f.enterprise = true; return f }
func (f *field) withCheck(c func(any) string) *field {
	f.check = c
	return f
}

// nameRef is a name-lookup ref, the form defaults are written in before they are resolved.
func nameRef(typ, name string) string { return "/api/" + typ + "/?name=" + name }

// sctpEnums are the enum values introduced in 22.1.3 (avi-rest.md §2.1). They are also
// Enterprise-only, as is SELECT_POOLGROUP (§9).
var sctpEnums = map[string]bool{
	"PROTOCOL_SCTP":                true,
	"HEALTH_MONITOR_SCTP":          true,
	"PROTOCOL_TYPE_SCTP_PROXY":     true,
	"PROTOCOL_TYPE_SCTP_FAST_PATH": true,
}

var enterpriseEnums = map[string]bool{"L4_RULE_ACTION_SELECT_POOLGROUP": true}

// sctpVersion is the first API version with any SCTP item.
var sctpVersion = mustVersion("22.1.3")

// walker validates and normalises one request body against a model's schema. Beside
// avisim's own schema (field), which knows the fields sctpguard writes with their defaults and
// refs, it follows the controller's published schema (schema.Definition): a field avisim does
// not model but the controller knows is stored as sent; a field neither knows is dropped, as
// the real controller answers 201 and leaves it out (alb-sdk's recordings); a field newer than
// the request's X-Avi-Version is refused.
type walker struct {
	s       *Server
	version version
	gated   bool // apply the version and licence gates (off for Preload and system objects)
	partial bool // PATCH delete items: no required fields, no defaults
	tenant  *object
	refs    []*object
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

// walk returns the normalised value of v: defaults filled, refs resolved to the stored
// "/api/<type>/<uuid>" form, ints as float64 (the form encoding/json gives back). pd is the
// published definition of v, or of its items for a list, when known.
func (w *walker) walk(f *field, v any, path string, pd *schema.Definition) (any, *apiError) {
	if f.sctp && w.gated {
		if w.version.less(sctpVersion) {
			// inferred wording (avi-rest.md §10.10)
			return nil, badRequest("%s is not supported in API version %s", path, w.version)
		}
		if !w.s.isEnterprise() {
			return nil, badRequest("%s is not supported in the %s license tier", path, w.s.license)
		}
	}
	if f.enterprise && w.gated && !w.s.isEnterprise() {
		// inferred wording (avi-rest.md §10.11)
		return nil, badRequest("%s is not supported in the %s license tier", path, w.s.license)
	}
	switch f.kind {
	case kAny:
		return deepCopy(v), nil
	case kString:
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("%s: a string is required", path)
		}
		if f.enum != nil && !f.enum[s] {
			return nil, badRequest("%s: %q is not a valid choice", path, s)
		}
		if w.gated && sctpEnums[s] && w.version.less(sctpVersion) {
			return nil, badRequest("%s: %q is not a valid choice in API version %s", path, s, w.version)
		}
		if w.gated && (sctpEnums[s] || enterpriseEnums[s]) && !w.s.isEnterprise() {
			return nil, badRequest("%s: %q is not supported in the %s license tier", path, s, w.s.license)
		}
		if f.check != nil {
			if msg := f.check(s); msg != "" {
				return nil, badRequest("%s: %s", path, msg)
			}
		}
		return s, nil
	case kInt:
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) {
			return nil, badRequest("%s: a valid integer is required", path)
		}
		if f.ranged && (n < f.min || n > f.max) {
			return nil, badRequest("%s: %s is out of range [%s, %s]", path, fmtNum(n), fmtNum(f.min), fmtNum(f.max))
		}
		return n, nil
	case kBool:
		b, ok := boolValue(v)
		if !ok {
			return nil, badRequest("%s: a boolean is required", path)
		}
		return b, nil
	case kRef:
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("%s: a reference string is required", path)
		}
		o, err := w.s.resolveRef(s, f.target, w.tenant, path)
		if err != nil {
			return nil, err
		}
		w.refs = append(w.refs, o)
		return o.relURL(), nil
	case kList:
		items, ok := v.([]any)
		if !ok {
			return nil, badRequest("%s: a list is required", path)
		}
		out := make([]any, 0, len(items))
		for i, it := range items {
			p := path + "[" + strconv.Itoa(i) + "]"
			if it == nil {
				return nil, badRequest("%s: null is not allowed", p)
			}
			nv, err := w.walk(f.elem, it, p, pd)
			if err != nil {
				return nil, err
			}
			out = append(out, nv)
		}
		return out, nil
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, badRequest("%s: an object is required", path)
		}
		return w.walkObject(f, m, path, pd)
	}
	return nil, badRequest("%s: unsupported field", path)
}

// boolValue reads a boolean; the controller also takes the strings "true" and "false"
// (alb-sdk's recordings: a tenant POSTed with "local": "true" is created with local true).
func boolValue(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(t) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func (w *walker) walkObject(f *field, m map[string]any, path string, pd *schema.Definition) (any, *apiError) {
	if !w.partial {
		// Required fields first: a missing one is reported before problems inside others.
		for _, k := range f.keys {
			if f.fields[k].required && m[k] == nil {
				return nil, badRequest("%s: this field is required", joinPath(path, k))
			}
		}
	}
	out := make(map[string]any, len(m)+len(f.fields))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub, known := f.fields[k]
		if m[k] == nil {
			continue // a JSON null reads as "not set"
		}
		p := joinPath(path, k)
		var pf *schema.Field
		if pd != nil {
			pf = pd.Properties[k]
		}
		if pf != nil && pf.Since != "" && w.gated && w.version.less(mustParse(pf.Since)) {
			// inferred wording (avi-rest.md §2.1: data not compatible with the version).
			return nil, badRequest("%s is not supported in API version %s", p, w.version)
		}
		if !known {
			if pf == nil {
				continue // unknown to the controller: accepted and dropped
			}
			nv, err := w.published(pf, m[k], p)
			if err != nil {
				return nil, err
			}
			out[k] = nv
			continue
		}
		nv, err := w.walk(sub, m[k], p, w.s.pub.Child(pd, k))
		if err != nil {
			return nil, err
		}
		out[k] = nv
	}
	if w.partial {
		return out, nil
	}
	for _, k := range f.keys {
		sub := f.fields[k]
		if _, ok := out[k]; ok || sub.def == nil {
			continue
		}
		nv, err := w.walk(sub, deepCopy(sub.def), joinPath(path, k), w.s.pub.Child(pd, k))
		if err != nil {
			return nil, err
		}
		out[k] = nv
	}
	if f.check != nil {
		if msg := f.check(out); msg != "" {
			return nil, badRequest("%s: %s", path, msg)
		}
	}
	return out, nil
}

// published normalises a field avisim does not model by the controller's published schema:
// its JSON type is checked, booleans may come as strings, fields of sub-objects that the
// controller does not know are dropped, and refs are stored as sent.
func (w *walker) published(pf *schema.Field, v any, path string) (any, *apiError) {
	if pf.Def != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, badRequest("%s: an object is required", path)
		}
		d := w.s.pub.Definitions[pf.Def]
		if d == nil {
			return deepCopy(v), nil
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			if val == nil || d.Properties[k] == nil {
				continue
			}
			nv, err := w.published(d.Properties[k], val, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = nv
		}
		return out, nil
	}
	switch pf.Type {
	case "array":
		items, ok := v.([]any)
		if !ok {
			return nil, badRequest("%s: a list is required", path)
		}
		if pf.Items == nil {
			return deepCopy(v), nil
		}
		out := make([]any, 0, len(items))
		for i, it := range items {
			nv, err := w.published(pf.Items, it, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out = append(out, nv)
		}
		return out, nil
	case "boolean":
		b, ok := boolValue(v)
		if !ok {
			return nil, badRequest("%s: a boolean is required", path)
		}
		return b, nil
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return nil, badRequest("%s: a valid integer is required", path)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return nil, badRequest("%s: a string is required", path)
		}
		if len(pf.Enum) > 0 && !slicesContains(pf.Enum, str) {
			return nil, badRequest("%s: %q is not a valid choice", path, str)
		}
	}
	return deepCopy(v), nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// prune drops from a rendered object the fields newer than the request's API version: the
// controller leaves them out (alb-sdk's recordings: systemconfiguration read at 16.4.2 has no
// default_license_tier, introduced in 17.2.5).
func (s *Server) prune(pd *schema.Definition, v any, ver version) {
	if pd == nil || len(ver.parts) == 0 {
		return
	}
	switch t := v.(type) {
	case []any:
		for _, it := range t {
			s.prune(pd, it, ver)
		}
	case map[string]any:
		for k, val := range t {
			pf := pd.Properties[k]
			if pf == nil {
				continue
			}
			if pf.Since != "" && ver.less(mustParse(pf.Since)) {
				delete(t, k)
				continue
			}
			s.prune(s.pub.Child(pd, k), val, ver)
		}
	}
}

// render copies a stored value for a response: refs become absolute URLs on host, with
// "#<name>" when names is set (avi-rest.md §4).
func (s *Server) render(f *field, v any, host string, names bool) any {
	if f == nil {
		return deepCopy(v)
	}
	switch f.kind {
	case kRef:
		rel, _ := v.(string)
		out := "https://" + host + rel
		if names {
			if o := s.st.byKey[rel]; o != nil {
				out += "#" + o.name
			}
		}
		return out
	case kList:
		items, ok := v.([]any)
		if !ok {
			return deepCopy(v)
		}
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = s.render(f.elem, it, host, names)
		}
		return out
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			return deepCopy(v)
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[k] = s.render(f.fields[k], val, host, names)
		}
		return out
	}
	return deepCopy(v)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = deepCopy(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = deepCopy(val)
		}
		return out
	}
	return v
}

func fmtNum(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }

// checkIPAddr validates an IpAddr {addr, type} after its fields are normalised.
func checkIPAddr(v any) string {
	m, _ := v.(map[string]any)
	addr, _ := m["addr"].(string)
	typ, _ := m["type"].(string)
	if typ == "DNS" {
		return ""
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Sprintf("%q is not a valid IP address", addr)
	}
	if (typ == "V4") != a.Is4() {
		return fmt.Sprintf("%q is not a %s address", addr, typ)
	}
	return ""
}
