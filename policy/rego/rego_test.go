package rego_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
	"github.com/sctpguard/sctpguard/policy/rego"
)

func src(name, data string) rego.Source { return rego.Source{Name: name, Data: []byte(data)} }

const template = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sdenyall
spec:
  crd:
    spec:
      names:
        kind: K8sDenyAll
      validation:
        openAPIV3Schema:
          type: object
          properties:
            reason: {type: string}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sdenyall

        violation[{"msg": msg}] {
          msg := sprintf("%v/%v: %v", [input.review.kind.kind, input.review.object.metadata.name, input.parameters.reason])
        }
`

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sources []rego.Source
		want    string
	}{
		{"a Rego syntax error names file and line",
			[]rego.Source{src("p/bad.rego", "package bad\n\ndeny contains msg if {\n  msg := \n}\n")},
			"p/bad.rego:5: unexpected } token"},
		{"a boolean deny rule, the conftest trap",
			[]rego.Source{src("p/bool.rego", "package bool\n\ndeny if {\n  input.kind == \"Service\"\n}\n")},
			"p/bool.rego:3: rule deny must be a set of messages: write `deny contains msg if { ... }`"},
		{"http.send is not available",
			[]rego.Source{src("p/net.rego", "package net\n\ndeny contains msg if {\n  resp := http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n  msg := resp.body\n}\n")},
			"p/net.rego:4: undefined function http.send"},
		{"net.* is not available",
			[]rego.Source{src("p/cidr.rego", "package cidr\n\ndeny contains \"x\" if {\n  net.cidr_contains(\"10.0.0.0/8\", input.ip)\n}\n")},
			"p/cidr.rego:4: undefined function net.cidr_contains"},
		{"opa.runtime (the environment) is not available",
			[]rego.Source{src("p/env.rego", "package env\n\ndeny contains msg if {\n  msg := opa.runtime().env.HOME\n}\n")},
			"p/env.rego:4: undefined function opa.runtime"},
		{"a template's name must be its kind in lower case",
			[]rego.Source{src("t.yaml", strings.Replace(template, "name: k8sdenyall", "name: denyall", 1))},
			`t.yaml:1: ConstraintTemplate denyall: the ConstraintTemplate's name "denyall" is not equal to the lowercase of CRD's Kind: "k8sdenyall"`},
		{"a template without violation",
			[]rego.Source{src("t.yaml", strings.Replace(template, "violation[", "deny[", 1))},
			"t.yaml:1: ConstraintTemplate k8sdenyall: spec.targets[0].rego: missing required rules: [violation]"},
		{"a template's Rego error names the line of the YAML file",
			[]rego.Source{src("t.yaml", strings.Replace(template, "msg := sprintf", "msg := = sprintf", 1))},
			"t.yaml:1: ConstraintTemplate k8sdenyall: t.yaml:21: unexpected eq token"},
		{"a template may not read other data",
			[]rego.Source{src("t.yaml", strings.Replace(template, "input.parameters.reason", "data.secrets.token", 1))},
			"t.yaml:1: ConstraintTemplate k8sdenyall: check refs failed on module: templates may reference only data.lib, data.inventory and data.sctpguard.context, not data.secrets.token (line 21)"},
		{"a constraint of a kind no template defines",
			[]rego.Source{src("c.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sNope\nmetadata: {name: nope}\n")},
			"c.yaml:1: K8sNope nope: no ConstraintTemplate defines kind K8sNope"},
		{"constraint parameters are checked against the template's schema",
			[]rego.Source{src("t.yaml", template), src("c.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata: {name: all}\nspec:\n  parameters: {reason: [1]}\n")},
			`c.yaml:1: K8sDenyAll all: constraint all does not match the schema of its template k8sdenyall: spec.parameters.reason: Invalid value: "array": reason in body must be of type string: "array"`},
		{"an unknown enforcement action",
			[]rego.Source{src("t.yaml", template), src("c.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata: {name: all}\nspec:\n  enforcementAction: block\n")},
			`c.yaml:1: K8sDenyAll all: spec.enforcementAction: "block" is not deny, warn, dryrun or scoped`},
		{"CEL-only templates are refused, not ignored",
			[]rego.Source{src("t.yaml", strings.Replace(template, "      rego: |\n        package k8sdenyall\n\n        violation[{\"msg\": msg}] {\n          msg := sprintf(\"%v/%v: %v\", [input.review.kind.kind, input.review.object.metadata.name, input.parameters.reason])\n        }\n",
				"      code:\n        - engine: K8sNativeValidation\n          source: {validations: [{expression: 'true'}]}\n", 1))},
			"t.yaml:1: ConstraintTemplate k8sdenyall: spec.targets[0]: no Rego (engines: K8sNativeValidation); sctpguard runs Rego templates, not CEL"},
		{"every problem at once",
			[]rego.Source{src("a.rego", "package a\n\ndeny if true\n"), src("b.rego", "package b\n\nwarn if true\n")},
			"a.rego:3: rule deny must be a set of messages: write `deny contains msg if { ... }`\nb.rego:3: rule warn must be a set of messages: write `warn contains msg if { ... }`"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rego.Load(t.Context(), tt.sources, rego.Options{})
			if err == nil {
				t.Fatal("loaded")
			}
			if diff := cmp.Diff("policies do not load:\n"+tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// judge loads a policy set and compares its findings on one object with want.
func judge(t *testing.T, sources []rego.Source, opts rego.Options, obj string, env policy.Env, want []policy.Finding) {
	t.Helper()
	set, err := rego.Load(t.Context(), sources, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := set.Evaluate(t.Context(), review(t, obj), env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// review decodes a manifest as check does.
func review(t *testing.T, manifestYAML string) *policy.Review {
	t.Helper()
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("obj.yaml", []byte(manifestYAML))
	if len(errs) > 0 || len(docs) != 1 || docs[0].Typed == nil {
		t.Fatalf("decode: %v", errs)
	}
	return &policy.Review{Operation: policy.OperationCreate, Object: docs[0].Typed}
}

func inventory(t *testing.T, manifests string) *policy.MemoryInventory {
	t.Helper()
	inv := policy.NewMemoryInventory()
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("inv.yaml", []byte(manifests))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, d := range docs {
		inv.Add(d.Typed)
	}
	return inv
}

const amf = `apiVersion: v1
kind: Service
metadata:
  name: amf
  namespace: ran
  labels: {tier: core}
spec:
  ports:
  - {name: ngap, port: 38412, protocol: SCTP}
  - {name: diameter, port: 3868, protocol: TCP}
`

func TestEvaluate(t *testing.T) {
	constraint := func(spec string) rego.Source {
		return src("c.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata: {name: all}\nspec:\n"+spec)
	}
	namespaces := "apiVersion: v1\nkind: Namespace\nmetadata: {name: ran, labels: {telco: \"true\"}}\n"
	deny := func(rule, path, msg string) policy.Finding {
		return policy.Finding{Rule: rule, Action: policy.ActionDeny, Path: path, Message: msg}
	}
	for _, tt := range []struct {
		name    string
		sources []rego.Source
		env     policy.Env
		want    []policy.Finding
	}{
		{
			name: "conftest module: input is the object, messages as strings or objects with a path",
			sources: []rego.Source{src("d.rego", `package sctpguard.diameter

deny contains {"msg": "Diameter must run over SCTP", "path": sprintf("spec.ports[%d].protocol", [i])} if {
	some i, p in input.spec.ports
	p.port == 3868
	p.protocol != "SCTP"
}

warn_tier contains sprintf("tier %s", [input.metadata.labels.tier])
`)},
			want: []policy.Finding{
				deny("sctpguard.diameter/deny", "spec.ports[1].protocol", "Diameter must run over SCTP"),
				{Rule: "sctpguard.diameter/warn_tier", Action: policy.ActionWarn, Message: "tier core"},
			},
		},
		{
			name: "conftest exceptions exempt deny_<name> rules",
			sources: []rego.Source{src("e.rego", `package e

deny_sctp contains "no SCTP" if input.spec.ports[_].protocol == "SCTP"

deny contains "never" if input.kind == "Service"

exception contains rules if {
	input.metadata.labels.tier == "core"
	rules := ["sctp"]
}
`)},
			want: []policy.Finding{
				deny("e/deny", "", "never"),
				{Rule: "e/deny_sctp", Action: policy.ActionException, Message: `excepted by data.e.exception ("sctp")`},
			},
		},
		{
			name:    "a constraint with parameters, from input.review",
			sources: []rego.Source{src("t.yaml", template), constraint("  parameters: {reason: nothing passes}\n")},
			want:    []policy.Finding{deny("all", "", "Service/amf: nothing passes")},
		},
		{
			name:    "match by kind, namespace glob and label",
			sources: []rego.Source{src("t.yaml", template), constraint("  match:\n    kinds: [{apiGroups: [\"\"], kinds: [Service]}]\n    namespaces: [\"ra*\"]\n    labelSelector: {matchLabels: {tier: core}}\n  parameters: {reason: x}\n")},
			want:    []policy.Finding{deny("all", "", "Service/amf: x")},
		},
		{
			name:    "no match: excluded namespace",
			sources: []rego.Source{src("t.yaml", template), constraint("  match:\n    excludedNamespaces: [\"ran\"]\n")},
		},
		{
			name:    "no match: another kind",
			sources: []rego.Source{src("t.yaml", template), constraint("  match:\n    kinds: [{apiGroups: [apps], kinds: [Deployment]}]\n")},
		},
		{
			name:    "no match: the namespace selector with the namespace unknown",
			sources: []rego.Source{src("t.yaml", template), constraint("  match:\n    namespaceSelector: {matchLabels: {telco: \"true\"}}\n")},
		},
		{
			name:    "match: the namespace selector on the namespace from the inventory",
			sources: []rego.Source{src("t.yaml", template), constraint("  match:\n    namespaceSelector: {matchLabels: {telco: \"true\"}}\n  parameters: {reason: x}\n")},
			env:     policy.Env{Inventory: inventory(t, namespaces)},
			want:    []policy.Finding{deny("all", "", "Service/amf: x")},
		},
		{
			name:    "enforcementAction warn and dryrun",
			sources: []rego.Source{src("t.yaml", template), constraint("  enforcementAction: warn\n  parameters: {reason: x}\n"), src("c2.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDenyAll\nmetadata: {name: quiet}\nspec:\n  enforcementAction: dryrun\n  parameters: {reason: z}\n")},
			want: []policy.Finding{
				{Rule: "all", Action: policy.ActionWarn, Message: "Service/amf: x"},
				{Rule: "quiet", Action: policy.ActionDryRun, Message: "Service/amf: z"},
			},
		},
		{
			name: "AKO's settings are data.sctpguard.context, related objects data.inventory",
			sources: []rego.Source{src("ctx.rego", `package ctx

deny contains msg if {
	data.sctpguard.context.ako.serviceType == "NodePortLocal"
	some name, svc in data.inventory.namespace[input.metadata.namespace].v1.Service
	name != input.metadata.name
	msg := sprintf("another Service, %s, is in %s mode", [name, data.sctpguard.context.ako.serviceType])
}
`)},
			env: policy.Env{
				Context:   policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal}},
				Inventory: inventory(t, "apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ran}\nspec: {ports: [{port: 1}]}\n"),
			},
			want: []policy.Finding{deny("ctx/deny", "", "another Service, other, is in NodePortLocal mode")},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set, err := rego.Load(t.Context(), tt.sources, rego.Options{})
			if err != nil {
				t.Fatal(err)
			}
			env := tt.env
			if env.Inventory == nil {
				env.Inventory = policy.NewMemoryInventory()
			}
			got, err := set.Evaluate(t.Context(), review(t, amf), env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeadline: a policy that would run for minutes is stopped at its deadline, and the
// outcome is the configured one.
func TestDeadline(t *testing.T) {
	slow := src("slow.rego", `package slow

deny contains "never" if {
	count([x | some x in numbers.range(1, 100000000); x < 0]) > 0
}
`)
	for _, onError := range []policy.Action{policy.ActionWarn, policy.ActionDeny} {
		set, err := rego.Load(t.Context(), []rego.Source{slow}, rego.Options{Timeout: 50 * time.Millisecond, OnError: onError})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := set.Evaluate(t.Context(), review(t, amf), policy.Env{Inventory: policy.NewMemoryInventory()})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %s; the deadline is 50ms", took)
		}
		verdict := map[policy.Action]string{policy.ActionWarn: "admitted", policy.ActionDeny: "denied"}[onError]
		want := []policy.Finding{{Rule: "policy-error", Action: onError,
			Message: "policy modules did not finish within 50ms; the object is " + verdict + " (policy error setting)"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	}
}

// TestCallerDeadline: when the caller's time (the webhook's deadline) runs out before the
// policies' own, the evaluation stops there and is an error, whatever OnError says: the
// review could not be judged, which is no policy error to admit.
func TestCallerDeadline(t *testing.T) {
	slow := src("slow.rego", `package slow

deny contains "never" if {
	count([x | some x in numbers.range(1, 100000000); x < 0]) > 0
}
`)
	set, err := rego.Load(t.Context(), []rego.Source{slow}, rego.Options{Timeout: time.Minute, OnError: policy.ActionWarn})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := set.Evaluate(ctx, review(t, amf), policy.Env{Inventory: policy.NewMemoryInventory()})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s; the caller's deadline is 50ms", took)
	}
	want := "the user policies were still running when the time to answer ran out: context deadline exceeded"
	if err == nil || err.Error() != want || got != nil {
		t.Errorf("Evaluate = %v, %v; want no findings and the error %q", got, err, want)
	}
}

// TestKindGuards: a set whose rules all guard on input.kind skips other kinds, and a rule
// without a guard keeps every kind judged.
func TestKindGuards(t *testing.T) {
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ran}\ndata: {a: b}\n"
	guarded := src("g.rego", "package g\n\ndeny contains \"service\" if {\n\tinput.kind == \"Service\"\n}\n\ndeny contains \"any\" if {\n\tinput.review.kind.kind == \"Service\"\n\ttrue\n}\n")
	unguarded := src("u.rego", "package u\n\ndeny contains sprintf(\"%s seen\", [input.kind]) if true\n")
	for _, tt := range []struct {
		name    string
		sources []rego.Source
		obj     string
		want    []policy.Finding
	}{
		{"guarded rules judge their kind", []rego.Source{guarded}, amf, []policy.Finding{
			{Rule: "g/deny", Action: policy.ActionDeny, Message: "any"}, {Rule: "g/deny", Action: policy.ActionDeny, Message: "service"}}},
		{"guarded rules skip other kinds", []rego.Source{guarded}, configMap, nil},
		{"an unguarded rule judges every kind", []rego.Source{guarded, unguarded}, configMap, []policy.Finding{
			{Rule: "u/deny", Action: policy.ActionDeny, Message: "ConfigMap seen"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			judge(t, tt.sources, rego.Options{}, tt.obj, policy.Env{Inventory: policy.NewMemoryInventory()}, tt.want)
		})
	}
}

// TestReadPaths: the input holds what the policies read (the object is converted only as far
// as their references reach), whichever way a policy reaches a field: through a variable key,
// an index, `some ... in`, `every`, a value bound and read further, a builtin taking a part
// or the input whole, and Gatekeeper's input.review.object beside conftest's top level.
func TestReadPaths(t *testing.T) {
	for _, tt := range []struct {
		name, rego, want string
	}{
		{"a variable key", `deny contains sprintf("label %s=%s", [k, v]) if some k, v in input.metadata.labels`, "label tier=core"},
		{"an index", `deny contains sprintf("first port %d", [input.spec.ports[0].port]) if true`, "first port 38412"},
		{"some in, then a field", `deny contains p.name if { some p in input.spec.ports; p.protocol == "TCP" }`, "diameter"},
		{"every", `deny contains "all named" if every p in input.spec.ports { p.name != "" }`, "all named"},
		{"a bound part read further", `deny contains sprintf("%s:%d", [s.ports[1].name, s.ports[1].port]) if s := input.spec`, "diameter:3868"},
		{"a builtin on a part", `deny contains json.marshal(input.metadata.labels) if true`, `{"tier":"core"}`},
		{"a builtin on the whole input", `deny contains object.get(input, ["spec", "ports", 1, "name"], "none") if true`, "diameter"},
		{"walk", `deny contains sprintf("%v", [p]) if { walk(input.metadata, [p, v]); v == "core" }`, `["labels", "tier"]`},
		{"the review's object and the top", `deny contains sprintf("%s %s", [input.review.object.metadata.name, input.spec.ports[1].protocol]) if true`, "amf TCP"},
		{"the review's object by a variable key", `deny contains sprintf("%v", [input.review.object[k].labels]) if k := "metadata"`, `{"tier": "core"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			judge(t, []rego.Source{src("p.rego", "package p\n\n"+tt.rego+"\n")}, rego.Options{}, amf,
				policy.Env{Inventory: policy.NewMemoryInventory()},
				[]policy.Finding{{Rule: "p/deny", Action: policy.ActionDeny, Message: tt.want}})
		})
	}
}

// TestReadsUserInfo: input.review.userInfo is the requester, however a policy reaches it
// (it is converted only when some policy reads it), and {} for a policy that does not.
func TestReadsUserInfo(t *testing.T) {
	for _, tt := range []struct {
		name, rego, want string
	}{
		{"a field", `deny contains input.review.userInfo.username if true`, "alice"},
		{"by a variable key", `deny contains sprintf("%v", [input.review[k].groups]) if k := "userInfo"`, `["telco-admins"]`},
		{"the review whole", `deny contains json.marshal(r.userInfo) if r := input.review`, `{"groups":["telco-admins"],"username":"alice"}`},
		{"another part only", `deny contains input.review.operation if true`, "CREATE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set, err := rego.Load(t.Context(), []rego.Source{src("p.rego", "package p\n\n"+tt.rego+"\n")}, rego.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := review(t, amf)
			r.UserInfo = authenticationv1.UserInfo{Username: "alice", Groups: []string{"telco-admins"}}
			got, err := set.Evaluate(t.Context(), r, policy.Env{Inventory: policy.NewMemoryInventory()})
			if err != nil {
				t.Fatal(err)
			}
			want := []policy.Finding{{Rule: "p/deny", Action: policy.ActionDeny, Message: tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOperation: input.review.operation is the review's operation, whichever it is.
func TestOperation(t *testing.T) {
	set, err := rego.Load(t.Context(), []rego.Source{src("p.rego", "package p\n\ndeny contains input.review.operation if true\n")}, rego.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []policy.Operation{policy.OperationCreate, policy.OperationUpdate, policy.OperationDelete, policy.OperationConnect, "FUTURE"} {
		r := review(t, amf)
		r.Operation = op
		got, err := set.Evaluate(t.Context(), r, policy.Env{Inventory: policy.NewMemoryInventory()})
		if err != nil {
			t.Fatal(err)
		}
		want := []policy.Finding{{Rule: "p/deny", Action: policy.ActionDeny, Message: string(op)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: findings (-want +got):\n%s", op, diff)
		}
	}
}

// TestReviewName: input.review.name and namespace are the object's, whether or not a policy
// also reads its metadata (which the input then holds converted) or only part of it.
func TestReviewName(t *testing.T) {
	for _, tt := range []struct {
		name, rego string
	}{
		{"metadata not read", `deny contains sprintf("%s/%s", [input.review.namespace, input.review.name]) if true`},
		{"metadata read", `deny contains sprintf("%s/%s", [input.review.namespace, input.review.name]) if input.review.object.metadata.name == input.metadata.name`},
		{"other metadata read", `deny contains sprintf("%s/%s", [input.review.namespace, input.review.name]) if input.metadata.labels.tier`},
		{"all metadata read", `deny contains sprintf("%s/%s", [input.review.namespace, input.review.name]) if count(input.review.object.metadata) > 0`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			judge(t, []rego.Source{src("p.rego", "package p\n\n"+tt.rego+"\n")}, rego.Options{}, amf, policy.Env{Inventory: policy.NewMemoryInventory()},
				[]policy.Finding{{Rule: "p/deny", Action: policy.ActionDeny, Message: "ran/amf"}})
		})
	}
}
