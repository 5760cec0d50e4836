package chart

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/webhook"
	"github.com/sctpguard/sctpguard/webhook/selftest"
)

// The releases installed side by side on one control plane.
var (
	// withTranslator is the chart with cert-manager and the translator: every verb the code
	// can use.
	withTranslator = release{name: "sctpguard", namespace: "sctpguard", values: `
translator: {enabled: true}
avi: {existingSecret: avi-credentials}
policies:
  owner.rego: |
    package sctpguard.owner
    import rego.v1
    warn contains "no owner label" if {
      input.kind == "Service"
      not input.metadata.labels.owner
    }
`}
	// webhookOnly is the default install: the webhooks without the translator.
	webhookOnly = release{name: "sg-webhook", namespace: "sg-webhook"}
	// selfManaged is the default install without cert-manager: the binary issues its own
	// certificates and patches the caBundle.
	selfManaged = release{name: "sg-self", namespace: "sg-self", values: `
certManager: {enabled: false}
`}
)

// selfManagedOnly are the grants of certManager.enabled=false beyond those of the same
// release with cert-manager: what the binary needs to manage its own certificates. The
// audit comparison shows each is used (update: replacing an unusable Secret; create: writing
// a deleted one again) and none is missing.
var selfManagedOnly = []grant{
	// The Secret with the CA and the serving certificate (list, watch and update by name).
	{Resource: "secrets", Verb: "create", Namespace: "sg-self"},
	{Resource: "secrets", Verb: "list", Namespace: "sg-self"},
	{Resource: "secrets", Verb: "update", Namespace: "sg-self"},
	{Resource: "secrets", Verb: "watch", Namespace: "sg-self"},
	// Follow both webhook configurations and patch the CA bundle into them (by name).
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "list"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "patch"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "watch"},
	// The guard's configuration, read by name at each step.
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Verb: "get"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Verb: "list"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Verb: "patch"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Verb: "watch"},
}

// auditPolicy logs every request of a service account (no controller-manager runs, so all
// are the tests'), without bodies.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`

// controlPlane is kube-apiserver and etcd with an audit log, sctpguard's CRDs, the Gateway
// API's, the MachineConfig CRD (so the OpenShift code paths run) and cert-manager's.
type controlPlane struct {
	env      *envtest.Environment
	cfg      *rest.Config
	kube     kubernetes.Interface
	dyn      dynamic.Interface
	auditLog string
	dir      string
	admin    string // kubeconfig of the admin user
	kubectl  string
}

func startControlPlane(t *testing.T, assets string) *controlPlane {
	t.Helper()
	cp := &controlPlane{dir: t.TempDir(), kubectl: filepath.Join(assets, "kubectl")}
	policyFile := filepath.Join(cp.dir, "audit-policy.yaml")
	if err := os.WriteFile(policyFile, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	cp.auditLog = filepath.Join(cp.dir, "audit.log")
	certManager, gatewayAPI := moduleDir(t, "github.com/cert-manager/cert-manager"), moduleDir(t, "sigs.k8s.io/gateway-api")
	cp.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{
			filepath.Join(chartDir, "crds"),
			filepath.Join(gatewayAPI, "config", "crd", "standard"),
			filepath.Join(repo, "test", "e2e", "testdata", "crds"),
			filepath.Join(certManager, "deploy", "crds"),
		},
		ErrorIfCRDPathMissing: true,
	}
	cp.env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policyFile).
		Set("audit-log-path", cp.auditLog).
		Set("audit-log-format", "json")
	cfg, err := cp.env.Start()
	if err != nil {
		t.Fatalf("start the control plane: %v", err)
	}
	t.Cleanup(func() { _ = cp.env.Stop() })
	cp.cfg = cfg
	cp.kube = kubernetes.NewForConfigOrDie(cfg)
	cp.dyn = dynamic.NewForConfigOrDie(cfg)
	admin, err := cp.env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	cp.admin = filepath.Join(cp.dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.admin, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return cp
}

func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, stderr, code := run(mustGetwd(), nil, "", "go", "list", "-m", "-f", "{{.Dir}}", mod)
	if code != 0 {
		t.Fatalf("find module %s: %s", mod, stderr)
	}
	return strings.TrimSpace(out)
}

// kubectlAs runs the real kubectl with a kubeconfig.
func (cp *controlPlane) kubectlAs(kubeconfig, stdin string, args ...string) (string, string, int) {
	return run(repo, nil, stdin, cp.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// kubeconfigFor returns a kubeconfig with a fresh token of a service account (TokenRequest).
func (cp *controlPlane) kubeconfigFor(t *testing.T, namespace, name string) string {
	t.Helper()
	tr, err := cp.kube.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of %s/%s: %v", namespace, name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cp.cfg.Host, CertificateAuthorityData: cp.cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name}
	kc.CurrentContext = "test"
	path := filepath.Join(cp.dir, namespace+"-"+name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// apply server-side applies a rendered release as helm's field manager would, and checks
// that every object is stored with that manager's Apply.
func (cp *controlPlane) apply(t *testing.T, r release) manifests {
	t.Helper()
	out := r.template(t)
	if stdout, stderr, code := cp.kubectlAs(cp.admin, out, "apply", "--server-side", "--field-manager=helm", "-f", "-"); code != 0 {
		t.Fatalf("server-side apply of %s: exit %d\n%s%s", r.name, code, stdout, stderr)
	}
	objs, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	disc := cp.kube.Discovery()
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
		if err != nil {
			t.Fatal(err)
		}
		resources, err := disc.ServerResourcesForGroupVersion(gv.String())
		if err != nil {
			t.Fatalf("%s: %v", gv, err)
		}
		var res string
		for _, ar := range resources.APIResources {
			if ar.Kind == o.GetKind() && !strings.Contains(ar.Name, "/") {
				res = ar.Name
			}
		}
		got, err := cp.dyn.Resource(gv.WithResource(res)).Namespace(o.GetNamespace()).Get(t.Context(), o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s %s/%s after apply: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			continue
		}
		var managers []string
		for _, mf := range got.GetManagedFields() {
			if mf.Subresource == "status" {
				continue // the API server's own: a CRD's conditions
			}
			managers = append(managers, mf.Manager+"/"+string(mf.Operation))
		}
		if !cmp.Equal([]string{"helm/Apply"}, managers) {
			t.Errorf("%s %s: managed by %s, want helm/Apply", o.GetKind(), o.GetName(), managers)
		}
	}
	return objs
}

// server is sctpguard serve, run as a pod of the chart's Deployment would run.
type server struct {
	cmd                            *exec.Cmd
	log                            *cluster.SyncBuffer
	health, metrics, webhook, user string
}

// freePort returns a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// projectVolumes does the kubelet's part for the container's mounts: a Secret's keys become
// files (read from the cluster), an emptyDir an empty directory. It returns mount path to
// local directory.
func (cp *controlPlane) projectVolumes(t *testing.T, namespace string, spec corev1.PodSpec, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(cp.dir, namespace+"-"+m.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			s, err := cp.kube.CoreV1().Secrets(namespace).Get(t.Context(), v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("volume %s: %v", v.Name, err)
			}
			for k, data := range s.Data {
				if err := os.WriteFile(filepath.Join(dir, k), data, 0o400); err != nil {
					t.Fatal(err)
				}
			}
		}
		out[m.MountPath] = dir
	}
	return out
}

// startServe runs the rendered Deployment's container as its service account: its arguments
// and environment, with the mounts projected to local directories and the listeners moved
// to free loopback ports (the only changes, each checked to apply).
func (cp *controlPlane) startServe(t *testing.T, bin string, r release, objs manifests, extraArgs ...string) *server {
	t.Helper()
	var d appsv1.Deployment
	mustDecode(t, objs.ofKind("Deployment")[0], &d)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	mounts := cp.projectVolumes(t, r.namespace, spec, c)
	wo := cp.env.WebhookInstallOptions
	webhookPort, healthPort, metricsPort := freePort(t), freePort(t), freePort(t)
	moved := map[string]string{
		"--port":                      fmt.Sprint(webhookPort),
		"--health-probe-bind-address": fmt.Sprintf("127.0.0.1:%d", healthPort),
		"--metrics-bind-address":      fmt.Sprintf("127.0.0.1:%d", metricsPort),
	}
	args := make([]string, 0, len(c.Args)+2)
	for _, a := range c.Args {
		flag, _, _ := strings.Cut(a, "=")
		if v, ok := moved[flag]; ok {
			a = flag + "=" + v
			delete(moved, flag)
		}
		for mountPath, dir := range mounts {
			a = strings.Replace(a, "="+mountPath, "="+dir, 1)
		}
		args = append(args, a)
	}
	if len(moved) > 0 {
		t.Fatalf("the Deployment's args %q lack %v", c.Args, moved)
	}
	args = append(args, "--host="+wo.LocalServingHost, "--kubeconfig="+cp.kubeconfigFor(t, r.namespace, spec.ServiceAccountName))
	args = append(args, extraArgs...)
	s := &server{
		log:     &cluster.SyncBuffer{},
		health:  fmt.Sprintf("http://127.0.0.1:%d", healthPort),
		metrics: fmt.Sprintf("https://127.0.0.1:%d/metrics", metricsPort),
		webhook: "https://" + net.JoinHostPort(wo.LocalServingHost, fmt.Sprint(webhookPort)),
		user:    "system:serviceaccount:" + r.namespace + ":" + spec.ServiceAccountName,
	}
	s.cmd = exec.Command(bin, args...)
	// client-go's informers start with a streaming watch (WatchListClient) where the API
	// server offers it, and with a list where it does not (older or configured clusters): the
	// chart grants both. This switches serve to list-then-watch, so that the audit log shows
	// every verb a cluster may require (the streaming path needs watch alone).
	s.cmd.Env = append(os.Environ(), "KUBE_FEATURE_WatchListClient=false")
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			v = map[string]string{"metadata.namespace": r.namespace, "spec.serviceAccountName": spec.ServiceAccountName}[e.ValueFrom.FieldRef.FieldPath]
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			// In bytes, as the kubelet writes it (divisor 1).
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				v = fmt.Sprint(q.Value())
			}
		}
		if v == "" {
			t.Fatalf("env %s: cannot resolve %+v", e.Name, e.ValueFrom)
		}
		s.cmd.Env = append(s.cmd.Env, e.Name+"="+v)
	}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	// The kubelet's probes, on the rendered paths.
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		url := s.health + p.HTTPGet.Path
		if err := cluster.Poll(t.Context(), time.Minute, func() error { return get(http.DefaultClient, url, "", http.StatusOK) }); err != nil {
			t.Fatalf("%s of %s: %v\n--- log ---\n%s", url, r.name, err, s.log.String())
		}
	}
	return s
}

// stop interrupts serve, as the kubelet does, and waits for it.
func (s *server) stop() {
	if s.cmd.ProcessState != nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// metricIs checks that the metrics at url (read with the bearer token) have sample (name and
// labels) with the value.
func metricIs(c *http.Client, url, token, sample, value string) error {
	_, status, body, err := fetch(c, url, token)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if got, ok := strings.CutPrefix(line, sample+" "); ok {
			if got != value {
				return fmt.Errorf("%s is %s, want %s", sample, got, value)
			}
			return nil
		}
	}
	return fmt.Errorf("no sample %s (status %s)", sample, status)
}

// get fetches url with an optional bearer token and checks the status.
func get(c *http.Client, url, token string, status int) error {
	code, got, body, err := fetch(c, url, token)
	if err != nil {
		return err
	}
	if code != status {
		return fmt.Errorf("GET %s: %s, want %d: %.200s", url, got, status, body)
	}
	return nil
}

// fetch GETs url, with a bearer token unless it is empty, and returns the status (code and
// text) and the body.
func fetch(c *http.Client, url, token string) (code int, status string, body []byte, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Status, body, err
}

// useLocalWebhook points the release's webhook configurations at the local server: the API
// server cannot reach a Service here. A non-nil ca is set as the caBundle, as cert-manager's
// CA injector would set it; with nil the caBundle is left to serve --self-signed-certs,
// which may be patching it at the same moment (hence the retry on conflict).
func (cp *controlPlane) useLocalWebhook(t *testing.T, name string, s *server, ca []byte) {
	t.Helper()
	for _, res := range []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} {
		client := cp.dyn.Resource(admissionregistrationv1.SchemeGroupVersion.WithResource(res))
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cfg, err := client.Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			hooks, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
			for _, h := range hooks {
				h := h.(map[string]any)
				path, _, _ := unstructured.NestedString(h, "clientConfig", "service", "path")
				bundle, _, _ := unstructured.NestedString(h, "clientConfig", "caBundle")
				if ca != nil {
					bundle = base64.StdEncoding.EncodeToString(ca)
				}
				h["clientConfig"] = map[string]any{"url": s.webhook + path, "caBundle": bundle}
			}
			if err := unstructured.SetNestedSlice(cfg.Object, hooks, "webhooks"); err != nil {
				return err
			}
			_, err = client.Update(t.Context(), cfg, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("%s %s: %v", res, name, err)
		}
	}
}

// wantCABundle checks that every webhook of both configurations, and of the guard's, carries ca.
func (cp *controlPlane) wantCABundle(t *testing.T, name string, ca []byte) {
	t.Helper()
	m, err := cp.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := cp.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bundles := map[string][]byte{}
	for _, h := range m.Webhooks {
		bundles["mutating webhook "+h.Name] = h.ClientConfig.CABundle
	}
	g, err := cp.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(t.Context(), webhook.AKOGuardName(name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range append(v.Webhooks, g.Webhooks...) {
		bundles["validating webhook "+h.Name] = h.ClientConfig.CABundle
	}
	for hook, bundle := range bundles {
		if string(bundle) != string(ca) {
			t.Errorf("%s: the caBundle is not the Secret's CA", hook)
		}
	}
}

// create creates objects as the admin, through the webhooks.
func (cp *controlPlane) create(t *testing.T, manifest string) {
	t.Helper()
	if out, stderr, code := cp.kubectlAs(cp.admin, manifest, "apply", "-f", "-"); code != 0 {
		t.Fatalf("kubectl apply: exit %d\n%s%s", code, out, stderr)
	}
}

// waitFor polls f for up to a minute.
func waitFor(t *testing.T, what string, f func() error, logs ...*server) {
	t.Helper()
	if err := cluster.Poll(t.Context(), time.Minute, f); err != nil {
		var b strings.Builder
		for _, s := range logs {
			fmt.Fprintf(&b, "\n--- %s ---\n%s", s.user, s.log.String())
		}
		t.Fatalf("%s: %v%s", what, err, b.String())
	}
}

// eventSeries waits until an Event of reason about the named object repeated: the first
// occurrence is created, the next ones patch its series.
func (cp *controlPlane) eventSeries(t *testing.T, namespace, name, reason string, logs ...*server) {
	t.Helper()
	waitFor(t, "repeated "+reason+" Event on "+namespace+"/"+name, func() error {
		evs, err := cp.kube.EventsV1().Events(namespace).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Regarding.Name == name && e.Reason == reason && e.Series != nil && e.Series.Count >= 2 {
				return nil
			}
			seen = append(seen, e.Regarding.Name+"/"+e.Reason)
		}
		return fmt.Errorf("events %v", seen)
	}, logs...)
}

const (
	// brokenPolicy does not compile; sctpguard refuses the set and reports it on the ConfigMap.
	brokenPolicy = `apiVersion: v1
kind: ConfigMap
metadata: {name: broken, namespace: %[1]s, labels: {sctpguard.io/policy: "true"}}
data: {broken.rego: "package broken\ndeny contains msg if {"}
`
	// anotherPolicy triggers a reload, which refuses broken again: the same Event repeats.
	anotherPolicy = `apiVersion: v1
kind: ConfigMap
metadata: {name: another, namespace: %[1]s, labels: {sctpguard.io/policy: "true"}}
data: {another.rego: "package another\n"}
`
	// audited is an SCTP LoadBalancer Service of AKO's class: admitted in ClusterIP mode, a
	// violation of sctp-nodeportlocal in NodePortLocal mode (its owner label satisfies
	// withTranslator's policy: no other finding keeps its report).
	audited = `apiVersion: v1
kind: Service
metadata: {name: s1ap, namespace: ran, labels: {owner: ran-team}}
spec:
  type: LoadBalancer
  selector: {app: mme}
  ports: [{name: s1ap, port: 36412, protocol: SCTP, targetPort: 36412}]
`
	// translated are an SCTP LoadBalancer Service and a Gateway with its backend, of sctpguard's
	// class (the translator's default leaves AKO's class to AKO), the backend carrying
	// an AKO annotation that has no effect on a Gateway backend: a warning Event at each sync.
	translated = `apiVersion: v1
kind: Service
metadata:
  name: diameter
  namespace: telco
spec:
  type: LoadBalancer
  loadBalancerClass: sctpguard.io/avi-sctp
  selector: {app: diameter}
  ports: [{name: diameter, port: 3868, protocol: SCTP, targetPort: 3868}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: diameter-1
  namespace: telco
  labels: {kubernetes.io/service-name: diameter}
addressType: IPv4
ports: [{name: diameter, protocol: SCTP, port: 3868}]
endpoints: [{addresses: [10.244.1.5], conditions: {ready: true}}]
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata: {name: sctpguard}
spec: {controller: sctpguard.io/avi-sctp}
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: Gateway
metadata: {name: ran, namespace: telco}
spec:
  gatewayClassName: sctpguard
  listeners:
  - port: 38412
    protocol: SCTP
    routes:
      group: v1
      kind: services
      selector: {matchLabels: {ako.vmware.com/gateway-name: ran, ako.vmware.com/gateway-namespace: telco}}
---
apiVersion: v1
kind: Service
metadata:
  name: amf
  namespace: telco
  labels: {ako.vmware.com/gateway-name: ran, ako.vmware.com/gateway-namespace: telco}
  annotations: {aviinfrasetting.ako.vmware.com/name: telco-infra}
spec:
  selector: {app: amf}
  ports: [{name: ngap, port: 38412, protocol: SCTP, targetPort: 38412}]
`
)

// TestInstall installs the chart on a real kube-apiserver with cert-manager's CRDs and checks
// that every rendered object is accepted by server-side apply; runs sctpguard serve from the
// rendered Deployment as the chart's service account, exercises every code path that calls
// the API (webhooks, AKO's ConfigMap, user policies and their Events, the translator syncing
// to avisim with status and Events, leader election, secure metrics), runs the helm test's
// selftest as the test's service account, and compares the API requests in the audit log
// with the RBAC the chart grants, both ways.
func TestInstall(t *testing.T) {
	assets, bin := os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("SCTPGUARD_BIN")
	if assets == "" || bin == "" {
		t.Skip("KUBEBUILDER_ASSETS and SCTPGUARD_BIN are not set: this test needs the test control plane and the binary; run make test-chart")
	}
	helmBin(t)
	start := time.Now()
	cp := startControlPlane(t, assets)
	t.Logf("control plane up in %s", time.Since(start).Round(time.Millisecond))

	for _, ns := range []string{"sctpguard", "sg-webhook", "sg-self", "avi-system", "telco", "ran", "monitoring", "opted-out"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if ns == "opted-out" {
			n.Labels = map[string]string{"sctpguard.io/ignore": "true"}
		}
		if _, err := cp.kube.CoreV1().Namespaces().Create(t.Context(), n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// What the chart expects to exist: the Avi credentials Secret (created by the user), the
	// serving certificate's Secret (by cert-manager, here from envtest's certificate), AKO's
	// ConfigMap (by AKO), pointing at avisim.
	avi := avisim.New(avisim.Options{})
	aviServer, err := avi.ListenTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aviServer.Close)
	wo := cp.env.WebhookInstallOptions
	crt, err := os.ReadFile(filepath.Join(wo.LocalServingCertDir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(wo.LocalServingCertDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "avi-credentials", Namespace: "sctpguard"},
			Data: map[string][]byte{"username": []byte("admin"), "password": []byte("admin"), "certificateAuthorityData": avisim.CertPEM(aviServer)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "sctpguard-webhook-tls", Namespace: "sctpguard"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": wo.LocalServingCAData}},
		{ObjectMeta: metav1.ObjectMeta{Name: "sg-webhook-sctpguard-webhook-tls", Namespace: "sg-webhook"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": wo.LocalServingCAData}},
	} {
		if _, err := cp.kube.CoreV1().Secrets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cp.kube.CoreV1().ConfigMaps("avi-system").Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "avi-k8s-config", Namespace: "avi-system"},
		Data: map[string]string{"serviceType": "ClusterIP", "servicesAPI": "true", "defaultLBController": "true",
			"clusterName": "chart", "cniPlugin": "antrea", "controllerIP": aviServer.Listener.Addr().String()},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Every release, as rendered, through server-side apply.
	objs := map[string]manifests{}
	for _, r := range []release{withTranslator, webhookOnly, selfManaged} {
		objs[r.name] = cp.apply(t, r)
	}
	// The webhooks of withTranslator and selfManaged are called here (pointed at local
	// servers below); webhookOnly's would be a copy of withTranslator's.
	for _, r := range []release{webhookOnly} {
		name := objs[r.name].ofKind("MutatingWebhookConfiguration")[0].GetName()
		if err := cp.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The validating configuration and the guard's on AKO's ConfigMap.
		for _, v := range objs[r.name].ofKind("ValidatingWebhookConfiguration") {
			if err := cp.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(t.Context(), v.GetName(), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("applied in %s", time.Since(start).Round(time.Millisecond))

	// Without cert-manager the chart grants exactly the same plus selfManagedOnly.
	want := append(grants(t, objs[webhookOnly.name], "sg-webhook", "sg-webhook-sctpguard"), selfManagedOnly...)
	for i := range want {
		if want[i].Namespace == "sg-webhook" {
			want[i].Namespace = "sg-self"
		}
	}
	got := grants(t, objs[selfManaged.name], "sg-self", "sg-self-sctpguard")
	sortGrants(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants without cert-manager (-with cert-manager plus selfManagedOnly +got):\n%s", diff)
	}

	// The helm test before the webhook answers: it fails, saying why.
	testPod := objs[withTranslator.name].get(t, "Pod", "sctpguard-test")
	var pod corev1.Pod
	mustDecode(t, testPod, &pod)
	testKubeconfig := cp.kubeconfigFor(t, "sctpguard", pod.Spec.ServiceAccountName)
	out, stderr, code := run(repo, nil, "", bin, append(pod.Spec.Containers[0].Args, "--timeout=2s", "--kubeconfig="+testKubeconfig)...)
	if want := "FAIL: no denial from sctpguard within 2s: dry run of the known-bad Service: Internal error occurred: failed calling webhook"; code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("selftest without a reachable webhook: exit %d, %q %q; want exit 1 and %q...", code, out, stderr, want)
	}

	// Without cert-manager, serve finds an unusable certificate Secret (left by a failed
	// install, say) and replaces it.
	certSecret := "sg-self-sctpguard-webhook-tls"
	if _, err := cp.kube.CoreV1().Secrets("sg-self").Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: certSecret, Namespace: "sg-self"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{"ca.crt": []byte("not a CA"), "ca.key": []byte("not a key"),
			"tls.crt": []byte("not a certificate"), "tls.key": []byte("not a key")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	full := cp.startServe(t, bin, withTranslator, objs[withTranslator.name])
	webhooks := cp.startServe(t, bin, webhookOnly, objs[webhookOnly.name])
	// The certificate must name the address the API server calls here.
	self := cp.startServe(t, bin, selfManaged, objs[selfManaged.name], "--cert-extra-sans="+cp.env.WebhookInstallOptions.LocalServingHost)
	// Deferred, so that a step that fails (for want of a grant, say) still gets the audit's
	// account of what was refused.
	defer cp.checkRBAC(t, objs, full, webhooks, self)
	cp.useLocalWebhook(t, "sctpguard", full, cp.env.WebhookInstallOptions.LocalServingCAData)
	cp.useLocalWebhook(t, "sg-self-sctpguard", self, nil)
	// Both sets of webhooks must answer for the dry run to be denied (a webhook that cannot
	// be called fails the request); selfManaged's only once the API server trusts its CA.
	waitFor(t, "the webhooks deny", func() error { _, err := selftest.Check(t.Context(), cp.kube, "default"); return err }, full, self)
	t.Logf("sctpguard serving in %s", time.Since(start).Round(time.Millisecond))

	// selfManaged: the caBundle of both configurations is the Secret's CA; when the Secret is
	// deleted, it comes back with the same certificates.
	secret, err := cp.kube.CoreV1().Secrets("sg-self").Get(t.Context(), certSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(secret.Data["ca.crt"]), "BEGIN CERTIFICATE") {
		t.Fatalf("Secret %s holds no CA: keys %v", certSecret, slices.Sorted(maps.Keys(secret.Data)))
	}
	if !strings.Contains(self.log.String(), "the certificate Secret held an unusable certificate; replaced it") {
		t.Errorf("serve did not report replacing the unusable Secret:\n%s", self.log.String())
	}
	cp.wantCABundle(t, "sg-self-sctpguard", secret.Data["ca.crt"])
	if err := cp.kube.CoreV1().Secrets("sg-self").Delete(t.Context(), certSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the certificate Secret written again", func() error {
		again, err := cp.kube.CoreV1().Secrets("sg-self").Get(t.Context(), certSecret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, k := range []string{"ca.crt", "tls.crt"} {
			if string(again.Data[k]) != string(secret.Data[k]) {
				return fmt.Errorf("%s differs from the one in force", k)
			}
		}
		return nil
	}, self)
	if _, err := selftest.Check(t.Context(), cp.kube, "default"); err != nil {
		t.Errorf("after the certificate Secret was written again: %v", err)
	}

	// The helm test: the rendered Pod's command as the test's service account.
	out, stderr, code = run(repo, nil, "", bin, append(pod.Spec.Containers[0].Args, "--kubeconfig="+testKubeconfig)...)
	if want := `ok: sctpguard denied the known-bad Service default/sctpguard-selftest: admission webhook "services.validate.sctpguard.io" denied the request: [sctp-npl-annotation] `; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("helm test's selftest: exit %d, %q %q; want %q...", code, out, stderr, want)
	}
	// In an opted-out namespace nothing judges the Service, and the selftest says so.
	out, stderr, code = run(repo, nil, "", bin, "selftest", "--namespace=opted-out", "--timeout=1s", "--kubeconfig="+cp.admin)
	if want := "FAIL: no denial from sctpguard within 1s: " + selftest.ErrAdmitted.Error() + "\n"; code != 1 || stderr != want {
		t.Errorf("selftest in an opted-out namespace: exit %d, %q %q; want exit 1 and %q", code, out, stderr, want)
	}

	// The translator syncs a Service and a Gateway to avisim and writes their status; a
	// change of the EndpointSlice syncs again and repeats the warning Event (a patch).
	cp.create(t, translated)
	waitFor(t, "Service status", func() error {
		svc, err := cp.kube.CoreV1().Services("telco").Get(t.Context(), "diameter", metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := []corev1.LoadBalancerIngress{{IP: avi.VIP("admin", "sctpguard.chart--telco-diameter"), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
		if diff := cmp.Diff(want, svc.Status.LoadBalancer.Ingress); want[0].IP == "" || diff != "" {
			return fmt.Errorf("ingress (-want +got):\n%s", diff)
		}
		return nil
	}, full)
	gwRes := schema.GroupVersionResource{Group: "networking.x-k8s.io", Version: "v1alpha1", Resource: "gateways"}
	waitFor(t, "Gateway status", func() error {
		gw, err := cp.dyn.Resource(gwRes).Namespace("telco").Get(t.Context(), "ran", metav1.GetOptions{})
		if err != nil {
			return err
		}
		addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
		want := []any{map[string]any{"type": "IPAddress", "value": avi.VIP("admin", "sctpguard.chart--telco-ran")}}
		if diff := cmp.Diff(want, addrs); diff != "" {
			return fmt.Errorf("addresses (-want +got):\n%s", diff)
		}
		return nil
	}, full)
	cp.create(t, strings.Replace(translated, "targetPort: 38412", "targetPort: 38413", 1))
	cp.eventSeries(t, "telco", "amf", "UnsupportedAnnotation", full)

	// User policies: a set that does not load is reported on its ConfigMap, again at the
	// next reload.
	for _, s := range []*server{full, webhooks, self} {
		ns := strings.Split(s.user, ":")[2]
		cp.create(t, fmt.Sprintf(brokenPolicy, ns))
		waitFor(t, "PolicyRefused in "+ns, func() error {
			evs, err := cp.kube.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "reason=PolicyRefused"})
			if err != nil {
				return err
			}
			if len(evs.Items) == 0 {
				return fmt.Errorf("no PolicyRefused Event yet")
			}
			return nil
		}, s)
		cp.create(t, fmt.Sprintf(anotherPolicy, ns))
		cp.eventSeries(t, ns, "broken", "PolicyRefused", s)
	}

	// Secure metrics: the chart's metrics-reader ClusterRole lets a scraper in; others get 403.
	for _, sa := range []string{"prometheus", "nobody"} {
		if _, err := cp.kube.CoreV1().ServiceAccounts("monitoring").Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // controller-runtime's self-signed metrics certificate
	for _, r := range []release{withTranslator, webhookOnly, selfManaged} {
		reader := objs[r.name].ofKind("ClusterRole")
		var readerName string
		for _, o := range reader {
			if strings.HasSuffix(o.GetName(), "-metrics-reader") {
				readerName = o.GetName()
			}
		}
		if _, err := cp.kube.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: readerName + "-prometheus"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: readerName},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(name string) string {
		tr, err := cp.kube.CoreV1().ServiceAccounts("monitoring").CreateToken(t.Context(), name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	prometheus, nobody := token("prometheus"), token("nobody")
	for _, s := range []*server{full, webhooks, self} {
		waitFor(t, "metrics for prometheus", func() error { return get(insecure, s.metrics, prometheus, http.StatusOK) }, s)
		waitFor(t, "no metrics for nobody", func() error { return get(insecure, s.metrics, nobody, http.StatusForbidden) }, s)
	}

	// The audit of each release: AKO switched to NodePortLocal turns the stored SCTP Service
	// into a result of ran's PolicyReport (applied), a PolicyViolation Event (created);
	// switched back, the report goes (deleted); switched again, the Event repeats (patched).
	// Each release audits on its own: one Event per release, each a series of two.
	// A refused policy set pauses the audit (its picture would be wrong): remove it first.
	for _, ns := range []string{"sctpguard", "sg-webhook", "sg-self"} {
		if err := cp.kube.CoreV1().ConfigMaps(ns).Delete(t.Context(), "broken", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The seed MachineConfig loads the sctp module: no sctp-openshift-module warnings (this
	// control plane serves MachineConfigs), so ran's report empties when the violation ends.
	if out, stderr, code := cp.kubectlAs(cp.admin, "", "apply", "-f", filepath.Join(repo, "examples", "seeds", "okd-load-sctp-module.yaml")); code != 0 {
		t.Fatalf("apply the seed MachineConfig: %s%s", out, stderr)
	}
	cp.create(t, audited)
	setMode := func(mode string) {
		t.Helper()
		cm, err := cp.kube.CoreV1().ConfigMaps("avi-system").Get(t.Context(), "avi-k8s-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["serviceType"] = mode
		if _, err := cp.kube.CoreV1().ConfigMaps("avi-system").Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	reportRes := schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
	report := func(want bool) func() error {
		return func() error {
			r, err := cp.dyn.Resource(reportRes).Namespace("ran").Get(t.Context(), "sctpguard", metav1.GetOptions{})
			switch {
			case want && err != nil:
				return err
			case !want && err == nil:
				return fmt.Errorf("report still there: %v", r.Object["results"])
			case !want && !apierrors.IsNotFound(err):
				return err
			}
			return nil
		}
	}
	violations := func(count int32) func() error {
		return func() error {
			evs, err := cp.kube.EventsV1().Events("ran").List(t.Context(), metav1.ListOptions{FieldSelector: "reason=PolicyViolation"})
			if err != nil {
				return err
			}
			var got []int32
			for _, e := range evs.Items {
				if e.Regarding.Name == "s1ap" {
					n := int32(1)
					if e.Series != nil {
						n = e.Series.Count
					}
					got = append(got, n)
				}
			}
			if want := []int32{count, count, count}; !slices.Equal(got, want) {
				return fmt.Errorf("PolicyViolation Events on ran/s1ap: occurrences %v, want %v", got, want)
			}
			return nil
		}
	}
	setMode("NodePortLocal")
	waitFor(t, "ran's PolicyReport", report(true), full, webhooks, self)
	waitFor(t, "a PolicyViolation Event from each release", violations(1), full, webhooks, self)
	setMode("ClusterIP")
	waitFor(t, "ran's PolicyReport deleted", report(false), full, webhooks, self)
	// Each release's audit has followed the switch: its gauge of the rule is down to 0.
	for _, s := range []*server{full, webhooks, self} {
		waitFor(t, "the audit of "+s.user+" under ClusterIP", func() error {
			return metricIs(insecure, s.metrics, prometheus, `sctpguard_audit_violations{action="deny",rule="sctp-nodeportlocal"}`, "0")
		}, s)
	}
	setMode("NodePortLocal")
	waitFor(t, "the PolicyViolation Events repeated", violations(2), full, webhooks, self)
	waitFor(t, "ran's PolicyReport again", report(true), full, webhooks, self)

	// Leader election: the translator's replica holds the Lease, and hands it over on stop.
	waitFor(t, "the Lease", func() error {
		l, err := cp.kube.CoordinationV1().Leases("sctpguard").Get(t.Context(), "sctpguard-translator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ptr.Deref(l.Spec.HolderIdentity, "") == "" {
			return fmt.Errorf("lease %+v has no holder", l.Spec)
		}
		return nil
	}, full)
	full.stop()
	waitFor(t, "the Lease released", func() error {
		l, err := cp.kube.CoordinationV1().Leases("sctpguard").Get(t.Context(), "sctpguard-translator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != "" {
			return fmt.Errorf("lease still held by %s", h)
		}
		return nil
	})

	t.Logf("exercised in %s", time.Since(start).Round(time.Millisecond))
}

// checkRBAC stops the servers and compares, for each service account, the requests in the
// audit log with what the chart grants it: none refused, every grant used, no cluster-wide
// grant that a Role would replace.
func (cp *controlPlane) checkRBAC(t *testing.T, objs map[string]manifests, full, webhooks, self *server) {
	// What each service account asked for, against what the chart grants it.
	full.stop()
	webhooks.stop()
	self.stop()
	requests, err := readAudit(cp.auditLog)
	if err != nil {
		t.Error(err)
		return
	}
	for _, c := range []struct {
		r          release
		sa         string
		logs       *server
		namespaces []string
	}{
		{withTranslator, "sctpguard", full, []string{"sctpguard", "avi-system"}},
		{webhookOnly, "sg-webhook-sctpguard", webhooks, []string{"sg-webhook", "avi-system"}},
		{selfManaged, "sg-self-sctpguard", self, []string{"sg-self", "avi-system"}},
		{withTranslator, "sctpguard-test", nil, []string{"sctpguard", "default"}},
	} {
		user := "system:serviceaccount:" + c.r.namespace + ":" + c.sa
		gs := grants(t, objs[c.r.name], c.r.namespace, c.sa)
		reqs := requests[user]
		if len(gs) == 0 || len(reqs) == 0 {
			t.Errorf("%s: %d grants, %d requests in the audit log", user, len(gs), len(reqs))
		}
		f := compareRBAC(gs, reqs, c.namespaces)
		if diff := cmp.Diff(rbacFindings{}, f); diff != "" {
			log := ""
			if c.logs != nil {
				log = c.logs.log.String()
			}
			t.Errorf("%s: RBAC against the audit log (-want +got):\n%s\n--- serve log ---\n%s", user, diff, log)
		}
		t.Logf("%s: granted and used:\n  %s", user, strings.Join(usedTable(gs, reqs), "\n  "))
	}
}

// usedTable lists each grant with the namespaces and names it was used for.
func usedTable(gs []grant, reqs []request) []string {
	var out []string
	for _, g := range gs {
		seen := map[string]bool{}
		var where []string
		for _, r := range reqs {
			if !g.usedBy(r) || (g.Namespace != "" && r.Namespace != g.Namespace) {
				continue
			}
			w := r.Namespace
			if w == "" {
				w = "*"
			}
			if r.Name != "" {
				w += "/" + r.Name
			}
			if !seen[w] {
				seen[w] = true
				where = append(where, w)
			}
		}
		out = append(out, fmt.Sprintf("%-70s used in %s", g, strings.Join(where, " ")))
	}
	return out
}

func sortGrants(gs []grant) {
	slices.SortFunc(gs, func(a, b grant) int { return strings.Compare(a.String(), b.String()) })
}
