package rego

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source is one policy file: a .rego module, or YAML holding ConstraintTemplates and
// constraints. Name says where it came from in errors (a path, or a ConfigMap key).
type Source struct {
	Name string
	Data []byte
}

// IsTest reports whether a source holds Rego unit tests (conftest's and OPA's
// convention: *_test.rego), which `sctpguard test` runs and evaluation leaves out.
func (s Source) IsTest() bool { return strings.HasSuffix(s.Name, "_test.rego") }

func (s Source) isRego() bool { return strings.HasSuffix(s.Name, ".rego") }

func (s Source) isYAML() bool {
	switch strings.ToLower(filepath.Ext(s.Name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ReadDir reads the policy files of a directory tree: *.rego, *.yaml, *.yml and *.json,
// in a stable order. Hidden directories are skipped, and so are samples/ and testdata/,
// which hold the objects and constraints that test suites use (gatekeeper-library's layout).
func ReadDir(dir string) ([]Source, error) {
	var out []Source
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "samples" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		s := Source{Name: path}
		if !s.isRego() && !s.isYAML() {
			return nil
		}
		if s.Data, err = os.ReadFile(path); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
