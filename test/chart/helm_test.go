package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// repo is the repository root; chartDir the chart under test.
var (
	repo     = filepath.Clean(filepath.Join(mustGetwd(), "..", ".."))
	chartDir = filepath.Join(repo, "charts", "sctpguard")
)

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}

// helmBin returns the pinned helm, or skips the test with the reason.
func helmBin(t *testing.T) string {
	t.Helper()
	h := os.Getenv("HELM")
	if h == "" {
		t.Skip("HELM is not set: these tests need the pinned helm; run make test-chart")
	}
	return h
}

// run runs a command and returns its standard output, standard error and exit code.
func run(dir string, env []string, stdin string, name string, args ...string) (string, string, int) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errOut.String(), ee.ExitCode()
	case err != nil:
		return out.String(), errOut.String() + err.Error(), -1
	}
	return out.String(), errOut.String(), 0
}

// release is one way to install the chart: a release name, a namespace and values.
type release struct {
	name, namespace string
	// values is a values file's content.
	values string
}

// helm runs helm with args and the release's values file.
func (r release) helm(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	// Not t.TempDir: helm splits --values at commas, which subtest names may hold.
	dir, err := os.MkdirTemp("", "sctpguard-values")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	f := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(f, []byte(r.values), 0o600); err != nil {
		t.Fatal(err)
	}
	return run(repo, nil, "", helmBin(t), append(args, "--values", f)...)
}

// template renders the release as helm template does (the test hooks included).
func (r release) template(t *testing.T) string {
	t.Helper()
	out, stderr, code := r.helm(t, "template", r.name, chartDir, "--namespace", r.namespace)
	if code != 0 {
		t.Fatalf("helm template %s: exit %d: %s", r.name, code, stderr)
	}
	return out
}

// objects renders the release and decodes every manifest.
func (r release) objects(t *testing.T) manifests {
	t.Helper()
	objs, err := decodeManifests(r.template(t))
	if err != nil {
		t.Fatalf("decode the manifests of %s: %v", r.name, err)
	}
	return objs
}

// manifests are rendered objects in the chart's order.
type manifests []*unstructured.Unstructured

// decodeManifests decodes a multi-document YAML stream as the API machinery does (integers
// stay int64); empty documents are skipped.
func decodeManifests(s string) (manifests, error) {
	var out manifests
	r := yaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if string(data) == "null" || string(data) == "{}" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
}

// get returns the object of a kind and name, or fails the test.
func (m manifests) get(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range m {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among the rendered objects: %s", kind, name, m.names())
	return nil
}

// ofKind returns the objects of a kind.
func (m manifests) ofKind(kind string) manifests {
	var out manifests
	for _, o := range m {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// names lists kind/name of every object, in order.
func (m manifests) names() []string {
	out := make([]string, len(m))
	for i, o := range m {
		out[i] = o.GetKind() + "/" + o.GetName()
	}
	return out
}

// yaml renders objects as a YAML stream, ordered by kind and name.
func (m manifests) yaml() string {
	sorted := slices.Clone(m)
	slices.SortFunc(sorted, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(a.GetKind()+"/"+a.GetName(), b.GetKind()+"/"+b.GetName())
	})
	var b strings.Builder
	for _, o := range sorted {
		data, err := sigsyaml.Marshal(o.Object)
		if err != nil {
			panic(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.String()
}

// decodeStrict decodes an object into a Go type, failing on any field the type lacks.
func decodeStrict(o *unstructured.Unstructured, into any) error {
	data, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// mustDecode decodes strictly or fails the test.
func mustDecode(t *testing.T, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := decodeStrict(o, into); err != nil {
		t.Fatal(err)
	}
}
