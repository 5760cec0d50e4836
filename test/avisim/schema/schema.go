// Package schema holds facts of the Avi Controller's published object schema, kept as test
// data: for each object type sctpguard writes or reads, every field with its JSON type and
// format, its enum values, whether it is required, the release that introduced it, the object
// type a *_ref points to, and its allowed range. Since the test double answers any unknown
// field as the real controller does (201, the field dropped), this data is what catches a
// misspelt or invented field in the bodies the translator sends (Check), and what tells
// avisim which fields a request's X-Avi-Version does not know yet (Since).
//
// objects.json was derived from the swagger files of github.com/vmware/alb-sdk (API 30.2.1;
// the commit is in the file), following the $refs from each root type: "type", "format",
// "items", "required" and "default" as given; the enum from "Enum options - A, B." in the
// description, the release from "Field introduced in X.", the ref target from "It is a
// reference to an object of type X.", the range from "Allowed values are A-B." and an
// out-of-range special value from "Special values are N-". Descriptions are not kept.
package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed objects.json
var data []byte

// Schema is the published object schema.
type Schema struct {
	// Commit is the alb-sdk commit the data was derived from.
	Commit string `json:"commit"`
	// Types maps an object type as it appears in /api/<type> to its root definition.
	Types map[string]string `json:"types"`
	// Definitions are the object shapes by name.
	Definitions map[string]*Definition `json:"definitions"`
}

// Definition is one object shape.
type Definition struct {
	Required   []string          `json:"required"`
	Properties map[string]*Field `json:"properties"`
}

// Field describes one property, or the items of a list.
type Field struct {
	// Def names the definition of an object-valued field.
	Def string `json:"def,omitempty"`
	// Type is the JSON schema type: string, integer, number, boolean, array; empty with Def.
	Type   string   `json:"type,omitempty"`
	Format string   `json:"format,omitempty"`
	Items  *Field   `json:"items,omitempty"`
	Enum   []string `json:"enum,omitempty"`
	// Since is the release that introduced the field ("17.2.5"); empty for the oldest ones.
	Since string `json:"since,omitempty"`
	// RefTo is the model a *_ref field points to, e.g. VsVip.
	RefTo   string `json:"refTo,omitempty"`
	Min     *int64 `json:"min,omitempty"`
	Max     *int64 `json:"max,omitempty"`
	Special *int64 `json:"special,omitempty"`
	Default any    `json:"default,omitempty"`
}

// Load returns the schema; it is decoded once.
var Load = sync.OnceValues(func() (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode the Avi object schema: %w", err)
	}
	return &s, nil
})

// Root returns the definition of an object type ("virtualservice"), or nil.
func (s *Schema) Root(typ string) *Definition { return s.Definitions[s.Types[typ]] }

// Child returns the definition of an object-valued property or of the objects in a
// list-valued one, or nil.
func (s *Schema) Child(d *Definition, key string) *Definition {
	if d == nil {
		return nil
	}
	f := d.Properties[key]
	if f == nil {
		return nil
	}
	if f.Items != nil {
		f = f.Items
	}
	return s.Definitions[f.Def]
}

// Problem is one way a body does not fit the schema.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Check checks a JSON body (as encoding/json decodes it) of an object type against the schema,
// field by field, as sent at an API version: unknown fields, fields newer than the version,
// JSON types and integer formats, enum values, ranges, ref targets, required fields. It
// returns every problem, sorted by path.
func (s *Schema) Check(typ string, body any, apiVersion string) []Problem {
	root := s.Types[typ]
	if root == "" {
		return []Problem{{Message: fmt.Sprintf("unknown object type %q", typ)}}
	}
	c := checker{s: s, version: apiVersion}
	c.object(root, body, "")
	sort.Slice(c.out, func(i, j int) bool { return c.out[i].Path < c.out[j].Path })
	return c.out
}

type checker struct {
	s       *Schema
	version string
	out     []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.out = append(c.out, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (c *checker) object(def string, v any, path string) {
	d := c.s.Definitions[def]
	m, ok := v.(map[string]any)
	if !ok {
		c.add(path, "an object (%s) is required, got %s", def, jsonType(v))
		return
	}
	if d == nil {
		return // a definition the data does not hold: nothing to check against
	}
	for _, r := range d.Required {
		if _, ok := m[r]; !ok {
			c.add(join(path, r), "required by %s", def)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := d.Properties[k]
		p := join(path, k)
		if f == nil {
			c.add(p, "%s has no such field", def)
			continue
		}
		if f.Since != "" && c.version != "" && Newer(f.Since, c.version) {
			c.add(p, "introduced in %s, after API version %s", f.Since, c.version)
		}
		c.value(f, m[k], p)
	}
}

func (c *checker) value(f *Field, v any, path string) {
	if v == nil {
		return // a JSON null reads as "not set"
	}
	if f.Def != "" {
		c.object(f.Def, v, path)
		return
	}
	switch f.Type {
	case "array":
		items, ok := v.([]any)
		if !ok {
			c.add(path, "a list is required, got %s", jsonType(v))
			return
		}
		if f.Items == nil {
			return
		}
		for i, it := range items {
			c.value(f.Items, it, path+"["+strconv.Itoa(i)+"]")
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			c.add(path, "a string is required, got %s", jsonType(v))
			return
		}
		if len(f.Enum) > 0 && !contains(f.Enum, str) {
			c.add(path, "%q is not one of %s", str, strings.Join(f.Enum, ", "))
		}
		if f.RefTo != "" {
			c.ref(f.RefTo, str, path)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.add(path, "a boolean is required, got %s", jsonType(v))
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok {
			c.add(path, "a number is required, got %s", jsonType(v))
			return
		}
		num := strconv.FormatFloat(n, 'f', -1, 64)
		if f.Type == "integer" && n != math.Trunc(n) {
			c.add(path, "an integer is required, got %s", num)
			return
		}
		lo, hi := formatRange(f.Format)
		if n < lo || n > hi {
			c.add(path, "%s is out of the %s range", num, f.Format)
		}
		if f.Min != nil && f.Max != nil && (n < float64(*f.Min) || n > float64(*f.Max)) && (f.Special == nil || n != float64(*f.Special)) {
			c.add(path, "%s is not within %d-%d", num, *f.Min, *f.Max)
		}
	}
}

// ref checks that a ref sent as "/api/<type>..." or "https://host/api/<type>/..." names the
// type the field points to.
func (c *checker) ref(model, ref, path string) {
	i := strings.Index(ref, "/api/")
	if i < 0 {
		c.add(path, "%q is not an /api/ reference", ref)
		return
	}
	typ := ref[i+len("/api/"):]
	if j := strings.IndexAny(typ, "/?#"); j >= 0 {
		typ = typ[:j]
	}
	if !strings.EqualFold(typ, model) {
		c.add(path, "refers to a %s, but the field points to a %s", typ, model)
	}
}

func formatRange(format string) (float64, float64) {
	switch format {
	case "uint32":
		return 0, math.MaxUint32
	case "int32":
		return math.MinInt32, math.MaxInt32
	case "uint64":
		return 0, math.MaxUint64
	}
	return math.Inf(-1), math.Inf(1)
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Newer reports whether release a is later than release b, comparing dotted numbers; a
// build suffix after "-" or "_" is ignored, and an unreadable part counts as 0.
func Newer(a, b string) bool {
	pa, pb := parts(a), parts(b)
	for i := range max(len(pa), len(pb)) {
		x, y := at(pa, i), at(pb, i)
		if x != y {
			return x > y
		}
	}
	return false
}

func parts(v string) []int {
	if i := strings.IndexAny(v, "-_+ "); i >= 0 {
		v = v[:i]
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, _ := strconv.Atoi(p)
		out = append(out, n)
	}
	return out
}

func at(p []int, i int) int {
	if i < len(p) {
		return p[i]
	}
	return 0
}
