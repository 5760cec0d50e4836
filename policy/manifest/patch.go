package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"gomodules.xyz/jsonpatch/v2"
)

// errNoText is the error of YAML and Patched on a document decoded without its text.
var errNoText = errors.New("the document's text was not kept: decode with Decoder.KeepText")

// YAML returns the document's object as YAML. Untouched objects keep their text; a
// List item is cut out of its List.
func (d *Document) YAML() ([]byte, error) {
	if d.raw == nil {
		return nil, errNoText
	}
	if len(d.prefix) == 0 {
		return bytes.TrimLeft(d.raw, "\n"), nil
	}
	return d.Patched(nil)
}

// Patched applies a JSON patch (as policy.Patch computes it) to the document's YAML and
// returns the object as YAML. Comments and key order survive; only the patched values are
// new. "replace" of a missing member adds it: the patch was computed against the
// defaulted object, the text is the object as written.
func (d *Document) Patched(ops []jsonpatch.Operation) ([]byte, error) {
	if d.raw == nil {
		return nil, errNoText
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(d.raw, &doc); err != nil {
		return nil, fmt.Errorf("re-read %s:%d: %w", d.Source, d.Line, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("re-read %s:%d: empty document", d.Source, d.Line)
	}
	root := doc.Content[0]
	for _, seg := range d.prefix {
		if root = child(root, seg); root == nil {
			return nil, fmt.Errorf("re-read %s:%d: list item %s not found", d.Source, d.Line, strings.Join(d.prefix, "."))
		}
	}
	for _, op := range ops {
		if err := applyOp(root, op); err != nil {
			return nil, fmt.Errorf("apply %s %s: %w", op.Operation, op.Path, err)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent() // "- item" under its key, as kubectl writes lists
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func applyOp(root *yaml.Node, op jsonpatch.Operation) error {
	segs := pointer(op.Path)
	if len(segs) == 0 {
		return fmt.Errorf("cannot patch the whole object")
	}
	parent := root
	for _, seg := range segs[:len(segs)-1] {
		next := child(parent, seg)
		if next == nil {
			// The patch was computed against the defaulted object; a parent missing from
			// the text (metadata of an object that named no namespace) is created empty.
			if resolve(parent).Kind != yaml.MappingNode || op.Operation == "remove" {
				return fmt.Errorf("parent of %s does not exist", op.Path)
			}
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			p := resolve(parent)
			p.Content = append(p.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, next)
		}
		parent = next
	}
	for parent.Kind == yaml.AliasNode {
		parent = parent.Alias
	}
	last := segs[len(segs)-1]
	var value *yaml.Node
	if op.Operation != "remove" {
		value = &yaml.Node{}
		if err := value.Encode(op.Value); err != nil {
			return err
		}
	}
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				if op.Operation == "remove" {
					parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
				} else {
					parent.Content[i+1] = value
				}
				return nil
			}
		}
		if op.Operation == "remove" {
			return nil
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: last}, value)
		return nil
	case yaml.SequenceNode:
		if last == "-" {
			parent.Content = append(parent.Content, value)
			return nil
		}
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i > len(parent.Content) {
			return fmt.Errorf("index %q out of range", last)
		}
		switch op.Operation {
		case "remove":
			if i == len(parent.Content) {
				return fmt.Errorf("index %d out of range", i)
			}
			parent.Content = append(parent.Content[:i], parent.Content[i+1:]...)
		case "add":
			parent.Content = append(parent.Content[:i], append([]*yaml.Node{value}, parent.Content[i:]...)...)
		default:
			if i == len(parent.Content) {
				return fmt.Errorf("index %d out of range", i)
			}
			parent.Content[i] = value
		}
		return nil
	}
	return fmt.Errorf("parent of %s is not an object or list", op.Path)
}

// pointer splits a JSON pointer (RFC 6901) into unescaped segments.
func pointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}
