package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/cert"
	clocktesting "k8s.io/utils/clock/testing"
)

// logLines collects log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, args)
}

func (l *logLines) grep(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// selfSignedRig runs SelfSigned against a fake API server and a fake clock.
type selfSignedRig struct {
	t      *testing.T
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	s      *SelfSigned
	logs   *logLines
	events *events.FakeRecorder
}

func startSelfSigned(t *testing.T, objects ...runtime.Object) *selfSignedRig {
	t.Helper()
	return startSelfSignedWith(t, nil, objects...)
}

// startSelfSignedWith is startSelfSigned with react, when set, given the fake API server
// before the replica starts.
func startSelfSignedWith(t *testing.T, react func(*fake.Clientset), objects ...runtime.Object) *selfSignedRig {
	t.Helper()
	o := ConfigurationOptions{Name: "sctpguard", URL: "https://127.0.0.1:9443"}
	mutating, validating := Configurations(o)
	objs := []runtime.Object{mutating, validating, AKOGuardConfiguration(o, AKOGuardOptions{Namespace: "avi-system", Name: "avi-k8s-config"})}
	r := &selfSignedRig{t: t, clock: clocktesting.NewFakeClock(t0), logs: &logLines{}, events: events.NewFakeRecorder(100)}
	r.events.Verbose = true
	degradations, err := NewDegradations(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		if secret, ok := o.(*corev1.Secret); ok && secret.ResourceVersion == "" {
			secret = secret.DeepCopy()
			secret.ResourceVersion = "1" // as any stored object has one
			o = secret
		}
		objs = append(objs, o)
	}
	r.client = fake.NewClientset(objs...)
	secretsVersioned(r.client)
	if react != nil {
		react(r.client)
	}
	r.s = &SelfSigned{
		Client: r.client, Cache: &factoryWatches{factory: informers.NewSharedInformerFactory(r.client, 0)}, Namespace: "sctpguard", Secret: "sctpguard-webhook-tls", Configuration: "sctpguard",
		Guard: "sctpguard-ako-guard", Config: testCertConfig, Clock: r.clock, Log: funcr.New(r.logs.add, funcr.Options{}),
		Degradations: degradations, Events: r.events,
	}
	if err := r.s.Ready(nil); err == nil {
		t.Error("ready without a certificate")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return r
}

// secretsVersioned gives the fake API server's Secrets the optimistic concurrency of a real
// one, which client-go's fake tracker does not keep: a create or update sets a new
// resourceVersion, and an update that names another than the stored one fails with a
// conflict (one that names none replaces unconditionally, as the API server allows). Without
// it, a replica writing from a cache that has not yet seen its own last write succeeded here
// where the API server refuses it, and the CA rotation was published twice.
func secretsVersioned(c *fake.Clientset) {
	var version atomic.Int64
	version.Store(1) // the stored objects' own
	c.PrependReactor("*", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var obj *corev1.Secret
		// By verb: an update action is a CreateAction too (both have GetObject).
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			obj, _ = a.GetObject().(*corev1.Secret)
		case k8stesting.UpdateActionImpl:
			obj, _ = a.GetObject().(*corev1.Secret)
			if obj != nil && obj.ResourceVersion != "" {
				stored, err := c.Tracker().Get(a.GetResource(), a.GetNamespace(), obj.Name)
				if err != nil {
					return true, nil, err
				}
				if have := stored.(*corev1.Secret).ResourceVersion; have != obj.ResourceVersion {
					return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), obj.Name,
						fmt.Errorf("the object has been modified: resourceVersion %s, stored %s", obj.ResourceVersion, have))
				}
			}
		}
		if obj != nil {
			obj.ResourceVersion = fmt.Sprint(version.Add(1))
		}
		return false, nil, nil // the tracker stores it
	})
}

// eventually retries check for ten seconds.
func (r *selfSignedRig) eventually(what string, check func() error) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *selfSignedRig) secret() *corev1.Secret {
	r.t.Helper()
	s, err := r.client.CoreV1().Secrets("sctpguard").Get(context.Background(), "sctpguard-webhook-tls", metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// caBundles returns the caBundle of every webhook, mutating, validating, then the guard's.
func (r *selfSignedRig) caBundles() []string {
	r.t.Helper()
	m, err := r.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), "sctpguard", metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, w := range m.Webhooks {
		out = append(out, string(w.ClientConfig.CABundle))
	}
	for _, name := range []string{"sctpguard", "sctpguard-ako-guard"} {
		v, err := r.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, w := range v.Webhooks {
			out = append(out, string(w.ClientConfig.CABundle))
		}
	}
	return out
}

// settled: the replica serves the Secret's certificate, every webhook carries the Secret's
// bundle, and the Secret holds as many CAs as want.
func (r *selfSignedRig) settled(cas int) func() error {
	return func() error {
		secret := r.secret()
		served, err := r.s.GetCertificate(nil)
		if err != nil {
			return err
		}
		want, err := cert.ParseCertsPEM(secret.Data[corev1.TLSCertKey])
		if err != nil {
			return err
		}
		if !served.Leaf.Equal(want[0]) {
			return fmt.Errorf("serves %s, the Secret holds %s", describe(served.Leaf), describe(want[0]))
		}
		bundle := string(secret.Data[SecretCABundle])
		if got := r.caBundles(); slices.ContainsFunc(got, func(b string) bool { return b != bundle }) {
			return errors.New("a webhook lacks the Secret's caBundle")
		}
		if got, _ := cert.ParseCertsPEM([]byte(bundle)); len(got) != cas {
			return fmt.Errorf("%d CAs in the bundle, want %d", len(got), cas)
		}
		if !r.clock.HasWaiters() {
			return errors.New("the loop is not waiting")
		}
		return nil
	}
}

func caOf(t *testing.T, secret *corev1.Secret) *x509.Certificate {
	t.Helper()
	cas, err := cert.ParseCertsPEM(secret.Data[SecretCABundle])
	if err != nil {
		t.Fatal(err)
	}
	return cas[0]
}

// seeNextCA waits until the replica has seen the configurations carry the next CA of the
// published Secret since the clock's now (a CA rotation's step is counted from then: its
// watch may lag the API), and until settled.
func (r *selfSignedRig) seeNextCA(published *corev1.Secret, settled func() error) {
	r.t.Helper()
	cas, err := cert.ParseCertsPEM(published.Data[SecretCABundle])
	if err != nil {
		r.t.Fatal(err)
	}
	next := Fingerprint(cas[1])
	r.eventually("see the configurations carry the next CA", func() error {
		if tr := r.s.trust.Load(); tr == nil || tr.fingerprint != next || !tr.since.Equal(r.clock.Now()) {
			return fmt.Errorf("trust %+v, want %s since %s", tr, next, r.clock.Now())
		}
		return settled()
	})
}

// mainBundles returns the caBundle of the first webhook of the mutating, the validating and
// the guard's configuration, as stored.
func (r *selfSignedRig) mainBundles() ([]string, error) {
	var got []string
	for _, c := range []struct{ resource, name string }{{"mutatingwebhookconfigurations", "sctpguard"}, {"validatingwebhookconfigurations", "sctpguard"}, {"validatingwebhookconfigurations", "sctpguard-ako-guard"}} {
		o, err := r.client.Tracker().Get(admissionregistrationv1.SchemeGroupVersion.WithResource(c.resource), "", c.name)
		if err != nil {
			return nil, err
		}
		switch o := o.(type) {
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			got = append(got, string(o.Webhooks[0].ClientConfig.CABundle))
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			got = append(got, string(o.Webhooks[0].ClientConfig.CABundle))
		}
	}
	return got, nil
}

// guardAside: the replica serves the Secret's certificate, the main configurations carry the
// Secret's bundle of cas CAs, the guard's holds guard, and the loop waits.
func (r *selfSignedRig) guardAside(cas int, guard string) func() error {
	return func() error {
		secret, err := r.client.CoreV1().Secrets("sctpguard").Get(context.Background(), "sctpguard-webhook-tls", metav1.GetOptions{})
		if err != nil {
			return err
		}
		bundle := string(secret.Data[SecretCABundle])
		got, err := r.mainBundles()
		if err != nil {
			return err
		}
		if want := []string{bundle, bundle, guard}; !slices.Equal(got, want) {
			return fmt.Errorf("caBundles (main, main, guard) %d/%d/%d bytes, want %d/%d/%d", len(got[0]), len(got[1]), len(got[2]), len(bundle), len(bundle), len(guard))
		}
		if parsed, _ := cert.ParseCertsPEM([]byte(bundle)); len(parsed) != cas {
			return fmt.Errorf("%d CAs in the bundle, want %d", len(parsed), cas)
		}
		served, err := r.s.GetCertificate(nil)
		if err != nil {
			return err
		}
		if want, _ := cert.ParseCertsPEM(secret.Data[corev1.TLSCertKey]); !served.Leaf.Equal(want[0]) {
			return errors.New("the replica does not serve the Secret's certificate")
		}
		if !r.clock.HasWaiters() {
			return errors.New("the loop is not waiting")
		}
		return nil
	}
}

// TestSelfSignedGuardUnreadable: a guard configuration sctpguard may not read holds neither
// the certificates nor the main configurations back: they get the CA and go through a whole
// CA rotation past it. The state is visible: the degraded gauge, one Warning Event on the
// certificate Secret, the error logged; the replica stays ready, and the verdicts carry no
// warning. Readable again, the guard gets the bundle and the state ends.
func TestSelfSignedGuardUnreadable(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	r := startSelfSignedWith(t, func(c *fake.Clientset) {
		c.PrependReactor("get", "validatingwebhookconfigurations", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.(k8stesting.GetAction).GetName() != "sctpguard-ako-guard" || !refuse.Load() {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(admissionregistrationv1.Resource("validatingwebhookconfigurations"), "sctpguard-ako-guard", errors.New("no grant"))
		})
	})
	degraded := func() float64 {
		return testutil.ToFloat64(r.s.Degradations.gauge.WithLabelValues(DegradedAKOGuardConfiguration))
	}
	r.eventually("the main configurations carry the CA", r.guardAside(1, ""))
	r.eventually("the error logged", func() error {
		if len(r.logs.grep("sctpguard-ako-guard")) == 0 {
			return errors.New("no log line names the guard's configuration")
		}
		return nil
	})
	if got := degraded(); got != 1 {
		t.Errorf("sctpguard_degraded{cause=%q} = %v, want 1", DegradedAKOGuardConfiguration, got)
	}
	if err := r.s.Ready(nil); err != nil {
		t.Errorf("not ready: %v", err)
	}
	if w := r.s.Degradations.Warnings(); len(w) > 0 {
		t.Errorf("verdicts would carry %q", w)
	}

	// The CA rotation, past the guard: published, signing, the old CA dropped.
	oldCA := caOf(t, r.secret())
	r.clock.SetTime(t0.Add(24 * time.Hour))
	r.eventually("publish the next CA", r.guardAside(2, ""))
	r.seeNextCA(r.secret(), r.guardAside(2, ""))
	r.clock.Step(time.Hour)
	r.eventually("sign with the next CA", func() error {
		if caOf(t, r.secret()).Equal(oldCA) {
			return errors.New("the old CA still signs")
		}
		return r.guardAside(2, "")()
	})
	r.clock.Step(time.Hour)
	r.eventually("drop the old CA", r.guardAside(1, ""))
	if caOf(t, r.secret()).Equal(oldCA) {
		t.Error("the old CA is back")
	}

	// One Event for the whole state, however many steps failed.
	want := []string{`Warning GuardConfigurationUnreadable PatchCABundle the CA of this Secret cannot be set in ValidatingWebhookConfiguration ` +
		`sctpguard-ako-guard: read ValidatingWebhookConfiguration sctpguard-ako-guard: validatingwebhookconfigurations.admissionregistration.k8s.io ` +
		`"sctpguard-ako-guard" is forbidden: no grant; the API server may fail to call the guard on AKO's ConfigMap, which then lets changes of ` +
		`AKO's settings through unjudged (failurePolicy Ignore); the main webhook configurations are not held back {kind=Secret,apiVersion=v1}`}
	var got []string
	for len(r.events.Events) > 0 {
		got = append(got, <-r.events.Events)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}

	// Readable again: at the next retry the guard carries the bundle, the state is over.
	refuse.Store(false)
	r.clock.Step(certRetryMax)
	r.eventually("the guard carries the CA", func() error {
		return r.guardAside(1, string(r.secret().Data[SecretCABundle]))()
	})
	r.eventually("the degraded state ends", func() error {
		if got := degraded(); got != 0 {
			return fmt.Errorf("sctpguard_degraded{cause=%q} = %v", DegradedAKOGuardConfiguration, got)
		}
		return nil
	})
}

// TestSelfSigned runs one replica against a fake API server: it replaces a garbage Secret
// (and says so), patches the caBundle back when a helm upgrade empties it, follows a
// certificate written by another replica, writes a deleted Secret again with the same
// certificates, and rotates the CA in its three steps as the clock moves.
func TestSelfSigned(t *testing.T) {
	garbage := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sctpguard-webhook-tls", Namespace: "sctpguard"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{SecretCABundle: []byte("garbage"), SecretCAKey: []byte("garbage"), corev1.TLSCertKey: []byte("x"), corev1.TLSPrivateKeyKey: []byte("y")},
	}
	r := startSelfSigned(t, garbage)
	r.eventually("replace the garbage Secret", r.settled(1))
	if err := r.s.Ready(nil); err != nil {
		t.Errorf("not ready with a certificate: %v", err)
	}
	want := []string{`"msg"="the certificate Secret held an unusable certificate; replaced it" "error"="CA unusable (ca.crt: data does not contain any valid RSA or ECDSA certificates): ` +
		`issued a new CA; webhook calls fail until the API server trusts it" "secret"="sctpguard/sctpguard-webhook-tls"`}
	if diff := cmp.Diff(want, r.logs.grep("unusable")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if lines := r.logs.grep("garbage"); len(lines) > 0 || len(r.logs.grep("PRIVATE KEY")) > 0 {
		t.Errorf("the log shows Secret data: %q", lines)
	}
	first := r.secret()

	// A helm upgrade applies the configurations with an empty caBundle.
	mutating, _ := Configurations(ConfigurationOptions{Name: "sctpguard", URL: "https://127.0.0.1:9443"})
	current, err := r.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), "sctpguard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mutating.ResourceVersion = current.ResourceVersion
	if _, err := r.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(context.Background(), mutating, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually("patch the caBundle back", r.settled(1))

	// Another replica renews the serving certificate under the same CA.
	d, err := testCertConfig.Plan(first.Data, t0, never)
	if err != nil {
		t.Fatal(err)
	}
	if d.Bundle.Serving, err = testCertConfig.newServing(d.Bundle.CA, testCertConfig.DNSNames, testCertConfig.IPs, t0); err != nil {
		t.Fatal(err)
	}
	renewed := first.DeepCopy()
	if renewed.Data, err = d.Bundle.Data(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.CoreV1().Secrets("sctpguard").Update(context.Background(), renewed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually("serve the other replica's certificate", r.settled(1))
	if got := r.secret(); string(got.Data[corev1.TLSCertKey]) != string(renewed.Data[corev1.TLSCertKey]) {
		t.Fatal("the other replica's certificate was replaced")
	}

	// Someone deletes the Secret: it comes back with the certificates in force.
	before := r.secret()
	if err := r.client.CoreV1().Secrets("sctpguard").Delete(context.Background(), "sctpguard-webhook-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually("write the deleted Secret again", func() error {
		if _, err := r.client.CoreV1().Secrets("sctpguard").Get(context.Background(), "sctpguard-webhook-tls", metav1.GetOptions{}); err != nil {
			return err
		}
		return r.settled(1)()
	})
	if again := r.secret(); string(again.Data[SecretCABundle]) != string(before.Data[SecretCABundle]) || string(again.Data[corev1.TLSCertKey]) != string(before.Data[corev1.TLSCertKey]) {
		t.Error("the Secret came back with other certificates")
	}

	// The CA rotation, driven by the clock: published at two thirds (24h), signing a step
	// after the configurations carry it, the old CA gone a step later.
	oldCA := caOf(t, first)
	r.clock.SetTime(t0.Add(24 * time.Hour))
	r.eventually("publish the next CA", r.settled(2))
	published := r.secret()
	if !caOf(t, published).Equal(oldCA) {
		t.Fatal("the next CA signs before the configurations carry it")
	}
	// The step is counted from when the replica saw the configurations carry the next CA
	// (its watch may lag the API): wait for that, and for the loop to wait again, before
	// moving the clock.
	r.seeNextCA(published, func() error {
		if !r.clock.HasWaiters() {
			return errors.New("the loop is not waiting")
		}
		return nil
	})
	r.clock.Step(time.Hour)
	r.eventually("sign with the next CA", func() error {
		if caOf(t, r.secret()).Equal(oldCA) {
			return errors.New("the old CA still signs")
		}
		return r.settled(2)()
	})
	promoted := r.secret()
	served, _ := r.s.GetCertificate(nil)
	if err := served.Leaf.CheckSignatureFrom(caOf(t, promoted)); err != nil {
		t.Errorf("the served certificate is not the new CA's: %v", err)
	}
	r.clock.Step(time.Hour)
	r.eventually("drop the old CA", r.settled(1))
	if !caOf(t, r.secret()).Equal(caOf(t, promoted)) {
		t.Error("the CA in force changed when the old one left")
	}
	for _, msg := range []string{"published the next CA", "signs from now on", "dropped CA"} {
		if len(r.logs.grep(msg)) != 1 {
			t.Errorf("log lines with %q: %q", msg, r.logs.grep(msg))
		}
	}
}
