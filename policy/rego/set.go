package rego

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// Options tune how a policy set loads and evaluates.
type Options struct {
	// Timeout bounds the evaluation of one review by all policies.
	Timeout time.Duration
	// OnError is what a policy that fails or runs out of time does to the review: warn
	// (admit with a warning, the default) or deny.
	OnError policy.Action
	// RegoVersion is the Rego version of .rego modules: v1 (the default, as in OPA 1.0 and
	// conftest) or v0. A v0 module that imports rego.v1 is read as v1. ConstraintTemplates
	// declare their own version.
	RegoVersion string
	// Packages keeps the conftest rules of the packages matching one of these globs
	// (conftest's --namespace: *, ? and [...], "." an ordinary character); empty keeps
	// every package (conftest's --all-namespaces). Constraints are not filtered.
	Packages []string
	// Combine makes the conftest rules judge all documents at once (conftest's --combine,
	// see EvaluateCombined) instead of each object; constraints still judge each object.
	Combine bool
}

// Rego versions.
const (
	RegoV0 = "v0"
	RegoV1 = "v1"
)

// RegoVersions lists the accepted Rego versions.
var RegoVersions = []string{RegoV1, RegoV0}

func regoVersion(v string) (ast.RegoVersion, error) {
	switch v {
	case "", RegoV1:
		return ast.RegoV1, nil
	case RegoV0:
		return ast.RegoV0, nil
	}
	return ast.RegoUndefined, fmt.Errorf("rego version %q is not v0 or v1", v)
}

// DefaultTimeout bounds one review's evaluation; policies take microseconds, so a policy
// near this bound is broken, and the webhook's own timeout (seconds) is never reached.
const DefaultTimeout = 500 * time.Millisecond

// conftest's rule names: failures and warnings, optionally with a suffix (deny_sctp_npl).
var (
	failureRule = regexp.MustCompile(`^(deny|violation)(_[a-zA-Z0-9]+)*$`)
	warningRule = regexp.MustCompile(`^warn(_[a-zA-Z0-9]+)*$`)
)

// conftestRule is one deny, violation or warn rule of a package, over every file and
// definition of the package: conftest queries data.<package>.<rule> once.
type conftestRule struct {
	pkg  *pkg
	name string
	// id is the finding's rule ID, <package>/<rule>.
	id     string
	action policy.Action
	// whole marks a rule with one value (violation := [...]) rather than a set of messages.
	whole bool
	// exceptAs is the name conftest exceptions exempt it by: the rule without deny_,
	// violation_ or warn_ (deny_sctp_npl: sctp_npl), empty for the bare rules.
	exceptAs string
	// kinds are the kinds it can fire for, from its definitions' input.kind guards; nil: any.
	kinds map[string]bool
}

// pkg is a Rego package with conftest rules, gathered from all its files.
type pkg struct {
	ref       ast.Ref
	name      string // without data.
	rules     map[string]*conftestRule
	exception bool
}

// moduleQuery evaluates, in one prepared query, the conftest rules that can fire for a kind.
type moduleQuery struct {
	// kind is the kind it is for; empty for the other kinds.
	kind  string
	query *preparedQuery
	// body is the query's text, to combine it with constraints'.
	body []string
	// rules are bound as r<i>; exceptions (packages) as e<i>, to the names they list.
	rules      []*conftestRule
	exceptions []*pkg
}

// Set is a compiled policy set. It is safe for concurrent use.
type Set struct {
	opts        Options
	rules       []*conftestRule
	packages    map[string]*pkg
	constraints []*preparedConstraint
	templates   map[string]*template
	compiler    *ast.Compiler
	// store holds the data documents; data.inventory and data.sctpguard.context are
	// resolved per evaluation.
	store storage.Store

	// moduleQueries has a query per kind that a rule guards on, and anyKind the one for
	// other kinds (the rules without a guard). Both are nil without conftest rules.
	moduleQueries map[string]*moduleQuery
	anyKind       *moduleQuery
	// combinedRules has every conftest rule, for EvaluateCombined.
	combinedRules *moduleQuery

	// kinds are the kinds any policy can judge; nil means any kind. Objects of other kinds
	// skip evaluation, and the cost of building their input.
	kinds map[string]bool
	// What the policies read, so the input holds only what is needed.
	usesInventory, usesContext, readsOldObject, readsNamespace, readsUserInfo, selectsNamespaces bool
	// readsReview: some policy reads input.review; readsTop: some policy reads the
	// object's fields at the top of input (conftest's input).
	readsReview, readsTop bool
	// object is the part of the object under review that the policies read.
	object *projection

	// context caches data.sctpguard.context, converted once per change of AKO's settings.
	context atomic.Pointer[contextValue]
	// snapshot caches data.inventory of the last listed inventory (check, test suites).
	snapshot   atomic.Pointer[inventorySnapshot]
	snapshotMu sync.Mutex
	// parameters are data.sctpguard.parameters: the constraints' parameters by constraint
	// ("c<index>"), which their own copies of their templates read.
	parameters ast.Object
	// combined caches the queries that evaluate, in one go, the conftest rules of a kind
	// and a set of matching constraints; see combinedQuery.
	combined  sync.Map // string -> *combinedQuery
	nCombined atomic.Int32
	// kindTerms holds input.review.kind per kind; see kindTerm.
	kindTerms  sync.Map // schema.GroupVersionKind -> *ast.Term
	nKindTerms atomic.Int32
}

type preparedConstraint struct {
	*constraint
	// query is its template's, shared by the template's constraints.
	query *preparedQuery
	// params is its spec.parameters as a Rego term, for input.parameters.
	params *ast.Term
	// violation is the violation rule of its own copy of the template, which reads its
	// parameters from data, for combined queries; nil when the template allows none.
	violation ast.Ref
	index     int
}

var _ policy.Evaluator = (*Set)(nil)

// Load parses, checks and compiles the policies of the sources (test files left out) into
// prepared queries, with the data documents among them. Every problem is reported at once,
// each with its file and line; nothing is half-loaded.
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
	if _, err := regoVersion(opts.RegoVersion); err != nil {
		return nil, err
	}
	for _, p := range opts.Packages {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("package pattern %q: %w", p, err)
		}
	}
	s := &Set{opts: opts, templates: map[string]*template{}, packages: map[string]*pkg{}}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	modules := map[string]*ast.Module{}
	var constraintDocs []*manifest.Document
	var documents []Source
	for _, src := range sources {
		switch {
		case src.Document:
			documents = append(documents, src)
		case src.IsTest():
		case src.isRego():
			m, err := src.parse(opts.RegoVersion)
			if err != nil {
				fail("%s", err)
				continue
			}
			errs = append(errs, s.addModule(m, src.Name)...)
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
		s.constraints = append(s.constraints, &preparedConstraint{constraint: c, index: len(s.constraints)})
	}
	data, derrs := mergeDocuments(documents)
	errs = append(errs, derrs...)
	errs = append(errs, s.selectPackages()...)
	if len(errs) == 0 {
		s.compiler = ast.NewCompiler().WithCapabilities(capabilities())
		if s.compiler.Compile(modules); s.compiler.Failed() {
			errs = append(errs, regoErrors(s.compiler.Errors))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policies do not load:\n%s", strings.Join(errs, "\n"))
	}
	s.inspect(modules)
	// Once the set compiles, each constraint gets its own copy of its template, reading
	// its parameters from data, and the whole is compiled again.
	if len(s.constraints) > 0 {
		s.parameters = ast.NewObject()
		for i, c := range s.constraints {
			params, err := ast.InterfaceToValue(c.constraint.params)
			if err != nil {
				return nil, fmt.Errorf("constraint %s: parameters: %w", c.name, err)
			}
			c.params = ast.NewTerm(params)
			if !c.template.perConstraint {
				continue
			}
			key := fmt.Sprintf("c%d", i)
			s.parameters.Insert(ast.StringTerm(key), c.params)
			pkg := ast.MustParseRef("data.sctpguard.constraints." + key)
			copies, err := c.template.forConstraint(pkg, parametersRef.Append(ast.StringTerm(key)))
			if err != nil {
				return nil, fmt.Errorf("constraint %s: %w", c.name, err)
			}
			for j, m := range copies {
				modules[fmt.Sprintf("%s#%s#%d", c.source, c.name, j)] = m
			}
			c.violation = pkg.Append(ast.StringTerm("violation"))
		}
		s.compiler = ast.NewCompiler().WithCapabilities(capabilities())
		if s.compiler.Compile(modules); s.compiler.Failed() {
			return nil, fmt.Errorf("policies do not load:\n%s", regoErrors(s.compiler.Errors))
		}
	}
	s.store = inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	if err := s.prepare(); err != nil {
		return nil, err
	}
	return s, nil
}

// addModule gathers a module's conftest rules into its package.
func (s *Set) addModule(m *ast.Module, source string) []string {
	name := strings.TrimPrefix(m.Package.Path.String(), "data.")
	p := s.packages[name]
	if p == nil {
		p = &pkg{ref: m.Package.Path.Copy(), name: name, rules: map[string]*conftestRule{}}
		s.packages[name] = p
	}
	var problems []string
	for _, r := range m.Rules {
		ref := r.Head.Ref()
		if len(ref) != 1 {
			continue // deny.x contains ... is not a conftest rule, as in conftest
		}
		name := ruleName(r)
		if name == "exception" {
			p.exception = true
			continue
		}
		if !failureRule.MatchString(name) && !warningRule.MatchString(name) {
			continue
		}
		whole := r.Head.RuleKind() != ast.MultiValue
		if whole && r.Head.Value != nil && r.Head.Value.Equal(ast.BooleanTerm(true)) {
			problems = append(problems, fmt.Sprintf("%s:%d: rule %s must be a set of messages: write `%s contains msg if { ... }`",
				source, r.Location.Row, name, name))
			continue
		}
		cr := p.rules[name]
		if cr == nil {
			cr = &conftestRule{pkg: p, name: name, id: p.name + "/" + name, whole: whole, kinds: map[string]bool{},
				action: policy.ActionDeny, exceptAs: exceptionName(name)}
			if warningRule.MatchString(name) {
				cr.action = policy.ActionWarn
			}
			p.rules[name] = cr
		}
		if kind, ok := kindGuard(r); ok && cr.kinds != nil {
			cr.kinds[kind] = true
		} else {
			cr.kinds = nil
		}
	}
	return problems
}

// exceptionName is the name by which conftest exceptions exempt a rule.
func exceptionName(rule string) string {
	for _, prefix := range []string{"deny", "violation", "warn"} {
		if rest, ok := strings.CutPrefix(rule, prefix); ok {
			return strings.TrimPrefix(rest, "_")
		}
	}
	return rule
}

// selectPackages keeps the rules of the packages that Options.Packages selects.
func (s *Set) selectPackages() []string {
	names := make([]string, 0, len(s.packages))
	for name, p := range s.packages {
		if len(p.rules) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var problems []string
	for _, pattern := range s.opts.Packages {
		if !slices.ContainsFunc(names, func(n string) bool { ok, _ := path.Match(pattern, n); return ok }) {
			problems = append(problems, fmt.Sprintf("package pattern %q matches no package with deny, violation or warn rules (packages: %s)",
				pattern, strings.Join(names, ", ")))
		}
	}
	for _, name := range names {
		p := s.packages[name]
		if len(s.opts.Packages) > 0 && !slices.ContainsFunc(s.opts.Packages, func(pattern string) bool { ok, _ := path.Match(pattern, name); return ok }) {
			continue
		}
		rules := make([]string, 0, len(p.rules))
		for r := range p.rules {
			rules = append(rules, r)
		}
		sort.Strings(rules)
		for _, r := range rules {
			s.rules = append(s.rules, p.rules[r])
		}
	}
	return problems
}

// inspect finds what the policies read, and the kinds they can judge.
func (s *Set) inspect(modules map[string]*ast.Module) {
	oldRef, nsRef := ast.MustParseRef("input.review.oldObject"), ast.MustParseRef("input.review.namespaceObject")
	userRef := ast.MustParseRef("input.review.userInfo")
	input := ast.InputRootDocument.Value.(ast.Var)
	key := func(r ast.Ref, i int) (string, bool) {
		if len(r) <= i {
			return "", false
		}
		k, ok := r[i].Value.(ast.String)
		return string(k), ok
	}
	object := &projection{}
	for _, m := range modules {
		// A policy that takes input whole (passes it on, iterates it) may read anything.
		whole := readsInputWhole(m)
		if whole {
			object.add(nil)
		}
		s.readsReview = s.readsReview || whole
		s.readsTop = s.readsTop || whole
		s.readsOldObject = s.readsOldObject || whole
		s.readsUserInfo = s.readsUserInfo || whole
		s.readsNamespace = s.readsNamespace || whole
		ast.WalkRefs(m, func(r ast.Ref) bool {
			// A ref to data, or to data.sctpguard, reads what is below too.
			s.usesInventory = s.usesInventory || r.HasPrefix(inventoryRef) || inventoryRef.HasPrefix(r)
			s.usesContext = s.usesContext || r.HasPrefix(contextRef) || contextRef.HasPrefix(r)
			if r[0].Value.Compare(input) != 0 {
				return false
			}
			switch k, _ := key(r, 1); k {
			case "review":
				s.readsReview = true
				// input.review whole, or input.review[x], may read any of it.
				k2, keyed := key(r, 2)
				s.readsOldObject = s.readsOldObject || !keyed || r.HasPrefix(oldRef)
				s.readsUserInfo = s.readsUserInfo || !keyed || r.HasPrefix(userRef)
				s.readsNamespace = s.readsNamespace || !keyed || r.HasPrefix(nsRef)
				switch {
				case !keyed:
					object.add(nil)
				case k2 == "object":
					object.add(r[3:])
				}
			case "parameters":
				// A constraint's, or the object's own (a StorageClass has parameters).
				object.add(r[1:])
			default:
				s.readsTop = true
				object.add(r[1:])
			}
			return false
		})
	}
	s.object = object.finish()
	for _, c := range s.constraints {
		s.selectsNamespaces = s.selectsNamespaces || c.match.NamespaceSelector != nil
	}
	s.kinds = s.judgedKinds()
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
	for _, r := range s.rules {
		if s.opts.Combine {
			break // they judge the documents together
		}
		if r.kinds == nil {
			return nil
		}
		for k := range r.kinds {
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

// prepare builds the prepared queries: the conftest rules' per kind, one per template.
func (s *Set) prepare() error {
	if len(s.rules) > 0 && s.opts.Combine {
		q, err := s.prepareModules(func(*conftestRule) bool { return true })
		if err != nil {
			return err
		}
		s.combinedRules = q
	}
	if len(s.rules) > 0 && !s.opts.Combine {
		guarded := map[string]bool{}
		for _, r := range s.rules {
			for k := range r.kinds {
				guarded[k] = true
			}
		}
		s.moduleQueries = map[string]*moduleQuery{}
		for kind := range guarded {
			q, err := s.prepareModules(func(r *conftestRule) bool { return r.kinds == nil || r.kinds[kind] })
			if err != nil {
				return err
			}
			q.kind = kind
			s.moduleQueries[kind] = q
		}
		q, err := s.prepareModules(func(r *conftestRule) bool { return r.kinds == nil })
		if err != nil {
			return err
		}
		s.anyKind = q
	}
	// One query per template: its constraints differ only in input.parameters, which each
	// gets in its own input (a `with input.parameters` would copy the whole input per call).
	queries := map[string]*preparedQuery{}
	for _, c := range s.constraints {
		q, ok := queries[c.template.pkg]
		if !ok {
			var err error
			if q, err = s.prepareQuery(fmt.Sprintf("v := data.%s.violation", c.template.pkg)); err != nil {
				return fmt.Errorf("prepare template %s: %w", c.template.name, err)
			}
			queries[c.template.pkg] = q
		}
		c.query = q
	}
	// The combined queries of the usual case, every constraint of a kind matching, are
	// prepared now rather than on a review.
	kinds := map[string]bool{}
	for k := range s.moduleQueries {
		kinds[k] = true
	}
	for _, c := range s.constraints {
		for _, k := range c.match.Kinds {
			for _, kind := range k.Kinds {
				kinds[kind] = true
			}
		}
	}
	for kind := range kinds {
		var matched []*preparedConstraint
		for _, c := range s.constraints {
			if c.match.selectsKind(kind) {
				matched = append(matched, c)
			}
		}
		mq := s.anyKind
		if q, ok := s.moduleQueries[kind]; ok {
			mq = q
		}
		if _, err := s.combinedQuery(mq, matched); err != nil {
			return err
		}
	}
	return nil
}

// prepareModules prepares the query of the conftest rules that keep selects, with the
// exceptions of their packages; nil when it selects none.
func (s *Set) prepareModules(keep func(*conftestRule) bool) (*moduleQuery, error) {
	mq := &moduleQuery{}
	var body []string
	bound := map[string]bool{}
	for _, r := range s.rules {
		if !keep(r) {
			continue
		}
		ref := r.pkg.ref.Append(ast.StringTerm(r.name)).String()
		if r.whole {
			// A rule with one value is undefined when no body holds, which would make the
			// whole query undefined: collect it instead.
			body = append(body, fmt.Sprintf("%s := [x | x := %s]", bindingName('r', len(mq.rules)), ref))
		} else {
			body = append(body, fmt.Sprintf("%s := %s", bindingName('r', len(mq.rules)), ref))
		}
		mq.rules = append(mq.rules, r)
		if p := r.pkg; p.exception && !bound[p.name] {
			bound[p.name] = true
			body = append(body, fmt.Sprintf("%s := [n | n := %s[_][_]]", bindingName('e', len(mq.exceptions)), p.ref.Append(ast.StringTerm("exception"))))
			mq.exceptions = append(mq.exceptions, p)
		}
	}
	if len(body) == 0 {
		return nil, nil
	}
	q, err := s.prepareQuery(strings.Join(body, "; "))
	if err != nil {
		return nil, fmt.Errorf("prepare the modules' query: %w", err)
	}
	mq.query, mq.body = q, body
	return mq, nil
}

// RuleIDs implements policy.Evaluator: "<package>/<rule>" for modules, the constraint's name
// for constraints, as Gatekeeper names them.
func (s *Set) RuleIDs() []string {
	var ids []string
	for _, r := range s.rules {
		ids = append(ids, r.id)
	}
	for _, c := range s.constraints {
		ids = append(ids, c.name)
	}
	return ids
}

// Policies summarises the set for logs: packages with conftest rules, and constraints.
func (s *Set) Policies() (modules, constraints int) {
	pkgs := map[string]bool{}
	for _, r := range s.rules {
		pkgs[r.pkg.name] = true
	}
	return len(pkgs), len(s.constraints)
}

// UsesInventory reports whether a policy reads data.inventory.
func (s *Set) UsesInventory() bool { return s.usesInventory }

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
