package certs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/webhook"
)

// guardDegraded is the sample of the guard configuration's degraded state.
const guardDegraded = `sctpguard_degraded{cause="ako-guard-configuration"}`

// metricSample returns a replica's metric sample (name{labels}), or "" when it has none.
func metricSample(r *cluster.Replica, name string) (string, error) {
	resp, err := http.Get(r.MetricsURL + "/metrics")
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v, nil
		}
	}
	return "", sc.Err()
}

// guardBundle returns the caBundle of the guard's configuration.
func guardBundle(t *testing.T) string {
	t.Helper()
	g := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := cl.Client.Get(t.Context(), client.ObjectKey{Name: webhook.AKOGuardName("sctpguard")}, g); err != nil {
		t.Fatal(err)
	}
	return string(g.Webhooks[0].ClientConfig.CABundle)
}

// TestGuardUnreadable: with its get and patch on the guard's configuration taken away, every
// replica shows the degraded state (the gauge; a Warning Event on the certificate Secret),
// stays ready, and the main webhooks judge on; given back, the guard gets the CA and the
// state ends.
func TestGuardUnreadable(t *testing.T) {
	requireCluster(t)
	consistent(t)
	ctx := t.Context()
	guard := webhook.AKOGuardConfiguration(webhook.ConfigurationOptions{Name: "sctpguard", URL: cl.WebhookURL},
		webhook.AKOGuardOptions{Namespace: "avi-system", Name: "avi-k8s-config"})
	if err := cl.Client.Create(ctx, guard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Client.Delete(context.Background(), guard) })
	role := &rbacv1.ClusterRole{}
	if err := cl.Client.Get(ctx, client.ObjectKey{Name: "sctpguard-certs"}, role); err != nil {
		t.Fatal(err)
	}
	granted := role.DeepCopy()
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.ResourceNames, guard.Name) })
	if len(role.Rules) != len(granted.Rules)-1 {
		t.Fatalf("no rule of ClusterRole sctpguard-certs names %s: %+v", guard.Name, granted.Rules)
	}
	if err := cl.Client.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		ctx := context.Background() // in the cleanup too
		cur := &rbacv1.ClusterRole{}
		if err := cl.Client.Get(ctx, client.ObjectKey{Name: granted.Name}, cur); err != nil {
			t.Error(err)
			return
		}
		cur.Rules = granted.Rules
		if err := cl.Client.Update(ctx, cur); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
	t.Cleanup(restore)
	// A change of the main configuration wakes the replicas' certificate loops.
	poke := func() {
		v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := cl.Client.Get(ctx, client.ObjectKey{Name: "sctpguard"}, v); err != nil {
			t.Fatal(err)
		}
		metav1.SetMetaDataAnnotation(&v.ObjectMeta, "e2e.sctpguard.io/poke", time.Now().Format(time.RFC3339Nano))
		if err := cl.Client.Update(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	poke()
	degraded := func(want string) func() error {
		return func() error {
			for i, r := range cl.Replicas {
				got, err := metricSample(r, guardDegraded)
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("replica %d: %s is %q", i+1, guardDegraded, got)
				}
			}
			return nil
		}
	}
	if err := cluster.Poll(ctx, time.Minute, degraded("1")); err != nil {
		t.Fatalf("degraded: %v\n%s", err, serveLog.String())
	}
	// One Warning Event on the certificate Secret, however many replicas and steps.
	out, stderr, code := cl.Kubectl("", "get", "events.events.k8s.io", "-n", "sctpguard", "--field-selector", "reason=GuardConfigurationUnreadable",
		"-o", "jsonpath={range .items[*]}{.type} {.regarding.kind}/{.regarding.name}: {.note}{\"\\n\"}{end}")
	if code != 0 {
		t.Fatal(stderr)
	}
	wantEvent := "Warning Secret/" + cluster.CertSecret + ": the CA of this Secret cannot be set in ValidatingWebhookConfiguration sctpguard-ako-guard: " +
		`read ValidatingWebhookConfiguration sctpguard-ako-guard: validatingwebhookconfigurations.admissionregistration.k8s.io "sctpguard-ako-guard" is forbidden: ` +
		`User "system:serviceaccount:sctpguard:sctpguard" cannot get resource "validatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope; ` +
		"the API server may fail to call the guard on AKO's ConfigMap, which then lets changes of AKO's settings through unjudged (failurePolicy Ignore); " +
		"the main webhook configurations are not held back\n"
	if events := strings.SplitAfter(out, "\n"); len(events) == 0 || events[0] != wantEvent {
		t.Errorf("Events:\n%s\nwant first:\n%s", out, wantEvent)
	}
	for i, r := range cl.Replicas {
		if ok, body := r.Ready(); !ok {
			t.Errorf("replica %d not ready: %s", i+1, body)
		}
	}
	denies(t)

	// Given back: the guard carries the CA in force, the state ends.
	restore()
	poke()
	if err := cluster.Poll(ctx, time.Minute, func() error {
		s, err := readSecret(ctx)
		if err != nil {
			return err
		}
		if guardBundle(t) != string(s.bundle) {
			return errors.New("the guard's caBundle is not the Secret's")
		}
		return degraded("0")()
	}); err != nil {
		t.Fatalf("recovered: %v", err)
	}
}
