package webhook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/policy/rego"
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
	// watched are the kinds in the cache, with their informers.
	watched []watchedKind

	// feed is data.inventory for user policies, kept from the informers' events once a
	// policy reads it.
	feed   atomic.Pointer[regoFeed]
	feedMu sync.Mutex
}

type watchedKind struct {
	gvk      schema.GroupVersionKind
	informer cache.Informer
}

// regoFeed is data.inventory kept from events, and the first event it could not take.
type regoFeed struct {
	inv *rego.Inventory
	err atomic.Pointer[error]
}

var (
	_ policy.Inventory     = (*CacheInventory)(nil)
	_ rego.InventorySource = (*CacheInventory)(nil)
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
	for _, o := range objs {
		informer, err := c.GetCache().GetInformer(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
		gvk, err := apiutil.GVKForObject(o, policy.Scheme())
		if err != nil {
			return nil, err
		}
		inv.watched = append(inv.watched, watchedKind{gvk: gvk, informer: informer})
	}
	return inv, nil
}

// feedTimeout bounds the wait for the informers to hand their objects to a new feed.
const feedTimeout = 30 * time.Second

// RegoInventory implements rego.InventorySource: data.inventory as the informers' events
// left it, so that a review never copies the cache. The feed starts with the first policy
// set that reads data.inventory (FeedRego, called when the set loads), or the first review
// that needs it; an event it could not take fails the reviews that read it.
func (i *CacheInventory) RegoInventory() (*rego.Inventory, error) {
	f := i.feed.Load()
	if f == nil {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		var err error
		if f, err = i.startFeed(ctx); err != nil {
			return nil, err
		}
	}
	if err := f.err.Load(); err != nil {
		return nil, fmt.Errorf("data.inventory is incomplete: %w", *err)
	}
	return f.inv, nil
}

// FeedRego starts data.inventory's feed, if it has not started, and waits until it holds
// what the caches hold.
func (i *CacheInventory) FeedRego(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, feedTimeout)
	defer cancel()
	_, err := i.startFeed(ctx)
	return err
}

// startFeed adds an event handler to every watched informer. An informer hands a new
// handler every object it holds, then every change, in order: the inventory follows the
// cache exactly, without listing it.
func (i *CacheInventory) startFeed(ctx context.Context) (*regoFeed, error) {
	i.feedMu.Lock()
	defer i.feedMu.Unlock()
	if f := i.feed.Load(); f != nil {
		return f, nil
	}
	f := &regoFeed{inv: rego.NewInventory()}
	fail := func(err error) { f.err.CompareAndSwap(nil, &err) }
	var synced []toolscache.InformerSynced
	for _, w := range i.watched {
		gvk := w.gvk
		put := func(o any) {
			if obj, ok := o.(policy.Object); ok {
				if err := f.inv.Put(obj, gvk); err != nil {
					fail(err)
				}
			}
		}
		reg, err := w.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    put,
			UpdateFunc: func(_, o any) { put(o) },
			DeleteFunc: func(o any) {
				if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
					o = tomb.Obj
				}
				if obj, ok := o.(metav1.Object); ok {
					f.inv.Delete(gvk, obj.GetNamespace(), obj.GetName())
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("feed data.inventory from %s: %w", gvk.Kind, err)
		}
		synced = append(synced, reg.HasSynced)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, fmt.Errorf("feed data.inventory: the caches did not hand over their objects: %w", ctx.Err())
	}
	i.feed.Store(f)
	return f, nil
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
