package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/webhook"
)

// guardNamespace holds the objects the guard tests judge; every other namespace is exempt
// for the replica under test, so that what other tests left does not enter its warnings.
const guardNamespace = "guard"

// guardObjects are two SCTP LoadBalancer Services and an AKO Gateway with its backend, in the
// form the mutating webhook stores them (ports named, labelled), so that check -f on them
// judges what check --cluster reads. Their GatewayClass of AKO's is their own: the seed
// examples' avi-lb is another test's to create.
var guardObjects = `apiVersion: v1
kind: Namespace
metadata:
  name: guard
---
` + strings.ReplaceAll(gatewayClass, "name: avi-lb", "name: guard-avi-lb") + `---
` + strings.NewReplacer("  name: gw\n", "  name: gw\n  labels: {sctpguard.io/sctp: \"true\"}\n", "gatewayClassName: avi-lb", "gatewayClassName: guard-avi-lb").
	Replace(gateway(guardNamespace, "SCTP", "3868")) + `---
` + strings.ReplaceAll(backend(guardNamespace, "diameter", "3868"), "    ako.vmware.com/gateway-name: gw\n", "    ako.vmware.com/gateway-name: gw\n    sctpguard.io/sctp: \"true\"\n") + `---
` + guardLB("s1ap", "36412") + `---
` + guardLB("ngap", "38412")

// guardNames are guardObjects as kubectl apply -o name prints them.
const guardNames = "namespace/guard\ngatewayclass.networking.x-k8s.io/guard-avi-lb\ngateway.networking.x-k8s.io/gw\nservice/diameter\nservice/s1ap\nservice/ngap\n"

// applyGuardObjects applies guardObjects. The first time, the Gateway comes before its
// backend and gets the webhook's warning that no backend claims its listener yet.
func applyGuardObjects(t *testing.T) {
	t.Helper()
	out, errOut, code := cl.kubectl(guardObjects, "apply", "-o", "name", "-f", "-")
	if code != 0 || out != guardNames {
		t.Fatalf("kubectl apply: exit %d\n%s%s", code, out, errOut)
	}
}

func guardLB(name, port string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: ` + name + `
  namespace: guard
  labels: {sctpguard.io/sctp: "true"}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  selector: {app: ` + name + `}
  ports:
  - {name: ` + name + `, port: ` + port + `, protocol: SCTP}
`
}

// startGuard starts a replica that judges the guard namespace alone, points the guard's
// configuration at it, and waits until the API server calls it. It returns the replica.
func startGuard(t *testing.T, args ...string) *cluster.Replica {
	t.Helper()
	out, _, code := cl.kubectl("", "get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}")
	if code != 0 {
		t.Fatalf("list namespaces: exit %d", code)
	}
	exempt := slices.DeleteFunc(strings.Fields(out), func(ns string) bool { return ns == guardNamespace })
	r, err := cl.StartReplica(&cl.log, append([]string{"--exempt-namespace=" + strings.Join(exempt, ",")}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	if err := r.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	installGuard(t, r.WebhookURL)
	return r
}

// installGuard creates or replaces the guard's configuration, calling url, and removes it
// when the test ends.
func installGuard(t *testing.T, url string) {
	t.Helper()
	cfg := webhook.AKOGuardConfiguration(webhook.ConfigurationOptions{Name: "e2e", URL: url, CABundle: cl.ServingCA()},
		webhook.AKOGuardOptions{Namespace: "avi-system", Name: "avi-k8s-config"})
	ctx := t.Context()
	_ = cl.Client.Delete(ctx, cfg.DeepCopy())
	if err := cl.Client.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Client.Delete(context.Background(), cfg); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
}

// patchAKO patches AKO's ConfigMap's serviceType with the real kubectl.
func patchAKO(serviceType string, args ...string) (string, string, int) {
	return cl.kubectl("", append([]string{"patch", "configmap", "avi-k8s-config", "-n", "avi-system", "--type", "merge",
		"-p", `{"data":{"serviceType":"` + serviceType + `"}}`}, args...)...)
}

// waitGuard waits until a server-side dry run of the switch to NodePortLocal prints want on
// standard error: the API server picks webhook configurations up asynchronously.
func waitGuard(t *testing.T, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := poll(ctx, func() error {
		if _, stderr, _ := patchAKO("NodePortLocal", "--dry-run=server"); !strings.Contains(stderr, want) {
			return errVerdict(stderr)
		}
		return nil
	}); err != nil {
		t.Fatalf("the guard never answered %q: %v", want, err)
	}
}

// guardNetworkPolicy lets SCTP in: kube-router would not enforce it (sctp-networkpolicy-cni).
const guardNetworkPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-s1ap, namespace: guard}
spec:
  podSelector: {matchLabels: {app: s1ap}}
  ingress: [{ports: [{port: 36412, protocol: SCTP}]}]
`

// patchCNI patches AKO's ConfigMap's cniPlugin with the real kubectl.
func patchCNI(cni string) (string, string, int) {
	return cl.kubectl("", "patch", "configmap", "avi-k8s-config", "-n", "avi-system", "--type", "merge", "-p", `{"data":{"cniPlugin":"`+cni+`"}}`)
}

const (
	guardNetworkPolicyWarning = "1 SCTP NetworkPolicy would get a warning from [sctp-networkpolicy-cni] (kube-router does not enforce NetworkPolicy for SCTP): guard/allow-s1ap"
	guardGatewayWarning       = "1 SCTP Gateway would be skipped by AKO in NodePortLocal mode: guard/gw"
	guardServicesWarning      = "3 SCTP Services would be skipped by AKO in NodePortLocal mode: guard/diameter, guard/ngap, guard/s1ap"
)

// TestAKOGuard: SCTP Services and a Gateway with its backend run under AKO's ClusterIP mode;
// patching AKO's ConfigMap to NodePortLocal with kubectl prints the guard's warnings, naming
// each object it would break; back to ClusterIP, nothing. With deny on, the patch is refused
// with the reason; with sctpguard stopped, the patch goes through (failurePolicy Ignore).
func TestAKOGuard(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	// Last, once the guard's configuration is gone: cleanups run in reverse.
	t.Cleanup(func() {
		if err := cl.SetAKO(context.Background(), clusterIPMode); err != nil {
			t.Error(err)
		}
	})
	applyGuardObjects(t)
	r := startGuard(t)
	waitGuard(t, guardGatewayWarning)

	out, errOut, code := patchAKO("NodePortLocal")
	check(t, code, out, errOut, 0, "configmap/avi-k8s-config patched\n",
		"Warning: "+guardGatewayWarning+"\nWarning: "+guardServicesWarning+"\n")
	out, errOut, code = patchAKO("ClusterIP")
	check(t, code, out, errOut, 0, "configmap/avi-k8s-config patched\n", "")

	// A NetworkPolicy with an SCTP port: switching the CNI to kube-router, which would not
	// enforce it, names it; the objects above are fine under either CNI.
	out, errOut, code = cl.kubectl(guardNetworkPolicy, "apply", "-f", "-")
	check(t, code, out, errOut, 0, "networkpolicy.networking.k8s.io/allow-s1ap created\n", "")
	t.Cleanup(func() { _, _, _ = cl.kubectl("", "delete", "networkpolicy", "allow-s1ap", "-n", guardNamespace) })
	out, errOut, code = patchCNI("kube-router")
	check(t, code, out, errOut, 0, "configmap/avi-k8s-config patched\n", "Warning: "+guardNetworkPolicyWarning+"\n")
	out, errOut, code = patchCNI("antrea")
	check(t, code, out, errOut, 0, "configmap/avi-k8s-config patched\n", "")

	// Deny on: refused, with what it would break.
	_ = r.Stop() // it ends by its signal
	startGuard(t, "--ako-guard-deny")
	waitGuard(t, "denied the request")
	out, errOut, code = patchAKO("NodePortLocal")
	check(t, code, out, errOut, 1, "",
		"Warning: "+guardGatewayWarning+"\nWarning: "+guardServicesWarning+"\n"+
			`Error from server (Forbidden): admission webhook "ako-settings.validate.sctpguard.io" denied the request: `+
			"sctpguard refuses this change of AKO's settings: it would break stored objects:\n"+
			guardGatewayWarning+"\n"+guardServicesWarning+"\n"+
			"(the guard's deny is set: akoGuard.deny in the chart, --ako-guard-deny; fix the objects first, or unset it to make the change anyway)\n")

	// sctpguard down: the change is not blocked.
	installGuard(t, "https://127.0.0.1:1")
	out, errOut, code = patchAKO("NodePortLocal")
	check(t, code, out, errOut, 0, "configmap/avi-k8s-config patched\n", "")
}

// runCheckJSON runs sctpguard check -o json with args from dir and returns its standard
// output and error and its exit code.
func runCheckJSON(t *testing.T, dir string, args ...string) (*bytes.Buffer, *bytes.Buffer, int) {
	t.Helper()
	_, _, bin, _ := cluster.FromEnv("../..")
	cmd := exec.Command(bin, append([]string{"check", "-o", "json"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return &stdout, &stderr, code
}

// runCheck runs sctpguard check with args from dir and returns its JSON findings without
// file and line, sorted, and its exit code.
func runCheck(t *testing.T, dir string, args ...string) ([]map[string]any, string, int) {
	t.Helper()
	stdout, stderr, code := runCheckJSON(t, dir, args...)
	var rep struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("check's report: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	for _, f := range rep.Findings {
		delete(f, "file")
		delete(f, "line")
	}
	key := func(f map[string]any) string {
		return fmt.Sprint(f["kind"], f["namespace"], f["name"], f["path"], f["rule"])
	}
	slices.SortFunc(rep.Findings, func(a, b map[string]any) int { return strings.Compare(key(a), key(b)) })
	return rep.Findings, stderr.String(), code
}

// resourceVersions lists the resourceVersions of AKO's ConfigMap and of the guard
// namespace's objects: what check --cluster must leave as it found it.
func resourceVersions(t *testing.T) string {
	t.Helper()
	out, errOut, code := cl.kubectl("", "get", "configmap/avi-k8s-config", "-n", "avi-system", "-o", "jsonpath={.metadata.resourceVersion}")
	more, errMore, codeMore := cl.kubectl("", "get", "services,gateways.networking.x-k8s.io", "-n", guardNamespace, "-o", "jsonpath={.items[*].metadata.resourceVersion}")
	if code != 0 || codeMore != 0 {
		t.Fatalf("kubectl get: %s%s", errOut, errMore)
	}
	return out + " " + more
}

// TestCheckCluster: check --cluster on the cluster prints the findings check -f prints on
// the same manifests, with AKO's settings read from the cluster's ConfigMap; with
// --ako-values it prints the what-if verdicts; it changes nothing.
func TestCheckCluster(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	t.Cleanup(func() { _ = cl.SetAKO(context.Background(), clusterIPMode) })
	applyGuardObjects(t)
	dir := t.TempDir()
	configMap := func(data map[string]string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "avi-k8s-config", "namespace": "avi-system"}, "data": data}
	}
	files := map[string]any{
		"objects.yaml":       guardObjects,
		"ako-clusterip.yaml": configMap(clusterIPMode),
		"ako-npl.yaml":       configMap(nodePortLocalMode),
		"ako-values.yaml": map[string]any{"AKOSettings": map[string]any{"clusterName": "e2e", "cniPlugin": "antrea", "servicesAPI": true},
			"L7Settings": map[string]any{"serviceType": "NodePortLocal"}, "L4Settings": map[string]any{"defaultLBController": true}},
	}
	for name, content := range files {
		data, ok := content.(string)
		if !ok {
			b, err := yaml.Marshal(content)
			if err != nil {
				t.Fatal(err)
			}
			data = string(b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := "--kubeconfig=" + cl.Kubeconfig
	for _, tc := range []struct {
		name             string
		mode             map[string]string
		files, onCluster []string
		code             int
	}{
		{"AKO's settings from the cluster: ClusterIP", clusterIPMode, []string{"--ako-configmap=ako-clusterip.yaml"}, nil, 0},
		{"AKO's settings from the cluster: NodePortLocal", nodePortLocalMode, []string{"--ako-configmap=ako-npl.yaml"}, nil, 1},
		{"what-if --ako-values", clusterIPMode, []string{"--ako-values=ako-values.yaml"}, []string{"--ako-values=ako-values.yaml"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setAKO(t, tc.mode)
			before := resourceVersions(t)
			want, _, wantCode := runCheck(t, dir, append([]string{"-f", "objects.yaml"}, tc.files...)...)
			got, stderr, code := runCheck(t, dir, append([]string{"--cluster", kubeconfig, "-n", guardNamespace}, tc.onCluster...)...)
			if code != tc.code || wantCode != tc.code {
				t.Errorf("exit codes: check --cluster %d, check -f %d, want %d\n%s", code, wantCode, tc.code, stderr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-check -f +check --cluster):\n%s", diff)
			}
			if tc.code == 1 && len(got) == 0 {
				t.Error("no findings: nothing compared")
			}
			if after := resourceVersions(t); after != before {
				t.Errorf("check --cluster changed the cluster: resourceVersions %s, then %s", before, after)
			}
		})
	}

	// A change judged against the cluster: a second backend for gw's listener, whose port
	// the stored diameter already claims. check --cluster -f reports it, and only it, as
	// check -f reports it beside the stored objects' manifests; check -f alone cannot see
	// the Gateway.
	t.Run("a change against the cluster", func(t *testing.T) {
		setAKO(t, clusterIPMode)
		change := strings.ReplaceAll(backend(guardNamespace, "diameter", "3868"), "name: diameter\n", "name: diameter-2\n")
		if err := os.WriteFile(filepath.Join(dir, "change.yaml"), []byte(change), 0o600); err != nil {
			t.Fatal(err)
		}
		before := resourceVersions(t)
		all, _, wantCode := runCheck(t, dir, "-f", "objects.yaml", "-f", "change.yaml", "--ako-configmap=ako-clusterip.yaml")
		want := slices.DeleteFunc(all, func(f map[string]any) bool { return f["name"] != "diameter-2" })
		got, stderr, code := runCheck(t, dir, "--cluster", kubeconfig, "-f", "change.yaml")
		if code != 1 || wantCode != 1 {
			t.Errorf("exit codes: check --cluster -f %d, check -f %d, want 1\n%s", code, wantCode, stderr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings of the change (-check -f beside the stored manifests +check --cluster -f):\n%s", diff)
		}
		if !slices.ContainsFunc(got, func(f map[string]any) bool { return f["rule"] == "backend-port-conflict" }) {
			t.Errorf("no backend-port-conflict: the stored backend was not seen\n%v", got)
		}
		// How many depends on the cluster-scoped objects other tests left (GatewayClasses).
		if note := " objects read from the cluster (namespace " + guardNamespace + ")\n"; !strings.Contains(stderr, note) {
			t.Errorf("stderr lacks %q:\n%s", note, stderr)
		}
		if after := resourceVersions(t); after != before {
			t.Errorf("check --cluster -f changed the cluster: resourceVersions %s, then %s", before, after)
		}
	})
}
