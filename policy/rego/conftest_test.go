package rego_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
	"github.com/sctpguard/sctpguard/policy/rego"
	"github.com/sctpguard/sctpguard/test/userpolicies"
)

const smf = `apiVersion: v1
kind: Service
metadata:
  name: smf
  namespace: core
spec:
  ports:
  - {name: pfcp, port: 8805, protocol: SCTP}
`

// TestConftestConventions: plain Rego modules are judged as conftest judges them: a
// package is one namespace whatever the files, exceptions of the package exempt its rules
// wherever they are written, rules may be sets or whole values.
func TestConftestConventions(t *testing.T) {
	deny := func(rule, msg string) policy.Finding {
		return policy.Finding{Rule: rule, Action: policy.ActionDeny, Message: msg}
	}
	warn := func(rule, msg string) policy.Finding {
		return policy.Finding{Rule: rule, Action: policy.ActionWarn, Message: msg}
	}
	excepted := func(rule, pkg, name string) policy.Finding {
		return policy.Finding{Rule: rule, Action: policy.ActionException, Message: `excepted by data.` + pkg + `.exception ("` + name + `")`}
	}
	// Three files of one package, each with rules and a helper of the same name.
	spread := []rego.Source{
		src("telco/ports.rego", `package telco

name := input.metadata.name

deny contains sprintf("%s: SCTP port %d", [name, p.port]) if {
	some p in input.spec.ports
	p.protocol == "SCTP"
}
`),
		src("telco/labels.rego", `package telco

name := input.metadata.name

deny contains sprintf("%s: no tier label", [name]) if not input.metadata.labels.tier

warn contains sprintf("%s: %d ports", [name, count(input.spec.ports)]) if input.kind == "Service"
`),
		src("telco/lib.rego", `package telco

name := input.metadata.name
`),
	}
	exception := src("telco/exceptions.rego", `package telco

exception contains rules if {
	input.metadata.name == "amf"
	rules := ["", "sctp"]
}
`)
	sctpRules := src("telco/sctp.rego", `package telco

deny_sctp contains "SCTP is reviewed by the core team" if input.spec.ports[_].protocol == "SCTP"

warn_sctp contains "SCTP" if input.spec.ports[_].protocol == "SCTP"
`)
	for _, tt := range []struct {
		name    string
		sources []rego.Source
		obj     string
		want    []policy.Finding
	}{
		{
			name:    "a package over several files gives each finding once",
			sources: spread,
			obj:     smf,
			want:    []policy.Finding{deny("telco/deny", "smf: SCTP port 8805"), deny("telco/deny", "smf: no tier label"), warn("telco/warn", "smf: 1 ports")},
		},
		{
			name:    "an exception in a file of its own exempts the package's rules, once per rule it names",
			sources: append([]rego.Source{exception, sctpRules}, spread...),
			obj:     amf,
			want: []policy.Finding{
				excepted("telco/deny", "telco", ""),
				excepted("telco/deny_sctp", "telco", "sctp"),
				excepted("telco/warn", "telco", ""), // "" names the bare warn too
				excepted("telco/warn_sctp", "telco", "sctp"),
			},
		},
		{
			name:    "an exception for another object exempts nothing",
			sources: []rego.Source{exception, sctpRules},
			obj:     smf,
			want:    []policy.Finding{deny("telco/deny_sctp", "SCTP is reviewed by the core team"), warn("telco/warn_sctp", "SCTP")},
		},
		{
			name: "whole-value rules: an array or a set of messages",
			sources: []rego.Source{src("w.rego", `package w

violation := [{"msg": sprintf("%s is not allowed", [input.metadata.name]), "details": {}}] if input.kind == "Service"

deny_set := {"one", "two"} if input.metadata.namespace == "core"

deny_undefined := ["never"] if input.kind == "Pod"
`)},
			obj:  smf,
			want: []policy.Finding{deny("w/deny_set", "one"), deny("w/deny_set", "two"), deny("w/violation", "smf is not allowed")},
		},
		{
			name: "the object's own fields are the input, parameters too (a StorageClass's)",
			sources: []rego.Source{src("sc.rego", `package sc

deny contains sprintf("volume type %s", [input.parameters.type]) if input.kind == "StorageClass"
`)},
			obj:  "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nprovisioner: ebs.csi.aws.com\nparameters: {type: gp3}\n",
			want: []policy.Finding{deny("sc/deny", "volume type gp3")},
		},
		{
			name: "a whole value that is no collection of messages is a policy error, not a pass",
			sources: []rego.Source{src("s.rego", `package s

deny := "a string" if true

warn contains "a message before the one without msg" if true

warn contains {"message": "no msg"} if true
`)},
			obj: smf,
			want: []policy.Finding{
				{Rule: "s/deny", Action: policy.ActionWarn, Message: "rule s/deny failed: its value is string, not a set or array of messages; the object is admitted (policy error setting)"},
				{Rule: "s/warn", Action: policy.ActionWarn, Message: `rule s/warn failed: message {"message": "no msg"} has no string msg; the object is admitted (policy error setting)`},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			judge(t, tt.sources, rego.Options{}, tt.obj, policy.Env{Inventory: policy.NewMemoryInventory()}, tt.want)
		})
	}
}

// TestPackages: conftest's --namespace selects packages by glob; a pattern that selects
// nothing is an error rather than a silent pass.
func TestPackages(t *testing.T) {
	sources := []rego.Source{
		src("a.rego", "package telco.ran\n\ndeny contains \"ran\" if true\n"),
		src("b.rego", "package telco.core\n\ndeny contains \"core\" if true\n"),
		src("c.rego", "package web\n\ndeny contains \"web\" if true\n"),
		src("d.rego", "package lib.helpers\n\nyes := true\n"),
	}
	for _, tt := range []struct {
		patterns []string
		want     []string
		err      string
	}{
		{patterns: nil, want: []string{"telco.core/deny", "telco.ran/deny", "web/deny"}},
		{patterns: []string{"telco.*"}, want: []string{"telco.core/deny", "telco.ran/deny"}},
		{patterns: []string{"web", "telco.ra?"}, want: []string{"telco.ran/deny", "web/deny"}},
		{patterns: []string{"main"}, err: `package pattern "main" matches no package with deny, violation or warn rules (packages: telco.core, telco.ran, web)`},
		{patterns: []string{"lib.*"}, err: `package pattern "lib.*" matches no package with deny, violation or warn rules (packages: telco.core, telco.ran, web)`},
	} {
		t.Run(strings.Join(tt.patterns, ","), func(t *testing.T) {
			set, err := rego.Load(t.Context(), sources, rego.Options{Packages: tt.patterns})
			if tt.err != "" {
				if err == nil || err.Error() != "policies do not load:\n"+tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.Evaluate(t.Context(), review(t, smf), policy.Env{})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, f := range got {
				rules = append(rules, f.Rule)
			}
			if diff := cmp.Diff(tt.want, rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegoVersion: modules written for Rego v0 load with RegoVersion v0 (per set or per
// source); read as v1 they fail with a hint.
func TestRegoVersion(t *testing.T) {
	v0 := src("old.rego", "package old\n\ndeny[msg] {\n\tinput.kind == \"Service\"\n\tmsg := \"v0 rule\"\n}\n")
	v1 := src("new.rego", "package new\n\ndeny contains \"v1 rule\" if input.kind == \"Service\"\n")
	_, err := rego.Load(t.Context(), []rego.Source{v0}, rego.Options{})
	want := "policies do not load:\nold.rego:3: `if` keyword is required before rule body\nold.rego:3: `contains` keyword is required for partial set rules\n" +
		"old.rego: this looks like Rego v0; read v0 modules with --rego-version v0, or add `import rego.v1` and move them to v1"
	if err == nil || err.Error() != want {
		t.Errorf("v0 read as v1: error\n%v\nwant\n%s", err, want)
	}
	pinned := v1
	pinned.RegoVersion = rego.RegoV1
	for name, tt := range map[string]struct {
		sources []rego.Source
		opts    rego.Options
	}{
		"the set in v0":                       {[]rego.Source{v0, src("new.rego", "package new\n\nimport rego.v1\n\ndeny contains \"v1 rule\" if input.kind == \"Service\"\n")}, rego.Options{RegoVersion: rego.RegoV0}},
		"a source pinned to v1 in a v0 set":   {[]rego.Source{v0, pinned}, rego.Options{RegoVersion: rego.RegoV0}},
		"a source pinned to v0 in the v1 set": {[]rego.Source{{Name: "old.rego", Data: v0.Data, RegoVersion: rego.RegoV0}, v1}, rego.Options{}},
	} {
		t.Run(name, func(t *testing.T) {
			judge(t, tt.sources, tt.opts, smf, policy.Env{}, []policy.Finding{
				{Rule: "new/deny", Action: policy.ActionDeny, Message: "v1 rule"},
				{Rule: "old/deny", Action: policy.ActionDeny, Message: "v0 rule"},
			})
		})
	}
}

// TestDataDocuments: data documents (conftest's --data) are data for the modules, merged
// from every file, under their directories' names; conflicts and sctpguard's own roots are
// refused.
func TestDataDocuments(t *testing.T) {
	policyFile := src("p.rego", `package telco

deny contains sprintf("port %d is reserved for %s", [p.port, data.reserved.ports[p.port]]) if {
	some p in input.spec.ports
	data.reserved.ports[p.port]
}

deny contains sprintf("namespace %s is frozen", [input.metadata.namespace]) if {
	input.metadata.namespace in data.freeze.namespaces
}
`)
	doc := func(name, text string, under ...string) rego.Source {
		return rego.Source{Name: name, Data: []byte(text), Document: true, Under: under}
	}
	t.Run("merged and read", func(t *testing.T) {
		judge(t, []rego.Source{policyFile,
			doc("reserved.yaml", "reserved:\n  ports:\n    \"8805\": PFCP\n"),
			doc("more.json", `{"reserved": {"ports": {"3868": "Diameter"}}}`),
			doc("freeze/ns.yaml", "namespaces: [core]\n", "freeze"),
		}, rego.Options{}, smf, policy.Env{}, []policy.Finding{
			{Rule: "telco/deny", Action: policy.ActionDeny, Message: "namespace core is frozen"},
			{Rule: "telco/deny", Action: policy.ActionDeny, Message: "port 8805 is reserved for PFCP"},
		})
	})
	for _, tt := range []struct {
		name string
		docs []rego.Source
		want string
	}{
		{"two documents set one key", []rego.Source{doc("a.yaml", "reserved: {ports: {\"1\": a}}\n"), doc("b.yaml", "reserved: {ports: {\"1\": b}}\n")},
			"b.yaml: data document: data.reserved.ports.1 is already set by a.yaml"},
		{"not an object", []rego.Source{doc("list.yaml", "- 1\n- 2\n")}, "list.yaml: data document: want an object of keys, got an array"},
		{"several YAML documents", []rego.Source{doc("two.yaml", "a: 1\n---\nb: 2\n")}, "two.yaml: data document: holds 2 YAML documents; a data document is one"},
		{"sctpguard's own roots", []rego.Source{doc("inv.yaml", "inventory: {cluster: {}}\nsctpguard: {context: {}}\n")},
			"inv.yaml: data document: data.inventory is sctpguard's own; use another key\ninv.yaml: data document: data.sctpguard is sctpguard's own; use another key"},
		{"not YAML", []rego.Source{doc("bad.json", "{\"a\": ")}, "bad.json: data document: yaml: line 1: did not find expected node content"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rego.Load(t.Context(), append([]rego.Source{policyFile}, tt.docs...), rego.Options{})
			if err == nil || err.Error() != "policies do not load:\n"+tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// TestInventorySnapshots: one set judging against several inventories, and against one that
// changes, sees each exactly as it is at the review (gator suites share a set across
// cases; the webhook's inventory changes between reviews).
func TestInventorySnapshots(t *testing.T) {
	set, err := rego.Load(t.Context(), []rego.Source{src("t.yaml", userpolicies.UniqueSCTPPortTemplate), src("c.yaml", userpolicies.UniqueSCTPPortConstraint)}, rego.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := "apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ran}\nspec:\n  ports: [{port: 38412, protocol: SCTP}]\n"
	third := "apiVersion: v1\nkind: Service\nmetadata: {name: third, namespace: ran}\nspec:\n  ports: [{port: 38412, protocol: SCTP}]\n"
	withOther, empty := inventory(t, other), policy.NewMemoryInventory()
	growing := inventory(t, other)
	judge := func(inv policy.Inventory) []string {
		t.Helper()
		got, err := set.Evaluate(t.Context(), review(t, amf), policy.Env{Inventory: inv})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, f := range got {
			msgs = append(msgs, f.Message)
		}
		return msgs
	}
	steps := []struct {
		name string
		inv  policy.Inventory
		add  string
		want []string
	}{
		{"first inventory", withOther, "", []string{"SCTP port 38412 is taken by Service other"}},
		{"another inventory right after", empty, "", nil},
		{"the first again", withOther, "", []string{"SCTP port 38412 is taken by Service other"}},
		{"a third", growing, "", []string{"SCTP port 38412 is taken by Service other"}},
		{"the third after it changed", growing, third, []string{"SCTP port 38412 is taken by Service other", "SCTP port 38412 is taken by Service third"}},
	}
	for _, st := range steps {
		if st.add != "" {
			for _, d := range decode(t, st.add) {
				st.inv.(*policy.MemoryInventory).Add(d)
			}
		}
		if diff := cmp.Diff(st.want, judge(st.inv)); diff != "" {
			t.Errorf("%s: messages (-want +got):\n%s", st.name, diff)
		}
	}
}

func decode(t *testing.T, manifests string) []policy.Object {
	t.Helper()
	var out []policy.Object
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("objs.yaml", []byte(manifests))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, d := range docs {
		out = append(out, d.Typed)
	}
	return out
}

// TestConstraintsTogether: constraints judged in one query give each its own parameters'
// findings; a template that takes input whole still gets its parameters; a constraint that
// fails does not take the others' findings with it.
func TestConstraintsTogether(t *testing.T) {
	tmpl := func(kind, rego string) rego.Source {
		return src(strings.ToLower(kind)+".yaml", `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: `+strings.ToLower(kind)+`}
spec:
  crd:
    spec:
      names: {kind: `+kind+`}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        `+strings.ReplaceAll(strings.TrimSuffix(rego, "\n"), "\n", "\n        ")+"\n")
	}
	constraint := func(kind, name, params string) rego.Source {
		return src(name+".yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: "+kind+"\nmetadata: {name: "+name+"}\nspec:\n  parameters: "+params+"\n")
	}
	sources := []rego.Source{
		tmpl("K8sPortBan", `package k8sportban

violation[{"msg": msg}] {
  p := input.review.object.spec.ports[_]
  p.port == input.parameters.port
  msg := sprintf("port %v is banned (%v)", [p.port, input.parameters.why])
}
`),
		tmpl("K8sWhole", `package k8swhole

violation[{"msg": msg}] {
  banned(input)
  msg := sprintf("%v is banned", [input.parameters.name])
}

banned(in) {
  in.review.object.metadata.name == in.parameters.name
}
`),
		tmpl("K8sBroken", `package k8sbroken

violation[{"msg": msg}] {
  x := to_number(input.parameters.notANumber)
  msg := sprintf("%v", [x])
}
`),
		src("k8sownerv1.yaml", `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sownerv1}
spec:
  crd:
    spec:
      names: {kind: K8sOwnerV1}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: v1
            rego: |
              package k8sownerv1

              import data.lib.labels.missing

              violation contains {"msg": sprintf("needs %v", [l])} if {
                some l in input.parameters.labels
                some m in missing
                l == m
              }
            libs:
              - |
                package lib.labels

                missing contains l if {
                  some l in input.parameters.labels
                  not input.review.object.metadata.labels[l]
                }
`),
		constraint("K8sOwnerV1", "owner", "{labels: [owner, tier]}"),
		constraint("K8sPortBan", "ban-ngap", "{port: 38412, why: NGAP}"),
		constraint("K8sPortBan", "ban-diameter", "{port: 3868, why: Diameter}"),
		constraint("K8sPortBan", "ban-http", "{port: 80, why: HTTP}"),
		constraint("K8sWhole", "whole", "{name: amf}"),
	}
	deny := func(rule, msg string) policy.Finding {
		return policy.Finding{Rule: rule, Action: policy.ActionDeny, Message: msg}
	}
	want := []policy.Finding{
		deny("owner", "needs owner"), // amf has tier, not owner: `some x in` reads the parameters too
		deny("ban-ngap", "port 38412 is banned (NGAP)"),
		deny("ban-diameter", "port 3868 is banned (Diameter)"),
		deny("whole", "amf is banned"),
	}
	for _, tt := range []struct {
		name    string
		sources []rego.Source
		want    []policy.Finding
	}{
		{"together", sources, want},
		{"with a failing constraint", append(sources, constraint("K8sBroken", "broken", "{notANumber: x}")),
			append(want[:4:4], policy.Finding{Rule: "broken", Action: policy.ActionWarn,
				Message: `constraint broken failed: k8sbroken.yaml:14: eval_builtin_error: to_number: strconv.ParseFloat: parsing "x": invalid syntax; the object is admitted (policy error setting)`})},
		// Every constraint in the combined query, one of whose messages has no msg: its
		// findings are that failure alone, the message before it dropped.
		{"all combined, one message without msg", []rego.Source{sources[0], sources[3], sources[4], sources[5], sources[6], sources[7],
			tmpl("K8sNoMsg", "package k8snomsg\n\nviolation[\"a message\"] { true }\n\nviolation[{\"message\": \"x\"}] { true }\n"),
			constraint("K8sNoMsg", "nomsg", "{}")},
			append(append([]policy.Finding{want[0]}, want[1:3]...), policy.Finding{Rule: "nomsg", Action: policy.ActionWarn,
				Message: `constraint nomsg failed: message {"message": "x"} has no string msg; the object is admitted (policy error setting)`})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set, err := rego.Load(t.Context(), tt.sources, rego.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the combined query prepared, then reused
				got, err := set.Evaluate(t.Context(), review(t, amf), policy.Env{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
			}
		})
	}
	// The same constraints combined for two kinds, one of which also matches a constraint
	// evaluated on its own: each kind gets exactly its own.
	t.Run("the same combination for two kinds", func(t *testing.T) {
		whole := src("whole-service.yaml", "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sWhole\nmetadata: {name: whole}\n"+
			"spec:\n  match:\n    kinds: [{apiGroups: [\"\"], kinds: [Service]}]\n  parameters: {name: amf}\n")
		set, err := rego.Load(t.Context(), []rego.Source{sources[0], sources[1], sources[5], sources[6], whole}, rego.Options{})
		if err != nil {
			t.Fatal(err)
		}
		configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: amf, namespace: ran}\n"
		for _, obj := range []struct {
			manifest string
			want     []policy.Finding
		}{{configMap, nil}, {amf, want[1:]}, {configMap, nil}} {
			got, err := set.Evaluate(t.Context(), review(t, obj.manifest), policy.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(obj.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		}
	})
}

// fedInventory is an inventory whose data.inventory is kept from events, as the webhook's.
type fedInventory struct {
	*policy.MemoryInventory
	inv *rego.Inventory
}

func (f fedInventory) RegoInventory() (*rego.Inventory, error) { return f.inv, nil }

// TestInventoryWhileChanging: reviews evaluate while events change data.inventory; each
// review sees the inventory before or after a change, never half of one (run with -race).
func TestInventoryWhileChanging(t *testing.T) {
	set, err := rego.Load(t.Context(), []rego.Source{src("t.yaml", userpolicies.UniqueSCTPPortTemplate), src("c.yaml", userpolicies.UniqueSCTPPortConstraint)}, rego.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inv := rego.NewInventory()
	env := policy.Env{Inventory: fedInventory{policy.NewMemoryInventory(), inv}}
	other := decode(t, "apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ran}\nspec:\n  ports: [{port: 38412, protocol: SCTP}]\n")[0]
	r := review(t, amf)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 300 {
			if err := inv.Put(other, other.GetObjectKind().GroupVersionKind()); err != nil {
				t.Error(err)
				return
			}
			inv.Delete(other.GetObjectKind().GroupVersionKind(), "ran", "other")
		}
	}()
	for range 300 {
		got, err := set.Evaluate(t.Context(), r, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 1 || (len(got) == 1 && got[0].Message != "SCTP port 38412 is taken by Service other") {
			t.Fatalf("findings %v", got)
		}
	}
	<-done
	if got, _ := set.Evaluate(t.Context(), r, env); len(got) != 0 {
		t.Errorf("after the last delete: %v", got)
	}
}
