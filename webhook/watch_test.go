package webhook

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// factoryWatches serves Watches from client-go informers on a fake clientset, as the
// manager's cache serves them from the API server.
type factoryWatches struct {
	client.Reader // List is not served
	factory       informers.SharedInformerFactory
}

func (w *factoryWatches) informer(obj client.Object) (toolscache.SharedIndexInformer, error) {
	switch obj.(type) {
	case *corev1.Secret:
		return w.factory.Core().V1().Secrets().Informer(), nil
	case *corev1.ConfigMap:
		return w.factory.Core().V1().ConfigMaps().Informer(), nil
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return w.factory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer(), nil
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return w.factory.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer(), nil
	}
	return nil, fmt.Errorf("no informer for %T", obj)
}

func (w *factoryWatches) GetInformer(ctx context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := w.informer(obj)
	if err != nil {
		return nil, err
	}
	w.factory.Start(ctx.Done())
	return i, nil
}

func (w *factoryWatches) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	i, err := w.informer(obj)
	if err != nil {
		return err
	}
	k := key.Name
	if key.Namespace != "" {
		k = key.Namespace + "/" + key.Name
	}
	item, ok, err := i.GetIndexer().GetByKey(k)
	if err != nil {
		return err
	}
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(item.(client.Object).DeepCopyObject()).Elem())
	return nil
}

// TestCacheByObject: the cache holds AKO's ConfigMap by name and the policy ConfigMaps by
// label, each in its namespace, or the whole namespace when the two share it (one informer
// per namespace: the selections merge, neither overwrites the other); with self-signed
// certificates, the Secret and the webhook configurations by name.
func TestCacheByObject(t *testing.T) {
	describe := func(m map[client.Object]cache.ByObject) map[string]string {
		sel := func(l labels.Selector, f fields.Selector) string {
			var s []string
			if l != nil {
				s = append(s, "labels "+l.String())
			}
			if f != nil {
				s = append(s, "fields "+f.String())
			}
			if len(s) == 0 {
				return "all"
			}
			return strings.Join(s, ", ")
		}
		out := map[string]string{}
		for obj, b := range m {
			kind := reflect.TypeOf(obj).Elem().Name()
			if len(b.Namespaces) == 0 {
				out[kind] = sel(b.Label, b.Field)
			}
			for ns, c := range b.Namespaces {
				out[kind+" in "+ns] = sel(c.LabelSelector, c.FieldSelector)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		o    Options
		want map[string]string
	}{{
		name: "own namespace",
		o:    Options{PolicyNamespace: "sctpguard", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config"},
		want: map[string]string{
			"ConfigMap in avi-system": "fields metadata.name=avi-k8s-config",
			"ConfigMap in sctpguard":  "labels sctpguard.io/policy",
		},
	}, {
		name: "AKO's namespace",
		o:    Options{PolicyNamespace: "avi-system", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config"},
		want: map[string]string{
			"ConfigMap in avi-system": "all",
		},
	}, {
		name: "self-signed certificates",
		o: Options{PolicyNamespace: "sctpguard", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config",
			SelfSignedCerts: true, CertSecret: "sctpguard-webhook-tls", WebhookConfiguration: "sctpguard"},
		want: map[string]string{
			"ConfigMap in avi-system":        "fields metadata.name=avi-k8s-config",
			"ConfigMap in sctpguard":         "labels sctpguard.io/policy",
			"Secret in sctpguard":            "fields metadata.name=sctpguard-webhook-tls",
			"MutatingWebhookConfiguration":   "fields metadata.name=sctpguard",
			"ValidatingWebhookConfiguration": "fields metadata.name=sctpguard",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, describe(CacheByObject(&tc.o))); diff != "" {
				t.Errorf("cache selections (-want +got):\n%s", diff)
			}
		})
	}
}
