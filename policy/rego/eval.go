package rego

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sctpguard/sctpguard/policy"
)

var corev1Namespace = corev1.SchemeGroupVersion.WithKind("Namespace")

// inventoryRefresh bounds how often data.inventory is rebuilt while the cluster changes:
// Gatekeeper's inventory is eventually consistent too.
const inventoryRefresh = time.Second

// Evaluate implements policy.Evaluator: every module, and every constraint whose match
// selects the object, judged with the same input.
func (s *Set) Evaluate(ctx context.Context, r *policy.Review, env policy.Env) ([]policy.Finding, error) {
	if r.Object == nil || (s.moduleQuery == nil && len(s.constraints) == 0) {
		return nil, nil
	}
	if s.kinds != nil && !s.kinds[r.Object.GetObjectKind().GroupVersionKind().Kind] {
		return nil, nil
	}
	if err := s.updateData(ctx, env); err != nil {
		return nil, err
	}
	in, ns, err := s.input(r, env)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	var out []policy.Finding
	if s.moduleQuery != nil {
		rs, err := s.moduleQuery.Eval(ctx, rego.EvalParsedInput(in))
		if err != nil {
			out = append(out, s.failure("policy modules", "", err))
		} else {
			out = append(out, s.moduleFindings(rs)...)
		}
	}
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	for _, c := range s.constraints {
		ok, err := c.match.matches(gvk.Group, gvk.Kind, r.Object.GetNamespace(), r.Object.GetName(), r.Object.GetLabels(), ns)
		if err != nil {
			out = append(out, s.failure("constraint "+c.name, c.name, err))
			continue
		}
		if !ok {
			continue
		}
		rs, err := c.query.Eval(ctx, rego.EvalParsedInput(withParameters(in, c.params)))
		if err != nil {
			out = append(out, s.failure("constraint "+c.name, c.name, err))
			continue
		}
		for _, v := range resultSet(rs, "v") {
			out = append(out, finding(c.name, c.action, v))
		}
	}
	return out, nil
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

// moduleFindings reads the modules' query: messages of deny, violation and warn rules,
// less what conftest exceptions exempt.
func (s *Set) moduleFindings(rs rego.ResultSet) []policy.Finding {
	exempt := map[string]bool{}
	for i, pkg := range s.exceptions {
		for _, v := range resultSet(rs, fmt.Sprintf("e%d", i)) {
			names, _ := v.([]any)
			for _, n := range names {
				if name, ok := n.(string); ok {
					exempt[pkg+"/"+name] = true
				}
			}
		}
	}
	var out []policy.Finding
	for i, b := range s.moduleBindings {
		// deny_sctp_npl is exempted by "sctp_npl", bare deny and violation by "".
		suffix := strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(b.rule, "deny"), "violation"), "_")
		if failureRule.MatchString(b.rule) && exempt[b.pkg+"/"+suffix] {
			continue
		}
		action := policy.ActionDeny
		if warningRule.MatchString(b.rule) {
			action = policy.ActionWarn
		}
		for _, v := range resultSet(rs, fmt.Sprintf("m%d", i)) {
			out = append(out, finding(b.pkg+"/"+b.rule, action, v))
		}
	}
	return out
}

// resultSet returns the elements of the set bound to name, in a stable order.
func resultSet(rs rego.ResultSet, name string) []any {
	if len(rs) == 0 {
		return nil
	}
	items, _ := rs[0].Bindings[name].([]any)
	sort.SliceStable(items, func(i, j int) bool { return fmt.Sprint(items[i]) < fmt.Sprint(items[j]) })
	return items
}

// finding turns one message into a finding. A message is a string, or an object with a msg
// (conftest, Gatekeeper) and optionally a field path in path or details.path (sctpguard).
func finding(rule string, action policy.Action, v any) policy.Finding {
	f := policy.Finding{Rule: rule, Action: action}
	switch m := v.(type) {
	case string:
		f.Message = m
	case map[string]any:
		f.Message, _ = m["msg"].(string)
		f.Path, _ = m["path"].(string)
		if d, ok := m["details"].(map[string]any); ok && f.Path == "" {
			f.Path, _ = d["path"].(string)
		}
		if f.Message == "" {
			f.Message = fmt.Sprintf("%v", m)
		}
	default:
		f.Message = fmt.Sprint(v)
	}
	return f
}

// input builds the one input every policy gets: the object's own fields at the top (for
// conftest policies), review (Gatekeeper's AdmissionRequest) and parameters (empty; each
// constraint binds its own).
func (s *Set) input(r *policy.Review, env policy.Env) (ast.Object, nsInfo, error) {
	obj, err := toValue(r.Object)
	if err != nil {
		return nil, nsInfo{}, fmt.Errorf("policy input: %w", err)
	}
	// The old object and the Namespace are converted only when a policy reads them.
	old := ast.Value(ast.Null{})
	if r.OldObject != nil && s.readsOldObject {
		if old, err = toValue(r.OldObject); err != nil {
			return nil, nsInfo{}, fmt.Errorf("policy input: %w", err)
		}
	}
	var ns nsInfo
	nsObj := ast.Value(ast.Null{})
	if name := r.Object.GetNamespace(); name != "" && env.Inventory != nil && (s.readsNamespace || s.selectsNamespaces) {
		n, err := env.Inventory.Namespace(name)
		if err != nil {
			return nil, nsInfo{}, fmt.Errorf("get Namespace %s: %w", name, err)
		}
		if n != nil {
			ns = nsInfo{found: true, labels: n.Labels}
			if s.readsNamespace {
				n = n.DeepCopy()
				n.SetGroupVersionKind(corev1Namespace)
				if nsObj, err = toValue(n); err != nil {
					return nil, nsInfo{}, err
				}
			}
		}
	}
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	userInfo, err := toValue(&r.UserInfo)
	if err != nil {
		return nil, nsInfo{}, err
	}
	review := ast.NewObject(
		ast.Item(ast.StringTerm("uid"), ast.StringTerm("")),
		ast.Item(ast.StringTerm("kind"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("group"), ast.StringTerm(gvk.Group)),
			ast.Item(ast.StringTerm("version"), ast.StringTerm(gvk.Version)),
			ast.Item(ast.StringTerm("kind"), ast.StringTerm(gvk.Kind)))),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(r.Object.GetName())),
		ast.Item(ast.StringTerm("namespace"), ast.StringTerm(r.Object.GetNamespace())),
		ast.Item(ast.StringTerm("operation"), ast.StringTerm(string(r.Operation))),
		ast.Item(ast.StringTerm("userInfo"), ast.NewTerm(userInfo)),
		ast.Item(ast.StringTerm("object"), ast.NewTerm(obj)),
		ast.Item(ast.StringTerm("oldObject"), ast.NewTerm(old)),
		ast.Item(ast.StringTerm("dryRun"), ast.BooleanTerm(r.DryRun)),
		ast.Item(ast.StringTerm("namespaceObject"), ast.NewTerm(nsObj)),
	)
	in := ast.NewObject()
	if o, ok := obj.(ast.Object); ok {
		o.Foreach(func(k, v *ast.Term) { in.Insert(k, v) })
	}
	in.Insert(ast.StringTerm("review"), ast.NewTerm(review))
	in.Insert(ast.StringTerm("parameters"), ast.ObjectTerm())
	return in, ns, nil
}

// withParameters returns the input with input.parameters set: a new top level sharing
// every other term, which evaluation never changes.
func withParameters(in ast.Object, params *ast.Term) ast.Object {
	out := ast.NewObject()
	in.Foreach(func(k, v *ast.Term) {
		if k.Value.Compare(ast.String("parameters")) == 0 {
			v = params
		}
		out.Insert(k, v)
	})
	return out
}

// toValue converts an object to a Rego value as the API server would send it in JSON,
// without going through JSON text: by reflection over its json tags.
func toValue(obj any) (ast.Value, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return ast.InterfaceToValue(u.Object)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(m)
}

// updateData writes AKO's settings to data.sctpguard.context when they change, and, when a
// policy reads data.inventory, the inventory in Gatekeeper's layout when it changes.
func (s *Set) updateData(ctx context.Context, env policy.Env) error {
	ctxJSON, err := json.Marshal(env.Context)
	if err != nil {
		return err
	}
	lister, listable := env.Inventory.(policy.Lister)
	s.data.mu.Lock()
	defer s.data.mu.Unlock()
	if string(ctxJSON) != s.data.context {
		var v any
		if err := json.Unmarshal(ctxJSON, &v); err != nil {
			return err
		}
		if err := storage.WriteOne(ctx, s.store, storage.ReplaceOp, storage.MustParsePath("/sctpguard/context"), v); err != nil {
			return fmt.Errorf("write data.sctpguard.context: %w", err)
		}
		s.data.context = string(ctxJSON)
	}
	if !s.usesInventory || !listable {
		return nil
	}
	gen := lister.Generation()
	if s.data.listed && (gen == s.data.generation || time.Since(s.data.at) < inventoryRefresh) {
		return nil
	}
	objs, err := lister.Objects()
	if err != nil {
		return fmt.Errorf("list the inventory: %w", err)
	}
	inv, err := inventoryData(objs)
	if err != nil {
		return err
	}
	if err := storage.WriteOne(ctx, s.store, storage.ReplaceOp, storage.MustParsePath("/inventory"), inv); err != nil {
		return fmt.Errorf("write data.inventory: %w", err)
	}
	s.data.generation, s.data.listed, s.data.at = gen, true, time.Now()
	return nil
}

// inventoryData lays objects out as Gatekeeper does:
// cluster[groupVersion][kind][name] and namespace[ns][groupVersion][kind][name].
func inventoryData(objs []policy.Object) (map[string]any, error) {
	cluster, namespaced := map[string]any{}, map[string]any{}
	put := func(root map[string]any, keys []string, v any) {
		m := root
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	for _, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		gvk := o.GetObjectKind().GroupVersionKind()
		gv := gvk.GroupVersion().String()
		if ns := o.GetNamespace(); ns != "" {
			put(namespaced, []string{ns, gv, gvk.Kind, o.GetName()}, v)
		} else {
			put(cluster, []string{gv, gvk.Kind, o.GetName()}, v)
		}
	}
	return map[string]any{"cluster": cluster, "namespace": namespaced}, nil
}
