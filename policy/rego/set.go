package rego

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// Options tune how a policy set evaluates.
type Options struct {
	// Timeout bounds the evaluation of one review by all policies.
	Timeout time.Duration
	// OnError is what a policy that fails or runs out of time does to the review: warn
	// (admit with a warning, the default) or deny.
	OnError policy.Action
}

// DefaultTimeout bounds one review's evaluation; policies take microseconds, so a policy
// near this bound is broken, and the webhook's own timeout (seconds) is never reached.
const DefaultTimeout = 500 * time.Millisecond

// conftest's rule names: failures and warnings, optionally with a suffix (deny_sctp_npl).
var (
	failureRule = regexp.MustCompile(`^(deny|violation)(_[a-zA-Z0-9]+)*$`)
	warningRule = regexp.MustCompile(`^warn(_[a-zA-Z0-9]+)*$`)
)

// module is a plain Rego module's package and the conftest rules it defines.
type module struct {
	pkg       string // without data.
	rules     []string
	exception bool
	source    string
	// kinds are the kinds its rules can fire for, from their input.kind guards; nil: any.
	kinds map[string]bool
}

// binding is one variable of the modules' query: a rule of a package.
type binding struct {
	pkg, rule string
}

// Set is a compiled policy set. It is safe for concurrent use.
type Set struct {
	opts        Options
	modules     []*module
	constraints []*preparedConstraint
	templates   map[string]*template
	compiler    *ast.Compiler
	store       storage.Store

	// The modules' rules are evaluated together by one prepared query.
	moduleQuery    *rego.PreparedEvalQuery
	moduleBindings []binding
	exceptions     []string // packages with an exception rule, bound as e<i>

	// kinds are the kinds any policy can judge; nil means any kind. Objects of other kinds
	// skip evaluation, and the cost of building their input.
	kinds map[string]bool
	// What the policies read, so the input holds only what is needed.
	usesInventory, readsOldObject, readsNamespace, selectsNamespaces bool
	data                                                             dataState
}

type preparedConstraint struct {
	*constraint
	// query is its template's, shared by the template's constraints.
	query *rego.PreparedEvalQuery
	// params is its spec.parameters as a Rego term, for input.parameters.
	params *ast.Term
}

var _ policy.Evaluator = (*Set)(nil)

// Load parses, checks and compiles the policies of the sources (test files left out) into
// prepared queries. Every problem is reported at once, each with its file and line; nothing
// is half-loaded.
func Load(ctx context.Context, sources []Source, opts Options) (*Set, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.OnError == "" {
		opts.OnError = policy.ActionWarn
	}
	if opts.OnError != policy.ActionWarn && opts.OnError != policy.ActionDeny {
		return nil, fmt.Errorf("on policy error: %q is not warn or deny", opts.OnError)
	}
	s := &Set{opts: opts, templates: map[string]*template{}}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	modules := map[string]*ast.Module{}
	var constraintDocs []*manifest.Document
	for _, src := range sources {
		switch {
		case src.IsTest():
		case src.isRego():
			m, err := ast.ParseModuleWithOpts(src.Name, string(src.Data), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				fail("%s", regoErrors(err))
				continue
			}
			mod, problems := conftestRules(m, src.Name)
			errs = append(errs, problems...)
			if len(mod.rules) > 0 {
				s.modules = append(s.modules, mod)
			}
			modules[src.Name] = m
		case src.isYAML():
			docs, derrs := manifest.NewDecoder(policy.Scheme(), "").Decode(src.Name, src.Data)
			for _, e := range derrs {
				fail("%v", e)
			}
			for _, d := range docs {
				gvk := d.Ref()
				group, _, _ := strings.Cut(gvk.APIVersion, "/")
				switch {
				case group == templatesGroup && gvk.Kind == "ConstraintTemplate":
					t, err := parseTemplate(d.Object, src.Name, d.LineOf)
					if err != nil {
						fail("%s:%d: ConstraintTemplate %s: %s", src.Name, d.Line, gvk.Name, regoErrors(err))
						continue
					}
					if prev, dup := s.templates[t.kind]; dup {
						fail("%s:%d: ConstraintTemplate %s: kind %s is already defined in %s", src.Name, d.Line, t.name, t.kind, prev.source)
						continue
					}
					s.templates[t.kind] = t
					for i, m := range t.modules {
						modules[fmt.Sprintf("%s#%s#%d", src.Name, t.name, i)] = m
					}
				case group == constraintsGroup:
					constraintDocs = append(constraintDocs, d)
				}
			}
		}
	}
	for _, d := range constraintDocs {
		c, err := parseConstraint(d.Object, d.Source, s.templates)
		if err != nil {
			fail("%s:%d: %s %s: %v", d.Source, d.Line, d.Ref().Kind, d.Ref().Name, err)
			continue
		}
		s.constraints = append(s.constraints, &preparedConstraint{constraint: c})
	}
	if len(errs) == 0 {
		s.compiler = ast.NewCompiler().WithCapabilities(capabilities())
		if s.compiler.Compile(modules); s.compiler.Failed() {
			errs = append(errs, regoErrors(s.compiler.Errors))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policies do not load:\n%s", strings.Join(errs, "\n"))
	}
	inventoryRef := ast.MustParseRef("data.inventory")
	oldRef, nsRef := ast.MustParseRef("input.review.oldObject"), ast.MustParseRef("input.review.namespaceObject")
	reviewRef, inputRef := ast.MustParseRef("input.review"), ast.MustParseRef("input")
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			s.usesInventory = s.usesInventory || r.HasPrefix(inventoryRef)
			// A policy that takes input or input.review whole may read anything.
			whole := r.Equal(inputRef) || r.Equal(reviewRef)
			s.readsOldObject = s.readsOldObject || whole || r.HasPrefix(oldRef)
			s.readsNamespace = s.readsNamespace || whole || r.HasPrefix(nsRef)
			return false
		})
	}
	for _, c := range s.constraints {
		s.selectsNamespaces = s.selectsNamespaces || c.match.NamespaceSelector != nil
	}
	s.kinds = s.judgedKinds()
	s.store = inmem.NewFromObject(map[string]any{
		"sctpguard": map[string]any{"context": map[string]any{}},
		"inventory": map[string]any{"cluster": map[string]any{}, "namespace": map[string]any{}},
	})
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// conftestRules finds a module's deny, warn and violation rules, which must be sets.
func conftestRules(m *ast.Module, source string) (*module, []string) {
	mod := &module{pkg: strings.TrimPrefix(m.Package.Path.String(), "data."), source: source}
	var problems []string
	seen := map[string]bool{}
	mod.kinds = map[string]bool{}
	for _, r := range m.Rules {
		name := ruleName(r)
		if name == "exception" {
			mod.exception = true
			continue
		}
		if !failureRule.MatchString(name) && !warningRule.MatchString(name) {
			continue
		}
		if kind, ok := kindGuard(r); ok && mod.kinds != nil {
			mod.kinds[kind] = true
		} else {
			mod.kinds = nil
		}
		if r.Head.RuleKind() != ast.MultiValue {
			problems = append(problems, fmt.Sprintf("%s:%d: rule %s must be a set of messages: write `%s contains msg if { ... }`",
				source, r.Location.Row, name, name))
			continue
		}
		if !seen[name] {
			seen[name] = true
			mod.rules = append(mod.rules, name)
		}
	}
	sort.Strings(mod.rules)
	return mod, problems
}

// kindGuard finds a rule body's top-level input.kind == "X" (or input.review.kind.kind, or
// input.review.object.kind): the rule cannot fire for another kind.
func kindGuard(r *ast.Rule) (string, bool) {
	guards := []ast.Ref{ast.MustParseRef("input.kind"), ast.MustParseRef("input.review.kind.kind"), ast.MustParseRef("input.review.object.kind")}
	for _, expr := range r.Body {
		if expr.Negated || (!expr.IsEquality() && !expr.Operator().Equal(ast.Equal.Ref())) {
			continue
		}
		terms, ok := expr.Terms.([]*ast.Term)
		if !ok || len(terms) != 3 {
			continue
		}
		for _, pair := range [][2]*ast.Term{{terms[1], terms[2]}, {terms[2], terms[1]}} {
			ref, isRef := pair[0].Value.(ast.Ref)
			str, isStr := pair[1].Value.(ast.String)
			if !isRef || !isStr {
				continue
			}
			for _, g := range guards {
				if ref.Equal(g) {
					return string(str), true
				}
			}
		}
	}
	return "", false
}

// judgedKinds is the union of the kinds the policies can judge, or nil when one of them can
// judge any kind.
func (s *Set) judgedKinds() map[string]bool {
	kinds := map[string]bool{}
	for _, m := range s.modules {
		if m.kinds == nil {
			return nil
		}
		for k := range m.kinds {
			kinds[k] = true
		}
	}
	for _, c := range s.constraints {
		if len(c.match.Kinds) == 0 {
			return nil
		}
		for _, k := range c.match.Kinds {
			for _, kind := range k.Kinds {
				if kind == "*" {
					return nil
				}
				kinds[kind] = true
			}
		}
	}
	return kinds
}

// prepare builds the prepared queries: one for all modules, one per constraint.
func (s *Set) prepare(ctx context.Context) error {
	sort.Slice(s.modules, func(i, j int) bool { return s.modules[i].pkg < s.modules[j].pkg })
	var body []string
	for _, m := range s.modules {
		for _, r := range m.rules {
			body = append(body, fmt.Sprintf("m%d := data.%s.%s", len(s.moduleBindings), m.pkg, r))
			s.moduleBindings = append(s.moduleBindings, binding{pkg: m.pkg, rule: r})
		}
		if m.exception {
			body = append(body, fmt.Sprintf("e%d := data.%s.exception", len(s.exceptions), m.pkg))
			s.exceptions = append(s.exceptions, m.pkg)
		}
	}
	if len(body) > 0 {
		q, err := s.prepareQuery(ctx, strings.Join(body, "; "))
		if err != nil {
			return fmt.Errorf("prepare the modules' query: %w", err)
		}
		s.moduleQuery = &q
	}
	// One query per template: its constraints differ only in input.parameters, which each
	// gets in its own input (a `with input.parameters` would copy the whole input per call).
	queries := map[string]*rego.PreparedEvalQuery{}
	for _, c := range s.constraints {
		params, err := ast.InterfaceToValue(c.constraint.params)
		if err != nil {
			return fmt.Errorf("constraint %s: parameters: %w", c.name, err)
		}
		c.params = ast.NewTerm(params)
		q, ok := queries[c.template.pkg]
		if !ok {
			prepared, err := s.prepareQuery(ctx, fmt.Sprintf("v := data.%s.violation", c.template.pkg))
			if err != nil {
				return fmt.Errorf("prepare template %s: %w", c.template.name, err)
			}
			q = &prepared
			queries[c.template.pkg] = q
		}
		c.query = q
	}
	return nil
}

func (s *Set) prepareQuery(ctx context.Context, query string) (rego.PreparedEvalQuery, error) {
	return rego.New(
		rego.Query(query),
		rego.Compiler(s.compiler),
		rego.Store(s.store),
		rego.Capabilities(capabilities()),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
}

// RuleIDs implements policy.Evaluator: "<package>/<rule>" for modules, the constraint's name
// for constraints, as Gatekeeper names them.
func (s *Set) RuleIDs() []string {
	var ids []string
	for _, b := range s.moduleBindings {
		ids = append(ids, b.pkg+"/"+b.rule)
	}
	for _, c := range s.constraints {
		ids = append(ids, c.name)
	}
	return ids
}

// Policies summarises the set for logs: modules and constraints.
func (s *Set) Policies() (modules, constraints int) { return len(s.modules), len(s.constraints) }

// regoErrors renders OPA errors as file:line: message, one per line.
func regoErrors(err error) string {
	var es ast.Errors
	if errors.As(err, &es) {
		lines := make([]string, len(es))
		for i, e := range es {
			if e.Location != nil {
				lines[i] = fmt.Sprintf("%s:%d: %s", e.Location.File, e.Location.Row, e.Message)
			} else {
				lines[i] = e.Message
			}
		}
		return strings.Join(lines, "\n")
	}
	return err.Error()
}

// dataState is what has been written to the store's data.
type dataState struct {
	mu         sync.Mutex
	context    string
	generation uint64
	listed     bool
	at         time.Time
}
