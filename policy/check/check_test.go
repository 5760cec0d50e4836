package check_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy/check"
)

var update = flag.Bool("update", false, "rewrite the golden files from the actual output (review the diff)")

func golden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// tree writes files under dir.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, stdin string, o *check.Options) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := check.Run(t.Context(), o, check.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return out.String(), errOut.String(), code
}

const sctpLB = `apiVersion: v1
kind: Service
metadata:
  name: amf
  namespace: telco
spec:
  type: LoadBalancer
  ClusterIP: None
  ports:
  - name: ngap
    port: 38412
    protocol: SCTP
`

const clean = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: telco}
spec:
  ports: [{name: http, port: 80}]
`

// TestBadInput: every kind of unreadable input gets a clear error naming the file (and
// line where known), the exit code is 2, nothing panics, and the other files are checked.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tree(t, dir, map[string]string{
		"manifests/good.yaml":           clean,
		"manifests/denied.yaml":         sctpLB,
		"manifests/not-yaml.yaml":       "apiVersion: v1\nkind: Service\nmetadata: {name: x\n",
		"manifests/no-kind.yaml":        "apiVersion: v1\nmetadata: {name: x}\n",
		"manifests/string-port.yaml":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: \"80\"\n",
		"manifests/bin/blob.yaml":       "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"manifests/bin/logo.png":        "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"manifests/bin/tool":            "\x7fELF\x02\x01\x01\x00",
		"manifests/.git/config.yaml":    "not: [a manifest",
		"manifests/more/extra.json":     `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
		"manifests/more/kustomize.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
	})
	// A 50 MB file: refused from its size, before it is read.
	f, err := os.Create("manifests/huge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()

	o := check.NewOptions()
	o.Files = []string{"manifests", "missing.yaml"}
	o.AKOServiceType = "NodePortLocal"
	out, errOut, code := run(t, "", o)
	if code != check.ExitError {
		t.Errorf("exit code %d, want %d", code, check.ExitError)
	}
	golden(t, filepath.Join(testdataDir, "bad-input.stdout"), out)
	golden(t, filepath.Join(testdataDir, "bad-input.stderr"), errOut)
}

var testdataDir = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata")
}()

func TestStdin(t *testing.T) {
	o := check.NewOptions()
	o.Files = []string{"-"}
	o.AKOServiceType = "NodePortLocal"
	out, errOut, code := run(t, clean+"---\n"+sctpLB, o)
	if code != check.ExitDenied || errOut != "" {
		t.Errorf("exit code %d, stderr %q", code, errOut)
	}
	want := "-:14: Service telco/amf: spec.ClusterIP: [unknown-field] warning: unknown field \"spec.ClusterIP\"\n" +
		"-:18: Service telco/amf: spec.ports[0].protocol: [sctp-nodeportlocal] port 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP\n" +
		"checked 2 resources in 1 input: 1 denied (1 denial), 0 with warnings only (1 warning)\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	// Nothing on standard input is an error, not a clean run: the command before the pipe
	// may have failed.
	for stdin, want := range map[string]string{
		"":                      "error: -: standard input is empty: nothing was piped in (did the command before the pipe fail?)\n",
		"---\n# nothing\n---\n": "error: -: standard input holds no object, only comments or empty documents\n",
	} {
		out, errOut, code := run(t, stdin, o)
		if code != check.ExitError || errOut != want || out != "checked 0 resources in 1 input: 0 denied (0 denials), 0 with warnings only (0 warnings), 1 unreadable input or document\n" {
			t.Errorf("stdin %q: exit code %d, stdout %q, stderr %q; want %d and %q", stdin, code, out, errOut, check.ExitError, want)
		}
	}

	// Standard input over the limit is refused, not truncated.
	o.MaxFileSize = 64
	_, errOut, code = run(t, clean, o)
	if code != check.ExitError || errOut != "error: -: standard input: larger than the limit of 64 bytes; split it, or raise --max-file-size\n" {
		t.Errorf("exit code %d, stderr %q", code, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"clean.yaml": clean, "warn.yaml": sctpLB})
	for _, tt := range []struct {
		name  string
		files []string
		npl   bool
		want  int
	}{
		{"clean", []string{"clean.yaml"}, false, check.ExitClean},
		{"warnings only", []string{"warn.yaml"}, false, check.ExitClean},
		{"denied", []string{"warn.yaml"}, true, check.ExitDenied},
		{"unreadable beats denied", []string{"warn.yaml", "nope.yaml"}, true, check.ExitError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := check.NewOptions()
			for _, f := range tt.files {
				o.Files = append(o.Files, filepath.Join(dir, f))
			}
			if tt.npl {
				o.AKOServiceType = "NodePortLocal"
			}
			if _, _, code := run(t, "", o); code != tt.want {
				t.Errorf("exit code %d, want %d", code, tt.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"values.yaml":   "L7Settings:\n  serviceType: NodePortLokal\nL4Settings:\n  defaultLBController: maybe\n",
		"cm.yaml":       "apiVersion: v1\nkind: Secret\nmetadata: {name: avi-k8s-config}\n",
		"rules.yaml":    "disabled: [no-such-rule]\nwarn: [label-sctp]\n",
		"manifest.yaml": clean,
	})
	m := filepath.Join(dir, "manifest.yaml")
	for _, tt := range []struct {
		name string
		set  func(o *check.Options)
		want string
	}{
		{"no files", func(o *check.Options) { o.Files = nil },
			"error: filename: Required value: give at least one file, directory or - (standard input) with -f, or --cluster\n"},
		{"unknown output", func(o *check.Options) { o.Output = "xml" },
			"error: output: Unsupported value: \"xml\": supported values: \"text\", \"json\", \"junit\", \"sarif\", \"github\"\n"},
		{"both context files", func(o *check.Options) { o.AKOValues, o.AKOConfigMap = "a", "b" },
			"error: ako-configmap: Forbidden: give --ako-values or --ako-configmap, not both\n"},
		{"bad boolean flag", func(o *check.Options) { o.AKOLayer7Only = "yes please" },
			"error: ako-layer7-only: Invalid value: \"yes please\": must be true or false\n"},
		{"bad values file", func(o *check.Options) { o.AKOValues = filepath.Join(dir, "values.yaml") },
			"error: " + filepath.Join(dir, "values.yaml") + `: AKO settings: L7Settings.serviceType: "NodePortLokal" is not ClusterIP, NodePort or NodePortLocal; L4Settings.defaultLBController: "maybe" is not a boolean (true or false)` + "\n"},
		{"not a ConfigMap", func(o *check.Options) { o.AKOConfigMap = filepath.Join(dir, "cm.yaml") },
			"error: " + filepath.Join(dir, "cm.yaml") + ": expected a ConfigMap (AKO's avi-k8s-config), got kind \"Secret\"\n"},
		{"bad CNI", func(o *check.Options) { o.CNI = "weave" },
			"error: invalid context: cni: Unsupported value: \"weave\": supported values: \"antrea\", \"calico\", \"canal\", \"cilium\", \"flannel\", \"kube-router\", \"ncp\", \"openshift\", \"ovn-kubernetes\"\n"},
		{"bad rule configuration", func(o *check.Options) { o.ConfigFile = filepath.Join(dir, "rules.yaml") },
			"error: invalid rule configuration: [disabled[0]: Not found: \"no-such-rule\", warn[0]: Invalid value: \"label-sctp\": is a mutation; mutations can be disabled, not demoted]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := check.NewOptions()
			o.Files = []string{m}
			tt.set(o)
			out, errOut, code := run(t, "", o)
			if code != check.ExitError || out != "" {
				t.Errorf("exit code %d, stdout %q", code, out)
			}
			if diff := cmp.Diff(tt.want, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutputFormats renders one result (a denial, a warning, an unreadable file) in every
// format and compares each with its golden file.
func TestOutputFormats(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tree(t, dir, map[string]string{
		"deploy/amf.yaml":    sctpLB,
		"deploy/web.yaml":    clean,
		"deploy/broken.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: \"80\"\n",
	})
	for _, format := range check.Outputs {
		t.Run(format, func(t *testing.T) {
			o := check.NewOptions()
			o.Files = []string{"deploy"}
			o.Output = format
			o.ToolVersion = "v0.0.0-test"
			o.AKOServiceType = "NodePortLocal"
			out, errOut, code := run(t, "", o)
			if code != check.ExitError {
				t.Errorf("exit code %d", code)
			}
			golden(t, filepath.Join(testdataDir, "report."+format), out+errOut)
		})
	}
}
