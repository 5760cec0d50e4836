package webhook

import (
	"context"
	"fmt"
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
