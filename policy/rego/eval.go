package rego

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/resolver"
	"github.com/open-policy-agent/opa/v1/topdown"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sctpguard/sctpguard/policy"
)

var corev1Namespace = corev1.SchemeGroupVersion.WithKind("Namespace")

var (
	inventoryRef  = ast.MustParseRef("data.inventory")
	contextRef    = ast.MustParseRef("data.sctpguard.context")
	parametersRef = ast.MustParseRef("data.sctpguard.parameters")
)

// Evaluate implements policy.Evaluator: the conftest rules that can fire for the object's
// kind, and every constraint whose match selects the object, judged with the same input,
// against one view of the data.
func (s *Set) Evaluate(ctx context.Context, r *policy.Review, env policy.Env) ([]policy.Finding, error) {
	return s.AppendEvaluate(ctx, nil, r, env)
}

var _ policy.FindingsAppender = (*Set)(nil)

// AppendEvaluate implements policy.FindingsAppender: Evaluate's findings appended to dst,
// which is returned as it was when there are none.
func (s *Set) AppendEvaluate(ctx context.Context, dst []policy.Finding, r *policy.Review, env policy.Env) ([]policy.Finding, error) {
	if r.Object == nil {
		return dst, nil
	}
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	if s.kinds != nil && !s.kinds[gvk.Kind] {
		return dst, nil
	}
	mq := s.anyKind // nil with Options.Combine
	if q, ok := s.moduleQueries[gvk.Kind]; ok {
		mq = q
	}
	ns, err := s.namespace(r, env)
	if err != nil {
		return nil, err
	}
	out := dst
	var matched []*preparedConstraint
	for _, c := range s.constraints {
		ok, err := c.match.matches(gvk.Group, gvk.Kind, r.Object.GetNamespace(), r.Object.GetName(), r.Object.GetLabels(), ns)
		if err != nil {
			out = append(out, s.failure("constraint "+c.name, c.name, err))
			continue
		}
		if ok {
			matched = append(matched, c)
		}
	}
	if mq == nil && len(matched) == 0 {
		return out, nil
	}

	in, err := s.input(r, ns)
	if err != nil {
		return nil, err
	}
	ev, release, err := s.evaluation(ctx, env)
	if err != nil {
		return nil, err
	}
	defer release()
	separate := matched
	var combined *combinedQuery
	var combinedResults results
	if cq, err := s.combinedQuery(mq, matched); err == nil && cq != nil {
		// One query for all; when it fails, each part again on its own, to say which.
		if rs, err := cq.query.eval(ev, in); err == nil {
			combined, combinedResults = cq, rs
			if mq != nil {
				out = s.appendModuleFindings(out, mq, rs)
			}
			mq, separate = nil, nil
			for _, c := range matched {
				if c.violation == nil {
					separate = append(separate, c)
				}
			}
		}
	}
	if mq != nil {
		rs, err := mq.query.eval(ev, in)
		if err != nil {
			out = append(out, s.failure("policy modules", "", err))
		} else {
			out = s.appendModuleFindings(out, mq, rs)
		}
	}
	// The constraints' findings follow, in the constraints' order however evaluated: the
	// combined query's are in that order; with others evaluated on their own, each
	// constraint's are gathered first.
	if len(separate) == 0 {
		if combined != nil {
			for i, c := range combined.constraints {
				out = s.appendConstraintFindings(out, c, combinedResults.binding(bindingName('c', i)))
			}
		}
	} else {
		byConstraint := make([][]policy.Finding, len(s.constraints))
		if combined != nil {
			for i, c := range combined.constraints {
				byConstraint[c.index] = s.appendConstraintFindings(nil, c, combinedResults.binding(bindingName('c', i)))
			}
		}
		for _, c := range separate {
			rs, err := c.query.eval(ev, withParameters(in, c.params))
			if err != nil {
				byConstraint[c.index] = []policy.Finding{s.failure("constraint "+c.name, c.name, err)}
				continue
			}
			byConstraint[c.index] = s.appendConstraintFindings(nil, c, rs.binding("v"))
		}
		n := len(out)
		for _, fs := range byConstraint {
			n += len(fs)
		}
		out = slices.Grow(out, n-len(out))
		for _, fs := range byConstraint {
			out = append(out, fs...)
		}
	}
	if err := cutShort(ctx); err != nil {
		return nil, err
	}
	if len(out) == len(dst) {
		return dst, nil // not the room made for findings: nil stays nil
	}
	return out, nil
}

// cutShort is the error of an evaluation that ctx, the caller's, ended: the time to answer
// ran out (the webhook's deadline, under the API server's timeout), not the policies' own
// time. That is no policy error, to be admitted or denied by Options.OnError, but a review
// that could not be judged, which the caller denies with the reason.
func cutShort(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("the user policies were still running when the time to answer ran out: %w", context.Cause(ctx))
}

// combinedQuery is one query for the conftest rules of a kind and the constraints that
// match an object: one evaluation per review instead of one per policy.
type combinedQuery struct {
	query *preparedQuery
	// constraints are bound as c<i>.
	constraints []*preparedConstraint
}

// maxCombined bounds the combined queries kept: past it, reviews evaluate each policy on
// its own. Constraints match by kind, namespace and labels; a cluster sees few sets.
const maxCombined = 256

// combinedQuery returns the combined query for the rules of mq and the matched
// constraints, prepared on first use; nil when there is nothing to combine or the cache is
// full. The matched constraints whose templates take input whole are left out of it: the
// caller evaluates them on their own.
func (s *Set) combinedQuery(mq *moduleQuery, matched []*preparedConstraint) (*combinedQuery, error) {
	// The key is the module query and the set of constraints, as bits while there are
	// few: it is computed on every review.
	key := comboKey{mq: mq}
	n := 0
	var more []byte
	for _, c := range matched {
		if c.violation == nil {
			continue
		}
		n++
		if c.index < 64*len(key.bits) {
			key.bits[c.index/64] |= 1 << (c.index % 64)
		} else {
			more = strconv.AppendInt(append(more, ','), int64(c.index), 10)
		}
	}
	if n == 0 || (mq == nil && n == 1) {
		return nil, nil // nothing saved
	}
	key.more = string(more)
	if v, ok := s.combined.Load(key); ok {
		return v.(*combinedQuery), nil
	}
	if s.nCombined.Load() >= maxCombined {
		return nil, nil
	}
	cq := &combinedQuery{}
	var body []string
	if mq != nil {
		body = append(body, mq.body...)
	}
	for _, c := range matched {
		if c.violation == nil {
			continue
		}
		body = append(body, fmt.Sprintf("%s := %s", bindingName('c', len(cq.constraints)), c.violation))
		cq.constraints = append(cq.constraints, c)
	}
	q, err := s.prepareQuery(strings.Join(body, "; "))
	if err != nil {
		return nil, fmt.Errorf("prepare a combined query: %w", err)
	}
	cq.query = q
	if v, loaded := s.combined.LoadOrStore(key, cq); loaded {
		return v.(*combinedQuery), nil
	}
	s.nCombined.Add(1)
	return cq, nil
}

// comboKey identifies a combined query: the module query, and the constraints' indexes as
// bits (past 128 constraints, listed in more).
type comboKey struct {
	mq   *moduleQuery
	bits [2]uint64
	more string
}

// bindingNames are the names of query variables, r0, e0, c0 and so on, made once: they
// are looked up for every finding.
var bindingNames = map[byte][]string{'r': names('r'), 'e': names('e'), 'c': names('c')}

func names(prefix byte) []string {
	out := make([]string, 256)
	for i := range out {
		out[i] = string(prefix) + strconv.Itoa(i)
	}
	return out
}

func bindingName(prefix byte, i int) string {
	if names := bindingNames[prefix]; i < len(names) {
		return names[i]
	}
	return string(prefix) + strconv.Itoa(i)
}

// CombinedFile is one file of a combined evaluation: its path and its documents.
type CombinedFile struct {
	Path    string
	Objects []policy.Object
}

// EvaluateCombined judges all files at once with the conftest rules, as conftest's --combine
// does: input is an array of {"path": <file>, "contents": <its document>}, contents an array
// when the file holds several documents. Constraints do not take part: Gatekeeper has no
// such input. The set must be loaded with Options.Combine.
func (s *Set) EvaluateCombined(ctx context.Context, files []CombinedFile, env policy.Env) ([]policy.Finding, error) {
	if s.combinedRules == nil {
		return nil, nil
	}
	items := make([]*ast.Term, 0, len(files))
	for _, f := range files {
		docs := make([]*ast.Term, 0, len(f.Objects))
		for _, o := range f.Objects {
			v, err := toValue(o, schema.GroupVersionKind{})
			if err != nil {
				return nil, fmt.Errorf("%s: policy input: %w", f.Path, err)
			}
			docs = append(docs, ast.NewTerm(v))
		}
		contents := ast.ArrayTerm(docs...)
		if len(docs) == 1 {
			contents = docs[0]
		}
		items = append(items, ast.ObjectTerm([2]*ast.Term{ast.StringTerm("path"), ast.StringTerm(f.Path)}, [2]*ast.Term{ast.StringTerm("contents"), contents}))
	}
	ev, release, err := s.evaluation(ctx, env)
	if err != nil {
		return nil, err
	}
	defer release()
	rs, err := s.combinedRules.query.eval(ev, ast.NewArray(items...))
	if err := cutShort(ctx); err != nil {
		return nil, err
	}
	if err != nil {
		return []policy.Finding{s.failure("policy modules", "", err)}, nil
	}
	return s.appendModuleFindings(nil, s.combinedRules, rs), nil
}

// evaluation is what every query of one review shares: one transaction on the data
// documents, data.sctpguard.context and data.inventory as they stand (reviewValues, in the
// context), and one cancellation at the policy deadline. release ends the view.
func (s *Set) evaluation(ctx context.Context, env policy.Env) (*evaluation, func(), error) {
	txn, err := s.store.NewTransaction(ctx)
	if err != nil {
		return nil, nil, err
	}
	// One cancellation for all the queries, fired at the policy deadline or when ctx ends
	// (the handler's deadline), whichever comes first: without it, each query starts a
	// goroutine to watch a context. A timer and, when ctx can end, one callback on it cost
	// less than a context with a deadline of its own and a callback on that.
	c := topdown.NewCancel()
	timer := time.AfterFunc(s.opts.Timeout, c.Cancel)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.Cancel)
	}
	release := func() {
		timer.Stop()
		if stop != nil {
			stop()
		}
		s.store.Abort(ctx, txn)
	}
	ev := &evaluation{ctx: ctx, txn: txn, cancel: c}
	if !s.usesContext && !s.usesInventory {
		return ev, release, nil
	}
	values := &reviewValues{}
	if s.usesContext {
		cv, err := s.contextValue(env.Context)
		if err != nil {
			release()
			return nil, nil, err
		}
		values.context = cv.v
	}
	if s.usesInventory {
		inv, err := s.inventory(env)
		if err != nil {
			release()
			return nil, nil, err
		}
		root, done := inv.read()
		values.inventory = root
		abort := release
		release = func() {
			done()
			abort()
		}
	}
	ev.ctx = context.WithValue(ctx, reviewValuesKey{}, values)
	return ev, release, nil
}

// noMetrics spares each query the timers and counters OPA keeps when it is given none:
// nothing reads them.
var noMetrics = metrics.NoOp()

// namespace is the object's Namespace from the inventory, when a policy reads it or a
// constraint selects by it.
func (s *Set) namespace(r *policy.Review, env policy.Env) (nsInfo, error) {
	name := r.Object.GetNamespace()
	if name == "" || env.Inventory == nil || (!s.readsNamespace && !s.selectsNamespaces) {
		return nsInfo{}, nil
	}
	n, err := env.Inventory.Namespace(name)
	if err != nil {
		return nsInfo{}, fmt.Errorf("get Namespace %s: %w", name, err)
	}
	if n == nil {
		return nsInfo{}, nil
	}
	return nsInfo{found: true, labels: n.Labels, object: n}, nil
}

// failure turns a policy's error or timeout into a finding with the configured outcome, so
// that a broken policy neither hangs the API server nor silently lets everything through.
func (s *Set) failure(what, rule string, err error) policy.Finding {
	msg := fmt.Sprintf("%s failed: %v", what, err)
	var te *topdown.Error
	if errors.As(err, &te) && te.Code == topdown.CancelErr || errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("%s did not finish within %s", what, s.opts.Timeout)
	}
	if rule == "" {
		rule = "policy-error"
	}
	verdict := "admitted"
	if s.opts.OnError == policy.ActionDeny {
		verdict = "denied"
	}
	return policy.Finding{Rule: rule, Action: s.opts.OnError, Message: msg + "; the object is " + verdict + " (policy error setting)"}
}

// moduleFindings reads the conftest rules' query as conftest does: a rule that an exception
// of its package names gives one exception per naming, and none of its messages; the
// others give their messages.
func (s *Set) appendModuleFindings(out []policy.Finding, mq *moduleQuery, rs results) []policy.Finding {
	excepted := map[*pkg]map[string]int{}
	for i, p := range mq.exceptions {
		names := map[string]int{}
		if arr, ok := rs.binding(bindingName('e', i)).(*ast.Array); ok {
			arr.Foreach(func(t *ast.Term) {
				if n, ok := t.Value.(ast.String); ok {
					names[string(n)]++
				}
			})
		}
		excepted[p] = names
	}
	for i, r := range mq.rules {
		if n := excepted[r.pkg][r.exceptAs]; n > 0 {
			for range n {
				out = append(out, policy.Finding{Rule: r.id, Action: policy.ActionException,
					Message: fmt.Sprintf("excepted by data.%s.exception (%q)", r.pkg.name, r.exceptAs)})
			}
			continue
		}
		v := rs.binding(bindingName('r', i))
		if r.whole {
			// [] when undefined, [value] otherwise.
			arr, _ := v.(*ast.Array)
			if arr == nil || arr.Len() == 0 {
				continue
			}
			v = arr.Elem(0).Value
		}
		n := len(out)
		var err error
		if out, err = appendFindings(out, r.id, r.action, v); err != nil {
			out = append(out[:n], s.failure("rule "+r.id, r.id, err))
		}
	}
	return out
}

// appendConstraintFindings appends the findings of a constraint's value, or the failure
// that its value is not messages.
func (s *Set) appendConstraintFindings(out []policy.Finding, c *preparedConstraint, v ast.Value) []policy.Finding {
	n := len(out)
	out, err := appendFindings(out, c.name, c.action, v)
	if err != nil {
		out = append(out[:n], s.failure("constraint "+c.name, c.name, err))
	}
	return out
}

// appendFindings appends the findings of a rule's value, a set or array of messages, in a
// stable order. A message is a string, or an object with a string msg (conftest,
// Gatekeeper) and optionally a field path in path or details.path (sctpguard). On error,
// out is returned as far as it got.
func appendFindings(out []policy.Finding, rule string, action policy.Action, v ast.Value) ([]policy.Finding, error) {
	var msgs []*ast.Term
	switch c := v.(type) {
	case nil:
		return out, nil
	case ast.Set:
		// The set's own slice, read only: OPA keeps it sorted as Sorted would copy it.
		if msgs = c.Slice(); !slices.IsSortedFunc(msgs, ast.TermValueCompare) {
			msgs = slices.SortedFunc(slices.Values(msgs), ast.TermValueCompare)
		}
	case *ast.Array:
		msgs = make([]*ast.Term, 0, c.Len())
		c.Foreach(func(t *ast.Term) { msgs = append(msgs, t) })
	default:
		return out, fmt.Errorf("its value is %s, not a set or array of messages", ast.ValueName(v))
	}
	out = slices.Grow(out, len(msgs))
	for _, m := range msgs {
		f := policy.Finding{Rule: rule, Action: action}
		switch m := m.Value.(type) {
		case ast.String:
			f.Message = string(m)
		case ast.Object:
			msg, ok := stringAt(m, msgKey)
			if !ok {
				return out, fmt.Errorf("message %v has no string msg", m)
			}
			f.Message = msg
			if p, ok := stringAt(m, pathKey); ok {
				f.Path = p
			} else if d, ok := termObject(m.Get(detailsKey)); ok {
				f.Path, _ = stringAt(d, pathKey)
			}
		default:
			return out, fmt.Errorf("message %v is %s, not a string or an object with msg", m, ast.ValueName(m))
		}
		out = append(out, f)
	}
	return out, nil
}

var (
	msgKey     = ast.StringTerm("msg")
	pathKey    = ast.StringTerm("path")
	detailsKey = ast.StringTerm("details")
)

func stringAt(o ast.Object, k *ast.Term) (string, bool) {
	t := o.Get(k)
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// keys are the keys of input.review, made once.
var keys = struct {
	uid, kind, group, version, name, namespace, operation, userInfo, object, oldObject, dryRun, namespaceObject *ast.Term
}{
	ast.StringTerm("uid"), ast.StringTerm("kind"), ast.StringTerm("group"), ast.StringTerm("version"), ast.StringTerm("name"),
	ast.StringTerm("namespace"), ast.StringTerm("operation"), ast.StringTerm("userInfo"), ast.StringTerm("object"),
	ast.StringTerm("oldObject"), ast.StringTerm("dryRun"), ast.StringTerm("namespaceObject"),
}

var (
	emptyString   = ast.StringTerm("")
	reviewKey     = ast.StringTerm("review")
	parametersKey = ast.StringTerm("parameters")
	emptyUser     = ast.ObjectTerm() // UserInfo{} in JSON
)

// input builds the one input every policy gets: the object's own fields at the top (for
// conftest policies), review (Gatekeeper's AdmissionRequest) and parameters (empty; each
// constraint binds its own).
func (s *Set) input(r *policy.Review, ns nsInfo) (ast.Object, error) {
	objValue, err := toValueProjected(r.Object, s.object)
	if err != nil {
		return nil, fmt.Errorf("policy input: %w", err)
	}
	obj, ok := objValue.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("policy input: the object is %s, not an object", ast.ValueName(objValue))
	}
	// Only what some policy reads: conftest's modules read the top, Gatekeeper's the
	// review. input.parameters is a constraint's (withParameters); the templates of the
	// combined queries read theirs from data, and conftest's modules see the object's own.
	if !s.readsReview {
		return obj, nil // the object is the input, and nothing else holds it: no copy
	}
	review, err := s.review(r, obj, ns)
	if err != nil {
		return nil, err
	}
	if !s.readsTop {
		return ast.NewObject([2]*ast.Term{reviewKey, ast.NewTerm(review)}), nil
	}
	items := make([][2]*ast.Term, 0, obj.Len()+1)
	obj.Foreach(func(k, v *ast.Term) { items = append(items, [2]*ast.Term{k, v}) })
	items = append(items, [2]*ast.Term{reviewKey, ast.NewTerm(review)})
	return ast.NewObject(items...), nil
}

// review builds input.review, Gatekeeper's AdmissionRequest, around the converted object.
func (s *Set) review(r *policy.Review, obj ast.Object, ns nsInfo) (ast.Object, error) {
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	// The old object, the Namespace and the user are converted only when a policy reads them.
	old := nullTerm
	if r.OldObject != nil && s.readsOldObject {
		v, err := toValue(r.OldObject, schema.GroupVersionKind{})
		if err != nil {
			return nil, fmt.Errorf("policy input: %w", err)
		}
		old = ast.NewTerm(v)
	}
	nsObj := nullTerm
	if ns.found && s.readsNamespace {
		v, err := toValue(ns.object, corev1Namespace)
		if err != nil {
			return nil, err
		}
		nsObj = ast.NewTerm(v)
	}
	userInfo := emptyUser
	if s.readsUserInfo && !reflect.ValueOf(r.UserInfo).IsZero() {
		v, err := toValue(&r.UserInfo, schema.GroupVersionKind{})
		if err != nil {
			return nil, err
		}
		userInfo = ast.NewTerm(v)
	}
	return ast.NewObject(
		[2]*ast.Term{keys.uid, emptyString},
		[2]*ast.Term{keys.kind, s.kindTerm(gvk)},
		[2]*ast.Term{keys.name, ast.StringTerm(r.Object.GetName())},
		[2]*ast.Term{keys.namespace, ast.StringTerm(r.Object.GetNamespace())},
		[2]*ast.Term{keys.operation, operationTerm(r.Operation)},
		[2]*ast.Term{keys.userInfo, userInfo},
		[2]*ast.Term{keys.object, ast.NewTerm(obj)},
		[2]*ast.Term{keys.oldObject, old},
		[2]*ast.Term{keys.dryRun, ast.InternedTerm(r.DryRun)},
		[2]*ast.Term{keys.namespaceObject, nsObj},
	), nil
}

// operationTerms are input.review.operation for the admission operations, made once.
var operationTerms = map[policy.Operation]*ast.Term{
	policy.OperationCreate: ast.StringTerm(string(policy.OperationCreate)), policy.OperationUpdate: ast.StringTerm(string(policy.OperationUpdate)),
	policy.OperationDelete: ast.StringTerm(string(policy.OperationDelete)), policy.OperationConnect: ast.StringTerm(string(policy.OperationConnect)),
}

func operationTerm(op policy.Operation) *ast.Term {
	if t, ok := operationTerms[op]; ok {
		return t
	}
	return ast.StringTerm(string(op))
}

// kindTerm is input.review.kind for a kind, made once per kind: evaluation never changes
// its input, so every review of the kind shares it.
func (s *Set) kindTerm(gvk schema.GroupVersionKind) *ast.Term {
	if t, ok := s.kindTerms.Load(gvk); ok {
		return t.(*ast.Term)
	}
	t := ast.ObjectTerm(
		[2]*ast.Term{keys.group, ast.StringTerm(gvk.Group)},
		[2]*ast.Term{keys.version, ast.StringTerm(gvk.Version)},
		[2]*ast.Term{keys.kind, ast.StringTerm(gvk.Kind)})
	if s.nKindTerms.Load() < maxKindTerms {
		if _, loaded := s.kindTerms.LoadOrStore(gvk, t); !loaded {
			s.nKindTerms.Add(1)
		}
	}
	return t
}

// maxKindTerms bounds the kinds whose input.review.kind is kept: the webhook judges a few
// dozen, check any number.
const maxKindTerms = 256

// withParameters returns the input with input.parameters set: a new top level sharing
// every other term, which evaluation never changes.
func withParameters(in ast.Object, params *ast.Term) ast.Object {
	items := make([][2]*ast.Term, 0, in.Len()+1)
	in.Foreach(func(k, v *ast.Term) {
		if !k.Equal(parametersKey) {
			items = append(items, [2]*ast.Term{k, v})
		}
	})
	return ast.NewObject(append(items, [2]*ast.Term{parametersKey, params})...)
}

// valueResolver resolves a reference to a fixed value.
type valueResolver struct{ v ast.Value }

func (r valueResolver) Eval(context.Context, resolver.Input) (resolver.Result, error) {
	return resolver.Result{Value: r.v}, nil
}

// contextValue is data.sctpguard.context for one Context, converted once.
type contextValue struct {
	of policy.Context
	v  ast.Value
}

func (s *Set) contextValue(c policy.Context) (*contextValue, error) {
	if cur := s.context.Load(); cur != nil && reflect.DeepEqual(cur.of, c) {
		return cur, nil
	}
	v, err := toValue(c, schema.GroupVersionKind{})
	if err != nil {
		return nil, fmt.Errorf("data.sctpguard.context: %w", err)
	}
	cv := &contextValue{of: c, v: v}
	s.context.Store(cv)
	return cv, nil
}

// inventorySnapshot is data.inventory built from a listing, for one generation of one
// inventory.
type inventorySnapshot struct {
	from       policy.Lister
	generation uint64
	inv        *Inventory
}

var emptyInventory = NewInventory()

// inventory is data.inventory for a review: the inventory's own, kept current from its
// events; or a snapshot of its objects, taken again whenever they change, so that no
// review ever sees another inventory or an older state.
func (s *Set) inventory(env policy.Env) (*Inventory, error) {
	if env.Inventory == nil {
		return emptyInventory, nil
	}
	if src, ok := env.Inventory.(InventorySource); ok {
		return src.RegoInventory()
	}
	lister, ok := env.Inventory.(policy.Lister)
	if !ok {
		return emptyInventory, nil
	}
	current := func() *Inventory {
		if snap := s.snapshot.Load(); snap != nil && snap.from == lister && snap.generation == lister.Generation() {
			return snap.inv
		}
		return nil
	}
	if inv := current(); inv != nil {
		return inv, nil
	}
	s.snapshotMu.Lock()
	defer s.snapshotMu.Unlock()
	if inv := current(); inv != nil {
		return inv, nil
	}
	gen := lister.Generation()
	objs, err := lister.Objects()
	if err != nil {
		return nil, fmt.Errorf("list the inventory: %w", err)
	}
	inv := NewInventory()
	for _, o := range objs {
		if err := inv.Put(o, schema.GroupVersionKind{}); err != nil {
			return nil, err
		}
	}
	s.snapshot.Store(&inventorySnapshot{from: lister, generation: gen, inv: inv})
	return inv, nil
}
