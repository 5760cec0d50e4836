package webhook

import (
	"cmp"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Webhook paths served by sctpguard.
const (
	ValidatePath = "/validate"
	MutatePath   = "/mutate"
)

// OptOutLabel on a namespace, set to "true", keeps sctpguard's webhooks away from it (the
// default of ConfigurationOptions.OptOutLabel and of serve's --opt-out-label).
const OptOutLabel = "sctpguard.io/ignore"

// CEL match conditions: only objects that can matter reach the webhook, so a webhook outage
// blocks nothing else (kube-apiserver evaluates them before calling).
const (
	// serviceCondition: SCTP ports, AKO gateway labels, the shared-VIP annotation, or the
	// sctpguard.io/sctp label that must go when the last SCTP port goes.
	serviceCondition = `object != null && (
  (has(object.spec) && has(object.spec.ports) && object.spec.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP')) ||
  (has(object.metadata.labels) && ('ako.vmware.com/gateway-name' in object.metadata.labels ||
    'ako.vmware.com/gateway-namespace' in object.metadata.labels || 'sctpguard.io/sctp' in object.metadata.labels)) ||
  (has(object.metadata.annotations) && 'ako.vmware.com/enable-shared-vip' in object.metadata.annotations))`
	networkPolicyCondition = `object != null && has(object.spec) && (
  (has(object.spec.ingress) && object.spec.ingress.exists(r, has(r.ports) && r.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP'))) ||
  (has(object.spec.egress) && object.spec.egress.exists(r, has(r.ports) && r.ports.exists(p, has(p.protocol) && p.protocol == 'SCTP'))))`
	// gatewayAPICondition, for Gateways and ListenerSets: a listener that is neither HTTP nor
	// HTTPS (AKO's implementation serves only those: TCP, UDP, TLS, SCTP spelled any way, a
	// domain-prefixed example.com/sctp), or the label to remove.
	gatewayAPICondition = `object != null && (
  (has(object.spec) && has(object.spec.listeners) && object.spec.listeners.exists(l, !(l.protocol in ['HTTP', 'HTTPS']))) ||
  (has(object.metadata.labels) && 'sctpguard.io/sctp' in object.metadata.labels))`
)

// ConfigurationOptions say where the webhooks are and how the API server calls them.
type ConfigurationOptions struct {
	// Name prefixes the configurations' names ("sctpguard").
	Name string
	// Service is the Service in front of the webhook pods; URL replaces it (tests, demo).
	Service *admissionregistrationv1.ServiceReference
	URL     string
	// CABundle signs the webhook's serving certificate.
	CABundle []byte
	// FailurePolicy applies when the webhook cannot be called: Fail (default) or Ignore.
	FailurePolicy admissionregistrationv1.FailurePolicyType
	// TimeoutSeconds bounds a call (1-30).
	TimeoutSeconds int32
	// ExcludeNamespaces are skipped besides namespaces whose OptOutLabel is "true";
	// sctpguard's own namespace belongs here.
	ExcludeNamespaces []string
	// OptOutLabel is the label that opts a namespace out (OptOutLabel when empty).
	OptOutLabel string
}

// Configurations returns the mutating and validating webhook configurations. They are
// narrow on purpose: only the kinds with rules, only CREATE and UPDATE, only objects that the
// match conditions pick out, and side-effect free so that server-side dry run works.
func Configurations(o ConfigurationOptions) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	client := o.clientConfig
	nsSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: cmp.Or(o.OptOutLabel, OptOutLabel), Operator: metav1.LabelSelectorOpNotIn, Values: []string{"true"}},
	}}
	if len(o.ExcludeNamespaces) > 0 {
		nsSelector.MatchExpressions = append(nsSelector.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: o.ExcludeNamespaces,
		})
	}
	rule := func(group string, versions []string, resources ...string) []admissionregistrationv1.RuleWithOperations {
		return []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{group}, APIVersions: versions, Resources: resources,
				Scope: ptr.To(admissionregistrationv1.NamespacedScope),
			},
		}}
	}
	conditions := func(expr string) []admissionregistrationv1.MatchCondition {
		if expr == "" {
			return nil
		}
		return []admissionregistrationv1.MatchCondition{{Name: "sctp-relevant", Expression: expr}}
	}
	type hook struct {
		name, group, resource, condition string
		versions                         []string
		// status: the status subresource is validated too, because a write through it can
		// change metadata (a Service's labels and annotations: the NodePortLocal or the
		// shared-VIP annotation); custom resources' status writes keep metadata as it was.
		status bool
	}
	services := hook{"services", "", "services", serviceCondition, []string{"v1"}, true}
	networkPolicies := hook{"networkpolicies", "networking.k8s.io", "networkpolicies", networkPolicyCondition, []string{"v1"}, false}
	gateways := hook{"gateways", "networking.x-k8s.io", "gateways", "", []string{"v1alpha1"}, false}
	// Every served version is listed, so that each request comes in the version the client
	// used (TestConfigurationsReachRules checks them against the CRDs and the rules).
	gatewayAPI := hook{"gatewayapi", "gateway.networking.k8s.io", "gateways", gatewayAPICondition, []string{"v1", "v1beta1"}, false}
	listenerSets := hook{"listenersets", "gateway.networking.k8s.io", "listenersets", gatewayAPICondition, []string{"v1"}, false}

	failure := o.FailurePolicy
	if failure == "" {
		failure = admissionregistrationv1.Fail
	}
	timeout := o.TimeoutSeconds
	if timeout == 0 {
		timeout = 3
	}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
	}
	for _, h := range []hook{services, gateways, gatewayAPI, listenerSets} {
		mutating.Webhooks = append(mutating.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name:                    h.name + ".mutate.sctpguard.io",
			ClientConfig:            client(MutatePath),
			Rules:                   rule(h.group, h.versions, h.resource),
			FailurePolicy:           ptr.To(failure),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       nsSelector,
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(timeout),
			AdmissionReviewVersions: []string{"v1"},
			// Another mutating webhook may add an SCTP port after sctpguard ran.
			ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			MatchConditions:    conditions(h.condition),
		})
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
	}
	for _, h := range []hook{services, networkPolicies, gateways, gatewayAPI, listenerSets} {
		resources := []string{h.resource}
		if h.status {
			resources = append(resources, h.resource+"/status")
		}
		validating.Webhooks = append(validating.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:                    h.name + ".validate.sctpguard.io",
			ClientConfig:            client(ValidatePath),
			Rules:                   rule(h.group, h.versions, resources...),
			FailurePolicy:           ptr.To(failure),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       nsSelector,
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(timeout),
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions:         conditions(h.condition),
		})
	}
	return mutating, validating
}

// clientConfig is how the API server calls the webhook at path: the URL, or the Service.
func (o ConfigurationOptions) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: o.CABundle}
	if o.URL != "" {
		cc.URL = ptr.To(o.URL + path)
	} else if o.Service != nil {
		svc := *o.Service
		svc.Path = ptr.To(path)
		cc.Service = &svc
	}
	return cc
}

// AKOGuardOptions place the guard on AKO's ConfigMap.
type AKOGuardOptions struct {
	// Namespace and Name name AKO's ConfigMap.
	Namespace, Name string
	// TimeoutSeconds bounds a call (DefaultAKOGuardTimeoutSeconds when 0): short, so that a
	// slow sctpguard never slows AKO's ConfigMap beyond it.
	TimeoutSeconds int32
}

// DefaultAKOGuardTimeoutSeconds is the guard's timeoutSeconds; its judgement's deadline
// (DefaultAKOGuardDeadline) is under it.
const DefaultAKOGuardTimeoutSeconds = 3

// AKOGuardCondition selects AKO's ConfigMap alone: the guard is called for nothing else.
func AKOGuardCondition(namespace, name string) string {
	return fmt.Sprintf("request.namespace == '%s' && request.name == '%s'", namespace, name)
}

// AKOGuardName is the name of the guard's validating webhook configuration beside the main
// configurations named name.
func AKOGuardName(name string) string { return name + "-ako-guard" }

// AKOGuardConfiguration returns the validating webhook configuration of the guard on AKO's
// ConfigMap, a configuration of its own (named <Name>-ako-guard) so that its failure policy
// is its own: Ignore, whatever the others', because the guard warns and must never block
// AKO's ConfigMap when sctpguard is down. Only AKO's namespace is selected, and in it, by the
// match condition, only AKO's ConfigMap.
func AKOGuardConfiguration(o ConfigurationOptions, g AKOGuardOptions) *admissionregistrationv1.ValidatingWebhookConfiguration {
	cc := o.clientConfig(AKOGuardPath)
	timeout := g.TimeoutSeconds
	if timeout == 0 {
		timeout = DefaultAKOGuardTimeoutSeconds
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: AKOGuardName(o.Name)},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "ako-settings.validate.sctpguard.io",
			ClientConfig: cc,
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"},
					Scope: ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
			MatchPolicy:   ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				"kubernetes.io/metadata.name": g.Namespace,
			}},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(timeout),
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name: "ako-configmap", Expression: AKOGuardCondition(g.Namespace, g.Name),
			}},
		}},
	}
}
