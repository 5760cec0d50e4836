package rego

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy/input"
)

// ReadData reads data documents as conftest's --data does (OPA's loader): each argument is a
// YAML or JSON file, merged at the root of data, or a directory whose files are merged at
// the root and whose subdirectories' files under their names (dir/services/ports.yaml is
// data.services.<its keys>). A "a.b:path" argument puts the documents under data.a.b. Each
// file may be at most maxSize bytes.
func ReadData(args []string, maxSize int64) ([]Source, error) {
	var out []Source
	for _, arg := range args {
		var prefix []string
		if p, rest, ok := strings.Cut(arg, ":"); ok && p != "" && !strings.ContainsAny(p, `/\`) {
			prefix, arg = strings.Split(p, "."), rest
		}
		info, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		if !info.IsDir() {
			data, err := input.ReadFile(arg, maxSize)
			if err != nil {
				return nil, fmt.Errorf("read data: %w", err)
			}
			out = append(out, Source{Name: arg, Data: data, Document: true, Under: prefix})
			continue
		}
		var found []Source
		err = walkFiles(arg, false, maxSize, func(s Source) error {
			if !s.isYAML() {
				return nil
			}
			rel, err := filepath.Rel(arg, filepath.Dir(s.Name))
			if err != nil {
				return err
			}
			s.Document, s.Under = true, append([]string(nil), prefix...)
			if rel != "." {
				s.Under = append(s.Under, strings.Split(filepath.ToSlash(rel), "/")...)
			}
			found = append(found, s)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read data: %w", err)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
		out = append(out, found...)
	}
	return out, nil
}

// reservedData are the roots of data that sctpguard fills itself.
var reservedData = []string{"inventory", "sctpguard"}

// mergeDocuments merges data documents into one tree. Two documents may add to the same
// object, but not set the same key to different values; nor may they define data.inventory
// or data.sctpguard, which sctpguard fills.
func mergeDocuments(docs []Source) (map[string]any, []string) {
	root := map[string]any{}
	owner := map[string]string{} // key path -> document that set it
	var problems []string
	for _, d := range docs {
		v, err := parseDocument(d.Data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: data document: %v", d.Name, err))
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: data document: want an object of keys, got %s", d.Name, jsonType(v)))
			continue
		}
		for i := len(d.Under) - 1; i >= 0; i-- {
			obj = map[string]any{d.Under[i]: obj}
		}
		for _, k := range reservedData {
			if _, ok := obj[k]; ok {
				problems = append(problems, fmt.Sprintf("%s: data document: data.%s is sctpguard's own; use another key", d.Name, k))
				delete(obj, k)
			}
		}
		problems = append(problems, merge(root, obj, []string{"data"}, d.Name, owner)...)
	}
	return root, problems
}

// merge adds src to dst; a key both set, unless both are objects, is a conflict. owner
// records which document set each key path.
func merge(dst, src map[string]any, at []string, name string, owner map[string]string) []string {
	var problems []string
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, path := src[k], append(slices.Clip(at), k)
		prev, exists := dst[k]
		if !exists {
			dst[k] = v
			owner[strings.Join(path, "\x00")] = name
			continue
		}
		a, aok := prev.(map[string]any)
		b, bok := v.(map[string]any)
		if !aok || !bok {
			by := ""
			for i := len(path); i > 0 && by == ""; i-- {
				by = owner[strings.Join(path[:i], "\x00")]
			}
			problems = append(problems, fmt.Sprintf("%s: data document: %s is already set by %s", name, strings.Join(path, "."), by))
			continue
		}
		problems = append(problems, merge(a, b, path, name, owner)...)
	}
	return problems
}

// parseDocument parses one YAML or JSON document, keeping numbers exact.
func parseDocument(data []byte) (any, error) {
	if docs := bytes.Split(data, []byte("\n---")); len(docs) > 1 {
		n := 0
		for _, d := range docs {
			if len(bytes.TrimSpace(bytes.TrimPrefix(d, []byte("---")))) > 0 {
				n++
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("holds %d YAML documents; a data document is one", n)
		}
	}
	text, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}
