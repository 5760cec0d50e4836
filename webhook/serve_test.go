package webhook

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestOptionsSelfSigned(t *testing.T) {
	for _, tt := range []struct {
		name   string
		modify func(*Options)
		want   field.ErrorList
	}{
		{"defaults", func(*Options) {}, nil},
		{"test lifetimes", func(o *Options) { o.CertValidity, o.CAValidity = time.Minute, 2*time.Minute }, nil},
		{"extra names and addresses", func(o *Options) { o.CertExtraSANs = []string{"127.0.0.1", "::1", "localhost", "*.sctpguard.example"} }, nil},
		{"empty names", func(o *Options) { o.CertSecret, o.WebhookConfiguration, o.WebhookService = "", "", "" }, field.ErrorList{
			field.Required(field.NewPath("cert-secret"), "needed with --self-signed-certs"),
			field.Required(field.NewPath("webhook-configuration"), "needed with --self-signed-certs"),
			field.Required(field.NewPath("webhook-service"), "needed with --self-signed-certs"),
		}},
		{"invalid names", func(o *Options) {
			o.CertSecret, o.WebhookService, o.CertExtraSANs = "Bad_Secret", "1service", []string{"ok.example", "not a name"}
		}, field.ErrorList{
			field.Invalid(field.NewPath("cert-secret"), "Bad_Secret", "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
			field.Invalid(field.NewPath("webhook-service"), "1service", "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
			field.Invalid(field.NewPath("cert-extra-sans").Index(1), "not a name", "must be an IP address or a DNS name"),
		}},
		{"lifetimes too short", func(o *Options) { o.CertValidity, o.CAValidity = 30*time.Second, 50*time.Second }, field.ErrorList{
			field.Invalid(field.NewPath("cert-validity"), "30s", "must be at least 1m0s"),
			field.Invalid(field.NewPath("ca-validity"), "50s", "must be at least twice --cert-validity (1m0s)"),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.SelfSignedCerts = true
			tt.modify(o)
			if diff := cmp.Diff(tt.want, o.Validate()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			// Off, the same values are not looked at.
			o.SelfSignedCerts = false
			if errs := o.Validate(); len(errs) > 0 {
				t.Errorf("errors without --self-signed-certs: %v", errs)
			}
		})
	}
}

func TestOptionsCertConfig(t *testing.T) {
	o := NewOptions()
	o.PolicyNamespace, o.WebhookService = "telco-system", "guard"
	o.CertExtraSANs = []string{"127.0.0.1", "guard.example", "::1"}
	want := CertConfig{
		DNSNames:   []string{"guard.telco-system.svc", "guard.telco-system.svc.cluster.local", "guard.example"},
		IPs:        []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		CAValidity: 5 * 365 * 24 * time.Hour, CertValidity: 90 * 24 * time.Hour,
	}
	if diff := cmp.Diff(want, o.CertConfig()); diff != "" {
		t.Errorf("CertConfig (-want +got):\n%s", diff)
	}
}
