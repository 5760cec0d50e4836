package webhook

import (
	"maps"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/webhook/audit"
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

// TestSkippedAsConfigurations: the namespaces the audit and the guard skip are those the
// webhook configurations' namespaceSelector leaves out, with a label of the operator's own
// as the opt-out label (the chart's webhook.optOutLabel) and excluded namespaces.
func TestSkippedAsConfigurations(t *testing.T) {
	o := NewOptions()
	o.OptOutLabel, o.ExcludeNamespaces = "example.com/no-sctpguard", []string{"sctpguard", "kube-system"}
	namespaces := map[string]map[string]string{
		"ran":         nil,
		"lab":         {"example.com/no-sctpguard": "true"},
		"lab-false":   {"example.com/no-sctpguard": "false"},
		"old-opt-out": {OptOutLabel: "true"}, // the default label is no opt-out under another
		"sctpguard":   nil,
		"kube-system": {"example.com/no-sctpguard": "false"},
	}
	var objs []policy.Object
	for name, l := range namespaces {
		all := map[string]string{corev1.LabelMetadataName: name}
		maps.Copy(all, l)
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: all}})
	}
	skipped := o.skipped(policy.NewMemoryInventory(objs...))
	_, validating := Configurations(ConfigurationOptions{Name: "sctpguard", OptOutLabel: o.OptOutLabel, ExcludeNamespaces: o.ExcludeNamespaces})
	got, want := map[string]bool{}, map[string]bool{}
	for _, obj := range objs {
		ns := obj.GetName()
		got[ns] = skipped(ns)
		for _, w := range validating.Webhooks {
			sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
			if err != nil {
				t.Fatal(err)
			}
			want[ns] = !sel.Matches(labels.Set(obj.GetLabels()))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("skipped namespaces (-namespaceSelector +skipped):\n%s", diff)
	}
	if want := map[string]bool{"ran": false, "lab": true, "lab-false": false, "old-opt-out": false, "sctpguard": true, "kube-system": true}; !cmp.Equal(want, got) {
		t.Errorf("skipped %v, want %v", got, want)
	}
	o.OptOutLabel = "not a label!"
	if errs := o.Validate(); len(errs) != 1 || errs[0].Field != "opt-out-label" {
		t.Errorf("an invalid opt-out label: %v", errs)
	}
}

// TestAuditMaxResults: the bound of a PolicyReport's results is refused outside 1 to
// audit.MaxResultsLimit, naming the flag, and not checked when the audit is off.
func TestAuditMaxResults(t *testing.T) {
	const why = "must be between 1 and 1000: a PolicyReport of more results may outgrow etcd's object size"
	for _, tt := range []struct {
		max   int
		audit bool
		want  field.ErrorList
	}{
		{max: audit.DefaultMaxResults, audit: true},
		{max: 1, audit: true},
		{max: audit.MaxResultsLimit, audit: true},
		{max: 0, audit: true, want: field.ErrorList{field.Invalid(field.NewPath("audit-max-results"), 0, why)}},
		{max: audit.MaxResultsLimit + 1, audit: true, want: field.ErrorList{field.Invalid(field.NewPath("audit-max-results"), 1001, why)}},
		{max: 0, audit: false},
	} {
		o := NewOptions()
		o.Audit.Enabled, o.Audit.MaxResults = tt.audit, tt.max
		if diff := cmp.Diff(tt.want, o.Validate()); diff != "" {
			t.Errorf("--audit-max-results=%d, audit %v (-want +got):\n%s", tt.max, tt.audit, diff)
		}
	}
}
