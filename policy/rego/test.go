package rego

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/input"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// TestResult is the outcome of one Rego unit test or one suite case.
type TestResult struct {
	// Name is "<package>.<rule>" for Rego tests, "<suite file> <test> / <case>" for suites.
	Name string
	// Failure says why it failed; empty when it passed.
	Failure string
	Skipped bool
}

// TestOptions select what `sctpguard test` runs, and how.
type TestOptions struct {
	// Run keeps only the tests whose names, as printed, match this regular expression; a
	// suite case runs when its own name or its test's matches.
	Run string
	// RegoVersion is the Rego version of the .rego files (conftest verify's
	// --rego-version): v1, the default, or v0.
	RegoVersion string
	// Data are data documents for the Rego unit tests, read as ReadData reads them.
	Data []string
	// Packages keeps the Rego unit tests of the packages matching these globs.
	Packages []string
	// ShowBuiltinErrors fails a unit test whose builtin call errs (a type error, a bad
	// regex) instead of leaving the call undefined, as opa test and conftest verify do
	// without --show-builtin-errors.
	ShowBuiltinErrors bool
	// MaxFileSize bounds each file read, in bytes (0: input.DefaultMaxSize).
	MaxFileSize int64
}

// RunTests runs the Rego unit tests (test_ rules, in any .rego file) and the gator suites
// (kind: Suite, apiVersion: test.gatekeeper.sh/v1alpha1) of a directory tree. Finding no
// test at all is an error: a misconfigured test run must not pass silently.
func RunTests(ctx context.Context, dir string, opts TestOptions, out io.Writer) ([]TestResult, error) {
	var filter *regexp.Regexp
	if opts.Run != "" {
		var err error
		if filter, err = regexp.Compile(opts.Run); err != nil {
			return nil, fmt.Errorf("--run: %w", err)
		}
	}
	if _, err := regoVersion(opts.RegoVersion); err != nil {
		return nil, fmt.Errorf("--rego-version: %w", err)
	}
	for _, p := range opts.Packages {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("--rego-package %q: %w", p, err)
		}
	}
	keep := func(name string) bool { return filter == nil || filter.MatchString(name) }
	maxSize := opts.MaxFileSize
	if maxSize <= 0 {
		maxSize = input.DefaultMaxSize
	}
	data, err := ReadData(opts.Data, maxSize)
	if err != nil {
		return nil, err
	}
	var results []TestResult
	units, err := runUnitTests(ctx, dir, data, opts, maxSize, keep)
	if err != nil {
		return nil, err
	}
	results = append(results, units...)
	suites, err := findSuites(dir, maxSize)
	if err != nil {
		return nil, err
	}
	for _, s := range suites {
		rs, err := runSuite(ctx, s, maxSize, keep)
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
	}
	if len(results) == 0 {
		if filter != nil {
			return nil, fmt.Errorf("no test in %s matches --run %q", dir, opts.Run)
		}
		return nil, fmt.Errorf("no tests in %s: no test_ rules in .rego files and no gator Suite files", dir)
	}
	for _, r := range results {
		switch {
		case r.Skipped:
			fmt.Fprintf(out, "SKIP  %s\n", r.Name)
		case r.Failure != "":
			fmt.Fprintf(out, "FAIL  %s\n      %s\n", r.Name, strings.ReplaceAll(r.Failure, "\n", "\n      "))
		default:
			fmt.Fprintf(out, "ok    %s\n", r.Name)
		}
	}
	return results, nil
}

// runUnitTests compiles every .rego file of the tree with the policies' capabilities and
// runs its test_ rules. Files that do not parse or compile fail the unit tests, one result
// naming every problem, and leave the suites of the tree to run.
func runUnitTests(ctx context.Context, dir string, data []Source, opts TestOptions, maxSize int64, keep func(string) bool) ([]TestResult, error) {
	modules := map[string]*ast.Module{}
	hasTests := false
	var problems []string
	err := walkFiles(dir, false, maxSize, func(src Source) error {
		if !src.isRego() {
			return nil
		}
		hasTests = hasTests || src.IsTest()
		m, err := src.parse(opts.RegoVersion)
		if err != nil {
			problems = append(problems, err.Error())
			return nil
		}
		modules[src.Name] = m
		return nil
	})
	if err != nil || !hasTests {
		return nil, err
	}
	docs, derrs := mergeDocuments(data)
	problems = append(problems, derrs...)
	if len(problems) == 0 {
		compiler := ast.NewCompiler().WithCapabilities(capabilities())
		if compiler.Compile(modules); compiler.Failed() {
			problems = append(problems, regoErrors(compiler.Errors))
		} else {
			return runCompiled(ctx, compiler, docs, opts, keep)
		}
	}
	name := "Rego unit tests in " + dir
	if !keep(name) {
		return nil, nil
	}
	return []TestResult{{Name: name, Failure: "do not load:\n" + strings.Join(problems, "\n")}}, nil
}

// runCompiled runs the test_ rules of compiled modules, with data documents in the store.
func runCompiled(ctx context.Context, compiler *ast.Compiler, docs map[string]any, opts TestOptions, keep func(string) bool) ([]TestResult, error) {
	store := inmem.NewFromObject(docs)
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetCompiler(compiler).SetStore(store).RaiseBuiltinErrors(opts.ShowBuiltinErrors).RunTests(ctx, txn)
	if err != nil {
		return nil, err
	}
	var out []TestResult
	for r := range ch {
		pkgName := strings.TrimPrefix(r.Package, "data.")
		name := pkgName + "." + r.Name
		if !keep(name) || (len(opts.Packages) > 0 && !slices.ContainsFunc(opts.Packages, func(p string) bool { ok, _ := path.Match(p, pkgName); return ok })) {
			continue
		}
		res := TestResult{Name: name, Skipped: r.Skip}
		switch {
		case r.Error != nil:
			res.Failure = fmt.Sprintf("%s:%d: error: %v", r.Location.File, r.Location.Row, r.Error)
		case r.Fail:
			res.Failure = fmt.Sprintf("%s:%d: failed", r.Location.File, r.Location.Row)
		}
		out = append(out, res)
	}
	// The runner finishes tests in any order; report them in a stable one.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// suite is gator's Suite.
type suite struct {
	file  string
	Tests []struct {
		Name       string      `json:"name"`
		Template   string      `json:"template"`
		Constraint string      `json:"constraint"`
		Invalid    bool        `json:"invalid"`
		Skip       bool        `json:"skip"`
		Cases      []suiteCase `json:"cases"`
	} `json:"tests"`
}

// suiteCase is one case of a gator suite test.
type suiteCase struct {
	Name       string      `json:"name"`
	Object     string      `json:"object"`
	Inventory  []string    `json:"inventory"`
	Skip       bool        `json:"skip"`
	Assertions []assertion `json:"assertions"`
}

func findSuites(dir string, maxSize int64) ([]*suite, error) {
	var out []*suite
	err := walkFiles(dir, false, maxSize, func(src Source) error {
		if !strings.HasSuffix(src.Name, ".yaml") && !strings.HasSuffix(src.Name, ".yml") {
			return nil
		}
		var head struct{ APIVersion, Kind string }
		if yaml.Unmarshal(src.Data, &head) != nil || head.Kind != "Suite" || !strings.HasPrefix(head.APIVersion, "test.gatekeeper.sh/") {
			return nil
		}
		s := &suite{file: src.Name}
		if err := yaml.Unmarshal(src.Data, s); err != nil {
			return fmt.Errorf("%s: %w", src.Name, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// runSuite runs a gator suite: each test loads one template and one constraint; each case
// judges an object and checks the assertions.
func runSuite(ctx context.Context, s *suite, maxSize int64, keep func(string) bool) ([]TestResult, error) {
	rel := func(p string) (string, error) {
		if filepath.IsAbs(p) {
			return "", fmt.Errorf("%s: %s: paths in a suite are relative to it", s.file, p)
		}
		return filepath.Join(filepath.Dir(s.file), p), nil
	}
	read := func(p string) (Source, error) {
		path, err := rel(p)
		if err != nil {
			return Source{}, err
		}
		data, err := input.ReadFile(path, maxSize)
		if err != nil {
			return Source{}, fmt.Errorf("%s: %w", s.file, err)
		}
		return Source{Name: path, Data: data}, nil
	}
	var out []TestResult
	for _, t := range s.Tests {
		name := s.file + " " + t.Name
		// A case runs when its printed name, or its test's, matches --run.
		runCase := func(c string) bool { return keep(name) || keep(name+" / "+c) }
		if !keep(name) && !slices.ContainsFunc(t.Cases, func(c suiteCase) bool { return runCase(c.Name) }) {
			continue
		}
		if t.Skip {
			out = append(out, TestResult{Name: name, Skipped: true})
			continue
		}
		tmpl, err := read(t.Template)
		if err != nil {
			return nil, err
		}
		cons, err := read(t.Constraint)
		if err != nil {
			return nil, err
		}
		set, loadErr := Load(ctx, []Source{tmpl, cons}, Options{})
		if t.Invalid {
			res := TestResult{Name: name}
			if loadErr == nil {
				res.Failure = "the constraint was expected to fail the template's schema (invalid: true), but it loaded"
			}
			out = append(out, res)
			continue
		}
		if loadErr != nil {
			return nil, fmt.Errorf("%s: test %q: %w", s.file, t.Name, loadErr)
		}
		for _, c := range t.Cases {
			cname := name + " / " + c.Name
			if !runCase(c.Name) {
				continue
			}
			if c.Skip {
				out = append(out, TestResult{Name: cname, Skipped: true})
				continue
			}
			inv := policy.NewMemoryInventory()
			for _, f := range c.Inventory {
				src, err := read(f)
				if err != nil {
					return nil, err
				}
				objs, err := decodeObjects(src)
				if err != nil {
					return nil, err
				}
				for _, o := range objs {
					inv.Add(o)
				}
			}
			src, err := read(c.Object)
			if err != nil {
				return nil, err
			}
			r, err := caseReview(src)
			if err != nil {
				return nil, err
			}
			findings, err := set.Evaluate(ctx, r, policy.Env{Inventory: inv})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cname, err)
			}
			out = append(out, TestResult{Name: cname, Failure: checkAssertions(c.Assertions, findings)})
		}
	}
	return out, nil
}

// assertion is one of a case's expectations.
type assertion struct {
	Violations any     `json:"violations"`
	Message    *string `json:"message"`
}

// checkAssertions applies gator's assertions: violations yes (the default), no or a count,
// among the violations whose message matches the regular expression; all must hold.
func checkAssertions(assertions []assertion, findings []policy.Finding) string {
	var problems []string
	if len(assertions) == 0 && len(findings) > 0 {
		problems = append(problems, fmt.Sprintf("want no violations, got %d: %s", len(findings), messages(findings)))
	}
	for _, a := range assertions {
		re := regexp.MustCompile("")
		if a.Message != nil {
			var err error
			if re, err = regexp.Compile(*a.Message); err != nil {
				problems = append(problems, fmt.Sprintf("message %q: %v", *a.Message, err))
				continue
			}
		}
		n := 0
		for _, f := range findings {
			if re.MatchString(f.Message) {
				n++
			}
		}
		want := fmt.Sprint(a.Violations)
		switch want {
		case "<nil>", "yes", "true":
			if n == 0 {
				problems = append(problems, fmt.Sprintf("want violations matching %q, got none (all: %s)", re, messages(findings)))
			}
		case "no", "false":
			if n != 0 {
				problems = append(problems, fmt.Sprintf("want no violations matching %q, got %d: %s", re, n, messages(findings)))
			}
		default:
			count, err := strconv.Atoi(want)
			if err != nil {
				problems = append(problems, fmt.Sprintf("violations: %q is not yes, no or a number", want))
			} else if n != count {
				problems = append(problems, fmt.Sprintf("want %d violations matching %q, got %d: %s", count, re, n, messages(findings)))
			}
		}
	}
	return strings.Join(problems, "\n")
}

func messages(findings []policy.Finding) string {
	var ms []string
	for _, f := range findings {
		ms = append(ms, strconv.Quote(f.Message))
	}
	return "[" + strings.Join(ms, ", ") + "]"
}

// decodeObjects reads the objects of a file as check does.
func decodeObjects(src Source) ([]policy.Object, error) {
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode(src.Name, src.Data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	out := make([]policy.Object, len(docs))
	for i, d := range docs {
		if d.Typed != nil {
			out[i] = d.Typed
		} else {
			out[i] = &unstructured.Unstructured{Object: d.Object}
		}
	}
	return out, nil
}

// caseReview reads a case's object: a manifest (a CREATE), or an AdmissionReview that sets
// the operation, user and old object. On DELETE, the old object is judged, as gator does.
func caseReview(src Source) (*policy.Review, error) {
	dec := manifest.NewDecoder(policy.Scheme(), "default")
	docs, errs := dec.Decode(src.Name, src.Data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: a case object is one object, got %d", src.Name, len(docs))
	}
	if docs[0].IsAdmissionReview() {
		r, err := dec.Review(docs[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		if r.Object == nil {
			r.Object = r.OldObject
		}
		return r, nil
	}
	obj := docs[0].Typed
	if obj == nil {
		obj = &unstructured.Unstructured{Object: docs[0].Object}
	}
	return &policy.Review{Operation: policy.OperationCreate, Object: obj}, nil
}
