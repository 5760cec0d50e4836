package rego

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sctpguard/sctpguard/policy/input"
)

// Source is one policy file: a .rego module, or YAML holding ConstraintTemplates and
// constraints; or a data document. Name says where it came from in errors (a path, or a
// ConfigMap key).
type Source struct {
	Name string
	Data []byte
	// Document marks a data document (conftest's --data): a YAML or JSON object merged into
	// data, under the keys of Under (OPA's loader puts the files of a subdirectory under its
	// name).
	Document bool
	Under    []string
	// RegoVersion, when set, overrides Options.RegoVersion for this module.
	RegoVersion string
}

// IsTest reports whether a source holds Rego unit tests (conftest's and OPA's
// convention: *_test.rego), which `sctpguard test` runs and evaluation leaves out.
func (s Source) IsTest() bool { return strings.HasSuffix(s.Name, "_test.rego") }

func (s Source) isRego() bool { return strings.HasSuffix(s.Name, ".rego") }

// parse parses a .rego source in its Rego version, or the default one.
func (s Source) parse(defaultVersion string) (*ast.Module, error) {
	version := s.RegoVersion
	if version == "" {
		version = defaultVersion
	}
	v, err := regoVersion(version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	m, err := ast.ParseModuleWithOpts(s.Name, string(s.Data), ast.ParserOptions{RegoVersion: v})
	if err != nil {
		msg := regoErrors(err)
		if v == ast.RegoV1 && looksV0(msg) {
			msg += "\n" + s.Name + ": this looks like Rego v0; read v0 modules with --rego-version v0, or add `import rego.v1` and move them to v1"
		}
		return nil, errors.New(msg)
	}
	return m, nil
}

// looksV0 recognises the errors a v0 module gives when parsed as v1.
func looksV0(msg string) bool {
	return strings.Contains(msg, "`if` keyword is required before rule body") ||
		strings.Contains(msg, "`contains` keyword is required for partial set rules")
}

func (s Source) isYAML() bool {
	switch strings.ToLower(filepath.Ext(s.Name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ReadDir reads the policy files of a directory tree: *.rego, *.yaml, *.yml and *.json,
// in a stable order, each under maxSize bytes. Hidden directories are skipped, and so are
// samples/ and testdata/, which hold the objects and constraints that test suites use
// (gatekeeper-library's layout).
func ReadDir(dir string, maxSize int64) ([]Source, error) {
	var out []Source
	err := walkFiles(dir, true, maxSize, func(s Source) error {
		if s.isRego() || s.isYAML() {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// walkFiles calls f with every regular file under dir, read through an os.Root so that no
// symlink leads outside the directory, each refused over maxSize bytes. Hidden directories
// are skipped, and with skipFixtures also samples/ and testdata/.
func walkFiles(dir string, skipFixtures bool, maxSize int64, f func(Source) error) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	fsys := root.FS()
	return fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || (skipFixtures && (name == "samples" || name == "testdata"))) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		name := filepath.Join(dir, filepath.FromSlash(path))
		data, err := input.ReadFileIn(root, filepath.FromSlash(path), maxSize)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				pe.Path = name // name it as the user does, not inside its directory
			}
			return err
		}
		return f(Source{Name: name, Data: data})
	})
}
