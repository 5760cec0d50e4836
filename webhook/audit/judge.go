package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Policy is what judges: *policy.Engine, and the engine in force in the webhook.
type Policy interface {
	Validate(ctx context.Context, r *policy.Review, env policy.Env) ([]policy.Finding, error)
	Exempt(namespace string) bool
}

var _ Policy = (*policy.Engine)(nil)

// Judge judges one stored object as the validating webhook judges its creation, under env
// (the settings to judge with, and the inventory of related objects): a CREATE review of a
// copy, its kind set and the API server's defaults applied as the webhook's decoding does.
// The object itself is not modified (it may be the cache's). Relevance and the namespaces
// the webhooks skip are the caller's to check (Relevant).
func Judge(ctx context.Context, pol Policy, obj policy.Object, env policy.Env) ([]policy.Finding, error) {
	o, ok := obj.DeepCopyObject().(policy.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not an object sctpguard judges", obj)
	}
	if o.GetObjectKind().GroupVersionKind().Empty() {
		gvks, _, err := policy.Scheme().ObjectKinds(o)
		if err != nil || len(gvks) == 0 {
			return nil, fmt.Errorf("kind of %T: %w", obj, err)
		}
		o.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	policy.ApplyDefaults(o)
	return pol.Validate(ctx, &policy.Review{Operation: policy.OperationCreate, Object: o}, env)
}

// Relevant reports whether the webhook configurations send the object to sctpguard: it
// mirrors their matchConditions (webhook.Configurations), so that the audit reports what
// admission would have judged, and nothing else. TestRelevantMatchesConditions keeps the two
// in step.
func Relevant(obj policy.Object) bool {
	labels, annotations := obj.GetLabels(), obj.GetAnnotations()
	_, sctpLabel := labels[policy.LabelSCTP]
	switch o := obj.(type) {
	case *corev1.Service:
		_, gwName := labels[policy.LabelGatewayName]
		_, gwNamespace := labels[policy.LabelGatewayNamespace]
		_, shared := annotations[policy.AnnotationSharedVIP]
		return gwName || gwNamespace || sctpLabel || shared || slices.ContainsFunc(o.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Protocol == corev1.ProtocolSCTP
		})
	case *networkingv1.NetworkPolicy:
		sctp := func(ports []networkingv1.NetworkPolicyPort) bool {
			return slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool {
				return p.Protocol != nil && *p.Protocol == corev1.ProtocolSCTP
			})
		}
		return slices.ContainsFunc(o.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool { return sctp(r.Ports) }) ||
			slices.ContainsFunc(o.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool { return sctp(r.Ports) })
	case *svcapi.Gateway:
		return true // every AKO v1alpha1 Gateway is sent
	case *gwv1.Gateway:
		return sctpLabel || slices.ContainsFunc(o.Spec.Listeners, func(l gwv1.Listener) bool { return notHTTP(l.Protocol) })
	case *gwv1.ListenerSet:
		return sctpLabel || slices.ContainsFunc(o.Spec.Listeners, func(l gwv1.ListenerEntry) bool { return notHTTP(l.Protocol) })
	}
	return false
}

func notHTTP(p gwv1.ProtocolType) bool {
	return p != gwv1.HTTPProtocolType && p != gwv1.HTTPSProtocolType
}

// Kind is a kind the audit judges: the kinds of the validating webhook configuration.
type Kind struct {
	GVK     schema.GroupVersionKind
	New     func() client.Object
	NewList func() client.ObjectList
	// items returns a list's objects.
	items func(client.ObjectList) []policy.Object
}

// Kinds returns the kinds the audit judges, in the order the reports list them.
func Kinds() []Kind {
	return []Kind{
		kind(corev1.SchemeGroupVersion.WithKind("Service"), func(l *corev1.ServiceList) []corev1.Service { return l.Items }),
		kind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items }),
		kind(svcapi.SchemeGroupVersion.WithKind("Gateway"), func(l *svcapi.GatewayList) []svcapi.Gateway { return l.Items }),
		kind(schema.GroupVersionKind{Group: gwv1.GroupName, Version: "v1", Kind: "Gateway"}, func(l *gwv1.GatewayList) []gwv1.Gateway { return l.Items }),
		kind(schema.GroupVersionKind{Group: gwv1.GroupName, Version: "v1", Kind: "ListenerSet"}, func(l *gwv1.ListenerSetList) []gwv1.ListenerSet { return l.Items }),
	}
}

// kind builds a Kind from its list type.
func kind[T any, PT interface {
	*T
	policy.Object
	client.Object
}, L any, PL interface {
	*L
	client.ObjectList
}](gvk schema.GroupVersionKind, items func(*L) []T) Kind {
	return Kind{
		GVK:     gvk,
		New:     func() client.Object { return PT(new(T)) },
		NewList: func() client.ObjectList { return PL(new(L)) },
		items: func(l client.ObjectList) []policy.Object {
			all := items(l.(PL))
			out := make([]policy.Object, len(all))
			for i := range all {
				o := PT(&all[i])
				o.GetObjectKind().SetGroupVersionKind(gvk)
				out[i] = o
			}
			return out
		},
	}
}

// List lists the relevant objects of the kind from r, with their kind set.
func (k Kind) List(ctx context.Context, r client.Reader, opts ...client.ListOption) ([]policy.Object, error) {
	list := k.NewList()
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("list %s: %w", k.GVK.Kind, err)
	}
	return slices.DeleteFunc(k.items(list), func(o policy.Object) bool { return !Relevant(o) }), nil
}

// Stored lists the relevant stored objects of every kind the audit judges that served
// accepts (nil: all), from r (the manager's cache), ordered by kind, namespace and name.
func Stored(ctx context.Context, r client.Reader, served func(schema.GroupVersionKind) bool) ([]policy.Object, error) {
	var out []policy.Object
	for _, k := range Kinds() {
		if served != nil && !served(k.GVK) {
			continue
		}
		objs, err := k.List(ctx, r)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(objs, func(a, b policy.Object) int {
			return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
		})
		out = append(out, objs...)
	}
	return out, nil
}
