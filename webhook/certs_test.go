package webhook

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/cert"
)

// t0 is the tests' start of time: certificates are issued relative to it, never to the
// machine's clock.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

var testCertConfig = CertConfig{
	DNSNames:     []string{"sctpguard.sctpguard.svc", "sctpguard.sctpguard.svc.cluster.local"},
	IPs:          []net.IP{net.ParseIP("127.0.0.1")},
	CAValidity:   36 * time.Hour,
	CertValidity: 12 * time.Hour,
}

func never(*x509.Certificate) time.Time { return time.Time{} }

// issue returns the Secret data of a fresh bundle issued at t.
func issue(t *testing.T, c CertConfig, at time.Time) map[string][]byte {
	t.Helper()
	d, err := c.Plan(nil, at, never)
	if err != nil {
		t.Fatal(err)
	}
	data, err := d.Bundle.Data()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// certSummary is what matters of a certificate, comparable as a whole.
type certSummary struct {
	CommonName           string
	IsCA, MaxPathLenZero bool
	KeyUsage             x509.KeyUsage
	ExtKeyUsage          []x509.ExtKeyUsage
	DNSNames             []string
	IPs                  []string
	NotBefore, NotAfter  time.Time
	Curve                string
}

func summarize(c *x509.Certificate) certSummary {
	s := certSummary{
		CommonName: c.Subject.CommonName, IsCA: c.IsCA && c.BasicConstraintsValid, MaxPathLenZero: c.MaxPathLenZero,
		KeyUsage: c.KeyUsage, ExtKeyUsage: c.ExtKeyUsage, DNSNames: c.DNSNames, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
	}
	for _, ip := range c.IPAddresses {
		s.IPs = append(s.IPs, ip.String())
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
		s.Curve = k.Curve.Params().Name
	}
	return s
}

func TestIssue(t *testing.T) {
	d, err := testCertConfig.Plan(nil, t0, never)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"no certificates yet: issued a CA and a serving certificate"}, d.Rotated); diff != "" || len(d.Replaced) > 0 || !d.Changed {
		t.Errorf("decision: changed %v, replaced %q, rotated (-want +got):\n%s", d.Changed, d.Replaced, diff)
	}
	b := d.Bundle
	wantCA := certSummary{
		CommonName: fmt.Sprintf("sctpguard-webhook-ca@%d", t0.Unix()), IsCA: true, MaxPathLenZero: true,
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		NotBefore: t0.Add(-certBackdate), NotAfter: t0.Add(36 * time.Hour), Curve: "P-256",
	}
	if diff := cmp.Diff(wantCA, summarize(b.CA.Cert)); diff != "" {
		t.Errorf("CA (-want +got):\n%s", diff)
	}
	if err := b.CA.Cert.CheckSignatureFrom(b.CA.Cert); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	wantServing := certSummary{
		CommonName: "sctpguard.sctpguard.svc", KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"sctpguard.sctpguard.svc", "sctpguard.sctpguard.svc.cluster.local"}, IPs: []string{"127.0.0.1"},
		NotBefore: t0.Add(-certBackdate), NotAfter: t0.Add(12 * time.Hour), Curve: "P-256",
	}
	if diff := cmp.Diff(wantServing, summarize(b.Serving.Cert)); diff != "" {
		t.Errorf("serving certificate (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*x509.Certificate{b.CA.Cert}, b.CAs()); diff != "" || b.Next != nil || b.Retiring != nil {
		t.Errorf("one CA expected, got next %v, retiring %v", b.Next, b.Retiring)
	}

	// What a client that trusts the bundle sees: a TLS handshake with each name succeeds.
	data, err := b.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sctpguard.sctpguard.svc", "sctpguard.sctpguard.svc.cluster.local", "127.0.0.1"} {
		if err := handshake(data, data[SecretCABundle], name, t0.Add(time.Minute)); err != nil {
			t.Errorf("handshake as %s: %v", name, err)
		}
	}
	if err := handshake(data, data[SecretCABundle], "other.sctpguard.svc", t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "certificate is valid for") {
		t.Errorf("handshake as another name: %v, want a name mismatch", err)
	}
	if err := handshake(data, issue(t, testCertConfig, t0)[SecretCABundle], "sctpguard.sctpguard.svc", t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("handshake trusting another CA: %v, want unknown authority", err)
	}

	// Read back from the Secret's data, the bundle is in force as it is.
	again, err := testCertConfig.Plan(data, t0.Add(time.Minute), never)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || !again.Bundle.CA.Cert.Equal(b.CA.Cert) || !again.Bundle.Serving.Cert.Equal(b.Serving.Cert) {
		t.Errorf("read back: changed %v, replaced %q, rotated %q", again.Changed, again.Replaced, again.Rotated)
	}
	if want := t0.Add(8 * time.Hour); !again.Wake.Equal(want) {
		t.Errorf("wake at %s, want the serving certificate's renewal at %s", again.Wake, want)
	}
}

// handshake checks what a TLS client of the webhook server checks: the server's certificate
// and key belong together, and the certificate verifies for serverName at now against the
// CAs of bundle (what the API server does with the caBundle).
func handshake(data map[string][]byte, bundle []byte, serverName string, now time.Time) error {
	serving, err := tls.X509KeyPair(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return err
	}
	roots, err := cert.NewPoolFromBytes(bundle)
	if err != nil {
		return err
	}
	_, err = serving.Leaf.Verify(x509.VerifyOptions{
		Roots: roots, DNSName: serverName, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// world simulates the replicas and the API server around Plan: the Secret, and the caBundle
// the webhook configurations carry, patched propagation after the Secret changes.
type world struct {
	t           *testing.T
	cfg         CertConfig
	propagation time.Duration
	data        map[string][]byte
	// published: the caBundle the configurations carry, and the one patched next.
	carried, pending []*x509.Certificate
	pendingAt        time.Time
	since            map[string]time.Time
	// served are the serving certificates written, with when they were replaced.
	served []served
	events []string
}

type served struct {
	data     map[string][]byte
	replaced time.Time
}

func (w *world) label(c *x509.Certificate) string {
	kind := "serving"
	if c.IsCA {
		kind = "CA"
	}
	return fmt.Sprintf("%s@%s", kind, issued(c).Sub(t0))
}

func (w *world) trustedSince(c *x509.Certificate) time.Time {
	for _, ca := range w.carried {
		if ca.Equal(c) {
			return w.since[Fingerprint(c)]
		}
	}
	return time.Time{}
}

// at runs Plan at now, writes what it decides, and checks the invariant: every serving
// certificate the replicas may still serve (a replica sees a change within a tenth of a
// step) is valid and signed by a CA the API server trusts.
func (w *world) at(now time.Time) CertDecision {
	w.t.Helper()
	w.propagate(now)
	d, err := w.cfg.Plan(w.data, now, w.trustedSince)
	if err != nil {
		w.t.Fatal(err)
	}
	if d.Changed {
		if len(d.Replaced) > 0 {
			w.t.Errorf("%s: replaced %q", now.Sub(t0), d.Replaced)
		}
		if w.data, err = d.Bundle.Data(); err != nil {
			w.t.Fatal(err)
		}
		if n := len(w.served); n > 0 && w.served[n-1].replaced.IsZero() && !bytesEqual(w.served[n-1].data[corev1.TLSCertKey], w.data[corev1.TLSCertKey]) {
			w.served[n-1].replaced = now
		}
		if n := len(w.served); n == 0 || !bytesEqual(w.served[n-1].data[corev1.TLSCertKey], w.data[corev1.TLSCertKey]) {
			w.served = append(w.served, served{data: w.data})
		}
		w.pending, w.pendingAt = d.Bundle.CAs(), now.Add(w.propagation)
		w.propagate(now)
		var cas []string
		for _, ca := range d.Bundle.CAs() {
			cas = append(cas, w.label(ca))
		}
		w.events = append(w.events, fmt.Sprintf("%s: bundle %s, serving %s by %s", now.Sub(t0), strings.Join(cas, " "),
			w.label(d.Bundle.Serving.Cert), w.label(d.Bundle.CA.Cert)))
	}
	if w.carried != nil {
		bundle, err := cert.EncodeCertificates(w.carried...)
		if err != nil {
			w.t.Fatal(err)
		}
		lag := w.cfg.Step() / 10
		for _, s := range w.served {
			if s.replaced.IsZero() || now.Sub(s.replaced) < lag {
				if err := handshake(s.data, bundle, "sctpguard.sctpguard.svc", now); err != nil {
					which := "the current serving certificate"
					if !s.replaced.IsZero() {
						which = "the serving certificate replaced at " + s.replaced.Sub(t0).String()
					}
					w.t.Errorf("%s: a replica serving %s fails: %v", now.Sub(t0), which, err)
				}
			}
		}
	}
	return d
}

// propagate patches the configurations with the pending bundle once its time has come.
func (w *world) propagate(now time.Time) {
	if w.pending == nil || now.Before(w.pendingAt) {
		return
	}
	w.carried, w.pending = w.pending, nil
	for _, ca := range w.carried {
		if _, ok := w.since[Fingerprint(ca)]; !ok {
			w.since[Fingerprint(ca)] = now
		}
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestPlanTimeline walks 80 hours in 5-minute ticks with a 12-hour serving certificate and a
// 36-hour CA (a rotation step of an hour) and compares every write: renewals at two thirds,
// the CA rotation in its three steps, and at every tick every certificate a replica may serve
// is trusted by the configurations.
func TestPlanTimeline(t *testing.T) {
	for _, tt := range []struct {
		name        string
		propagation time.Duration
		want        []string
	}{
		{"configurations patched at once", 0, []string{
			"0s: bundle CA@0s, serving serving@0s by CA@0s",
			"8h0m0s: bundle CA@0s, serving serving@8h0m0s by CA@0s",
			"16h0m0s: bundle CA@0s, serving serving@16h0m0s by CA@0s",
			// Both due: the next CA joins, the serving certificate is renewed by the old CA
			// (capped at its expiry, 36h).
			"24h0m0s: bundle CA@0s CA@24h0m0s, serving serving@24h0m0s by CA@0s",
			// A step after the configurations carry it, the next CA signs.
			"25h0m0s: bundle CA@24h0m0s CA@0s, serving serving@25h0m0s by CA@24h0m0s",
			// A step later the old CA leaves.
			"26h0m0s: bundle CA@24h0m0s, serving serving@25h0m0s by CA@24h0m0s",
			"33h0m0s: bundle CA@24h0m0s, serving serving@33h0m0s by CA@24h0m0s",
			"41h0m0s: bundle CA@24h0m0s, serving serving@41h0m0s by CA@24h0m0s",
			"48h0m0s: bundle CA@24h0m0s CA@48h0m0s, serving serving@41h0m0s by CA@24h0m0s",
			"49h0m0s: bundle CA@48h0m0s CA@24h0m0s, serving serving@49h0m0s by CA@48h0m0s",
			"50h0m0s: bundle CA@48h0m0s, serving serving@49h0m0s by CA@48h0m0s",
			"57h0m0s: bundle CA@48h0m0s, serving serving@57h0m0s by CA@48h0m0s",
			"65h0m0s: bundle CA@48h0m0s, serving serving@65h0m0s by CA@48h0m0s",
			"72h0m0s: bundle CA@48h0m0s CA@72h0m0s, serving serving@65h0m0s by CA@48h0m0s",
			"73h0m0s: bundle CA@72h0m0s CA@48h0m0s, serving serving@73h0m0s by CA@72h0m0s",
			"74h0m0s: bundle CA@72h0m0s, serving serving@73h0m0s by CA@72h0m0s",
		}},
		{"configurations patched 3 hours late", 3 * time.Hour, []string{
			"0s: bundle CA@0s, serving serving@0s by CA@0s",
			"8h0m0s: bundle CA@0s, serving serving@8h0m0s by CA@0s",
			"16h0m0s: bundle CA@0s, serving serving@16h0m0s by CA@0s",
			"24h0m0s: bundle CA@0s CA@24h0m0s, serving serving@24h0m0s by CA@0s",
			// The next CA waits a step after the configurations carry it (27h).
			"28h0m0s: bundle CA@24h0m0s CA@0s, serving serving@28h0m0s by CA@24h0m0s",
			"29h0m0s: bundle CA@24h0m0s, serving serving@28h0m0s by CA@24h0m0s",
			"36h0m0s: bundle CA@24h0m0s, serving serving@36h0m0s by CA@24h0m0s",
			"44h0m0s: bundle CA@24h0m0s, serving serving@44h0m0s by CA@24h0m0s",
			"48h0m0s: bundle CA@24h0m0s CA@48h0m0s, serving serving@44h0m0s by CA@24h0m0s",
			"52h0m0s: bundle CA@48h0m0s CA@24h0m0s, serving serving@52h0m0s by CA@48h0m0s",
			"53h0m0s: bundle CA@48h0m0s, serving serving@52h0m0s by CA@48h0m0s",
			"60h0m0s: bundle CA@48h0m0s, serving serving@60h0m0s by CA@48h0m0s",
			"68h0m0s: bundle CA@48h0m0s, serving serving@68h0m0s by CA@48h0m0s",
			"72h0m0s: bundle CA@48h0m0s CA@72h0m0s, serving serving@68h0m0s by CA@48h0m0s",
			"76h0m0s: bundle CA@72h0m0s CA@48h0m0s, serving serving@76h0m0s by CA@72h0m0s",
			"77h0m0s: bundle CA@72h0m0s, serving serving@76h0m0s by CA@72h0m0s",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{t: t, cfg: testCertConfig, propagation: tt.propagation, since: map[string]time.Time{}}
			for now := t0; now.Before(t0.Add(80 * time.Hour)); now = now.Add(5 * time.Minute) {
				w.at(now)
			}
			if diff := cmp.Diff(tt.want, w.events); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanOverlap: during a CA rotation the bundle holds both CAs, and the step after each
// is due only then.
func TestPlanOverlap(t *testing.T) {
	renew := t0.Add(24 * time.Hour)
	step := testCertConfig.Step()
	if step != time.Hour {
		t.Fatalf("step %s, want 1h", step)
	}
	// The serving certificate renewed on time, then just before two thirds of the CA's
	// life, nothing is due.
	data := issue(t, testCertConfig, t0)
	for _, at := range []time.Time{t0.Add(8 * time.Hour), t0.Add(16 * time.Hour), renew.Add(-time.Second)} {
		d, err := testCertConfig.Plan(data, at, never)
		if err != nil {
			t.Fatal(err)
		}
		if d.Bundle.Next != nil || len(d.Replaced) > 0 {
			t.Fatalf("%s: next CA %v, replaced %q", at.Sub(t0), d.Bundle.Next, d.Replaced)
		}
		if data, err = d.Bundle.Data(); err != nil {
			t.Fatal(err)
		}
	}
	published, err := testCertConfig.Plan(data, renew, never)
	if err != nil {
		t.Fatal(err)
	}
	old, next := published.Bundle.CA.Cert, published.Bundle.Next
	if next == nil {
		t.Fatal("no next CA at two thirds of the CA's life")
	}
	if diff := cmp.Diff([]*x509.Certificate{old, next.Cert}, published.Bundle.CAs()); diff != "" {
		t.Errorf("bundle while the next CA is published (-want +got):\n%s", diff)
	}
	if data, err = published.Bundle.Data(); err != nil {
		t.Fatal(err)
	}
	pem, err := cert.ParseCertsPEM(data[SecretCABundle])
	if err != nil || len(pem) != 2 || !pem[0].Equal(old) || !pem[1].Equal(next.Cert) {
		t.Errorf("ca.crt holds %d certificates (%v), want the CA then the next", len(pem), err)
	}

	for _, tt := range []struct {
		name     string
		now      time.Time
		trusted  time.Time
		promoted bool
		wake     time.Time
	}{
		{"configurations do not carry it", renew.Add(10 * step), time.Time{}, false, renew.Add(11 * step)},
		{"carried for less than a step", renew.Add(2 * step), renew.Add(step + time.Second), false, renew.Add(2*step + time.Second)},
		{"carried for a step", renew.Add(2 * step), renew.Add(step), true, renew.Add(3 * step)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := testCertConfig.Plan(data, tt.now, func(c *x509.Certificate) time.Time {
				if c.Equal(next.Cert) {
					return tt.trusted
				}
				return time.Time{}
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []*x509.Certificate
			if tt.promoted {
				want = []*x509.Certificate{next.Cert, old}
			} else {
				want = []*x509.Certificate{old, next.Cert}
			}
			if diff := cmp.Diff(want, d.Bundle.CAs()); diff != "" {
				t.Errorf("bundle (-want +got):\n%s", diff)
			}
			if err := d.Bundle.Serving.Cert.CheckSignatureFrom(d.Bundle.CA.Cert); err != nil {
				t.Errorf("serving certificate not signed by the CA in force: %v", err)
			}
			if !d.Wake.Equal(tt.wake) {
				t.Errorf("wake at %s, want %s", d.Wake.Sub(renew), tt.wake.Sub(renew))
			}
		})
	}
}

// TestPlanReplacesStale: what cannot be used is replaced, and the decision says why; a CA
// that still works is kept, so the API server keeps trusting the replicas.
func TestPlanReplacesStale(t *testing.T) {
	good := issue(t, testCertConfig, t0)
	other := issue(t, testCertConfig, t0)
	goodCA, _ := cert.ParseCertsPEM(good[SecretCABundle])
	goodServing, _ := cert.ParseCertsPEM(good[corev1.TLSCertKey])
	otherServing, _ := cert.ParseCertsPEM(other[corev1.TLSCertKey])
	with := func(kv ...string) map[string][]byte {
		data := map[string][]byte{}
		for k, v := range good {
			data[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			data[kv[i]] = []byte(kv[i+1])
		}
		return data
	}
	const newCA = "): issued a new CA; webhook calls fail until the API server trusts it"
	const newServing = "): issued a new one"
	later := t0.Add(time.Hour)
	for _, tt := range []struct {
		name     string
		data     map[string][]byte
		now      time.Time
		replaced string
		keepsCA  bool
		rotated  []string
	}{
		{"garbage CA", with(SecretCABundle, "garbage"), later,
			"CA unusable (ca.crt: data does not contain any valid RSA or ECDSA certificates" + newCA, false, nil},
		{"CA key of another CA", with(SecretCAKey, string(other[SecretCAKey])), later,
			"CA unusable (no certificate of ca.crt belongs to ca.key" + newCA, false, nil},
		{"CA key missing", with(SecretCAKey, ""), later,
			"CA unusable (ca.key: missing" + newCA, false, nil},
		{"not a CA", with(SecretCABundle, string(good[corev1.TLSCertKey]), SecretCAKey, string(good[corev1.TLSPrivateKeyKey])), later,
			"CA unusable (CA " + describe(goodServing[0]) + ": not a CA certificate" + newCA, false, nil},
		{"expired CA", good, t0.Add(36 * time.Hour),
			"CA unusable (CA " + describe(goodCA[0]) + ": expired at 2030-01-02T12:00:00Z" + newCA, false, nil},
		{"garbage serving certificate", with(corev1.TLSCertKey, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), later,
			"serving certificate unusable (tls.crt: x509: malformed certificate" + newServing, true, nil},
		{"serving key of another certificate", with(corev1.TLSPrivateKeyKey, string(other[corev1.TLSPrivateKeyKey])), later,
			"serving certificate unusable (tls.key does not belong to tls.crt" + newServing, true, nil},
		{"serving key garbage", with(corev1.TLSPrivateKeyKey, "garbage"), later,
			"serving certificate unusable (tls.key: data does not contain a valid RSA or ECDSA private key" + newServing, true, nil},
		{"serving certificate of another CA", with(corev1.TLSCertKey, string(other[corev1.TLSCertKey]), corev1.TLSPrivateKeyKey, string(other[corev1.TLSPrivateKeyKey])), later,
			"serving certificate unusable (" + describe(otherServing[0]) + " is not signed by CA " + describe(goodCA[0]) + newServing, true, nil},
		{"expired serving certificate", good, t0.Add(12 * time.Hour),
			"serving certificate unusable (" + describe(goodServing[0]) + " expired at 2030-01-01T12:00:00Z" + newServing, true, nil},
		{"empty Secret", map[string][]byte{}, later, "", false,
			[]string{"no certificates yet: issued a CA and a serving certificate"}},
		{"CA without a serving certificate", with(corev1.TLSCertKey, "", corev1.TLSPrivateKeyKey, ""), later, "", true,
			[]string{"no serving certificate yet: issued one"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := testCertConfig.Plan(tt.data, tt.now, never)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tt.replaced != "" {
				want = []string{tt.replaced}
			}
			if diff := cmp.Diff(want, d.Replaced); diff != "" {
				t.Errorf("replaced (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rotated, d.Rotated); diff != "" {
				t.Errorf("rotated (-want +got):\n%s", diff)
			}
			if !d.Changed {
				t.Error("not changed")
			}
			if kept := d.Bundle.CA.Cert.Equal(goodCA[0]); kept != tt.keepsCA {
				t.Errorf("CA kept: %v, want %v", kept, tt.keepsCA)
			}
			data, err := d.Bundle.Data()
			if err != nil {
				t.Fatal(err)
			}
			if err := handshake(data, data[SecretCABundle], "sctpguard.sctpguard.svc", tt.now); err != nil {
				t.Errorf("the new certificates do not work: %v", err)
			}
			if again, err := testCertConfig.Plan(data, tt.now, never); err != nil || again.Changed {
				t.Errorf("the new certificates are replaced again: %v %q %q", err, again.Replaced, again.Rotated)
			}
		})
	}
}

// TestPlanNames: a certificate that lacks a name is issued again with its names and ours, so
// replicas that want different names (a rolling update) settle instead of replacing each
// other's certificate forever; the renewal drops names no one wants any more.
func TestPlanNames(t *testing.T) {
	oldNames := CertConfig{DNSNames: []string{"old.sctpguard.svc"}, CAValidity: 36 * time.Hour, CertValidity: 12 * time.Hour}
	newNames := CertConfig{DNSNames: []string{"new.sctpguard.svc"}, CAValidity: 36 * time.Hour, CertValidity: 12 * time.Hour}
	data := issue(t, oldNames, t0)
	d, err := newNames.Plan(data, t0.Add(time.Hour), never)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"old.sctpguard.svc", "new.sctpguard.svc"}, d.Bundle.Serving.Cert.DNSNames); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if len(d.Rotated) != 1 || !strings.Contains(d.Rotated[0], "lacks new.sctpguard.svc: issued a new one") {
		t.Errorf("rotated %q", d.Rotated)
	}
	if data, err = d.Bundle.Data(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []CertConfig{oldNames, newNames} {
		if again, err := c.Plan(data, t0.Add(2*time.Hour), never); err != nil || again.Changed {
			t.Errorf("%v replaces the certificate with both names: %v %q", c.DNSNames, err, again.Rotated)
		}
	}
	renewed, err := newNames.Plan(data, t0.Add(10*time.Hour), never)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new.sctpguard.svc"}, renewed.Bundle.Serving.Cert.DNSNames); diff != "" {
		t.Errorf("names after renewal (-want +got):\n%s", diff)
	}
}

// TestServingEndsWithCA: a serving certificate is not valid past its CA, so it ends with it.
func TestServingEndsWithCA(t *testing.T) {
	d, err := testCertConfig.Plan(nil, t0, never)
	if err != nil {
		t.Fatal(err)
	}
	ca := d.Bundle.CA
	for _, tt := range []struct{ issued, want time.Time }{
		{t0.Add(time.Hour), t0.Add(13 * time.Hour)},
		{t0.Add(30 * time.Hour), t0.Add(36 * time.Hour)},
	} {
		s, err := testCertConfig.newServing(ca, testCertConfig.DNSNames, nil, tt.issued)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Cert.NotAfter.Equal(tt.want) {
			t.Errorf("issued at %s: until %s, want %s", tt.issued.Sub(t0), s.Cert.NotAfter.Sub(t0), tt.want.Sub(t0))
		}
	}
}

func TestStep(t *testing.T) {
	for _, tt := range []struct {
		ca, cert, want time.Duration
	}{
		{DefaultCAValidity, DefaultCertValidity, time.Hour},
		{2 * time.Minute, time.Minute, 5 * time.Second},
		{10 * time.Minute, time.Minute, 5 * time.Second},
		{36 * time.Hour, 12 * time.Hour, time.Hour},
	} {
		if got := (CertConfig{CAValidity: tt.ca, CertValidity: tt.cert}).Step(); got != tt.want {
			t.Errorf("Step(ca %s, cert %s) = %s, want %s", tt.ca, tt.cert, got, tt.want)
		}
	}
}

func TestCABundlePatch(t *testing.T) {
	got, err := caBundlePatch([]string{"a.sctpguard.io", "b.sctpguard.io", "c.sctpguard.io"}, [][]byte{nil, []byte("new"), []byte("old")}, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"test","path":"/webhooks/0/name","value":"a.sctpguard.io"},{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"bmV3"},` +
		`{"op":"test","path":"/webhooks/2/name","value":"c.sctpguard.io"},{"op":"add","path":"/webhooks/2/clientConfig/caBundle","value":"bmV3"}]`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
	if got, err := caBundlePatch([]string{"a"}, [][]byte{[]byte("new")}, []byte("new")); got != nil || err != nil {
		t.Errorf("patch when nothing differs: %s %v", got, err)
	}
}
