package translator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

const (
	indexSliceService = "sctpguard.io/endpointslice-service"
	readTimeout       = 5 * time.Second
)

// CacheSource is the Source of a cluster: the policy inventory the webhook already keeps,
// plus the EndpointSlices and Nodes the translator reads, from the controller-runtime cache.
// The objects it returns are the cache's own and must not be modified.
type CacheSource struct {
	policy.Inventory
	reader client.Reader
	mapper meta.RESTMapper
	// gateways and gatewayClasses are networking.x-k8s.io's kinds, infraSettings,
	// infraSettingsV1alpha1 and l4Rules AKO's: the optional kinds, whose CRDs may come after
	// sctpguard; Discover finds them.
	gateways, gatewayClasses                      *optionalKind
	infraSettings, infraSettingsV1alpha1, l4Rules *optionalKind
	discoverMu                                    sync.Mutex
}

// optionalKind is a kind the translator watches once the cluster serves it.
type optionalKind struct {
	obj client.Object
	gvk schema.GroupVersionKind
	// unless is the kind it gives way to: not watched while that one is served.
	unless *optionalKind
	served atomic.Bool
}

var _ Source = (*CacheSource)(nil)

// NewCacheSource indexes EndpointSlices by Service and registers the informers the
// translator needs, so that they sync before the manager reports ready.
func NewCacheSource(ctx context.Context, c cluster.Cluster, inv policy.Inventory) (*CacheSource, error) {
	s := &CacheSource{Inventory: inv, reader: c.GetCache(), mapper: c.GetRESTMapper()}
	if err := s.addOptionalKinds(); err != nil {
		return nil, err
	}
	if err := c.GetFieldIndexer().IndexField(ctx, &discoveryv1.EndpointSlice{}, indexSliceService, func(o client.Object) []string {
		if svc := o.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
			return []string{o.GetNamespace() + "/" + svc}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("index EndpointSlices by Service: %w", err)
	}
	for _, o := range []client.Object{&discoveryv1.EndpointSlice{}, &corev1.Node{}, &corev1.Service{}} {
		if _, err := c.GetCache().GetInformer(ctx, o); err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
	}
	return s, nil
}

func (s *CacheSource) addOptionalKinds() error {
	var err error
	kind := func(o client.Object, unless *optionalKind) *optionalKind {
		gvk, e := apiutil.GVKForObject(o, policy.Scheme())
		err = errors.Join(err, e)
		return &optionalKind{obj: o, gvk: gvk, unless: unless}
	}
	s.gateways, s.gatewayClasses = kind(&svcapi.Gateway{}, nil), kind(&svcapi.GatewayClass{}, nil)
	s.infraSettings = kind(&akov1beta1.AviInfraSetting{}, nil)
	s.infraSettingsV1alpha1 = kind(&akov1alpha1.AviInfraSetting{}, s.infraSettings)
	s.l4Rules = kind(&akov1alpha2.L4Rule{}, nil)
	return err
}

// Discover looks for the optional kinds not watched yet (AKO's CRDs, networking.x-k8s.io's)
// and calls watch for each the cluster serves now; a kind is watched once, when watch
// succeeds, and AviInfraSetting v1alpha1 only while v1beta1 is not served (AKO reads v1beta1
// when it can). Setup calls it once for the kinds served at start; the kind watcher calls
// it again every rediscoverEvery, so that CRDs installed later are watched without a restart,
// as the webhook's inventory finds them on its first lookup.
func (s *CacheSource) Discover(watch func(client.Object) error) error {
	s.discoverMu.Lock()
	defer s.discoverMu.Unlock()
	for _, k := range []*optionalKind{s.gateways, s.gatewayClasses, s.infraSettings, s.infraSettingsV1alpha1, s.l4Rules} {
		if k.served.Load() || k.unless != nil && k.unless.served.Load() {
			continue
		}
		_, err := s.mapper.RESTMapping(k.gvk.GroupKind(), k.gvk.Version)
		switch {
		case meta.IsNoMatchError(err):
			continue
		case err != nil:
			return fmt.Errorf("discover %s: %w", k.gvk, err)
		}
		if err := watch(k.obj); err != nil {
			return fmt.Errorf("watch %s: %w", k.gvk, err)
		}
		k.served.Store(true)
	}
	return nil
}

// ServesServiceAPIs reports whether networking.x-k8s.io Gateways are served and watched.
func (s *CacheSource) ServesServiceAPIs() bool { return s.gateways.served.Load() }

func (s *CacheSource) list(list client.ObjectList, opts ...client.ListOption) error {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	return s.reader.List(ctx, list, opts...)
}

// Service implements Source.
func (s *CacheSource) Service(namespace, name string) (*corev1.Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var svc corev1.Service
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &svc, nil
}

// Services implements Source.
func (s *CacheSource) Services() ([]*corev1.Service, error) {
	var list corev1.ServiceList
	if err := s.list(&list); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// Gateways implements Source; none when the cluster does not serve them.
func (s *CacheSource) Gateways() ([]*svcapi.Gateway, error) {
	if !s.ServesServiceAPIs() {
		return nil, nil
	}
	var list svcapi.GatewayList
	if err := s.list(&list); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// EndpointSlices implements Source.
func (s *CacheSource) EndpointSlices(namespace, service string) ([]*discoveryv1.EndpointSlice, error) {
	var list discoveryv1.EndpointSliceList
	if err := s.list(&list, client.InNamespace(namespace), client.MatchingFields{indexSliceService: namespace + "/" + service}); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// Nodes implements Source.
func (s *CacheSource) Nodes() ([]*corev1.Node, error) {
	var list corev1.NodeList
	if err := s.list(&list); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// pointers returns pointers to the items of a list, without copying them.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
