package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the values one document may expand to through YAML aliases, so that an
// alias bomb ("billion laughs") is an error instead of an out-of-memory kill.
const maxNodes = 1 << 20

// maxDepth bounds nesting. Kubernetes objects nest a few dozen levels; the bound keeps a
// hostile document from exhausting the stack, which would kill the process, not fail it.
const maxDepth = 500

// lineError is a conversion problem at a line of the stream (0: the document as a whole).
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// converter turns a yaml.Node tree into JSON-compatible values, as the API server's YAML to
// JSON conversion would: string keys, int64 and float64 numbers, timestamps kept as written.
type converter struct {
	offset int // lines before the document in its stream
	nodes  int
	depth  int
	// expanding holds the alias targets being converted, to catch an alias inside its own
	// anchor ("&a [*a]", "&m {<<: *m}"), which would otherwise recurse forever.
	expanding map[*yaml.Node]bool
}

func (c *converter) errorAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: c.offset + n.Line, msg: fmt.Sprintf(format, args...)}
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, &lineError{msg: fmt.Sprintf("document expands to more than %d values through aliases", maxNodes)}
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, c.errorAt(n, "nesting deeper than %d levels", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		return c.alias(n, c.value)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		if err := c.mapping(n, out, false); err != nil {
			return nil, err
		}
		return out, nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.errorAt(n, "unexpected YAML node")
}

// mapping fills out from a mapping node. Merge keys ("<<") add only the keys the mapping
// does not set itself; a key written twice is an error, as the API server's strict decoding
// reports. While merging, keys already in out are kept.
func (c *converter) mapping(n *yaml.Node, out map[string]any, merging bool) error {
	set := make(map[string]int, len(n.Content)/2) // where each key was set, for errors
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := c.mapKey(k)
		if err != nil {
			return err
		}
		if _, dup := out[key]; dup {
			if merging {
				continue
			}
			return c.errorAt(k, "key %q is set twice in one mapping (first at line %d)", key, c.offset+set[key])
		}
		set[key] = k.Line
		val, err := c.value(v)
		if err != nil {
			return err
		}
		out[key] = val
	}
	for _, m := range merges {
		if err := c.merge(m, out); err != nil {
			return err
		}
	}
	return nil
}

// merge adds the keys of a merge value (a mapping, an alias of one, or a list of them).
func (c *converter) merge(m *yaml.Node, out map[string]any) error {
	switch m.Kind {
	case yaml.AliasNode:
		_, err := c.alias(m, func(target *yaml.Node) (any, error) { return nil, c.merge(target, out) })
		return err
	case yaml.SequenceNode:
		for _, s := range m.Content {
			if s.Kind == yaml.SequenceNode {
				return c.errorAt(s, "merge key (<<) needs a mapping")
			}
			if err := c.merge(s, out); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		c.depth++
		defer func() { c.depth-- }()
		if c.depth > maxDepth {
			return c.errorAt(m, "nesting deeper than %d levels", maxDepth)
		}
		return c.mapping(m, out, true)
	}
	return c.errorAt(m, "merge key (<<) needs a mapping")
}

// alias converts the target of an alias with f, refusing an alias inside its own anchor.
func (c *converter) alias(n *yaml.Node, f func(*yaml.Node) (any, error)) (any, error) {
	if n.Alias == nil {
		return nil, c.errorAt(n, "unknown alias")
	}
	if c.expanding[n.Alias] {
		return nil, c.errorAt(n, "alias *%s refers to the anchor it is inside of", n.Value)
	}
	if c.expanding == nil {
		c.expanding = map[*yaml.Node]bool{}
	}
	c.expanding[n.Alias] = true
	defer delete(c.expanding, n.Alias)
	return f(n.Alias)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (c *converter) mapKey(k *yaml.Node) (string, error) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode {
		return "", c.errorAt(k, "mapping key is not a scalar")
	}
	// Non-string keys (80: x) become their text, as YAML to JSON conversion does.
	return k.Value, nil
}

// scalar resolves a scalar by its tag. Timestamps stay strings: Kubernetes objects carry
// them as RFC 3339 text.
func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.errorAt(n, "%v", err)
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i, nil
		}
		// Beyond int64: keep it as a number; typed decoding reports where it does not fit.
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.errorAt(n, "%v", err)
		}
		return f, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.errorAt(n, "%v", err)
		}
		return f, nil
	}
	// Unknown explicit tags (!Ref x): keep the text.
	return n.Value, nil
}
