package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/cert"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Waits of SelfSigned's loop.
const (
	// certResync looks at the certificates this often even when nothing seems due, so that a
	// missed event or a clock jump delays a step by this much at most.
	certResync = 10 * time.Minute
	// certRetryMin and certRetryMax bound the backoff after a failed step.
	certRetryMin = 500 * time.Millisecond
	certRetryMax = 30 * time.Second
)

// SelfSigned issues the webhook's CA and serving certificate, rotates them, and keeps the
// caBundle of the webhook configurations in step; it is what runs instead of cert-manager.
//
// Every replica serves the webhook, so the certificates live in one Secret that every
// replica reads: the first replica creates it (another one finding it already there reads
// theirs), and a replica that finds a step due writes it with optimistic concurrency, so
// replicas that decide the same step at once write it once. Each replica serves the
// Secret's serving certificate from memory (GetCertificate), switching as soon as its watch
// sees a change, and patches the caBundle of every webhook of the two configurations back
// whenever it differs from the Secret's (a helm upgrade re-applies them empty).
//
// The serving certificate is held in memory, not written to --cert-dir for
// controller-runtime's certificate watcher: the switch then happens exactly when the Secret
// allows it, certificate and key together, with no writable volume, and the webhook server
// can start before the first certificate exists.
type SelfSigned struct {
	// Client writes the Secret and patches the configurations; Cache, the manager's cache,
	// reads them (CacheByObject).
	Client kubernetes.Interface
	Cache  Watches
	// Namespace and Secret name the certificate Secret.
	Namespace string
	Secret    string
	// Configuration names both the mutating and the validating webhook configuration, which
	// the cache watches. Guard, when set, names the guard's validating webhook configuration
	// (AKOGuardConfiguration), patched too when it exists: it is read with a GET at each step,
	// since the cache selects one name; a helm upgrade that empties its caBundle re-applies
	// the main configurations too, whose change wakes the loop.
	Configuration string
	Guard         string
	Config        CertConfig
	// Degradations and Events, when set, show a guard configuration that cannot be read or
	// patched (DegradedAKOGuardConfiguration, and a Warning Event on the certificate Secret
	// when it starts): it holds no rotation back, and readiness does not wait for it.
	Degradations *Degradations
	Events       events.EventRecorder
	// Clock is the real one when nil.
	Clock clock.Clock
	Log   logr.Logger

	serving atomic.Pointer[tls.Certificate]
	poke    chan struct{}
	// inForce is the bundle this replica serves, as last read or written.
	inForce *CertBundle
	// trust is the CA the configurations carry, and since when, as seen here. Only the
	// loop writes it; it is atomic so that tests can wait for the loop to have seen a CA.
	trust atomic.Pointer[caTrust]
	// guardFailing: the last step could not read or patch the guard's configuration (the
	// loop's alone).
	guardFailing bool
}

// NeedLeaderElection is false: every replica serves, so every replica needs a certificate.
func (s *SelfSigned) NeedLeaderElection() bool { return false }

// GetCertificate serves the Secret's serving certificate; it is the webhook server's
// tls.Config.GetCertificate.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.serving.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("no serving certificate yet")
}

// Ready is a readiness check: a serving certificate is in place.
func (s *SelfSigned) Ready(*http.Request) error {
	if s.serving.Load() == nil {
		return fmt.Errorf("no serving certificate from Secret %s/%s yet", s.Namespace, s.Secret)
	}
	return nil
}

// Start runs until ctx is done; it implements manager.Runnable.
func (s *SelfSigned) Start(ctx context.Context) error {
	clk := s.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	s.poke = make(chan struct{}, 1)
	// The cache holds only these objects (CacheByObject); the checks keep other uses of it out.
	watches := []struct {
		obj  client.Object
		ours func(client.Object) bool
	}{
		{&corev1.Secret{}, func(o client.Object) bool { return o.GetNamespace() == s.Namespace && o.GetName() == s.Secret }},
		{&admissionregistrationv1.MutatingWebhookConfiguration{}, func(o client.Object) bool { return o.GetName() == s.Configuration }},
		{&admissionregistrationv1.ValidatingWebhookConfiguration{}, func(o client.Object) bool { return o.GetName() == s.Configuration }},
	}
	for _, w := range watches {
		informer, err := notify(ctx, s.Cache, w.obj, w.ours, s.changed)
		if err != nil {
			return fmt.Errorf("watch certificates: %w", err)
		}
		if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			return fmt.Errorf("sync Secret %s/%s and webhook configurations %s: %w", s.Namespace, s.Secret, s.Configuration, ctx.Err())
		}
	}
	s.Log.Info("managing the webhook certificates", "secret", s.Namespace+"/"+s.Secret, "webhookConfigurations", s.Configuration,
		"dnsNames", s.Config.DNSNames, "ips", s.Config.IPs, "caValidity", s.Config.CAValidity, "certValidity", s.Config.CertValidity)
	var retry time.Duration
	overdue := 0
	for {
		now := clk.Now()
		wake, err := s.sync(ctx, now)
		if err != nil {
			retry = min(max(retry*2, certRetryMin), certRetryMax)
			s.Log.Error(err, "certificates: will retry", "in", retry)
			wake = now.Add(retry)
		} else {
			retry = 0
		}
		timer := clk.NewTimer(min(max(wake.Sub(clk.Now()), 0), certResync))
		// A step that fell due while the sync ran, or while the timer was set, is taken now
		// (at most a few times in a row, so a wake in the past cannot spin the loop).
		if !wake.After(clk.Now()) && overdue < 3 && ctx.Err() == nil {
			timer.Stop()
			overdue++
			continue
		}
		overdue = 0
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.poke:
			timer.Stop()
		case <-timer.C():
		}
	}
}

func (s *SelfSigned) changed() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// sync takes the steps due at now and returns when the next one is.
func (s *SelfSigned) sync(ctx context.Context, now time.Time) (time.Time, error) {
	secret := s.secret(ctx)
	var data map[string][]byte
	switch {
	case secret != nil:
		data = secret.Data
	case s.inForce != nil:
		// The Secret was deleted: write back the certificates in force, which the API server
		// trusts, rather than new ones it does not.
		var err error
		if data, err = s.inForce.Data(); err != nil {
			return now, err
		}
		s.Log.Info("the certificate Secret is gone; writing it again with the certificates in force", "secret", s.Namespace+"/"+s.Secret)
	}
	d, err := s.Config.Plan(data, now, func(ca *x509.Certificate) time.Time { return s.trustedAt(ctx, ca, now) })
	if err != nil {
		return now, err
	}
	if d.Changed || secret == nil {
		if err := s.write(ctx, secret, d.Bundle); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
				// Another replica took the step first; its Secret arrives through the watch.
				s.Log.V(1).Info("another replica wrote the certificates first", "secret", s.Namespace+"/"+s.Secret)
				return now.Add(certRetryMin), nil
			}
			return now, err
		}
		for _, r := range d.Replaced {
			s.Log.Error(errors.New(r), "the certificate Secret held an unusable certificate; replaced it", "secret", s.Namespace+"/"+s.Secret)
		}
		for _, r := range d.Rotated {
			s.Log.Info(r, "secret", s.Namespace+"/"+s.Secret)
		}
	}
	s.inForce = d.Bundle
	s.serve(d.Bundle)
	return d.Wake, s.patchConfigurations(ctx, d.Bundle)
}

// secret returns the certificate Secret as the cache holds it, or nil.
func (s *SelfSigned) secret(ctx context.Context) *corev1.Secret {
	var secret corev1.Secret
	if err := s.Cache.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.Secret}, &secret); err != nil {
		return nil
	}
	return &secret
}

// write creates or updates the Secret; an update carries the resourceVersion read, so it
// fails with a conflict when another replica wrote first.
func (s *SelfSigned) write(ctx context.Context, current *corev1.Secret, b *CertBundle) error {
	data, err := b.Data()
	if err != nil {
		return err
	}
	if current == nil {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.Secret, Namespace: s.Namespace,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "sctpguard"}},
			Type: corev1.SecretTypeTLS,
			Data: data,
		}
		if _, err := s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", s.Namespace, s.Secret, err)
		}
		return nil
	}
	secret := current.DeepCopy()
	secret.Data = data
	if secret.Type != corev1.SecretTypeTLS {
		// The type cannot change; a Secret made by hand keeps its own and works all the same.
		s.Log.Info("the certificate Secret is not of type kubernetes.io/tls; using it as it is", "secret", s.Namespace+"/"+s.Secret, "type", secret.Type)
	}
	if _, err := s.Client.CoreV1().Secrets(s.Namespace).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update Secret %s/%s: %w", s.Namespace, s.Secret, err)
	}
	return nil
}

// serve puts the bundle's serving certificate in force.
func (s *SelfSigned) serve(b *CertBundle) {
	if cur := s.serving.Load(); cur != nil && bytes.Equal(cur.Certificate[0], b.Serving.Cert.Raw) {
		return
	}
	s.serving.Store(&tls.Certificate{Certificate: [][]byte{b.Serving.Cert.Raw}, PrivateKey: b.Serving.Key, Leaf: b.Serving.Cert})
	s.Log.Info("serving certificate in force", "certificate", describe(b.Serving.Cert), "ca", describe(b.CA.Cert))
}

// trustedAt returns since when every webhook of the configurations has carried ca in its
// caBundle, as this replica has seen, or zero. No configuration at all trusts vacuously:
// nothing calls the webhook then, and a configuration made later gets the whole bundle.
func (s *SelfSigned) trustedAt(ctx context.Context, ca *x509.Certificate, now time.Time) time.Time {
	for _, bundle := range s.caBundles(ctx) {
		if !carries(bundle, ca) {
			s.trust.Store(nil)
			return time.Time{}
		}
	}
	fp := Fingerprint(ca)
	if t := s.trust.Load(); t != nil && t.fingerprint == fp {
		return t.since
	}
	s.trust.Store(&caTrust{fingerprint: fp, since: now})
	return now
}

// caTrust is a CA every webhook configuration carries, and since when.
type caTrust struct {
	fingerprint string
	since       time.Time
}

func carries(bundle []byte, ca *x509.Certificate) bool {
	certs, err := cert.ParseCertsPEM(bundle)
	if err != nil {
		return false
	}
	for _, c := range certs {
		if c.Equal(ca) {
			return true
		}
	}
	return false
}

// caBundles returns the caBundle of every webhook of the configurations. The guard's, when it
// cannot be read, does not hold a rotation back: its failurePolicy is Ignore, while the main
// configurations' CA must not expire waiting for it; patchConfigurations reports the error at
// every step, and shows the degraded state.
func (s *SelfSigned) caBundles(ctx context.Context) [][]byte {
	configurations, _ := s.configurations(ctx)
	var bundles [][]byte
	for _, c := range configurations {
		bundles = append(bundles, c.bundles...)
	}
	return bundles
}

// configuration is what the caBundle patch needs of a webhook configuration.
type configuration struct {
	kind, name string
	// guard: the guard's configuration, which holds nothing back (caBundles).
	guard   bool
	hooks   []string
	bundles [][]byte
}

const (
	kindMutating   = "MutatingWebhookConfiguration"
	kindValidating = "ValidatingWebhookConfiguration"
)

// configurationOf reads the webhooks' names and caBundles, whose client configuration of
// returns, of a mutating or validating configuration.
func configurationOf[W any](kind, name string, webhooks []W, of func(W) (string, admissionregistrationv1.WebhookClientConfig)) configuration {
	c := configuration{kind: kind, name: name}
	for _, w := range webhooks {
		hook, cc := of(w)
		c.hooks, c.bundles = append(c.hooks, hook), append(c.bundles, cc.CABundle)
	}
	return c
}

func mutatingHook(w admissionregistrationv1.MutatingWebhook) (string, admissionregistrationv1.WebhookClientConfig) {
	return w.Name, w.ClientConfig
}

func validatingHook(w admissionregistrationv1.ValidatingWebhook) (string, admissionregistrationv1.WebhookClientConfig) {
	return w.Name, w.ClientConfig
}

// configurations returns the two webhook configurations as the cache holds them, and the
// guard's as the API server holds it; one that does not exist is left out. The guard's is
// left out too when it cannot be read, with the error.
func (s *SelfSigned) configurations(ctx context.Context) (out []configuration, guardErr error) {
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := s.Cache.Get(ctx, types.NamespacedName{Name: s.Configuration}, &m); err == nil {
		out = append(out, configurationOf(kindMutating, s.Configuration, m.Webhooks, mutatingHook))
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := s.Cache.Get(ctx, types.NamespacedName{Name: s.Configuration}, &v); err == nil {
		out = append(out, configurationOf(kindValidating, s.Configuration, v.Webhooks, validatingHook))
	}
	if s.Guard == "" {
		return out, nil
	}
	g, err := s.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, s.Guard, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return out, fmt.Errorf("read %s %s: %w", kindValidating, s.Guard, err)
	default:
		c := configurationOf(kindValidating, s.Guard, g.Webhooks, validatingHook)
		c.guard = true
		out = append(out, c)
	}
	return out, nil
}

func (s *SelfSigned) patch(ctx context.Context, c configuration, patch []byte) error {
	var err error
	if c.kind == kindMutating {
		_, err = s.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Patch(ctx, c.name, types.JSONPatchType, patch, metav1.PatchOptions{})
	} else {
		_, err = s.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx, c.name, types.JSONPatchType, patch, metav1.PatchOptions{})
	}
	return err
}

// patchConfigurations sets the caBundle of every webhook that lacks the bundle's, and shows
// whether the guard's configuration could be read and patched (guardState).
func (s *SelfSigned) patchConfigurations(ctx context.Context, b *CertBundle) error {
	want := b.TrustBundle()
	configurations, guardErr := s.configurations(ctx)
	var errs []error
	for _, c := range configurations {
		err := s.patchConfiguration(ctx, c, b, want)
		switch {
		case err == nil:
		case c.guard:
			guardErr = err
		default:
			errs = append(errs, err)
		}
	}
	s.guardState(guardErr)
	return errors.Join(append(errs, guardErr)...)
}

// patchConfiguration sets the caBundle of the configuration's webhooks that lack want.
func (s *SelfSigned) patchConfiguration(ctx context.Context, c configuration, b *CertBundle, want []byte) error {
	patch, err := caBundlePatch(c.hooks, c.bundles, want)
	if err != nil || patch == nil {
		return err
	}
	if err := s.patch(ctx, c, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch the caBundle of %s %s: %w", c.kind, c.name, err)
	}
	var cas []string
	for _, ca := range b.CAs() {
		cas = append(cas, Fingerprint(ca))
	}
	s.Log.Info("caBundle set", "kind", c.kind, "name", c.name, "webhooks", len(c.hooks), "cas", strings.Join(cas, ","))
	return nil
}

// guardState shows a guard configuration that cannot be read or patched (err) as the
// degraded state DegradedAKOGuardConfiguration, with a Warning Event on the certificate
// Secret when it starts; it ends the state when err is nil. Readiness is not affected: the
// guard's failurePolicy is Ignore, and the replica serves the main webhooks all the same.
func (s *SelfSigned) guardState(err error) {
	if err == nil {
		if s.guardFailing {
			s.Log.Info("the guard's webhook configuration carries the CA in force again", "name", s.Guard)
		}
		s.guardFailing = false
		s.Degradations.Clear(DegradedAKOGuardConfiguration)
		return
	}
	if !s.guardFailing && s.Events != nil {
		s.Events.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: s.Namespace, Name: s.Secret}, nil,
			corev1.EventTypeWarning, "GuardConfigurationUnreadable", "PatchCABundle",
			"the CA of this Secret cannot be set in %s %s: %v; the API server may fail to call the guard on AKO's ConfigMap, "+
				"which then lets changes of AKO's settings through unjudged (failurePolicy Ignore); the main webhook configurations "+
				"are not held back", kindValidating, s.Guard, err)
	}
	s.guardFailing = true
	s.Degradations.Set(DegradedAKOGuardConfiguration, "")
}

// caBundlePatch returns a JSON patch that sets want as the caBundle of each webhook whose
// caBundle differs, or nil. Each replacement first tests the webhook's name at its index, so
// a patch meant for an older list fails instead of landing on the wrong webhook.
func caBundlePatch(hooks []string, bundles [][]byte, want []byte) ([]byte, error) {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	var ops []op
	for i, name := range hooks {
		if bytes.Equal(bundles[i], want) {
			continue
		}
		path := fmt.Sprintf("/webhooks/%d", i)
		ops = append(ops, op{"test", path + "/name", name}, op{"add", path + "/clientConfig/caBundle", want})
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return json.Marshal(ops)
}
