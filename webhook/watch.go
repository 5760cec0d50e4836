package webhook

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/internal/akosettings"
)

// Watches is what the followers need of the manager's cache: an informer to be told of
// changes, and reads of what it holds. controller-runtime's cache.Cache is one.
type Watches interface {
	client.Reader
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// CacheByObject restricts what the manager's one cache holds of the kinds the replica reads
// by namespace, name or label, so that each watch asks for no more than the chart's RBAC grants:
//   - ConfigMaps: AKO's one by name, and the policy ConfigMaps (PolicyLabel) of the policy
//     namespace. A namespace has one informer per kind, whose selectors all apply, so when the
//     policy namespace is AKO's the two selections merge into the whole namespace (which the
//     chart's Role lets sctpguard list there) and each follower picks its own;
//   - with self-signed certificates, the certificate Secret and the two webhook
//     configurations, each by name (the rules name them: resourceNames).
func CacheByObject(o *Options) map[client.Object]cache.ByObject {
	configMaps := akosettings.CacheOptions(o.AKOConfigMapNamespace, o.AKOConfigMapName)
	if _, shared := configMaps.Namespaces[o.PolicyNamespace]; shared {
		configMaps.Namespaces[o.PolicyNamespace] = cache.Config{} // no selector: every ConfigMap
	} else {
		configMaps.Namespaces[o.PolicyNamespace] = cache.Config{LabelSelector: policySelector()}
	}
	byObject := map[client.Object]cache.ByObject{&corev1.ConfigMap{}: configMaps}
	if o.SelfSignedCerts {
		byObject[&corev1.Secret{}] = cache.ByObject{Namespaces: map[string]cache.Config{
			o.PolicyNamespace: {FieldSelector: fields.OneTermEqualSelector("metadata.name", o.CertSecret)},
		}}
		byName := cache.ByObject{Field: fields.OneTermEqualSelector("metadata.name", o.WebhookConfiguration)}
		byObject[&admissionregistrationv1.MutatingWebhookConfiguration{}] = byName
		byObject[&admissionregistrationv1.ValidatingWebhookConfiguration{}] = byName
	}
	return byObject
}

// policySelector selects the policy ConfigMaps: those with PolicyLabel, whatever its value.
func policySelector() labels.Selector {
	r, err := labels.NewRequirement(PolicyLabel, selection.Exists, nil)
	if err != nil {
		panic("policy label: " + err.Error()) // a constant that parses
	}
	return labels.NewSelector().Add(*r)
}

// notify calls poke for every add, update and delete of the objects ours accepts (of an
// update, either the old or the new one).
func notify(ctx context.Context, w Watches, obj client.Object, ours func(client.Object) bool, poke func()) (cache.Informer, error) {
	informer, err := w.GetInformer(ctx, obj)
	if err != nil {
		return nil, err
	}
	accept := func(o any) bool {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		co, ok := o.(client.Object)
		return ok && ours(co)
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if accept(o) {
				poke()
			}
		},
		UpdateFunc: func(old, o any) {
			if accept(old) || accept(o) {
				poke()
			}
		},
		DeleteFunc: func(o any) {
			if accept(o) {
				poke()
			}
		},
	})
	return informer, err
}
