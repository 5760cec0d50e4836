package webhook

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Field indexes of the Service cache.
const (
	// indexGatewayBackend maps a Service to "<ns>/<name>" of the Gateway its AKO labels name.
	indexGatewayBackend = "sctpguard.gatewayBackend"
	// indexSharedVIP maps a Service to its shared-VIP key.
	indexSharedVIP = "sctpguard.sharedVIP"
)

// lookupTimeout bounds a cache read; reads are in memory once the informers are synced.
const lookupTimeout = 2 * time.Second

// CacheInventory is the policy.Inventory of a cluster, read from the controller-runtime cache.
// Kinds whose CRDs the cluster does not serve are absent rather than errors.
type CacheInventory struct {
	reader client.Reader
	// served records which optional kinds the cluster serves.
	serviceAPIs, gatewayAPI, openShift bool
	// infraSetting is the version AviInfraSettings are read in ("" when not served); l4Rules
	// whether L4Rules are served.
	infraSetting string
	l4Rules      bool
	// watched are the kinds in the cache; generation counts their changes.
	watched    []client.Object
	generation atomic.Uint64
}

var (
	_ policy.Inventory = (*CacheInventory)(nil)
	_ policy.Lister    = (*CacheInventory)(nil)
)

var (
	machineConfigGVK = schema.GroupVersionKind{Group: policy.MachineConfigGroup, Version: "v1", Kind: policy.MachineConfigKind}
	svcapiGatewayGK  = schema.GroupKind{Group: svcapi.GroupName, Kind: "Gateway"}
	gatewayClassGK   = schema.GroupKind{Group: gwv1.GroupName, Kind: "GatewayClass"}
)

// NewCacheInventory indexes Services in the cluster's cache, finds out which optional kinds the
// cluster serves, and registers the informers, so they sync before the webhook is ready.
func NewCacheInventory(ctx context.Context, c cluster.Cluster) (*CacheInventory, error) {
	inv := &CacheInventory{reader: c.GetCache()}
	mapper := c.GetRESTMapper()
	served := func(gk schema.GroupKind) (bool, error) {
		_, err := mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return err == nil, err
	}
	var err error
	if inv.serviceAPIs, err = served(svcapiGatewayGK); err != nil {
		return nil, fmt.Errorf("discover %s: %w", svcapiGatewayGK, err)
	}
	if inv.gatewayAPI, err = served(gatewayClassGK); err != nil {
		return nil, fmt.Errorf("discover %s: %w", gatewayClassGK, err)
	}
	if inv.openShift, err = served(machineConfigGVK.GroupKind()); err != nil {
		return nil, fmt.Errorf("discover %s: %w", machineConfigGVK.GroupKind(), err)
	}
	if err := inv.discoverAKO(mapper); err != nil {
		return nil, err
	}
	indexer := c.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &corev1.Service{}, indexGatewayBackend, func(o client.Object) []string {
		labels := o.GetLabels()
		if name, ok := labels[policy.LabelGatewayName]; ok {
			return []string{labels[policy.LabelGatewayNamespace] + "/" + name}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("index Services by Gateway: %w", err)
	}
	if err := indexer.IndexField(ctx, &corev1.Service{}, indexSharedVIP, func(o client.Object) []string {
		if key := o.GetAnnotations()[policy.AnnotationSharedVIP]; key != "" {
			return []string{key}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("index Services by shared VIP: %w", err)
	}
	objs := []client.Object{&corev1.Service{}, &corev1.Namespace{}}
	if inv.serviceAPIs {
		objs = append(objs, &svcapi.Gateway{}, &svcapi.GatewayClass{})
	}
	if inv.gatewayAPI {
		objs = append(objs, &gwv1.GatewayClass{})
	}
	objs = append(objs, inv.akoObjects()...)
	if inv.openShift {
		mc := &unstructured.Unstructured{}
		mc.SetGroupVersionKind(machineConfigGVK)
		objs = append(objs, mc)
	}
	bump := func(any) { inv.generation.Add(1) }
	for _, o := range objs {
		informer, err := c.GetCache().GetInformer(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: bump, UpdateFunc: func(_, o any) { bump(o) }, DeleteFunc: bump,
		}); err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
	}
	inv.watched = objs
	return inv, nil
}

// Served describes the optional kinds found, for the start-up log.
func (i *CacheInventory) Served() map[string]bool {
	return map[string]bool{
		"networking.x-k8s.io Gateways":             i.serviceAPIs,
		"gateway.networking.k8s.io GatewayClasses": i.gatewayAPI,
		"OpenShift MachineConfigs":                 i.openShift,
		"ako.vmware.com AviInfraSettings":          i.infraSetting != "",
		"ako.vmware.com L4Rules":                   i.l4Rules,
	}
}

// OpenShift reports whether the cluster serves OpenShift MachineConfigs.
func (i *CacheInventory) OpenShift() bool { return i.openShift }

func (i *CacheInventory) get(key client.ObjectKey, obj client.Object) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	err := i.reader.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (i *CacheInventory) list(list client.ObjectList, opts ...client.ListOption) error {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return i.reader.List(ctx, list, opts...)
}

// GatewayClass implements policy.Inventory.
func (i *CacheInventory) GatewayClass(name string) (*svcapi.GatewayClass, error) {
	if !i.serviceAPIs {
		return nil, nil
	}
	var gc svcapi.GatewayClass
	if ok, err := i.get(client.ObjectKey{Name: name}, &gc); !ok {
		return nil, err
	}
	return &gc, nil
}

// Gateway implements policy.Inventory.
func (i *CacheInventory) Gateway(namespace, name string) (*svcapi.Gateway, error) {
	if !i.serviceAPIs {
		return nil, nil
	}
	var gw svcapi.Gateway
	if ok, err := i.get(client.ObjectKey{Namespace: namespace, Name: name}, &gw); !ok {
		return nil, err
	}
	return &gw, nil
}

// GatewayBackends implements policy.Inventory.
func (i *CacheInventory) GatewayBackends(gatewayNamespace, gatewayName string) ([]*corev1.Service, error) {
	var list corev1.ServiceList
	if err := i.list(&list, client.MatchingFields{indexGatewayBackend: gatewayNamespace + "/" + gatewayName}); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// SharedVIPServices implements policy.Inventory.
func (i *CacheInventory) SharedVIPServices(namespace, key string) ([]*corev1.Service, error) {
	var list corev1.ServiceList
	if err := i.list(&list, client.InNamespace(namespace), client.MatchingFields{indexSharedVIP: key}); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// GatewayAPIClass implements policy.Inventory.
func (i *CacheInventory) GatewayAPIClass(name string) (*gwv1.GatewayClass, error) {
	if !i.gatewayAPI {
		return nil, nil
	}
	var gc gwv1.GatewayClass
	if ok, err := i.get(client.ObjectKey{Name: name}, &gc); !ok {
		return nil, err
	}
	return &gc, nil
}

// Namespace implements policy.Inventory.
func (i *CacheInventory) Namespace(name string) (*corev1.Namespace, error) {
	var ns corev1.Namespace
	if ok, err := i.get(client.ObjectKey{Name: name}, &ns); !ok {
		return nil, err
	}
	return &ns, nil
}

// Generation implements policy.Lister.
func (i *CacheInventory) Generation() uint64 { return i.generation.Load() }

// Objects implements policy.Lister: every object of the watched kinds.
func (i *CacheInventory) Objects() ([]policy.Object, error) {
	var out []policy.Object
	for _, o := range i.watched {
		list, err := listFor(o)
		if err != nil {
			return nil, err
		}
		if err := i.list(list); err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		gvk, err := apiutil.GVKForObject(o, policy.Scheme())
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			obj, ok := item.(policy.Object)
			if !ok {
				continue
			}
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			out = append(out, obj)
		}
	}
	return out, nil
}

// listFor returns an empty list for the kind of o.
func listFor(o client.Object) (client.ObjectList, error) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(u.GroupVersionKind().GroupVersion().WithKind(u.GetKind() + "List"))
		return l, nil
	}
	gvk, err := apiutil.GVKForObject(o, policy.Scheme())
	if err != nil {
		return nil, err
	}
	rt, err := policy.Scheme().New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return nil, err
	}
	return rt.(client.ObjectList), nil
}

// MachineConfigs implements policy.Inventory.
func (i *CacheInventory) MachineConfigs() ([]policy.MachineConfig, error) {
	if !i.openShift {
		return nil, nil
	}
	var list unstructured.UnstructuredList
	list.SetGroupVersionKind(machineConfigGVK.GroupVersion().WithKind(machineConfigGVK.Kind + "List"))
	if err := i.list(&list); err != nil {
		return nil, err
	}
	out := make([]policy.MachineConfig, len(list.Items))
	for j := range list.Items {
		out[j] = policy.MachineConfigFromUnstructured(list.Items[j].Object)
	}
	return out, nil
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
