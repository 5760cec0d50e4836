// Package selftest proves that sctpguard's admission webhook is live in a cluster: it asks the
// API server for a server-side dry run of a Service that sctpguard denies whatever AKO's
// settings are, and passes only on the denial of sctpguard's validating webhook. A pass means
// the webhook configuration is installed, its CA is trusted, the webhook is reachable and it
// judges. Nothing is stored. The chart's helm test runs it (sctpguard selftest).
package selftest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sctpguard/sctpguard/policy"
)

// ServiceName names the dry-run Service.
const ServiceName = "sctpguard-selftest"

// validatingWebhook is the webhook whose denial counts (webhook.Configurations names it).
const validatingWebhook = "services.validate.sctpguard.io"

// ErrAdmitted is the outcome of a dry run that nothing denied: the webhook is not installed,
// or the namespace is excluded or opted out.
var ErrAdmitted = errors.New("the API server admitted the known-bad Service: sctpguard's webhook did not judge it " +
	"(webhook configurations missing, or the namespace excluded or labelled sctpguard.io/ignore=true)")

// Options configure Run.
type Options struct {
	// Namespace is where the dry run is made: not sctpguard's own, which its webhooks skip.
	Namespace string
	// Timeout bounds the retries; Interval separates them.
	Timeout  time.Duration
	Interval time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{Namespace: "default", Timeout: time.Minute, Interval: 2 * time.Second}
}

// KnownBad returns the Service sctpguard always denies: an SCTP port on a Service with
// Antrea NodePortLocal enabled, which AKO would skip in any mode.
func KnownBad(namespace string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: ServiceName, Namespace: namespace,
			Annotations: map[string]string{"nodeportlocal.antrea.io/enabled": "true"},
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": ServiceName},
			Ports:    []corev1.ServicePort{{Name: "sctp", Port: 5060, Protocol: corev1.ProtocolSCTP}},
		},
	}
}

// Check makes one server-side dry run of the known-bad Service and returns the webhook's
// denial message, or an error saying why the webhook did not deny it.
func Check(ctx context.Context, c kubernetes.Interface, namespace string) (string, error) {
	_, err := c.CoreV1().Services(namespace).Create(ctx, KnownBad(namespace), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return classify(err)
}

// classify maps the API server's answer to the dry run to a denial message or an error.
func classify(err error) (string, error) {
	if err == nil {
		return "", ErrAdmitted
	}
	msg := err.Error()
	// The API server reports a webhook denial as 403 'admission webhook "<name>" denied the
	// request: <the webhook's message>'.
	denied := `admission webhook "` + validatingWebhook + `" denied the request`
	if apierrors.IsForbidden(err) && strings.Contains(msg, denied) && strings.Contains(msg, "["+string(policy.RuleSCTPNPLAnnotation)+"]") {
		return msg, nil
	}
	return "", fmt.Errorf("dry run of the known-bad Service: %w", err)
}

// Run retries Check until the webhook denies the Service or the timeout passes (the
// webhook may be starting, or cert-manager injecting its CA), and returns the denial or the
// last error.
func Run(ctx context.Context, c kubernetes.Interface, o *Options) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	for {
		denial, err := Check(ctx, c, o.Namespace)
		if err == nil {
			return denial, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no denial from sctpguard within %s: %w", o.Timeout, err)
		case <-time.After(o.Interval):
		}
	}
}
