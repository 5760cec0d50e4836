package webhook

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
	"sigs.k8s.io/controller-runtime/pkg/manager"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// Field indexes of the cache.
const (
	// indexGatewayBackend maps a Service to "<ns>/<name>" of the Gateway its AKO labels name.
	indexGatewayBackend = "sctpguard.gatewayBackend"
	// indexSharedVIP maps a Service to its shared-VIP key.
	indexSharedVIP = "sctpguard.sharedVIP"
)

// lookupTimeout bounds a cache read; reads are in memory once the informers are synced. A
// kind whose CRD was installed after start is watched on its first lookup, which waits for
// the informer's sync within this bound.
const lookupTimeout = time.Second

// rediscoverAfter spaces the discovery calls that look for a CRD not served at the last look.
const rediscoverAfter = 5 * time.Second

// optionalKind is a group of kinds whose CRDs the cluster may lack, or install while
// sctpguard runs: it is watched from the first lookup after it is served.
type optionalKind struct {
	// name is what the start-up log calls it; gk is the kind whose CRD decides, in version
	// when set, and not while unless is served.
	name    string
	gk      schema.GroupKind
	version string
	unless  *optionalKind
	// watch are the kinds put in the cache once it is served.
	watch []client.Object

	served atomic.Bool
	mu     sync.Mutex
	looked time.Time
	// informers of a kind found after start, which sync in the background.
	informers []cache.Informer
}

// CacheInventory is the policy.Inventory of a cluster, read from the controller-runtime cache.
// Kinds whose CRDs the cluster does not serve are absent rather than errors; a CRD installed
// later is found by the first lookup that needs it, without a restart.
type CacheInventory struct {
	cache  cache.Cache
	mapper meta.RESTMapper
	// serviceAPIs, gatewayAPI, listenerSets, openShift, infraSettings (AKO's AviInfraSetting
	// v1beta1, as AKO reads it), infraSettingsV1alpha1 (the older version, read only when
	// v1beta1 is not served) and l4Rules are the optional kinds.
	serviceAPIs, gatewayAPI, listenerSets, openShift *optionalKind
	infraSettings, infraSettingsV1alpha1, l4Rules    *optionalKind
	log                                              logr.Logger
	// networkPolicies is the informer of NetworkPolicies once watched (WatchNetworkPolicies),
	// for Stored.
	networkPolicies atomic.Pointer[cache.Informer]

	// watched are the kinds in the cache, with their informers; feedMu guards it.
	watched []watchedKind
	// feed is data.inventory for user policies, kept from the informers' events once a
	// policy reads it; a kind watched later joins it.
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
	listenerSetGK    = schema.GroupKind{Group: gwv1.GroupName, Kind: "ListenerSet"}
)

// NewCacheInventory indexes the cluster's cache, finds out which optional kinds the cluster
// serves, and registers the informers, so they sync before the webhook is ready.
func NewCacheInventory(ctx context.Context, c cluster.Cluster, log logr.Logger) (*CacheInventory, error) {
	inv := &CacheInventory{cache: c.GetCache(), mapper: c.GetRESTMapper(), log: log}
	inv.addOptionalKinds()
	indexer := c.GetFieldIndexer()
	for _, ix := range []struct {
		obj   client.Object
		field string
		value func(client.Object) []string
	}{
		{&corev1.Service{}, indexGatewayBackend, func(o client.Object) []string {
			labels := o.GetLabels()
			if name, ok := labels[policy.LabelGatewayName]; ok {
				return []string{labels[policy.LabelGatewayNamespace] + "/" + name}
			}
			return nil
		}},
		{&corev1.Service{}, indexSharedVIP, func(o client.Object) []string {
			if key := o.GetAnnotations()[policy.AnnotationSharedVIP]; key != "" {
				return []string{key}
			}
			return nil
		}},
	} {
		if err := indexer.IndexField(ctx, ix.obj, ix.field, ix.value); err != nil {
			return nil, fmt.Errorf("index %T by %s: %w", ix.obj, ix.field, err)
		}
	}
	if _, err := inv.watch(ctx, &corev1.Service{}, &corev1.Namespace{}); err != nil {
		return nil, err
	}
	for _, k := range inv.optional() {
		served, err := inv.discover(k)
		if err != nil {
			return nil, err
		}
		if served {
			// Informers made before the manager starts sync before it is ready.
			if _, err := inv.watch(ctx, k.watch...); err != nil {
				return nil, err
			}
			k.served.Store(true)
		}
		k.looked = time.Now()
	}
	return inv, nil
}

// WatchNetworkPolicies caches NetworkPolicies once mgr starts: no rule looks them up, but
// Stored lists them for the guard on AKO's ConfigMap (a change of AKO's cniPlugin changes
// their verdicts, sctp-networkpolicy-cni). Their sync does not hold readiness back: the
// guard, whose failurePolicy is Ignore, is their only reader, and until they are synced (or
// when sctpguard may not list them) Stored fails with the reason, which the guard's answer
// gives.
func (i *CacheInventory) WatchNetworkPolicies(mgr manager.Manager) error {
	return mgr.Add(networkPolicyWatch{i})
}

// networkPolicyWatch starts the NetworkPolicy informer on every replica, after the cache
// has started.
type networkPolicyWatch struct{ inv *CacheInventory }

func (w networkPolicyWatch) NeedLeaderElection() bool { return false }

func (w networkPolicyWatch) Start(ctx context.Context) error {
	informer, err := w.inv.cache.GetInformer(ctx, &networkingv1.NetworkPolicy{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("watch NetworkPolicies: %w", err)
	}
	w.inv.networkPolicies.Store(&informer)
	return nil
}

// addOptionalKinds makes the optional kinds, not yet discovered.
func (i *CacheInventory) addOptionalKinds() {
	mc := &unstructured.Unstructured{}
	mc.SetGroupVersionKind(machineConfigGVK)
	i.serviceAPIs = &optionalKind{name: "networking.x-k8s.io Gateways", gk: svcapiGatewayGK, watch: []client.Object{&svcapi.Gateway{}, &svcapi.GatewayClass{}}}
	i.gatewayAPI = &optionalKind{name: "gateway.networking.k8s.io Gateways", gk: gatewayClassGK, watch: []client.Object{&gwv1.GatewayClass{}, &gwv1.Gateway{}}}
	i.listenerSets = &optionalKind{name: "gateway.networking.k8s.io ListenerSets", gk: listenerSetGK, watch: []client.Object{&gwv1.ListenerSet{}}}
	i.openShift = &optionalKind{name: "OpenShift MachineConfigs", gk: machineConfigGVK.GroupKind(), watch: []client.Object{mc}}
	i.addAKOKinds()
}

func (i *CacheInventory) optional() []*optionalKind {
	return []*optionalKind{i.serviceAPIs, i.gatewayAPI, i.listenerSets, i.openShift, i.infraSettings, i.infraSettingsV1alpha1, i.l4Rules}
}

// discover asks the API server whether it serves the kind now (in its version, when it names
// one; never while the kind it gives way to is served).
func (i *CacheInventory) discover(k *optionalKind) (bool, error) {
	if k.unless != nil && k.unless.served.Load() {
		return false, nil
	}
	var versions []string
	if k.version != "" {
		versions = append(versions, k.version)
	}
	_, err := i.mapper.RESTMapping(k.gk, versions...)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discover %s: %w", k.gk, err)
	}
	return true, nil
}

// watch puts kinds in the cache. Before the manager starts, the informers start with it, and
// readiness waits for their sync; after, they start at once and sync in the background (a new
// CRD's first list can take seconds). A kind watched once data.inventory's feed runs joins it.
func (i *CacheInventory) watch(ctx context.Context, objs ...client.Object) ([]cache.Informer, error) {
	var out []cache.Informer
	for _, o := range objs {
		informer, err := i.cache.GetInformer(ctx, o, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
		gvk, err := apiutil.GVKForObject(o, policy.Scheme())
		if err != nil {
			return nil, err
		}
		w := watchedKind{gvk: gvk, informer: informer}
		i.feedMu.Lock()
		i.watched = append(i.watched, w)
		if f := i.feed.Load(); f != nil {
			if _, err := f.follow(w); err != nil {
				f.fail(err)
			}
		}
		i.feedMu.Unlock()
		out = append(out, informer)
	}
	return out, nil
}

// has reports whether the optional kind is served and its cache synced. A kind not served at
// the last look is looked for again, at most every rediscoverAfter, and watched once found.
// Until its cache has synced, lookups of it wait, within lookupTimeout, and then fail: a
// review is never judged from a cache that has not seen the kind's objects, so it is denied
// with the reason instead (the next one, a moment later, is judged).
func (i *CacheInventory) has(k *optionalKind) (bool, error) {
	k.mu.Lock()
	if !k.served.Load() && time.Since(k.looked) >= rediscoverAfter {
		k.looked = time.Now()
		served, err := i.discover(k)
		if err != nil {
			k.mu.Unlock()
			return false, err
		}
		if served {
			informers, err := i.watch(context.Background(), k.watch...)
			if err != nil {
				k.mu.Unlock()
				return false, fmt.Errorf("%s were installed after sctpguard started; watching them: %w", k.name, err)
			}
			k.informers = informers
			k.served.Store(true)
			i.log.Info("kind installed after start, now watched", "kind", k.name)
		}
	}
	informers := k.informers
	k.mu.Unlock()
	if !k.served.Load() {
		return false, nil
	}
	deadline := time.Now().Add(lookupTimeout)
	for _, inf := range informers {
		for !inf.HasSynced() {
			if time.Now().After(deadline) {
				return false, fmt.Errorf("%s were installed after sctpguard started and their cache is still syncing; try again in a moment", k.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return true, nil
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
	var synced []toolscache.InformerSynced
	for _, w := range i.watched {
		reg, err := f.follow(w)
		if err != nil {
			return nil, err
		}
		synced = append(synced, reg.HasSynced)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, fmt.Errorf("feed data.inventory: the caches did not hand over their objects: %w", ctx.Err())
	}
	i.feed.Store(f)
	return f, nil
}

func (f *regoFeed) fail(err error) { f.err.CompareAndSwap(nil, &err) }

// follow adds the feed's event handler to a watched kind's informer.
func (f *regoFeed) follow(w watchedKind) (toolscache.ResourceEventHandlerRegistration, error) {
	gvk := w.gvk
	put := func(o any) {
		if obj, ok := o.(policy.Object); ok {
			if err := f.inv.Put(obj, gvk); err != nil {
				f.fail(err)
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
	return reg, nil
}

// Served describes the optional kinds found, for the start-up log.
func (i *CacheInventory) Served() map[string]bool {
	out := map[string]bool{}
	for _, k := range i.optional() {
		out[k.name] = k.served.Load()
	}
	return out
}

// OpenShift reports whether the cluster served OpenShift MachineConfigs at start.
func (i *CacheInventory) OpenShift() bool { return i.openShift.served.Load() }

func (i *CacheInventory) get(key client.ObjectKey, obj client.Object) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	err := i.cache.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (i *CacheInventory) list(list client.ObjectList, opts ...client.ListOption) error {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return i.cache.List(ctx, list, opts...)
}

// getOptional gets an object of an optional kind: false when the kind is not served or the
// object does not exist.
func (i *CacheInventory) getOptional(k *optionalKind, key client.ObjectKey, obj client.Object) (bool, error) {
	if ok, err := i.has(k); !ok {
		return false, err
	}
	return i.get(key, obj)
}

// optionalGet gets an object of an optional kind: nil when the kind is not served or the
// object does not exist.
func optionalGet[T any, P interface {
	*T
	client.Object
}](i *CacheInventory, k *optionalKind, key client.ObjectKey) (*T, error) {
	obj := P(new(T))
	if ok, err := i.getOptional(k, key, obj); !ok {
		return nil, err
	}
	return obj, nil
}

// GatewayClass implements policy.Inventory.
func (i *CacheInventory) GatewayClass(name string) (*svcapi.GatewayClass, error) {
	return optionalGet[svcapi.GatewayClass](i, i.serviceAPIs, client.ObjectKey{Name: name})
}

// Gateway implements policy.Inventory.
func (i *CacheInventory) Gateway(namespace, name string) (*svcapi.Gateway, error) {
	return optionalGet[svcapi.Gateway](i, i.serviceAPIs, client.ObjectKey{Namespace: namespace, Name: name})
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
	return optionalGet[gwv1.GatewayClass](i, i.gatewayAPI, client.ObjectKey{Name: name})
}

// GatewayAPIGateway implements policy.Inventory.
func (i *CacheInventory) GatewayAPIGateway(namespace, name string) (*gwv1.Gateway, error) {
	return optionalGet[gwv1.Gateway](i, i.gatewayAPI, client.ObjectKey{Namespace: namespace, Name: name})
}

// GatewayListenerSets implements policy.Inventory. ListenerSets are few, and their CRD may
// come after start, when a field index can no longer be added: the list is filtered here.
func (i *CacheInventory) GatewayListenerSets(gatewayNamespace, gatewayName string) ([]*gwv1.ListenerSet, error) {
	if ok, err := i.has(i.listenerSets); !ok {
		return nil, err
	}
	var list gwv1.ListenerSetList
	if err := i.list(&list); err != nil {
		return nil, err
	}
	items := slices.DeleteFunc(list.Items, func(ls gwv1.ListenerSet) bool {
		return policy.ListenerSetParent(&ls) != gatewayNamespace+"/"+gatewayName
	})
	return pointers(items), nil
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
	if ok, err := i.has(i.openShift); !ok {
		return nil, err
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

// liveTimeout bounds a quorum read: under the handler's deadline (the write timeout less a
// margin), so a slow API server ends in a denial that says so.
const liveTimeout = 1500 * time.Millisecond

// QuorumInventory answers the cross-object SCTP rules that compare an object with its peers
// (shared-VIP groups, the backends of a Gateway) with a consistent read from the API server
// instead of the cache, and everything else from the inventory it wraps. A cache lags the
// API server by milliseconds to seconds: two clashing Services created at once were both
// admitted in 7 rounds of 10 when the second was judged against a cache that had not seen the
// first. A consistent read narrows that window to the first object's own admission, which no
// read can close (neither is stored while the other is judged); the translator's re-check
// reports what slips through (README, failure modes).
type QuorumInventory struct {
	policy.Inventory
	Live client.Reader
}

var (
	_ policy.Inventory     = QuorumInventory{}
	_ rego.InventorySource = QuorumInventory{}
)

// RegoInventory implements rego.InventorySource with the wrapped inventory's data.inventory:
// user policies read the cache, as they do without the consistent reads.
func (q QuorumInventory) RegoInventory() (*rego.Inventory, error) {
	src, ok := q.Inventory.(rego.InventorySource)
	if !ok {
		return nil, fmt.Errorf("the inventory %T does not keep data.inventory", q.Inventory)
	}
	return src.RegoInventory()
}

func (q QuorumInventory) listServices(opts ...client.ListOption) ([]corev1.Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	var list corev1.ServiceList
	if err := q.Live.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("consistent read of Services: %w", err)
	}
	return list.Items, nil
}

// SharedVIPServices implements policy.Inventory with a consistent read of the namespace's
// Services (an annotation cannot be selected on).
func (q QuorumInventory) SharedVIPServices(namespace, key string) ([]*corev1.Service, error) {
	items, err := q.listServices(client.InNamespace(namespace))
	if err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(items, func(s corev1.Service) bool { return s.Annotations[policy.AnnotationSharedVIP] != key })
	return pointers(items), nil
}

// GatewayBackends implements policy.Inventory with a consistent read selected by AKO's label.
func (q QuorumInventory) GatewayBackends(gatewayNamespace, gatewayName string) ([]*corev1.Service, error) {
	items, err := q.listServices(client.MatchingLabels{policy.LabelGatewayName: gatewayName})
	if err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(items, func(s corev1.Service) bool { return s.Labels[policy.LabelGatewayNamespace] != gatewayNamespace })
	return pointers(items), nil
}
