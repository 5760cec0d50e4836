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
}

func (c *converter) errorAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: c.offset + n.Line, msg: fmt.Sprintf(format, args...)}
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, &lineError{msg: fmt.Sprintf("document expands to more than %d values through aliases", maxNodes)}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		return c.value(n.Alias)
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
		m = resolve(m)
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			s = resolve(s)
			if s.Kind != yaml.MappingNode {
				return c.errorAt(s, "merge key (<<) needs a mapping")
			}
			if err := c.mapping(s, out, true); err != nil {
				return err
			}
		}
	}
	return nil
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
