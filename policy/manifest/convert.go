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

// converter turns a yaml.Node tree into JSON-compatible values, as the API server's YAML to
// JSON conversion would: string keys, int64 and float64 numbers, timestamps kept as written.
type converter struct {
	nodes int
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, fmt.Errorf("line %d: document expands to more than %d values through aliases", n.Line, maxNodes)
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
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// mapping fills out from a mapping node. Merge keys ("<<") add the keys the mapping does not
// set itself; a key written twice is an error, as the API server's strict decoding reports.
func (c *converter) mapping(n *yaml.Node, out map[string]any, merging bool) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := mapKey(k)
		if err != nil {
			return err
		}
		if _, dup := out[key]; dup {
			if merging {
				continue
			}
			return fmt.Errorf("line %d: key %q already set in this mapping", k.Line, key)
		}
		val, err := c.value(v)
		if err != nil {
			return err
		}
		out[key] = val
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			for s.Kind == yaml.AliasNode {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: merge key needs a mapping", s.Line)
			}
			if err := c.mapping(s, out, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func mapKey(k *yaml.Node) (string, error) {
	for k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
	}
	// Non-string keys (80: x) become their text, as YAML to JSON conversion does.
	return k.Value, nil
}

// scalar resolves a scalar by its tag. Timestamps stay strings: Kubernetes objects carry
// them as RFC 3339 text.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		s := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return f, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return f, nil
	}
	// Unknown explicit tags (!Ref x): keep the text.
	return n.Value, nil
}
