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
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
}

// Cluster is a running control plane with sctpguard's webhooks installed.
type Cluster struct {
	Client     client.Client
	Kubeconfig string
	// WebhookURL is https://host:port of sctpguard's webhook server, trusted by CAPool.
	WebhookURL string
	CAPool     *x509.CertPool
	// HealthURL and MetricsURL are sctpguard's probe and metrics endpoints.
	HealthURL  string
	MetricsURL string

	env     *envtest.Environment
	kubectl string
	repo    string
	serve   *exec.Cmd
	tempDir string
}

// Start starts the control plane and sctpguard, and installs the webhook configurations.
// On error, what was started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	c := &Cluster{kubectl: filepath.Join(o.Assets, "kubectl"), repo: o.Repo}
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
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: o.Assets,
		CRDDirectoryPaths: []string{
			filepath.Join(gatewayAPI, "config", "crd", "standard"),
			filepath.Join(o.Repo, "charts", "sctpguard", "crds"),
			filepath.Join(o.Repo, "test", "e2e", "testdata", "crds"),
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := c.env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
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
	if err := c.startSctpguard(ctx, o.Sctpguard, o.Log, o.ServeArgs); err != nil {
		return nil, err
	}
	return c, c.installWebhooks(ctx)
}

// startSctpguard runs sctpguard serve on envtest's serving address with its certificate.
func (c *Cluster) startSctpguard(ctx context.Context, bin string, log io.Writer, extra []string) error {
	wo := c.env.WebhookInstallOptions
	health, metrics := freeAddr(), freeAddr()
	c.WebhookURL = "https://" + net.JoinHostPort(wo.LocalServingHost, fmt.Sprint(wo.LocalServingPort))
	c.HealthURL, c.MetricsURL = "http://"+health, "http://"+metrics
	c.CAPool = x509.NewCertPool()
	c.CAPool.AppendCertsFromPEM(wo.LocalServingCAData)
	c.serve = exec.Command(bin, "serve",
		"--kubeconfig", c.Kubeconfig,
		"--host", wo.LocalServingHost, "--port", fmt.Sprint(wo.LocalServingPort), "--cert-dir", wo.LocalServingCertDir,
		"--health-probe-bind-address", health, "--metrics-bind-address", metrics, "--metrics-secure=false",
		"--service-account", "sctpguard/sctpguard")
	c.serve.Args = append(c.serve.Args, extra...)
	if log == nil {
		log = io.Discard
	}
	c.serve.Stdout, c.serve.Stderr = log, log
	if err := c.serve.Start(); err != nil {
		return fmt.Errorf("start sctpguard: %w", err)
	}
	return Poll(ctx, time.Minute, func() error {
		resp, err := http.Get(c.HealthURL + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
}

// installWebhooks installs sctpguard's own webhook configurations, pointed at the server.
func (c *Cluster) installWebhooks(ctx context.Context) error {
	mutating, validating := webhook.Configurations(webhook.ConfigurationOptions{
		Name: "sctpguard", URL: c.WebhookURL, CABundle: c.env.WebhookInstallOptions.LocalServingCAData,
		ExcludeNamespaces: []string{"sctpguard"}, TimeoutSeconds: 5,
	})
	if err := c.Client.Create(ctx, mutating); err != nil {
		return fmt.Errorf("install mutating webhooks: %w", err)
	}
	if err := c.Client.Create(ctx, validating); err != nil {
		return fmt.Errorf("install validating webhooks: %w", err)
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
	if c.serve != nil && c.serve.Process != nil {
		_ = c.serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.serve.Process.Kill()
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
