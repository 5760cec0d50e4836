package check_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy/check"
)

// hss is an SCTP Service in the core namespace.
const hss = `apiVersion: v1
kind: Service
metadata: {name: hss, namespace: core}
spec:
  ports: [{name: diameter, port: 3868, protocol: SCTP}]
`

// TestUserPolicies runs check with conftest-style policies as conftest runs them: a package
// over several files, an exception in a file of its own, a whole-value rule, data
// documents, Rego v0, package selection; and AdmissionReview files judged as the requests
// they are (operation, old object).
func TestUserPolicies(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tree(t, dir, map[string]string{
		"policy/ports.rego": `package telco

import rego.v1

name := input.metadata.name

deny contains sprintf("%s: port %d is reserved for %s", [name, p.port, data.reserved[format_int(p.port, 10)]]) if {
	some p in input.spec.ports
	data.reserved[format_int(p.port, 10)]
}
`,
		"policy/labels.rego": `package telco

import rego.v1

name := input.metadata.name

warn_owner contains sprintf("%s: no owner", [name]) if {
	input.kind == "Service"
	not input.metadata.labels.owner
}

violation := [{"msg": sprintf("%s: SCTP changed to %s", [name, p.protocol])}] if {
	input.review.operation == "UPDATE"
	some i, p in input.review.object.spec.ports
	old := input.review.oldObject.spec.ports[i]
	old.protocol == "SCTP"
	p.protocol != "SCTP"
}
`,
		"policy/exceptions.rego": `package telco

import rego.v1

exception contains ["owner"] if input.metadata.namespace == "lab"
`,
		"policy/legacy.rego": `package legacy

deny[msg] {
	input.kind == "Service"
	input.spec.type == "NodePort"
	msg := "no NodePort"
}
`,
		"data/reserved.yaml": "reserved:\n  \"3868\": Diameter\n",
		"deploy/services.yaml": hss + `---
apiVersion: v1
kind: Service
metadata: {name: test, namespace: lab}
spec:
  type: NodePort
  ports: [{port: 80}]
`,
		"deploy/update.yaml": `apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: u1
  operation: UPDATE
  namespace: core
  userInfo: {username: alice}
  object:
    apiVersion: v1
    kind: Service
    metadata: {name: amf, labels: {owner: ran}}
    spec:
      ports:
      - {port: 38412, protocol: TCP}
  oldObject:
    apiVersion: v1
    kind: Service
    metadata: {name: amf, labels: {owner: ran}}
    spec:
      ports:
      - {port: 38412, protocol: SCTP}
`,
	})
	base := func() *check.Options {
		o := check.NewOptions()
		o.Files = []string{"deploy"}
		o.PolicyDirs = []string{"policy"}
		o.Data = []string{"data"}
		o.RegoVersion = "v0"
		return o
	}
	t.Run("all packages", func(t *testing.T) {
		out, errOut, code := run(t, "", base())
		if code != check.ExitDenied || errOut != "" {
			t.Errorf("exit code %d, stderr %q", code, errOut)
		}
		want := "deploy/services.yaml:1: Service core/hss: [telco/deny] hss: port 3868 is reserved for Diameter\n" +
			"deploy/services.yaml:1: Service core/hss: [telco/warn_owner] warning: hss: no owner\n" +
			"deploy/services.yaml:7: Service lab/test: [legacy/deny] no NodePort\n" +
			"deploy/services.yaml:7: Service lab/test: [telco/warn_owner] exception: excepted by data.telco.exception (\"owner\")\n" +
			"deploy/update.yaml:8: Service core/amf: [telco/violation] amf: SCTP changed to TCP\n" +
			"checked 3 resources in 2 inputs: 3 denied (3 denials), 0 with warnings only (1 warning), 1 exception\n"
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	})
	t.Run("one package", func(t *testing.T) {
		o := base()
		o.RegoPackages = []string{"leg*"}
		out, _, code := run(t, "", o)
		want := "deploy/services.yaml:7: Service lab/test: [legacy/deny] no NodePort\n" +
			"checked 3 resources in 2 inputs: 1 denied (1 denial), 0 with warnings only (0 warnings)\n"
		if code != check.ExitDenied {
			t.Errorf("exit code %d", code)
		}
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	})
	t.Run("combined", func(t *testing.T) {
		// A module that needs every document at once: an SCTP Service needs a
		// NetworkPolicy in its namespace. Its input is one array of {path, contents}.
		tree(t, dir, map[string]string{
			"combine/policy/netpol.rego": `package combined

import rego.v1

docs contains d if {
	some f in input
	is_array(f.contents)
	some d in f.contents
}

docs contains f.contents if {
	some f in input
	is_object(f.contents)
}

deny contains sprintf("Service %s/%s has SCTP ports, and its namespace no NetworkPolicy", [d.metadata.namespace, d.metadata.name]) if {
	some d in docs
	d.kind == "Service"
	d.spec.ports[_].protocol == "SCTP"
	not netpol(d.metadata.namespace)
}

netpol(ns) if {
	some d in docs
	d.kind == "NetworkPolicy"
	d.metadata.namespace == ns
}
`,
			"combine/deploy/core.yaml": hss + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: sctp, namespace: core}
spec:
  podSelector: {}
`,
			"combine/deploy/ran.yaml": `apiVersion: v1
kind: Service
metadata: {name: amf, namespace: ran}
spec:
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`,
		})
		o := check.NewOptions()
		o.Files = []string{"combine/deploy"}
		o.PolicyDirs = []string{"combine/policy"}
		o.Combine = true
		out, errOut, code := run(t, "", o)
		want := "Combined: [combined/deny] Service ran/amf has SCTP ports, and its namespace no NetworkPolicy\n" +
			"checked 3 resources in 2 inputs: 0 denied (1 denial), 0 with warnings only (0 warnings)\n"
		if code != check.ExitDenied || errOut != "" {
			t.Errorf("exit code %d, stderr %q", code, errOut)
		}
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	})
	for _, tt := range []struct {
		name string
		set  func(*check.Options)
		want string
	}{
		{"v0 modules read as v1", func(o *check.Options) { o.RegoVersion = "v1" },
			"error: policies do not load:\n" + filepath.Join("policy", "legacy.rego") + ":3: `if` keyword is required before rule body\n" +
				filepath.Join("policy", "legacy.rego") + ":3: `contains` keyword is required for partial set rules\n" +
				filepath.Join("policy", "legacy.rego") + ": this looks like Rego v0; read v0 modules with --rego-version v0, or add `import rego.v1` and move them to v1\n"},
		{"an unknown Rego version", func(o *check.Options) { o.RegoVersion = "v2" },
			"error: rego-version: Unsupported value: \"v2\": supported values: \"v1\", \"v0\"\n"},
		{"data without policies", func(o *check.Options) { o.PolicyDirs = nil },
			"error: data: Forbidden: data documents are for user policies; give --policy too\n"},
		{"missing data", func(o *check.Options) { o.Data = []string{"nope"} },
			"error: read data: stat nope: no such file or directory\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.set(o)
			_, errOut, code := run(t, "", o)
			if code != check.ExitError {
				t.Errorf("exit code %d", code)
			}
			if diff := cmp.Diff(tt.want, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
