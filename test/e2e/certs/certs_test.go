package certs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/webhook"
)

// nplDenial is what kubectl prints when sctpguard denies cluster.NPLProbe.
const nplDenial = `Error from server (Forbidden): error when creating "STDIN": admission webhook "services.validate.sctpguard.io" denied the request: ` +
	`[sctp-npl-annotation] spec.ports[0].protocol: port 5060/SCTP: the annotation nodeportlocal.antrea.io/enabled: "true" enables Antrea NodePortLocal, ` +
	"which supports only TCP and UDP Service ports, so this port would get no node port; remove the annotation or move the SCTP port to a Service without it\n"

// snapshot is the certificate Secret as the tests compare it.
type snapshot struct {
	// CAs are the fingerprints of ca.crt's certificates in order; Signer the one that signs
	// Serving, the serving certificate's.
	CAs     []string
	Signer  string
	Serving string
	Keys    []string
	Version string
	bundle  []byte
	serving *x509.Certificate
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:8])
}

func readSecret(ctx context.Context) (snapshot, error) {
	secret := &corev1.Secret{}
	if err := cl.Client.Get(ctx, client.ObjectKey{Namespace: "sctpguard", Name: cluster.CertSecret}, secret); err != nil {
		return snapshot{}, err
	}
	s := snapshot{Version: secret.ResourceVersion, bundle: secret.Data[webhook.SecretCABundle]}
	for k := range secret.Data {
		s.Keys = append(s.Keys, k)
	}
	slices.Sort(s.Keys)
	cas, err := cert.ParseCertsPEM(secret.Data[webhook.SecretCABundle])
	if err != nil {
		return s, err
	}
	serving, err := cert.ParseCertsPEM(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return s, err
	}
	s.serving = serving[0]
	s.Serving = fingerprint(serving[0])
	for _, ca := range cas {
		s.CAs = append(s.CAs, fingerprint(ca))
		if s.serving.CheckSignatureFrom(ca) == nil {
			s.Signer = fingerprint(ca)
		}
	}
	return s, nil
}

// served dials a replica trusting the Secret's bundle, as the API server does, and returns
// the fingerprint of the certificate it serves.
func served(ctx context.Context, r *cluster.Replica, bundle []byte) (string, error) {
	roots, err := cert.NewPoolFromBytes(bundle)
	if err != nil {
		return "", err
	}
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(r.WebhookURL, "https://"))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	return fingerprint(conn.(*tls.Conn).ConnectionState().PeerCertificates[0]), nil
}

// caBundles returns the caBundle of every webhook of both configurations.
func caBundles(ctx context.Context) ([]string, error) {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := cl.Client.Get(ctx, client.ObjectKey{Name: "sctpguard"}, m); err != nil {
		return nil, err
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cl.Client.Get(ctx, client.ObjectKey{Name: "sctpguard"}, v); err != nil {
		return nil, err
	}
	var out []string
	for _, w := range m.Webhooks {
		out = append(out, string(w.ClientConfig.CABundle))
	}
	for _, w := range v.Webhooks {
		out = append(out, string(w.ClientConfig.CABundle))
	}
	return out, nil
}

// consistent waits until the Secret, both replicas and every webhook agree: the replicas
// serve the Secret's certificate and the webhooks carry its bundle.
func consistent(t *testing.T) snapshot {
	t.Helper()
	var s snapshot
	err := cluster.Poll(t.Context(), 30*time.Second, func() error {
		var err error
		if s, err = readSecret(t.Context()); err != nil {
			return err
		}
		for _, r := range cl.Replicas {
			fp, err := served(t.Context(), r, s.bundle)
			if err != nil {
				return fmt.Errorf("replica %s: %w", r.WebhookURL, err)
			}
			if fp != s.Serving {
				return fmt.Errorf("replica %s serves %s, the Secret holds %s", r.WebhookURL, fp, s.Serving)
			}
		}
		bundles, err := caBundles(t.Context())
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(bundles, func(b string) bool { return b != string(s.bundle) }); i >= 0 {
			return fmt.Errorf("webhook %d lacks the Secret's caBundle", i)
		}
		if again, err := readSecret(t.Context()); err != nil || again.Version != s.Version {
			return fmt.Errorf("the Secret changed meanwhile (%w)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIssued: one of the two replicas issued the certificates into the Secret, both serve
// them, both webhook configurations carry the CA, and the API server trusts it: kubectl sees
// the webhook's denial.
func TestIssued(t *testing.T) {
	requireCluster(t)
	s := consistent(t)
	keys := []string{"ca.crt", "ca.key", "tls.crt", "tls.key"}
	if len(s.CAs) > 1 { // a CA rotation under way
		keys = append(keys[:2], "next-ca.key", "tls.crt", "tls.key")
	}
	if diff := cmp.Diff(keys, s.Keys); diff != "" {
		t.Errorf("Secret keys (-want +got):\n%s", diff)
	}
	secret := &corev1.Secret{}
	if err := cl.Client.Get(t.Context(), client.ObjectKey{Namespace: "sctpguard", Name: cluster.CertSecret}, secret); err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeTLS || secret.Labels["app.kubernetes.io/managed-by"] != "sctpguard" {
		t.Errorf("Secret type %q, labels %v", secret.Type, secret.Labels)
	}
	if diff := cmp.Diff([]string{"sctpguard.sctpguard.svc", "sctpguard.sctpguard.svc.cluster.local"}, s.serving.DNSNames); diff != "" {
		t.Errorf("serving certificate names (-want +got):\n%s", diff)
	}
	if got := s.serving.NotAfter.Sub(s.serving.NotBefore); got != certValidity+5*time.Minute {
		t.Errorf("serving certificate valid for %s, want %s and the 5-minute backdating", got, certValidity)
	}
	if n := strings.Count(serveLog.String(), "no certificates yet: issued a CA and a serving certificate"); n != 1 {
		t.Errorf("%d replicas issued the first certificates, want 1", n)
	}
	denies(t)
}

// denies requires kubectl apply --dry-run=server of cluster.NPLProbe to show the webhook's
// denial. It retries for a while: the inventory sees the seed MachineConfig asynchronously.
func denies(t *testing.T) {
	t.Helper()
	var stderr string
	var code int
	_ = cluster.Poll(t.Context(), 30*time.Second, func() error {
		if _, stderr, code = cl.Kubectl(cluster.NPLProbe, "apply", "--dry-run=server", "-f", "-"); code != 1 || stderr != nplDenial {
			return errors.New(stderr)
		}
		return nil
	})
	if code != 1 || stderr != nplDenial {
		t.Errorf("kubectl apply --dry-run=server: exit %d, stderr (-want +got):\n%s", code, cmp.Diff(nplDenial, stderr))
	}
}

// loadResult counts what the load generator saw.
type loadResult struct {
	mu                    sync.Mutex
	sent, denied, allowed int
	failures              []string
}

// service is the i-th Service of the load: even ones are denied by the validating webhook
// (replica 2), odd ones allowed and labelled by the mutating webhook (replica 1).
func service(i int) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "load-" + strconv.Itoa(i), Namespace: "load"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "load"},
			Ports:    []corev1.ServicePort{{Name: "s", Port: 5060, Protocol: corev1.ProtocolSCTP}},
		},
	}
	if i%2 == 0 {
		svc.Annotations = map[string]string{"nodeportlocal.antrea.io/enabled": "true"}
	}
	return svc
}

// admit sends the i-th Service through the API server as a server-side dry run and says
// whether the webhooks answered it as they must.
func admit(cs kubernetes.Interface, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := cs.CoreV1().Services("load").Create(ctx, service(i), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if i%2 == 0 {
		const want = `admission webhook "services.validate.sctpguard.io" denied the request: [sctp-npl-annotation]`
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
			return fmt.Errorf("request %d: want the webhook's denial, got %w", i, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("request %d: want it allowed, got %w", i, err)
	}
	if got.Labels["sctpguard.io/sctp"] != "true" {
		return fmt.Errorf("request %d: allowed without the mutating webhook's label: %v", i, got.Labels)
	}
	return nil
}

// requestCounts returns sctpguard_admission_requests_total of a replica for Services by
// webhook.
func requestCounts(t *testing.T, r *cluster.Replica) map[string]int {
	t.Helper()
	resp, err := http.Get(r.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	counts := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "sctpguard_admission_requests_total{") || !strings.Contains(line, `kind="Service"`) {
			continue
		}
		labels, value, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(value)
		if err != nil {
			t.Fatalf("metric %q", line)
		}
		for _, w := range []string{"mutate", "validate"} {
			if strings.Contains(labels, `webhook="`+w+`"`) {
				counts[w] += n
			}
		}
	}
	return counts
}

// sample is what a new connection of the API server to each replica would meet at one
// moment: the CAs every webhook trusts, and the CA that signed each replica's certificate.
type sample struct {
	at time.Time
	// trusted are the CAs in the caBundle of every webhook of both configurations.
	trusted []string
	// signers are, per replica, the CA of the bundles that signed its serving certificate,
	// or why there is none.
	signers []string
}

// probe takes a sample: it reads the configurations, then opens a new connection to each
// replica.
func probe(ctx context.Context) sample {
	s := sample{at: time.Now()}
	bundles, err := caBundles(ctx)
	if err != nil {
		return sample{at: s.at, signers: []string{"reading the configurations: " + err.Error()}}
	}
	count := map[string]int{}
	byFP := map[string]*x509.Certificate{}
	for _, b := range bundles {
		cas, _ := cert.ParseCertsPEM([]byte(b))
		for _, ca := range cas {
			count[fingerprint(ca)]++
			byFP[fingerprint(ca)] = ca
		}
	}
	for fp, n := range count {
		if n == len(bundles) {
			s.trusted = append(s.trusted, fp)
		}
	}
	slices.Sort(s.trusted)
	for _, r := range cl.Replicas {
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}
		conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(r.WebhookURL, "https://"))
		if err != nil {
			s.signers = append(s.signers, "dial: "+err.Error())
			continue
		}
		leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
		_ = conn.Close()
		signer := "a CA in no caBundle"
		for fp, ca := range byFP {
			if leaf.CheckSignatureFrom(ca) == nil {
				signer = fp
			}
		}
		s.signers = append(s.signers, signer)
	}
	return s
}

// TestRotationUnderLoad sends a steady 30 admissions a second through the API server while
// the serving certificate is renewed and the CA rotates (published, signing, old one
// dropped), and requires every single request to get the webhooks' answer.
func TestRotationUnderLoad(t *testing.T) {
	requireCluster(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", cl.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 500
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := []map[string]int{requestCounts(t, cl.Replicas[0]), requestCounts(t, cl.Replicas[1])}
	first := consistent(t)

	// The load: 30 requests a second, each in its own goroutine, so a slow answer does not
	// slow the rate.
	const rate = 30
	res := &loadResult{}
	loadCtx, stopLoad := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-loadCtx.Done():
				wg.Wait()
				return
			case <-tick.C:
			}
			res.mu.Lock()
			res.sent++
			res.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := admit(cs, i)
				res.mu.Lock()
				defer res.mu.Unlock()
				switch {
				case err != nil:
					res.failures = append(res.failures, fmt.Sprintf("%s: %v", time.Since(started).Round(time.Millisecond), err))
				case i%2 == 0:
					res.denied++
				default:
					res.allowed++
				}
			}()
		}
	}()

	// The probe: every 50 ms, a new connection to each replica must meet a certificate that
	// the configurations trust, as the API server's next connection would.
	var samples []sample
	probeCtx, stopProbe := context.WithCancel(t.Context())
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		for probeCtx.Err() == nil {
			if s := probe(probeCtx); probeCtx.Err() == nil {
				samples = append(samples, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// Watch the Secret until the serving certificate was renewed under the same CA and a
	// CA rotation went through all three steps, then let the load run a little longer.
	var phases []string
	seen := map[string]bool{}
	prev := first
	note := func(phase string, s snapshot) {
		phases = append(phases, phase)
		seen[phase] = true
		t.Logf("%6s %s: CAs %v, serving %s signed by %s", time.Since(started).Round(time.Second), phase, s.CAs, s.Serving, s.Signer)
	}
	deadline := time.Now().Add(4 * time.Minute)
	for !seen["serving renewed"] || !seen["old CA dropped"] {
		if time.Now().After(deadline) {
			t.Fatalf("no full rotation within 4 minutes; phases seen: %q", phases)
		}
		time.Sleep(100 * time.Millisecond)
		s, err := readSecret(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if s.Version == prev.Version {
			continue
		}
		switch {
		case len(s.CAs) > len(prev.CAs):
			note("next CA published", s)
		case s.Signer != prev.Signer:
			note("next CA signs", s)
		case len(s.CAs) < len(prev.CAs):
			note("old CA dropped", s)
		}
		if s.Serving != prev.Serving && s.Signer == prev.Signer {
			note("serving renewed", s)
		}
		prev = s
	}
	last := consistent(t)
	time.Sleep(3 * time.Second)
	stopLoad()
	stopProbe()
	<-loadDone
	<-probeDone
	after := []map[string]int{requestCounts(t, cl.Replicas[0]), requestCounts(t, cl.Replicas[1])}

	// The CA rotation went in its order.
	var order []string
	for _, p := range phases {
		if p != "serving renewed" && !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	if diff := cmp.Diff([]string{"next CA published", "next CA signs", "old CA dropped"}, order); diff != "" {
		t.Errorf("CA rotation steps (-want +got):\n%s", diff)
	}
	if slices.Contains(last.CAs, first.Signer) || len(last.CAs) != 1 {
		t.Errorf("after the rotation the bundle holds %v; the first CA %s should be gone", last.CAs, first.Signer)
	}

	checkSamples(t, samples, first.Signer, last.Signer)

	res.mu.Lock()
	defer res.mu.Unlock()
	t.Logf("requests sent %d, answered by the webhooks %d (denied %d, allowed and mutated %d), failed %d",
		res.sent, res.denied+res.allowed, res.denied, res.allowed, len(res.failures))
	if len(res.failures) > 0 {
		t.Errorf("%d requests did not get the webhooks' answer; the first ones:\n%s", len(res.failures), strings.Join(res.failures[:min(10, len(res.failures))], "\n"))
	}
	if res.denied+res.allowed != res.sent || res.sent < 30*rate {
		t.Errorf("sent %d, answered %d", res.sent, res.denied+res.allowed)
	}
	// The replicas counted every request once: the mutating webhook on the first, the
	// validating webhook on the second.
	got := map[string]int{"mutate": after[0]["mutate"] - before[0]["mutate"], "validate": after[1]["validate"] - before[1]["validate"]}
	if diff := cmp.Diff(map[string]int{"mutate": res.sent, "validate": res.sent}, got); diff != "" {
		t.Errorf("requests counted by the replicas (-want +got):\n%s", diff)
	}
}

// TestCABundleReasserted: a helm upgrade re-applies the webhook configurations with an
// empty caBundle; sctpguard patches it back, and the API server trusts the webhooks again.
func TestCABundleReasserted(t *testing.T) {
	requireCluster(t)
	consistent(t)
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := cl.Client.Get(t.Context(), client.ObjectKey{Name: "sctpguard"}, m); err != nil {
		t.Fatal(err)
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cl.Client.Get(t.Context(), client.ObjectKey{Name: "sctpguard"}, v); err != nil {
		t.Fatal(err)
	}
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = nil
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig.CABundle = nil
	}
	emptied := time.Now()
	if err := cl.Client.Update(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if err := cl.Client.Update(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	err := cluster.Poll(t.Context(), 30*time.Second, func() error {
		s, err := readSecret(t.Context())
		if err != nil {
			return err
		}
		bundles, err := caBundles(t.Context())
		if err != nil {
			return err
		}
		if slices.ContainsFunc(bundles, func(b string) bool { return b != string(s.bundle) }) {
			return errors.New("a webhook has no caBundle")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caBundle patched back within %s", time.Since(emptied).Round(time.Millisecond))
	denies(t)
}

// TestRBAC: what the service account may do with Secrets and webhook configurations is
// exactly testdata/rbac.yaml's, and sctpguard needed no more (the tests above ran as it).
func TestRBAC(t *testing.T) {
	requireCluster(t)
	var got []string
	for _, q := range [][]string{
		{"create", "secrets", "-n", "sctpguard"},
		{"update", "secrets/sctpguard-webhook-tls", "-n", "sctpguard"},
		{"watch", "secrets/sctpguard-webhook-tls", "-n", "sctpguard"},
		{"get", "secrets/sctpguard-webhook-tls", "-n", "sctpguard"},
		{"update", "secrets/other", "-n", "sctpguard"},
		{"list", "secrets", "-n", "sctpguard"},
		{"delete", "secrets/sctpguard-webhook-tls", "-n", "sctpguard"},
		{"create", "secrets", "-n", "default"},
		{"patch", "mutatingwebhookconfigurations/sctpguard"},
		{"patch", "validatingwebhookconfigurations/sctpguard"},
		{"patch", "validatingwebhookconfigurations/other"},
		{"get", "validatingwebhookconfigurations/sctpguard-ako-guard"},
		{"patch", "validatingwebhookconfigurations/sctpguard-ako-guard"},
		{"get", "validatingwebhookconfigurations/sctpguard"},
		{"list", "validatingwebhookconfigurations"},
		{"update", "mutatingwebhookconfigurations/sctpguard"},
		{"delete", "mutatingwebhookconfigurations/sctpguard"},
	} {
		out, _, _ := cl.Kubectl("", append([]string{"auth", "can-i", "--as", serviceAccount}, q...)...)
		got = append(got, strings.Join(q, " ")+": "+strings.TrimSpace(out))
	}
	want := []string{
		"create secrets -n sctpguard: yes",
		"update secrets/sctpguard-webhook-tls -n sctpguard: yes",
		"watch secrets/sctpguard-webhook-tls -n sctpguard: yes",
		"get secrets/sctpguard-webhook-tls -n sctpguard: no",
		"update secrets/other -n sctpguard: no",
		"list secrets -n sctpguard: no",
		"delete secrets/sctpguard-webhook-tls -n sctpguard: no",
		"create secrets -n default: no",
		"patch mutatingwebhookconfigurations/sctpguard: yes",
		"patch validatingwebhookconfigurations/sctpguard: yes",
		"patch validatingwebhookconfigurations/other: no",
		"get validatingwebhookconfigurations/sctpguard-ako-guard: yes",
		"patch validatingwebhookconfigurations/sctpguard-ako-guard: yes",
		"get validatingwebhookconfigurations/sctpguard: no",
		"list validatingwebhookconfigurations: no",
		"update mutatingwebhookconfigurations/sctpguard: no",
		"delete mutatingwebhookconfigurations/sctpguard: no",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubectl auth can-i (-want +got):\n%s", diff)
	}
}

// checkSamples requires every sample to find each replica's certificate trusted, the new CA
// trusted for most of a rotation step (5 s) before a replica serves a certificate of it, and
// the old CA trusted for most of a step after the last replica stopped serving one of it:
// margins the API server's reuse of its connections would hide.
func checkSamples(t *testing.T, samples []sample, oldCA, newCA string) {
	t.Helper()
	const minMargin = 3 * time.Second
	var violations []string
	var newTrusted, newServed, oldServed, oldDropped time.Time
	for _, s := range samples {
		for i, signer := range s.signers {
			if !slices.Contains(s.trusted, signer) {
				violations = append(violations, fmt.Sprintf("%s: replica %d: certificate signed by %s, the webhooks trust %v", s.at.Sub(started).Round(time.Millisecond), i+1, signer, s.trusted))
			}
			if signer == newCA && newServed.IsZero() {
				newServed = s.at
			}
			if signer == oldCA {
				oldServed = s.at
			}
		}
		if slices.Contains(s.trusted, newCA) && newTrusted.IsZero() {
			newTrusted = s.at
		}
		if !newTrusted.IsZero() && !slices.Contains(s.trusted, oldCA) && oldDropped.IsZero() {
			oldDropped = s.at
		}
	}
	t.Logf("%d probes: new CA trusted %s before a replica served it, old CA trusted %s after the last replica served it",
		len(samples), newServed.Sub(newTrusted).Round(time.Millisecond), oldDropped.Sub(oldServed).Round(time.Millisecond))
	if len(violations) > 0 {
		t.Errorf("%d probes met a certificate the webhooks do not trust; the first ones:\n%s", len(violations), strings.Join(violations[:min(10, len(violations))], "\n"))
	}
	if newTrusted.IsZero() || newServed.IsZero() || newServed.Sub(newTrusted) < minMargin {
		t.Errorf("the new CA was trusted from %s and served from %s: want at least %s between", newTrusted.Sub(started), newServed.Sub(started), minMargin)
	}
	if oldServed.IsZero() || oldDropped.IsZero() || oldDropped.Sub(oldServed) < minMargin {
		t.Errorf("the old CA was served until %s and dropped at %s: want at least %s between", oldServed.Sub(started), oldDropped.Sub(started), minMargin)
	}
}
