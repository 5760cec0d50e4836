package translator

import (
	"context"
	"fmt"
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
	reader      client.Reader
	serviceAPIs bool
	// ako are AKO's kinds the cluster serves (AviInfraSetting in one version, L4Rule).
	ako []client.Object
}

var _ Source = (*CacheSource)(nil)

// NewCacheSource indexes EndpointSlices by Service and registers the informers the
// translator needs, so that they sync before the manager reports ready.
func NewCacheSource(ctx context.Context, c cluster.Cluster, inv policy.Inventory) (*CacheSource, error) {
	s := &CacheSource{Inventory: inv, reader: c.GetCache()}
	_, err := c.GetRESTMapper().RESTMapping(schema.GroupKind{Group: svcapi.GroupName, Kind: "Gateway"})
	switch {
	case meta.IsNoMatchError(err):
	case err != nil:
		return nil, fmt.Errorf("discover networking.x-k8s.io Gateways: %w", err)
	default:
		s.serviceAPIs = true
	}
	for _, o := range []client.Object{&akov1beta1.AviInfraSetting{}, &akov1alpha1.AviInfraSetting{}, &akov1alpha2.L4Rule{}} {
		gvk, err := apiutil.GVKForObject(o, policy.Scheme())
		if err != nil {
			return nil, err
		}
		if _, inf := o.(*akov1alpha1.AviInfraSetting); inf && len(s.ako) > 0 {
			continue // v1beta1 is served: AviInfraSettings are watched in that version
		}
		_, err = c.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		switch {
		case meta.IsNoMatchError(err):
		case err != nil:
			return nil, fmt.Errorf("discover %s: %w", gvk, err)
		default:
			s.ako = append(s.ako, o)
		}
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

// AKOKinds returns AKO's kinds the cluster serves, whose changes reshape units.
func (s *CacheSource) AKOKinds() []client.Object { return s.ako }

// ServesServiceAPIs reports whether the cluster serves networking.x-k8s.io Gateways.
func (s *CacheSource) ServesServiceAPIs() bool { return s.serviceAPIs }

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
	if !s.serviceAPIs {
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
