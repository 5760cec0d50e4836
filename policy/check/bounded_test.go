package check

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
)

// boundedSet is a manifest set whose findings cross files: a Gateway in one file and its
// backends in two others, a shared-VIP group split over files (one member redefined
// later without the annotation, which must drop it from the group), AdmissionReviews,
// a List, a MachineConfig, a broken document and a file refused whole.
var boundedSet = map[string]string{
	"set/a-gateway.yaml": `{"apiVersion": "networking.x-k8s.io/v1alpha1", "kind": "GatewayClass", "metadata": {"name": "avi-lb"}, "spec": {"controller": "ako.vmware.com/avi-lb"}}
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: Gateway
metadata: {name: core, namespace: telco}
spec:
  gatewayClassName: avi-lb
  listeners:
  - {port: 38412, protocol: SCTP, routes: {group: v1, kind: services, selector: {matchLabels: {ako.vmware.com/gateway-name: core, ako.vmware.com/gateway-namespace: telco}}}}
  - {port: 3868, protocol: SCTP, routes: {group: v1, kind: services, selector: {matchLabels: {ako.vmware.com/gateway-name: core, ako.vmware.com/gateway-namespace: telco}}}}
`,
	"set/b-backends.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: amf
    namespace: telco
    labels: {ako.vmware.com/gateway-name: core, ako.vmware.com/gateway-namespace: telco}
  spec:
    type: NodePort
    ports: [{name: ngap, port: 38412, protocol: SCTP}]
- apiVersion: v1
  kind: Service
  metadata:
    name: voice-a
    namespace: telco
    annotations: {ako.vmware.com/enable-shared-vip: voice}
  spec:
    type: LoadBalancer
    ports: [{name: sip, port: 5060, protocol: SCTP}]
---
apiVersion: v1
kind: Service
metadata:
  name: voice-gone
  namespace: telco
  annotations: {ako.vmware.com/enable-shared-vip: voice}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5062, protocol: SCTP}]
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: telco}
spec:
  ports:
  - port: "80"
`,
	"set/c-more.yaml": `apiVersion: v1
kind: Service
metadata:
  name: amf-2
  namespace: telco
  labels: {ako.vmware.com/gateway-name: core, ako.vmware.com/gateway-namespace: telco}
spec:
  type: NodePort
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
---
apiVersion: v1
kind: Service
metadata:
  name: voice-z
  namespace: telco
  annotations: {ako.vmware.com/enable-shared-vip: voice, ako.vmware.com/l4rule: fast}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: SCTP}, {name: sip-2, port: 5062, protocol: SCTP}]
---
apiVersion: v1
kind: Service
metadata: {name: voice-gone, namespace: telco}
spec:
  ports: [{name: sip, port: 5062, protocol: SCTP}]
---
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module
  labels: {machineconfiguration.openshift.io/role: worker}
spec: {}
---
apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: u1
  operation: UPDATE
  namespace: telco
  userInfo: {username: alice}
  object:
    apiVersion: v1
    kind: Service
    metadata:
      name: amf-3
      labels: {ako.vmware.com/gateway-name: core, ako.vmware.com/gateway-namespace: telco}
    spec:
      type: NodePort
      ports: [{port: 38412, protocol: SCTP}]
  oldObject:
    apiVersion: v1
    kind: Service
    metadata: {name: amf-3}
    spec:
      ports: [{port: 38412, protocol: TCP}]
---
apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request: {uid: u2, operation: CREATE, object: 7}
`,
	"set/d-binary.yaml": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
}

const boundedStdin = `apiVersion: v1
kind: Service
metadata:
  name: voice-c
  namespace: telco
  annotations: {ako.vmware.com/enable-shared-vip: voice}
spec:
  type: LoadBalancer
  loadBalancerClass: ako.vmware.com/avi-lb
  ports: [{name: sip, port: 5060, protocol: SCTP}]
`

func boundedOptions() *Options {
	o := NewOptions()
	o.Files = []string{"../../examples/broken", "set", "-"}
	o.AKOServicesAPI = "true"
	o.AKOServiceType = "NodePort"
	o.Platform = "openshift"
	return o
}

// TestBoundedAsHeld: a bounded check (a compact inventory; the objects that wait for it
// held, or judged in a second reading) gives the same result, field by field, and the same
// reports, byte for byte, as a check that holds every object; and its items hold no object.
func TestBoundedAsHeld(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs("../../examples/broken")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	writeTree(t, boundedSet)
	o := boundedOptions()
	o.Files[0] = abs
	held, err := check(t.Context(), o, strings.NewReader(boundedStdin), &checker{hold: true})
	if err != nil {
		t.Fatal(err)
	}
	// The set is worth comparing: it has findings of the cross-object rules.
	rules := map[string]bool{}
	for _, it := range held.Items {
		for _, f := range it.Findings {
			rules[f.Rule] = true
		}
	}
	for _, r := range []policy.RuleID{policy.RuleSharedVIPPortClash, policy.RuleSharedVIPInconsistent, policy.RuleBackendPortConflict,
		policy.RuleBackendNoListener, policy.RuleListenerNoBackend} {
		if !rules[string(r)] {
			t.Errorf("the held check has no %s finding: the set no longer tests the cross-object rules", r)
		}
	}
	for _, c := range []struct {
		name    string
		checker *checker
	}{
		{"read once", &checker{}},
		{"read twice", &checker{waitLimit: new(int64(0))}},
		// Room for two: the first input to need more is read twice, with every object
		// of it that waited, and the others hold theirs.
		{"room for two", &checker{waitLimit: new(int64(2))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := boundedOptions()
			o.Files[0] = abs
			bounded, err := check(t.Context(), o, strings.NewReader(boundedStdin), c.checker)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(summarize(held), summarize(bounded)); diff != "" {
				t.Errorf("bounded result differs from the held one (-held +bounded):\n%s", diff)
			}
			for _, it := range bounded.Items {
				if it.Object != nil || it.Review != nil || it.Doc.Typed != nil || it.Doc.Object != nil {
					t.Errorf("%s:%d: a bounded check holds the object after judging it", it.Doc.Source, it.Doc.Line)
				}
			}
			for _, format := range Outputs {
				o.Output = format
				var want, got bytes.Buffer
				if err := Report(&want, &want, o, held); err != nil {
					t.Fatal(err)
				}
				if err := Report(&got, &got, o, bounded); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.String(), got.String()); diff != "" {
					t.Errorf("%s report (-held +bounded):\n%s", format, diff)
				}
			}
		})
	}
}

// summarized is a result as the reports read it.
type summarized struct {
	Inputs  int
	Skipped []string
	Errors  []string
	Items   []summarizedItem
}

type summarizedItem struct {
	Source   string
	Line     int
	Name     policy.ObjectRef
	Findings []policy.Finding
	// Lines are the lines of the findings.
	Lines []int
}

func summarize(r *Result) summarized {
	s := summarized{Inputs: r.Inputs, Skipped: r.Skipped}
	for _, e := range r.Errors {
		s.Errors = append(s.Errors, e.Error())
	}
	for _, it := range r.Items {
		si := summarizedItem{Source: it.Doc.Source, Line: it.Doc.Line, Name: it.name(), Findings: it.Findings}
		for _, f := range it.Findings {
			si.Lines = append(si.Lines, it.Doc.LineOf(it.pathPrefix()+f.Path))
		}
		s.Items = append(s.Items, si)
	}
	return s
}

// TestBoundedFileChanged: a file that changes between the two readings is reported, and its
// objects are not judged against an inventory they are not in.
func TestBoundedFileChanged(t *testing.T) {
	t.Chdir(t.TempDir())
	writeTree(t, boundedSet)
	o := boundedOptions()
	o.Files = []string{"set/a-gateway.yaml", "set/c-more.yaml"}
	c := &checker{waitLimit: new(int64(0)), betweenPasses: func() {
		if err := os.WriteFile("set/c-more.yaml", []byte(boundedStdin), 0o600); err != nil {
			t.Fatal(err)
		}
	}}
	res, err := check(t.Context(), o, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, it := range res.Items {
		sources = append(sources, it.Doc.Source)
	}
	if diff := cmp.Diff([]string{"set/a-gateway.yaml", "set/a-gateway.yaml"}, sources); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	var errs []string
	for _, e := range res.Errors {
		errs = append(errs, e.Error())
	}
	// What the second pass read of it is void: the AdmissionReview it could not read is
	// not reported either.
	want := []string{
		"set/c-more.yaml: the file changed while it was being checked: its objects are not judged; check it again",
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if res.ExitCode() != ExitError {
		t.Errorf("exit code %d, want %d", res.ExitCode(), ExitError)
	}
}

func writeTree(t *testing.T, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzBoundedAsHeld: on any standard input, a bounded check and a held one give the same
// result.
func FuzzBoundedAsHeld(f *testing.F) {
	AddManifestSeeds(f)
	for _, content := range boundedSet {
		f.Add([]byte(content))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := boundedOptions()
		o.Files = []string{"-"}
		held, err := check(t.Context(), o, bytes.NewReader(data), &checker{hold: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*checker{{}, {waitLimit: new(int64(0))}, {waitLimit: new(int64(2))}} {
			bounded, err := check(t.Context(), o, bytes.NewReader(data), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(summarize(held), summarize(bounded)); diff != "" {
				t.Errorf("bounded result (room for %d) differs from the held one (-held +bounded):\n%s", c.heldLimit(), diff)
			}
		}
	})
}

// AddManifestSeeds seeds a fuzz test with the examples and the rule scenario files.
func AddManifestSeeds(f *testing.F) {
	for _, pattern := range []string{"../../examples/*/*.yaml", "../testdata/rules/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
}
