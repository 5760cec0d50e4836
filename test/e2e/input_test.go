package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// hiddenService is a CRLF file whose first document ends in a comment padding: check used to
// read one object from it and pass, while kubectl applied both and the cluster denied the
// second.
var hiddenService = strings.ReplaceAll("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: decoy, namespace: default}\n"+
	strings.Repeat("# padding\n", 40)+"---\n"+
	"apiVersion: v1\nkind: Service\nmetadata: {name: hidden, namespace: default}\nspec:\n  type: LoadBalancer\n  ports:\n  - {name: ngap, port: 38412, protocol: SCTP}\n",
	"\n", "\r\n")

// TestKubectlReadsAsCheck: the real kubectl reads the objects sctpguard check reads from
// streams that split in surprising places (a client-side dry run names them), and where
// check refuses a stream, it says why.
func TestKubectlReadsAsCheck(t *testing.T) {
	requireCluster(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\n"
	}
	for _, tt := range []struct {
		name, stream string
		// kubectl: the objects a client-side dry run of kubectl apply names.
		kubectl string
		// checkErr: check's error, when it refuses the stream.
		checkErr string
		// kubectlCode, kubectlErr: kubectl's exit code and error when the API server refuses
		// what it sends (a server-side dry run).
		kubectlCode int
		kubectlErr  string
	}{
		{name: "CRLF", stream: strings.ReplaceAll(cm("crlf-a")+"---\n"+cm("crlf-b"), "\n", "\r\n"),
			kubectl: "configmap/crlf-a\nconfigmap/crlf-b\n"},
		{name: "mixed line endings", stream: strings.ReplaceAll(cm("mixed-a"), "\n", "\r\n") + "---\n" + cm("mixed-b") + "---\r\n" + cm("mixed-c"),
			kubectl: "configmap/mixed-a\nconfigmap/mixed-b\nconfigmap/mixed-c\n"},
		{name: "a document behind a padded comment", stream: hiddenService,
			kubectl: "configmap/decoy\nservice/hidden\n"},
		{name: "JSON, then YAML", stream: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json-a", "namespace": "default"}}` + "\n---\n" + cm("json-b"),
			kubectl: "configmap/json-a\nconfigmap/json-b\n"},
		{name: "a Service with items is a list", stream: "apiVersion: v1\nkind: Service\nmetadata: {name: decoy, namespace: default}\nspec: {ports: [{port: 80}]}\nitems:\n- " +
			strings.ReplaceAll(cm("from-items"), "\n", "\n  "),
			kubectl: "configmap/from-items\n"},
		{name: "a lone carriage return", stream: strings.ReplaceAll(cm("cr-a")+"---\n"+cm("cr-b"), "\n", "\r"),
			kubectl:  "configmap/cr-a\n",
			checkErr: `input.yaml:4: a second YAML document starts here without a "---" line: kubectl reads only the first document between two "---" lines and drops the rest`},
		{name: "a v1 List without items, as an item", stream: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, metadata: {name: l}}\n",
			kubectlCode: 1, kubectlErr: "Error from server (NotFound): error when creating \"STDIN\": the server could not find the requested resource\n",
			checkErr: "input.yaml:4: v1 List is not a kind the API server serves: kubectl sends it, and the server answers that it could not find the requested resource"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dryRun := "--dry-run=client"
			if tt.kubectlCode != 0 {
				dryRun = "--dry-run=server" // the API server refuses what the client sends
			}
			out, errOut, code := cl.kubectl(tt.stream, "apply", dryRun, "-o", "name", "-f", "-")
			check(t, code, out, errOut, tt.kubectlCode, tt.kubectl, tt.kubectlErr)

			// check --mutate prints every object it read.
			rep, objects, code := checkFile(t, tt.stream, "--mutate")
			var errs []string
			for _, e := range rep.Errors {
				errs = append(errs, e.String())
			}
			switch {
			case tt.checkErr != "":
				if code != 2 || strings.Join(errs, "\n") != tt.checkErr {
					t.Errorf("check: exit code %d, errors %q; want 2 and %q", code, errs, tt.checkErr)
				}
			case code > 1 || objects != tt.kubectl:
				t.Errorf("check: exit code %d, errors %q, objects %q; kubectl reads %q", code, errs, objects, tt.kubectl)
			}
		})
	}
}

// TestHiddenDocumentDenied: in AKO's NodePortLocal mode, kubectl applies the decoy and the
// webhook denies the Service behind the padded comment; check denies it too, with the same
// finding.
func TestHiddenDocumentDenied(t *testing.T) {
	requireCluster(t)
	setAKO(t, nodePortLocalMode)
	waitVerdict(t, hiddenService, "sctp-nodeportlocal")
	finding := "[sctp-nodeportlocal] spec.ports[0].protocol: port 38412/SCTP: " + nplConsequence
	apply(t, hiddenService, 1, "configmap/decoy created\n", denied("services", finding))
	_, _, _ = cl.kubectl("", "delete", "configmap", "decoy", "-n", "default", "--ignore-not-found")

	rep, _, code := checkFile(t, hiddenService, "--ako-service-type", "NodePortLocal")
	if code != 1 || rep.Summary.Resources != 2 || rep.Summary.Denials != 1 {
		t.Errorf("check: exit code %d, %+v; want 1, two resources and one denial", code, rep)
	}
	setAKO(t, clusterIPMode)
}

// checkReport is what the tests read of check's JSON report.
type checkReport struct {
	Summary struct {
		Resources int `json:"resources"`
		Denials   int `json:"denials"`
	} `json:"summary"`
	Errors []checkError `json:"errors"`
}

type checkError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Object  string `json:"object"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String is the error as check's text output prints it.
func (e checkError) String() string {
	s := fmt.Sprintf("%s:%d: ", e.File, e.Line)
	if e.Object != "" {
		s += e.Object + ": "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Message
}

// checkFile runs sctpguard check on stream, written to input.yaml, and returns its report,
// the objects it printed (with --mutate) named as kubectl names them, and its exit code.
func checkFile(t *testing.T, stream string, args ...string) (checkReport, string, int) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.yaml"), []byte(stream), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCheckJSON(t, dir, append([]string{"-f", "input.yaml"}, args...)...)
	report := stdout.Bytes()
	var names strings.Builder
	if slices.Contains(args, "--mutate") { // the manifests on standard output, the report on standard error
		report = stderr.Bytes()
		// Each printed as written, --- between them: read each as it is, not as a list.
		for _, doc := range strings.Split(stdout.String(), "---\n") {
			if doc == "" {
				continue
			}
			var obj metav1.PartialObjectMetadata
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("check's manifests: %v\n%s", err, stdout.String())
			}
			fmt.Fprintf(&names, "%s/%s\n", strings.ToLower(obj.Kind), obj.Name)
		}
	}
	var rep checkReport
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatalf("check's report: %v\n%s", err, report)
	}
	return rep, names.String(), code
}

// TestYAML11: kubectl reads YAML 1.1, where yes is true: the API server refuses a ConfigMap
// value written yes, and so does check, instead of reading the string "yes".
func TestYAML11(t *testing.T) {
	requireCluster(t)
	stream := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: yaml11, namespace: default}\ndata:\n  enabled: yes\n"
	out, errOut, code := cl.kubectl(stream, "apply", "--dry-run=server", "-f", "-")
	check(t, code, out, errOut, 1, "", `Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string`+"\n")

	rep, _, code := checkFile(t, stream)
	want := `input.yaml:5: ConfigMap default/yaml11: data[enabled]: expected a string, got boolean yes`
	if len(rep.Errors) != 1 || code != 2 || rep.Errors[0].String() != want {
		t.Errorf("check: exit code %d, %+v; want 2 and %q", code, rep, want)
	}
}
