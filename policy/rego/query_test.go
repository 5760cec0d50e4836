package rego

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
)

// TestPreparedQueryAsRegos evaluates every query a set prepares, and queries of its own,
// with preparedQuery and with OPA's rego.PreparedEvalQuery on the same input, data and
// resolvers, and wants the same bindings and the same errors: conftest rules (sets, whole
// values, exceptions), constraints with parameters, data.sctpguard.context and
// data.inventory, a data document, a builtin's error, `with`, and a query with no result.
func TestPreparedQueryAsRegos(t *testing.T) {
	sources := []Source{
		{Name: "m.rego", Data: []byte(`package m

deny contains sprintf("port %d", [p.port]) if {
	input.kind == "Service"
	some p in input.spec.ports
	p.protocol == "SCTP"
}

deny_tier contains "tier" if input.metadata.labels.tier == "core"

warn contains msg if {
	data.sctpguard.context.ako.serviceType == "NodePortLocal"
	some name, _ in data.inventory.namespace[input.metadata.namespace].v1.Service
	msg := sprintf("%s beside %s", [name, data.limits.owner])
}

violation := [{"msg": "whole"}] if input.metadata.name == "amf"

exception contains ["tier"] if input.metadata.labels.tier == "core"

number := to_number(input.metadata.name)

swapped contains "pod" if input.kind == "Pod" with input.kind as "Pod"
`)},
		{Name: "limits.json", Data: []byte(`{"limits": {"owner": "ran-team"}}`), Document: true},
		{Name: "t.yaml", Data: []byte(`apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sallowedports}
spec:
  crd:
    spec:
      names: {kind: K8sAllowedPorts}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sallowedports

        violation[{"msg": msg, "details": {"path": "spec.ports"}}] {
          port := input.review.object.spec.ports[_]
          not allowed(port.port)
          msg := sprintf("port %v is not among %v", [port.port, input.parameters.ports])
        }

        allowed(p) { input.parameters.ports[_] == p }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sAllowedPorts
metadata: {name: ngap}
spec: {parameters: {ports: [38412]}}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sAllowedPorts
metadata: {name: diameter}
spec:
  enforcementAction: warn
  match: {kinds: [{apiGroups: [""], kinds: [Service]}]}
  parameters: {ports: [3868]}
`)},
	}
	s, err := Load(t.Context(), sources, Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "amf", Namespace: "ran", Labels: map[string]string{"tier": "core"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 38412, Protocol: corev1.ProtocolSCTP}}},
	}
	inv := NewInventory()
	other := svc.DeepCopy()
	other.Name = "other"
	if err := inv.Put(other, other.GroupVersionKind()); err != nil {
		t.Fatal(err)
	}
	env := policy.Env{Context: policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal}}, Inventory: fedInventory{policy.NewMemoryInventory(), inv}}
	in, err := s.input(&policy.Review{Operation: policy.OperationCreate, Object: svc}, nsInfo{})
	if err != nil {
		t.Fatal(err)
	}

	var queries []*preparedQuery
	for _, mq := range append([]*moduleQuery{s.anyKind, s.combinedRules}, slices.Collect(maps.Values(s.moduleQueries))...) {
		if mq != nil {
			queries = append(queries, mq.query)
		}
	}
	s.combined.Range(func(_, v any) bool {
		queries = append(queries, v.(*combinedQuery).query)
		return true
	})
	for _, c := range s.constraints {
		queries = append(queries, c.query)
	}
	for _, text := range []string{
		"n := data.m.number",
		"x := data.m.swapped",
		"x := data.m.deny; y := data.m.deny_tier",
		"data.m.deny[x]; startswith(x, \"none\")",
		"w := data.m.warn; c := data.sctpguard.context.ako; p := data.sctpguard.parameters",
	} {
		q, err := s.prepareQuery(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		queries = append(queries, q)
	}
	checked := 0
	for _, q := range queries {
		checked++
		ev, release, err := s.evaluation(t.Context(), env)
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr := q.eval(ev, in)
		cv, err := s.contextValue(env.Context)
		if err != nil {
			t.Fatal(err)
		}
		root, done := inv.read()
		opts := []rego.EvalOption{
			rego.EvalParsedInput(in), rego.EvalTransaction(ev.txn), rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
			rego.EvalResolver(contextRef, valueResolver{cv.v}), rego.EvalResolver(inventoryRef, valueResolver{root}),
		}
		if s.parameters != nil {
			opts = append(opts, rego.EvalResolver(parametersRef, valueResolver{s.parameters}))
		}
		pq, err := rego.New(rego.Query(q.text), rego.Compiler(s.compiler), rego.Store(s.store), rego.StrictBuiltinErrors(true)).PrepareForEval(context.Background())
		if err != nil {
			t.Fatalf("%s: rego: %v", q.text, err)
		}
		rs, wantErr := pq.Eval(context.Background(), opts...)
		done()
		release()
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v; rego's: %v", q.text, gotErr, wantErr)
			continue
		}
		if len(rs) == 0 {
			if got.qr != nil {
				t.Errorf("%s: result %v; rego's: none", q.text, got.qr)
			}
			continue
		}
		if len(rs[0].Bindings) == 0 {
			t.Errorf("%s: rego binds nothing: the query checks nothing", q.text)
		}
		for name, want := range rs[0].Bindings {
			if v := got.binding(name); v == nil || v.Compare(want.(*ast.Term).Value) != 0 {
				t.Errorf("%s: %s = %v; rego's: %v", q.text, name, v, want)
			}
		}
	}
	if checked < 10 {
		t.Errorf("%d queries checked; the set should prepare more", checked)
	}
}

// fedInventory is an inventory whose data.inventory is inv.
type fedInventory struct {
	*policy.MemoryInventory
	inv *Inventory
}

func (f fedInventory) RegoInventory() (*Inventory, error) { return f.inv, nil }
