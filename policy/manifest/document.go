package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sctpguard/sctpguard/policy"
)

// Document is one object read from a manifest stream.
type Document struct {
	// Source names the stream: a file path, or "-" for standard input.
	Source string
	// Line is the 1-based line where the object starts in Source.
	Line int
	// Object is the object as written (plus the default namespace), with JSON-compatible
	// values: map[string]any, []any, string, int64, float64, bool and nil. It is kept only
	// for kinds sctpguard does not know; known kinds are in Typed, as the API server would
	// hold them (fields the schema does not know are dropped, and listed in UnknownFields).
	Object map[string]any
	// Typed is the decoded, defaulted object, or nil for kinds sctpguard does not know.
	Typed policy.Object
	// UnknownFields lists the paths of fields the kind's schema does not have.
	UnknownFields []string

	// raw holds the bytes of the YAML or JSON document the object is in; prefix is the path
	// of the object inside it (items[3] for a List item); lines are the lines of every
	// value of that document by path hash.
	raw    []byte
	prefix []string
	lines  []lineEntry
	// ref names the object of a Summary, which holds no object.
	ref *policy.ObjectRef
}

// Ref names the document's object.
func (d *Document) Ref() policy.ObjectRef {
	if d.ref != nil {
		return *d.ref
	}
	if d.Typed != nil {
		return policy.Ref(d.Typed)
	}
	ref := policy.ObjectRef{}
	ref.APIVersion, _ = d.Object["apiVersion"].(string)
	ref.Kind, _ = d.Object["kind"].(string)
	if md, ok := d.Object["metadata"].(map[string]any); ok {
		ref.Name, _ = md["name"].(string)
		ref.Namespace, _ = md["namespace"].(string)
	}
	return ref
}

// LineOf returns the line of the field at path (as field.Path renders it, e.g.
// spec.ports[1].protocol). A path that does not exist in the source (a defaulted field)
// gives the line of its nearest existing parent.
func (d *Document) LineOf(path string) int {
	if e, ok := d.lineEntry(path); ok {
		return int(e.line)
	}
	return d.Line
}

// lineEntry returns the entry of the line table LineOf answers path with: that of the
// path, or of its nearest parent in the table.
func (d *Document) lineEntry(path string) (lineEntry, bool) {
	// The hash of the path and of each of its parents, on the stack for paths of usual
	// depth: a check asks for the lines of every finding's path.
	var buf [32]uint64
	hashes := append(buf[:0], rootHash)
	for _, seg := range d.prefix {
		hashes = append(hashes, pathHash(hashes[len(hashes)-1], seg))
	}
	for seg := range policy.PathSegments(path) {
		hashes = append(hashes, pathHash(hashes[len(hashes)-1], seg))
	}
	for i := len(hashes) - 1; i > len(d.prefix); i-- {
		for _, e := range d.lines {
			if e.hash == hashes[i] {
				return e, true
			}
		}
	}
	return lineEntry{}, false
}

// Summary returns what a report needs of the document once its object has been judged:
// its source, line and name (Ref), and the lines of the given field paths, for which
// LineOf answers as it does on the document. The object, its unknown fields, its text
// and the lines of every other field are not kept: a check holds a summary per object
// and the whole object only while it judges it.
func (d *Document) Summary(paths ...string) *Document {
	ref := d.Ref()
	s := &Document{Source: d.Source, Line: d.Line, prefix: d.prefix, ref: &ref}
	for _, p := range paths {
		if e, ok := d.lineEntry(p); ok && !slices.Contains(s.lines, e) {
			s.lines = append(s.lines, e)
		}
	}
	return s
}

// child returns the value of key seg in a mapping, or element seg of a sequence.
func child(n *yaml.Node, seg string) *yaml.Node {
	_, v := lookup(n, seg)
	return v
}

// lookup returns the key and value nodes of seg in a mapping (key nil for a sequence element).
func lookup(n *yaml.Node, seg string) (*yaml.Node, *yaml.Node) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i], n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return nil, n.Content[i]
		}
	}
	return nil, nil
}

// Error is a problem reading a manifest: it names the source, the line where known, and
// the object where known.
type Error struct {
	Source string
	Line   int
	// Object names the object when the problem is inside a recognisable object.
	Object string
	// Path is the field path when the problem is one field.
	Path string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Object != "" {
		b.WriteString(e.Object + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
