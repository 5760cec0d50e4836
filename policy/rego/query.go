package rego

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/resolver"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// preparedQuery is a query compiled once and evaluated by OPA's evaluator (topdown) as
// rego.PreparedEvalQuery.Eval evaluates it, without what Eval rebuilds on every call and
// sctpguard never reads: an evaluation context assembled from options, a trie of the
// resolvers, and a result set holding every expression's text besides the bindings. What no
// review changes (the compiled query, the compiler, the store, the resolvers) is set once in
// base; a review copies it and adds its own transaction, cancellation, input and memos.
type preparedQuery struct {
	text string
	base *topdown.Query
	// vars maps a variable of the query's text to the one its compiled form binds (the
	// compiler renames those declared with :=).
	vars map[string]ast.Var
}

// prepareQuery compiles query against the set's modules, as rego.PrepareForEval does.
func (s *Set) prepareQuery(query string) (*preparedQuery, error) {
	body, err := ast.ParseBodyWithOpts(query, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, err
	}
	qc := s.compiler.QueryCompiler().WithContext(ast.NewQueryContext())
	compiled, err := qc.Compile(body)
	if err != nil {
		return nil, err
	}
	pq := &preparedQuery{text: query, vars: map[string]ast.Var{}}
	for compiledVar, textVar := range qc.RewrittenVars() {
		pq.vars[string(textVar)] = compiledVar
	}
	// rego.PreparedEvalQuery's defaults: rule indexing, early exit, builtin errors
	// returned rather than taken as undefined, no metrics (nothing reads them).
	pq.base = topdown.NewQuery(compiled).
		WithQueryCompiler(qc).
		WithCompiler(s.compiler).
		WithStore(s.store).
		WithIndexing(true).
		WithEarlyExit(true).
		WithStrictBuiltinErrors(true).
		WithMetrics(noMetrics).
		WithRequestMetadata(noRequestMetadata)
	// The resolvers cost every read of data; they are there only when a policy reads them.
	// Those whose value changes per review read it from the review's context (reviewValues).
	if s.parameters != nil && s.parameters.Len() > 0 {
		pq.base = pq.base.WithResolver(parametersRef, valueResolver{s.parameters})
	}
	if s.usesContext {
		pq.base = pq.base.WithResolver(contextRef, reviewResolver(func(v *reviewValues) ast.Value { return v.context }))
	}
	if s.usesInventory {
		pq.base = pq.base.WithResolver(inventoryRef, reviewResolver(func(v *reviewValues) ast.Value { return v.inventory }))
	}
	return pq, nil
}

// noRequestMetadata is the metadata given to builtins, which only custom builtins read
// (sctpguard has none): one empty map for every evaluation, instead of one made by each.
var noRequestMetadata = map[string]any{}

// evaluation is what the queries of one review share: a context carrying the review's
// values of data (reviewValues), one transaction on the data documents, one cancellation.
type evaluation struct {
	ctx    context.Context
	txn    storage.Transaction
	cancel topdown.Cancel
}

// eval evaluates the query on input and returns its first result (the queries sctpguard
// prepares have at most one), nil when it has none.
func (pq *preparedQuery) eval(ev *evaluation, input ast.Value) (results, error) {
	q := *pq.base // Iter sets fields of its own (seed, time): each evaluation has a copy
	var first topdown.QueryResult
	err := q.WithTransaction(ev.txn).
		WithCancel(ev.cancel).
		WithInput(ast.NewTerm(input)).
		WithVirtualCache(newRuleCache()).
		WithBaseCache(&dataCache{}).
		Iter(ev.ctx, func(qr topdown.QueryResult) error {
			if first == nil {
				first = qr
			}
			return nil
		})
	if err != nil {
		return results{}, err
	}
	return results{qr: first, vars: pq.vars}, nil
}

// results are the bindings of a query's first result.
type results struct {
	qr   topdown.QueryResult
	vars map[string]ast.Var
}

// binding is the value bound to the query's variable name, or nil.
func (r results) binding(name string) ast.Value {
	v, ok := r.vars[name]
	if !ok {
		v = ast.Var(name)
	}
	if t := r.qr[v]; t != nil {
		return t.Value
	}
	return nil
}

// reviewValues are the values of data that change from one review to the next:
// data.sctpguard.context and data.inventory as the review sees them.
type reviewValues struct {
	context, inventory ast.Value
}

type reviewValuesKey struct{}

var errNoReviewValues = errors.New("internal error: the evaluation carries no review values")

// reviewResolver resolves a reference to a value of the review's reviewValues.
type reviewResolver func(*reviewValues) ast.Value

// Eval implements resolver.Resolver.
func (r reviewResolver) Eval(ctx context.Context, in resolver.Input) (resolver.Result, error) {
	v, ok := ctx.Value(reviewValuesKey{}).(*reviewValues)
	if !ok {
		return resolver.Result{}, fmt.Errorf("%v: %w", in.Ref, errNoReviewValues)
	}
	return resolver.Result{Value: r(v)}, nil
}
