package check_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/check"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// fakeCluster holds the objects of files in a fake API server that serves the core kinds and
// networking.x-k8s.io, not gateway.networking.k8s.io nor AKO's CRDs. Any write fails the test.
func fakeCluster(t *testing.T, funcs interceptor.Funcs, files ...string) client.WithWatch {
	t.Helper()
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}, {Group: "networking.k8s.io", Version: "v1"}, {Group: "networking.x-k8s.io", Version: "v1alpha1"}})
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Service"}, {Version: "v1", Kind: "ConfigMap"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
		{Group: "networking.x-k8s.io", Version: "v1alpha1", Kind: "Gateway"},
	} {
		plural, singular := meta.UnsafeGuessKindToResource(gvk)
		if gvk.Kind == "Gateway" {
			plural.Resource = "gateways"
		}
		mapper.AddSpecific(gvk, plural, singular, meta.RESTScopeNamespace)
	}
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	mapper.Add(schema.GroupVersionKind{Group: "networking.x-k8s.io", Version: "v1alpha1", Kind: "GatewayClass"}, meta.RESTScopeRoot)
	b := fake.NewClientBuilder().WithScheme(policy.Scheme()).WithRESTMapper(mapper)
	dec := manifest.NewDecoder(policy.Scheme(), "default")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, errs := dec.Decode(f, data)
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		for _, d := range docs {
			b = b.WithObjects(d.Typed)
		}
	}
	write := func(verb string) error {
		t.Errorf("check --cluster sent a %s", verb)
		return errors.New("read-only")
	}
	if funcs.Create == nil {
		funcs.Create = func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return write("create")
		}
	}
	funcs.Update = func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
		return write("update")
	}
	funcs.Patch = func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
		return write("patch")
	}
	funcs.Delete = func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
		return write("delete")
	}
	return interceptor.NewClient(b.Build(), funcs)
}

type jsonReport struct {
	Findings []map[string]any `json:"findings"`
}

// jsonFindings runs a check with -o json and returns its findings and standard error.
func jsonFindings(t *testing.T, o *check.Options, wantCode int) ([]map[string]any, string) {
	t.Helper()
	o.Output = check.OutputJSON
	out, errOut, code := run(t, "", o)
	if code != wantCode {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, wantCode, errOut)
	}
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return r.Findings, errOut
}

// findings runs a check with -o json and returns its findings with the file left out.
func findings(t *testing.T, o *check.Options, wantCode int) ([]map[string]any, string) {
	t.Helper()
	all, errOut := jsonFindings(t, o, wantCode)
	for _, f := range all {
		if file, _ := f["file"].(string); strings.HasPrefix(file, check.ClusterSourcePrefix) {
			f["file"] = "cluster"
		} else {
			f["file"] = "manifest"
		}
		delete(f, "line")
	}
	// A cluster lists kind by kind, manifests are in file order: compare as sets.
	key := func(f map[string]any) string {
		return fmt.Sprint(f["kind"], f["namespace"], f["name"], f["path"], f["rule"])
	}
	slices.SortFunc(all, func(a, b map[string]any) int { return strings.Compare(key(a), key(b)) })
	return all, errOut
}

// TestClusterSameAsFiles: check --cluster judges the stored objects as check -f judges their
// manifests (same rules, objects, paths and messages), with AKO's settings read from the
// cluster's ConfigMap, and --ako-values or --ako-configmap as the what-if. It never writes.
func TestClusterSameAsFiles(t *testing.T) {
	const objects, npl, clusterIP = "testdata/cluster/objects.yaml", "testdata/cluster/ako-npl.yaml", "testdata/cluster/ako-clusterip.yaml"
	files := func(ako string) *check.Options {
		o := check.NewOptions()
		o.Files, o.AKOConfigMap = []string{objects}, ako
		return o
	}
	onCluster := func(akoInCluster string) *check.Options {
		o := check.NewOptions()
		o.Cluster, o.AllNamespaces = true, true
		o.ClusterReader = fakeCluster(t, interceptor.Funcs{}, objects, akoInCluster)
		return o
	}
	wantNotes := "note: the cluster does not serve GatewayClasses (gateway.networking.k8s.io): skipped\n" +
		"note: the cluster does not serve Gateways (gateway.networking.k8s.io): skipped\n" +
		"note: the cluster does not serve ListenerSets (gateway.networking.k8s.io): skipped\n" +
		"note: the cluster does not serve AviInfraSettings (ako.vmware.com): skipped\n" +
		"note: the cluster does not serve L4Rules (ako.vmware.com): skipped\n" +
		"note: the cluster does not serve MachineConfigs (machineconfiguration.openshift.io): skipped\n"

	for _, tc := range []struct {
		name    string
		cluster *check.Options
		files   *check.Options
		code    int
	}{
		{"settings of the cluster, NodePortLocal", onCluster(npl), files(npl), check.ExitDenied},
		{"settings of the cluster, ClusterIP", onCluster(clusterIP), files(clusterIP), check.ExitClean},
		{"what-if: --ako-configmap replaces the cluster's", func() *check.Options {
			o := onCluster(clusterIP)
			o.AKOConfigMap = npl
			return o
		}(), files(npl), check.ExitDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := findings(t, tc.files, tc.code)
			got, notes := findings(t, tc.cluster, tc.code)
			for _, f := range want {
				f["file"] = "cluster"
			}
			if len(want) == 0 {
				t.Fatal("the manifests have no findings: nothing is compared")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-check -f +check --cluster):\n%s", diff)
			}
			if diff := cmp.Diff(wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterText: the text report names each stored object by its source.
func TestClusterText(t *testing.T) {
	o := check.NewOptions()
	o.Cluster, o.Namespace = true, "ran"
	o.ClusterReader = fakeCluster(t, interceptor.Funcs{}, "testdata/cluster/objects.yaml", "testdata/cluster/ako-npl.yaml")
	o.Warn = []string{string(policy.RuleSCTPNodePortLocal)}
	out, _, code := run(t, "", o)
	if code != check.ExitClean {
		t.Fatalf("exit code %d", code)
	}
	var sources []string
	for line := range strings.Lines(out) {
		if src, _, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(src, check.ClusterSourcePrefix) {
			sources = append(sources, src)
		}
	}
	want := []string{
		"cluster:ran/Service/diameter:1", "cluster:ran/Service/ngap:1", "cluster:ran/Service/ngap:1",
		"cluster:ran/Service/s1ap:1", "cluster:ran/Gateway/gw:1",
	}
	if diff := cmp.Diff(want, sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.HasSuffix(out, "checked 6 resources in 1 input: 0 denied (0 denials), 4 with warnings only (5 warnings)\n") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestClusterErrors: a kind the account may not list is an error naming it, and the run
// still judges the rest; AKO's ConfigMap absent is a note.
func TestClusterErrors(t *testing.T) {
	o := check.NewOptions()
	o.Cluster, o.AllNamespaces = true, true
	o.ClusterReader = fakeCluster(t, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if list.GetObjectKind().GroupVersionKind().Kind == "GatewayList" {
				return apierrors.NewForbidden(schema.GroupResource{Group: "networking.x-k8s.io", Resource: "gateways"}, "",
					errors.New(`User "dev" cannot list resource "gateways" in API group "networking.x-k8s.io" at the cluster scope`))
			}
			return c.List(ctx, list, opts...)
		},
	}, "testdata/cluster/objects.yaml")
	out, errOut, code := run(t, "", o)
	if code != check.ExitError {
		t.Fatalf("exit code %d, want %d", code, check.ExitError)
	}
	wantErr := `error: cluster:gateways.networking.x-k8s.io: gateways.networking.x-k8s.io is forbidden: User "dev" cannot list resource "gateways" in API group "networking.x-k8s.io" at the cluster scope` + "\n"
	if !strings.HasPrefix(errOut, "note: ") || !strings.Contains(errOut, "note: AKO's ConfigMap avi-system/avi-k8s-config not found: rules that need AKO's settings are silent (give --ako-values or --ako-configmap)\n") ||
		!strings.HasSuffix(errOut, wantErr) {
		t.Errorf("stderr:\n%s\nwant the notes, then:\n%s", errOut, wantErr)
	}
	if !strings.Contains(out, "checked 5 resources in 1 input") {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestClusterReadOnly: the client of check --cluster sends reads only; anything else fails
// before it leaves.
func TestClusterReadOnly(t *testing.T) {
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(corev1.ConfigMap{})
	}))
	defer srv.Close()
	cfg := check.ReadOnly(&rest.Config{Host: srv.URL})
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, _ := http.NewRequestWithContext(t.Context(), m, srv.URL+"/api/v1/namespaces/x/configmaps/y", strings.NewReader("{}"))
		resp, err := hc.Do(req)
		if m == http.MethodGet {
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			_ = resp.Body.Close()
			continue
		}
		if !errors.Is(err, check.ErrNotRead) {
			t.Errorf("%s: error %v, want %v", m, err, check.ErrNotRead)
		}
	}
	if diff := cmp.Diff([]string{"GET /api/v1/namespaces/x/configmaps/y"}, methods); diff != "" {
		t.Errorf("requests that reached the server (-want +got):\n%s", diff)
	}
}

// TestClusterUsage: the cluster flags need --cluster, and --cluster never prints mutated
// manifests.
func TestClusterUsage(t *testing.T) {
	for _, tc := range []struct {
		set  func(o *check.Options)
		want string
	}{
		{func(o *check.Options) { o.Cluster, o.Files, o.Mutate = true, []string{"x.yaml"}, true }, "mutate: Forbidden"},
		{func(o *check.Options) { o.AllNamespaces = true }, "cluster: Forbidden: --all-namespaces, --kubeconfig and --context read a cluster: give --cluster"},
		{func(o *check.Options) { o.Cluster, o.Mutate = true, true }, "mutate: Forbidden"},
	} {
		o := check.NewOptions()
		tc.set(o)
		_, errOut, code := run(t, "", o)
		if code != check.ExitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
		}
	}
}

// TestClusterWithFiles: check --cluster -f judges the files' objects, and only them, as check
// -f judges them beside the cluster's objects (each file's object replacing the stored one
// of its name), with AKO's settings from the cluster; it reads the namespaces the files name,
// one missing from the cluster being a note. The oracle is check -f of the stored objects'
// manifests with the change applied.
func TestClusterWithFiles(t *testing.T) {
	const objects, change = "testdata/cluster/objects.yaml", "testdata/cluster/change.yaml"
	stored, err := os.ReadFile(objects)
	if err != nil {
		t.Fatal(err)
	}
	// The stored objects as the change leaves them: without the diameter it replaces.
	var kept []string
	for _, doc := range strings.Split(string(stored), "---\n") {
		if !strings.Contains(doc, "  name: diameter\n") {
			kept = append(kept, doc)
		}
	}
	if len(kept) != 5 {
		t.Fatalf("%d stored manifests kept, want 5", len(kept))
	}
	applied := filepath.Join(t.TempDir(), "applied.yaml")
	if err := os.WriteFile(applied, []byte(strings.Join(kept, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ako  string
		code int
	}{
		{"testdata/cluster/ako-clusterip.yaml", check.ExitDenied},
		{"testdata/cluster/ako-npl.yaml", check.ExitDenied},
	} {
		t.Run(filepath.Base(tc.ako), func(t *testing.T) {
			oracle := check.NewOptions()
			oracle.Files, oracle.AKOConfigMap = []string{applied, change}, tc.ako
			want := fileFindings(t, oracle, tc.code, change)
			if len(want) == 0 {
				t.Fatal("the change has no findings: nothing is compared")
			}

			o := check.NewOptions()
			o.Cluster, o.Files, o.Namespace = true, []string{change}, "ran"
			o.ClusterReader = fakeCluster(t, interceptor.Funcs{}, objects, tc.ako)
			got := fileFindings(t, o, tc.code, "")
			for _, f := range got {
				delete(f, "file") // the stored objects' would name cluster:...
			}
			for _, f := range want {
				delete(f, "file")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings of the change (-check -f with it applied +check --cluster -f):\n%s", diff)
			}
			o.Output = check.OutputText
			_, stderr, _ := run(t, "", o)
			for _, note := range []string{
				`note: namespace "lab" is not in the cluster: the objects of the files there are judged against the files alone` + "\n",
				"note: judged against 6 objects read from the cluster (namespaces lab, ran)\n",
			} {
				if !strings.Contains(stderr, note) {
					t.Errorf("stderr lacks %q:\n%s", note, stderr)
				}
			}
		})
	}

	// Without the cluster the Gateway is missing: the findings differ, so the comparison
	// above can tell whether the cluster was read.
	alone := check.NewOptions()
	alone.Files, alone.AKOConfigMap = []string{change}, "testdata/cluster/ako-clusterip.yaml"
	applied0 := check.NewOptions()
	applied0.Files, applied0.AKOConfigMap = []string{applied, change}, "testdata/cluster/ako-clusterip.yaml"
	if cmp.Equal(fileFindings(t, alone, check.ExitClean, change), fileFindings(t, applied0, check.ExitDenied, change)) {
		t.Error("the change alone is judged as with the stored objects: the test cannot fail")
	}
}

// fileFindings runs a check with -o json and returns the findings of file ("" for every
// file), in order.
func fileFindings(t *testing.T, o *check.Options, wantCode int, file string) []map[string]any {
	t.Helper()
	all, _ := jsonFindings(t, o, wantCode)
	var of []map[string]any
	for _, f := range all {
		if file == "" || f["file"] == file {
			of = append(of, f)
		}
	}
	return of
}
