package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/webhook"
)

// skipReason is why the tests cannot run here; empty when they can.
var skipReason string

// cl is the cluster every test uses.
var cl *cluster

// repo is the repository root.
var repo = func() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "../.."))
}()

// namespaces the tests and the examples use.
var namespaces = []string{"sctpguard", "avi-system", "svcapi", "telco", "voice", "myapp", "gw-first", "svc-first", "conflict-a", "conflict-b", "dryrun", "ctx"}

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		skipReason = "KUBEBUILDER_ASSETS is not set: these tests need the test control plane; run make test-e2e"
		os.Exit(m.Run())
	}
	var err error
	cl, err = startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start:", err)
		if cl != nil {
			cl.stop()
		}
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- sctpguard serve log ---\n%s\n", cl.log.String())
	}
	cl.stop()
	os.Exit(code)
}

// requireCluster skips a test, with the reason, where the control plane is not available.
func requireCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// cluster is the running control plane and sctpguard.
type cluster struct {
	env        *envtest.Environment
	client     client.Client
	kubeconfig string
	kubectlBin string
	webhookURL string
	caPool     *x509.CertPool
	healthURL  string
	metricsURL string
	serve      *exec.Cmd
	log        syncBuffer
	dir        string
}

func startCluster() (*cluster, error) {
	c := &cluster{kubectlBin: filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")}
	gatewayAPI, err := moduleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	c.env = &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join(gatewayAPI, "config", "crd", "standard"),
			filepath.Join(repo, "charts", "sctpguard", "crds"),
			filepath.Join(repo, "test", "e2e", "testdata", "crds"),
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := c.env.Start()
	if err != nil {
		return c, fmt.Errorf("start control plane: %w", err)
	}
	if c.client, err = client.New(cfg, client.Options{Scheme: policy.Scheme()}); err != nil {
		return c, err
	}
	if c.dir, err = os.MkdirTemp("", "sctpguard-e2e"); err != nil {
		return c, err
	}
	admin, err := c.env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return c, err
	}
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, kc, 0o600); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ns := range namespaces {
		if err := c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return c, err
		}
	}
	// No controller-manager runs: create the service accounts pods need.
	for _, ns := range append([]string{"default"}, namespaces...) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
		if err := c.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
			return c, err
		}
	}
	if err := c.startSctpguard(ctx); err != nil {
		return c, err
	}
	if err := c.installWebhooks(ctx); err != nil {
		return c, err
	}
	// The MachineConfig CRD makes this an OpenShift cluster to sctpguard: give it the seed
	// MachineConfig that loads sctp, so tests see no module warning unless they remove it.
	if _, stderr, code := c.kubectl("", "apply", "-f", "examples/seeds/okd-load-sctp-module.yaml"); code != 0 {
		return c, fmt.Errorf("apply the seed MachineConfig: %s", stderr)
	}
	return c, nil
}

// startSctpguard runs the sctpguard binary the tests were built with, serving the webhooks
// on envtest's serving address with envtest's certificate.
func (c *cluster) startSctpguard(ctx context.Context) error {
	bin := os.Getenv("SCTPGUARD_BIN")
	if bin == "" {
		bin = filepath.Join(repo, "bin", "sctpguard")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("sctpguard binary: %w (run make build, or make test-e2e)", err)
	}
	wo := c.env.WebhookInstallOptions
	health, metrics := freeAddr(), freeAddr()
	c.webhookURL = fmt.Sprintf("https://%s", net.JoinHostPort(wo.LocalServingHost, fmt.Sprint(wo.LocalServingPort)))
	c.healthURL, c.metricsURL = "http://"+health, "http://"+metrics
	c.caPool = x509.NewCertPool()
	c.caPool.AppendCertsFromPEM(wo.LocalServingCAData)
	c.serve = exec.Command(bin, "serve",
		"--kubeconfig", c.kubeconfig,
		"--host", wo.LocalServingHost, "--port", fmt.Sprint(wo.LocalServingPort), "--cert-dir", wo.LocalServingCertDir,
		"--health-probe-bind-address", health, "--metrics-bind-address", metrics, "--metrics-secure=false",
		"--service-account", "sctpguard/sctpguard")
	c.serve.Stdout, c.serve.Stderr = &c.log, &c.log
	if err := c.serve.Start(); err != nil {
		return fmt.Errorf("start sctpguard: %w", err)
	}
	return poll(ctx, func() error {
		resp, err := http.Get(c.healthURL + "/readyz") //nolint:noctx // polling a local probe
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

// installWebhooks installs sctpguard's own webhook configurations, pointed at the local server.
func (c *cluster) installWebhooks(ctx context.Context) error {
	mutating, validating := webhook.Configurations(webhook.ConfigurationOptions{
		Name: "sctpguard", URL: c.webhookURL, CABundle: c.env.WebhookInstallOptions.LocalServingCAData,
		ExcludeNamespaces: []string{"sctpguard"}, TimeoutSeconds: 5,
	})
	if err := c.client.Create(ctx, mutating); err != nil {
		return fmt.Errorf("install mutating webhooks: %w", err)
	}
	if err := c.client.Create(ctx, validating); err != nil {
		return fmt.Errorf("install validating webhooks: %w", err)
	}
	// The API server picks configurations up asynchronously: wait until a denial comes back.
	// The probe is denied whatever AKO's settings are (Antrea NodePortLocal on SCTP).
	return poll(ctx, func() error {
		_, stderr, code := c.kubectl(nplProbe, "create", "--dry-run=server", "-f", "-")
		if code != 0 && strings.Contains(stderr, "[sctp-npl-annotation]") {
			return nil
		}
		return fmt.Errorf("webhook not active yet (exit %d): %s", code, stderr)
	})
}

// nplProbe is a Service sctpguard always denies.
const nplProbe = `apiVersion: v1
kind: Service
metadata:
  name: probe
  namespace: default
  annotations: {nodeportlocal.antrea.io/enabled: "true"}
spec:
  selector: {app: probe}
  ports: [{name: s, port: 5060, protocol: SCTP}]
`

func (c *cluster) stop() {
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
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// kubectl runs the real kubectl against the test cluster, with stdin.
func (c *cluster) kubectl(stdin string, args ...string) (string, string, int) {
	cmd := exec.Command(c.kubectlBin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	cmd.Dir = repo
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

// httpClient trusts the webhook's serving certificate.
func (c *cluster) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.caPool, MinVersion: tls.VersionTLS12}}}
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

// poll retries f every 100ms until it succeeds or ctx ends.
func poll(ctx context.Context, f func() error) error {
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

// syncBuffer is a bytes.Buffer safe for the subprocess's writes and the tests' reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
