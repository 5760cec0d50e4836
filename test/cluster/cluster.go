// Package cluster runs sctpguard against a real control plane for the end-to-end tests and
// `make demo`: kube-apiserver and etcd (built from source, driven by controller-runtime's
// envtest), the sctpguard binary serving its webhooks over TLS, and the real kubectl.
package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/webhook"
)

// Options say what to start.
type Options struct {
	// Repo is the repository root (CRDs, examples).
	Repo string
	// Assets holds kube-apiserver, etcd and kubectl (KUBEBUILDER_ASSETS).
	Assets string
	// Sctpguard is the sctpguard binary.
	Sctpguard string
	// Namespaces are created, each with a default service account.
	Namespaces []string
	// Dir keeps the kubeconfig; a temporary directory when empty.
	Dir string
	// Log receives sctpguard's output.
	Log io.Writer
	// ServeArgs are more flags for sctpguard serve (the translator's, for example).
	ServeArgs []string
	// SelfSigned runs sctpguard serve --self-signed-certs: sctpguard issues its own
	// certificates (naming 127.0.0.1, the webhook URL's host) into the Secret CertSecret of
	// the sctpguard namespace, which must be among Namespaces, and the webhook configurations
	// are installed with an empty caBundle for it to patch.
	SelfSigned bool
	// Replicas is how many sctpguard serve processes run (1 when 0). With more than one, the
	// mutating webhooks call the first and the validating webhooks the last, so that every
	// admission goes through two replicas.
	Replicas int
	// ServeUser, when set, is the user sctpguard authenticates as (without groups) instead
	// of an administrator; Objects (its RBAC, say) are created before sctpguard starts.
	ServeUser string
	Objects   []client.Object
	// NoReplicas starts the control plane only: the test starts replicas (StartReplica) and
	// points the webhook configurations at them (InstallWebhooks) itself.
	NoReplicas bool
	// LateCRDs leaves Gateway API's and AKO's CRDs out, for a test that installs them while
	// sctpguard runs (InstallLateCRDs).
	LateCRDs bool
	// OptOutLabel, when set, is the label that opts a namespace out, in the webhook
	// configurations and sctpguard's flags alike, as the chart's webhook.optOutLabel sets it.
	OptOutLabel string
}

// CertSecret is the Secret of the sctpguard namespace that holds the certificates in
// SelfSigned mode (sctpguard's default).
const CertSecret = webhook.DefaultCertSecret

// Replica is one sctpguard serve process.
type Replica struct {
	// WebhookURL is https://host:port of its webhook server; HealthURL and MetricsURL its
	// probe and metrics endpoints.
	WebhookURL string
	HealthURL  string
	MetricsURL string

	cmd *exec.Cmd
}

// Cluster is a running control plane with sctpguard's webhooks installed.
type Cluster struct {
	Client     client.Client
	Kubeconfig string
	// WebhookURL is https://host:port of sctpguard's webhook server, trusted by CAPool (in
	// SelfSigned mode, the CA sctpguard had issued when it started).
	WebhookURL string
	CAPool     *x509.CertPool
	// HealthURL and MetricsURL are sctpguard's probe and metrics endpoints.
	HealthURL  string
	MetricsURL string
	// Replicas are the sctpguard processes; the URLs above are the first one's.
	Replicas []*Replica

	env        *envtest.Environment
	cfg        *rest.Config
	kubectl    string
	repo       string
	tempDir    string
	bin        string
	kubeconfig string   // what sctpguard authenticates with
	lateCRDs   []string // Gateway API's and AKO's CRDs
	// optOutLabel is Options.OptOutLabel.
	optOutLabel string
}

// Start starts the control plane and sctpguard, and installs the webhook configurations.
// On error, what was started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	c := &Cluster{kubectl: filepath.Join(o.Assets, "kubectl"), repo: o.Repo, optOutLabel: o.OptOutLabel}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if _, err := os.Stat(o.Sctpguard); err != nil {
		return nil, fmt.Errorf("sctpguard binary: %w (run make build)", err)
	}
	gatewayAPI, err := moduleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	c.bin = o.Sctpguard
	akoCRDs, err := filepath.Glob(filepath.Join(o.Repo, "charts", "sctpguard", "crds", "ako.vmware.com_*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("AKO's CRDs in the chart: %w", err)
	}
	if len(akoCRDs) == 0 {
		return nil, fmt.Errorf("AKO's CRDs in the chart: none in %s", filepath.Join(o.Repo, "charts", "sctpguard", "crds"))
	}
	c.lateCRDs = append([]string{filepath.Join(gatewayAPI, "config", "crd", "standard")}, akoCRDs...)
	crds, err := filepath.Glob(filepath.Join(o.Repo, "charts", "sctpguard", "crds", "*.yaml"))
	if err != nil {
		return nil, err
	}
	crds = slices.DeleteFunc(crds, func(f string) bool { return slices.Contains(akoCRDs, f) })
	// The PolicyReport CRDs, which the chart installs when the cluster lacks them (audit.installCRDs).
	crds = append(crds, filepath.Join(o.Repo, "test", "e2e", "testdata", "crds"), filepath.Join(o.Repo, "charts", "sctpguard", "files", "crds"))
	if !o.LateCRDs {
		crds = append(crds, c.lateCRDs...)
	}
	c.env = &envtest.Environment{BinaryAssetsDirectory: o.Assets, CRDDirectoryPaths: crds, ErrorIfCRDPathMissing: true}
	cfg, err := c.env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	c.cfg = cfg
	if c.Client, err = client.New(cfg, client.Options{Scheme: policy.Scheme()}); err != nil {
		return nil, err
	}
	dir := o.Dir
	if dir == "" {
		if c.tempDir, err = os.MkdirTemp("", "sctpguard-cluster"); err != nil {
			return nil, err
		}
		dir = c.tempDir
	}
	admin, err := c.env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	for _, ns := range o.Namespaces {
		if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	// No controller-manager runs: create the service accounts pods need.
	for _, ns := range append([]string{"default"}, o.Namespaces...) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
		if err := c.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	for _, obj := range o.Objects {
		if err := c.Client.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
		}
	}
	kubeconfig := c.Kubeconfig
	if o.ServeUser != "" {
		user, err := c.env.ControlPlane.AddUser(envtest.User{Name: o.ServeUser}, nil)
		if err != nil {
			return nil, err
		}
		kc, err := user.KubeConfig()
		if err != nil {
			return nil, err
		}
		kubeconfig = filepath.Join(dir, "sctpguard.kubeconfig")
		if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
			return nil, err
		}
	}
	c.kubeconfig = kubeconfig
	if o.NoReplicas {
		return c, nil
	}
	if err := c.startSctpguard(ctx, o, kubeconfig); err != nil {
		return nil, err
	}
	if err := c.installWebhooks(ctx, o.SelfSigned); err != nil {
		return c, err
	}
	// The control plane serves OpenShift's MachineConfig kind (test/e2e/testdata/crds), so
	// that the OpenShift code paths run, and sctpguard takes it for OpenShift: give it the
	// seed MachineConfig that loads the sctp module, as on OpenShift, so that no module
	// warning joins the webhook's answers unless a test removes it.
	if _, stderr, code := c.Kubectl("", "apply", "-f", SCTPModuleMachineConfig); code != 0 {
		return c, fmt.Errorf("apply the seed MachineConfig: %s", stderr)
	}
	return c, nil
}

// SCTPModuleMachineConfig is the seed MachineConfig that loads the sctp kernel module,
// relative to the repository; Start applies it.
const SCTPModuleMachineConfig = "examples/seeds/okd-load-sctp-module.yaml"

// startSctpguard runs the sctpguard serve replicas: with envtest's serving certificate on
// its serving address, or in SelfSigned mode on free ports with certificates of their own.
func (c *Cluster) startSctpguard(ctx context.Context, o Options, kubeconfig string) error {
	wo := c.env.WebhookInstallOptions
	c.CAPool = x509.NewCertPool()
	c.CAPool.AppendCertsFromPEM(wo.LocalServingCAData)
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	for i := range max(o.Replicas, 1) {
		r := &Replica{}
		// No drain delay: a test replica leaves no endpoints (the rolling restart test asks for one).
		args := append([]string{"serve", "--kubeconfig", kubeconfig, "--service-account", "sctpguard/sctpguard", "--shutdown-delay=0s"}, c.serveArgs()...)
		if o.SelfSigned {
			addr := freeAddr()
			host, port, _ := net.SplitHostPort(addr)
			r.WebhookURL = "https://" + addr
			args = append(args, "--host", host, "--port", port, "--self-signed-certs", "--cert-extra-sans", host)
		} else {
			// envtest's serving certificate names its host: replicas after the first take
			// free ports of that host.
			port := fmt.Sprint(wo.LocalServingPort)
			if i > 0 {
				_, port, _ = net.SplitHostPort(freeAddr())
			}
			r.WebhookURL = "https://" + net.JoinHostPort(wo.LocalServingHost, port)
			args = append(args, "--host", wo.LocalServingHost, "--port", port, "--cert-dir", wo.LocalServingCertDir)
		}
		health, metrics := freeAddr(), freeAddr()
		r.HealthURL, r.MetricsURL = "http://"+health, "http://"+metrics
		args = append(args, "--health-probe-bind-address", health, "--metrics-bind-address", metrics, "--metrics-secure=false")
		r.cmd = exec.Command(o.Sctpguard, append(args, o.ServeArgs...)...)
		r.cmd.Stdout, r.cmd.Stderr = log, log
		if err := r.cmd.Start(); err != nil {
			return fmt.Errorf("start sctpguard: %w", err)
		}
		c.Replicas = append(c.Replicas, r)
	}
	c.WebhookURL, c.HealthURL, c.MetricsURL = c.Replicas[0].WebhookURL, c.Replicas[0].HealthURL, c.Replicas[0].MetricsURL
	for _, r := range c.Replicas {
		if err := Poll(ctx, time.Minute, func() error {
			resp, err := probeClient.Get(r.HealthURL + "/readyz")
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("readyz: %s", resp.Status)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("sctpguard at %s: %w", r.WebhookURL, err)
		}
	}
	if o.SelfSigned {
		secret := &corev1.Secret{}
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "sctpguard", Name: CertSecret}, secret); err != nil {
			return fmt.Errorf("read the certificates sctpguard issued: %w", err)
		}
		c.CAPool = x509.NewCertPool()
		c.CAPool.AppendCertsFromPEM(secret.Data["ca.crt"])
	}
	return nil
}

// installWebhooks installs sctpguard's own webhook configurations, pointed at the
// replicas: the mutating webhooks at the first, the validating ones at the last. In
// SelfSigned mode their caBundle is empty, as the chart installs them, for sctpguard to set.
func (c *Cluster) installWebhooks(ctx context.Context, selfSigned bool) error {
	ca := c.env.WebhookInstallOptions.LocalServingCAData
	if selfSigned {
		ca = nil
	}
	return c.InstallWebhooks(ctx, c.WebhookURL, c.Replicas[len(c.Replicas)-1].WebhookURL, ca)
}

// InstallWebhooks creates, or replaces, sctpguard's webhook configurations with the mutating
// webhooks calling mutateURL and the validating ones validateURL, trusting caBundle (the
// control plane's serving CA when nil and not in SelfSigned mode), and waits until the API
// server calls them.
func (c *Cluster) InstallWebhooks(ctx context.Context, mutateURL, validateURL string, caBundle []byte) error {
	opts := webhook.ConfigurationOptions{
		Name: "sctpguard", URL: mutateURL, CABundle: caBundle,
		ExcludeNamespaces: excludedNamespaces, OptOutLabel: c.optOutLabel, TimeoutSeconds: webhookTimeoutSeconds,
	}
	mutating, _ := webhook.Configurations(opts)
	opts.URL = validateURL
	_, validating := webhook.Configurations(opts)
	for _, obj := range []client.Object{mutating, validating} {
		err := c.Client.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			cur := obj.DeepCopyObject().(client.Object)
			if err = c.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur); err == nil {
				obj.SetResourceVersion(cur.GetResourceVersion())
				err = c.Client.Update(ctx, obj)
			}
		}
		if err != nil {
			return fmt.Errorf("install %T: %w", obj, err)
		}
	}
	// The API server picks configurations up asynchronously: wait until a denial comes back.
	return Poll(ctx, time.Minute, func() error {
		_, stderr, code := c.Kubectl(NPLProbe, "create", "--dry-run=server", "-f", "-")
		if code != 0 && strings.Contains(stderr, "[sctp-npl-annotation]") {
			return nil
		}
		return fmt.Errorf("webhook not active yet (exit %d): %s", code, stderr)
	})
}

// ServingCA is the CA of the serving certificate replicas started by StartReplica present.
func (c *Cluster) ServingCA() []byte { return c.env.WebhookInstallOptions.LocalServingCAData }

// RESTConfig returns a copy of the administrator's client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// InstallLateCRDs installs Gateway API's and AKO's CRDs (for a cluster started LateCRDs).
func (c *Cluster) InstallLateCRDs() error {
	_, err := envtest.InstallCRDs(c.cfg, envtest.CRDInstallOptions{Paths: c.lateCRDs, ErrorIfPathMissing: true})
	return err
}

// StartReplica starts one more sctpguard serve process on free ports, with the control
// plane's serving certificate (it names 127.0.0.1, so any port will do) and args added. It
// does not wait for it to be ready.
func (c *Cluster) StartReplica(log io.Writer, args ...string) (*Replica, error) {
	wo := c.env.WebhookInstallOptions
	addr, health, metrics := freeAddr(), freeAddr(), freeAddr()
	host, port, _ := net.SplitHostPort(addr)
	r := &Replica{WebhookURL: "https://" + addr, HealthURL: "http://" + health, MetricsURL: "http://" + metrics}
	all := append([]string{"serve", "--kubeconfig", c.kubeconfig, "--service-account", "sctpguard/sctpguard",
		"--host", host, "--port", port, "--cert-dir", wo.LocalServingCertDir,
		"--health-probe-bind-address", health, "--metrics-bind-address", metrics, "--metrics-secure=false"}, slices.Concat(c.serveArgs(), args)...)
	r.cmd = exec.Command(c.bin, all...)
	if log == nil {
		log = io.Discard
	}
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sctpguard: %w", err)
	}
	return r, nil
}

// webhookTimeoutSeconds is the webhook configurations' timeoutSeconds; the replicas' read
// and write timeouts are two thirds of it, as the chart sets them.
const webhookTimeoutSeconds = 5

// serveArgs are the flags of every replica that follow the webhook configurations: the
// read and write timeouts, and the namespaces they skip (excludedNamespaces, the opt-out
// label), as the chart passes them.
func (c *Cluster) serveArgs() []string {
	args := []string{
		fmt.Sprintf("--read-timeout=%dms", webhookTimeoutSeconds*2000/3), fmt.Sprintf("--write-timeout=%dms", webhookTimeoutSeconds*2000/3),
	}
	for _, ns := range excludedNamespaces {
		args = append(args, "--exclude-namespace="+ns)
	}
	if c.optOutLabel != "" {
		args = append(args, "--opt-out-label="+c.optOutLabel)
	}
	return args
}

// excludedNamespaces are the namespaces the webhook configurations exclude: sctpguard's own.
var excludedNamespaces = []string{"sctpguard"}

// probeClient gives up on a probe as the kubelet does: /readyz may wait on a check (the cache's
// sync) for as long as the request lasts.
var probeClient = &http.Client{Timeout: 5 * time.Second}

// Ready reports whether the replica's /readyz answers 200, with the body of /readyz?verbose.
func (r *Replica) Ready() (bool, string) {
	resp, err := probeClient.Get(r.HealthURL + "/readyz?verbose")
	if err != nil {
		return false, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, string(body)
}

// WaitReady waits until the replica is ready.
func (r *Replica) WaitReady(ctx context.Context) error {
	return Poll(ctx, time.Minute, func() error {
		if ok, body := r.Ready(); !ok {
			return fmt.Errorf("not ready: %s", body)
		}
		return nil
	})
}

// Stop sends SIGTERM, as the kubelet does, and waits for the process to end (killing it
// after a minute); it returns how it ended.
func (r *Replica) Stop() error {
	if r.cmd.Process == nil || r.cmd.ProcessState != nil {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = r.cmd.Process.Kill()
		return fmt.Errorf("sctpguard did not stop within a minute of SIGTERM: %w", <-done)
	}
}

// NPLProbe is a Service sctpguard denies whatever AKO's settings are (Antrea NodePortLocal
// on an SCTP port).
const NPLProbe = `apiVersion: v1
kind: Service
metadata:
  name: probe
  namespace: default
  annotations: {nodeportlocal.antrea.io/enabled: "true"}
spec:
  selector: {app: probe}
  ports: [{name: s, port: 5060, protocol: SCTP}]
`

// Stop stops sctpguard and the control plane.
func (c *Cluster) Stop() {
	for _, r := range c.Replicas {
		if r.cmd.Process == nil {
			continue
		}
		_ = r.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
		}
	}
	if c.env != nil {
		_ = c.env.Stop()
	}
	if c.tempDir != "" {
		_ = os.RemoveAll(c.tempDir)
	}
}

// Kubectl runs the real kubectl from the repository root, with stdin, and returns its
// standard output, standard error and exit code.
func (c *Cluster) Kubectl(stdin string, args ...string) (string, string, int) {
	cmd := exec.Command(c.kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Dir = c.repo
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

// KubectlCombined runs kubectl and returns what it printed on both streams, in the order it
// printed it, as a terminal shows it.
func (c *Cluster) KubectlCombined(args ...string) string {
	cmd := exec.Command(c.kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Dir = c.repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			out.WriteString(err.Error() + "\n")
		}
	}
	return out.String()
}

// SetAKO writes AKO's avi-k8s-config ConfigMap as AKO's chart would; nil deletes it.
func (c *Cluster) SetAKO(ctx context.Context, data map[string]string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "avi-k8s-config", Namespace: "avi-system"}}
	if data == nil {
		if err := c.Client.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	cm.Data = data
	err := c.Client.Update(ctx, cm)
	if apierrors.IsNotFound(err) {
		return c.Client.Create(ctx, cm)
	}
	return err
}

// HTTPClient trusts the webhook's serving certificate.
func (c *Cluster) HTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.CAPool, MinVersion: tls.VersionTLS12}}}
}

func moduleDir(mod string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		return "", fmt.Errorf("find module %s: %w", mod, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// Poll retries f every 100ms until it succeeds, timeout passes or ctx ends.
func Poll(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: last error: %w", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CheckRun compares a command's exit code and both outputs with what is expected, as a user
// reads them.
func CheckRun(t testing.TB, code int, out, errOut string, wantCode int, wantOut, wantErr string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d", code, wantCode)
	}
	if diff := cmp.Diff(wantOut, out); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErr, errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// Skip skips a test, saying why, when reason (FromEnv's) is not empty.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if reason != "" {
		t.Skip(reason)
	}
}

// SyncBuffer is a bytes.Buffer safe for a subprocess's writes and concurrent reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FromEnv reads what the end-to-end tests need from the environment make test-e2e sets:
// the control plane's binaries (KUBEBUILDER_ASSETS) and sctpguard's (SCTPGUARD_BIN, by
// default bin/sctpguard of the repository at repo, a path relative to the test's directory).
// skip says why the tests cannot run, or is empty.
func FromEnv(repo string) (assets, repoDir, bin, skip string) {
	assets = os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return "", "", "", "KUBEBUILDER_ASSETS is not set: these tests need the test control plane; run make test-e2e"
	}
	wd, _ := os.Getwd()
	repoDir = filepath.Clean(filepath.Join(wd, repo))
	if bin = os.Getenv("SCTPGUARD_BIN"); bin == "" {
		bin = filepath.Join(repoDir, "bin", "sctpguard")
	}
	return assets, repoDir, bin, ""
}

// Pid is the process id of the replica.
func (r *Replica) Pid() int { return r.cmd.Process.Pid }
