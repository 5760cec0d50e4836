package translator

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Source gives the translator the Kubernetes objects it reads: the cluster's cache in the
// reconciler, a manifest set in `sctpguard translate`. Lookups return nil when the object
// is absent; an error means the source could not answer.
type Source interface {
	policy.Inventory
	// Service returns the Service namespace/name.
	Service(namespace, name string) (*corev1.Service, error)
	// Services returns every Service.
	Services() ([]*corev1.Service, error)
	// Gateways returns every networking.x-k8s.io/v1alpha1 Gateway.
	Gateways() ([]*svcapi.Gateway, error)
	// EndpointSlices returns the EndpointSlices of the Service namespace/name.
	EndpointSlices(namespace, service string) ([]*discoveryv1.EndpointSlice, error)
	// Nodes returns every Node.
	Nodes() ([]*corev1.Node, error)
}

// MemorySource is a Source over a fixed set of objects.
type MemorySource struct {
	*policy.MemoryInventory
	services  []*corev1.Service
	gateways  []*svcapi.Gateway
	slices    map[string][]*discoveryv1.EndpointSlice
	nodes     []*corev1.Node
	byService map[string]*corev1.Service
}

var _ Source = (*MemorySource)(nil)

// NewMemorySource returns a source holding objs; kinds it does not read are ignored.
func NewMemorySource(objs ...policy.Object) *MemorySource {
	m := &MemorySource{
		MemoryInventory: policy.NewMemoryInventory(),
		slices:          map[string][]*discoveryv1.EndpointSlice{},
		byService:       map[string]*corev1.Service{},
	}
	for _, o := range objs {
		m.Add(o)
		switch t := o.(type) {
		case *corev1.Service:
			key := t.Namespace + "/" + t.Name
			if old, ok := m.byService[key]; ok {
				m.services = slices.DeleteFunc(m.services, func(s *corev1.Service) bool { return s == old })
			}
			m.services = append(m.services, t)
			m.byService[key] = t
		case *svcapi.Gateway:
			m.gateways = append(m.gateways, t)
		case *discoveryv1.EndpointSlice:
			if svc := t.Labels[discoveryv1.LabelServiceName]; svc != "" {
				key := t.Namespace + "/" + svc
				m.slices[key] = append(m.slices[key], t)
			}
		case *corev1.Node:
			m.nodes = append(m.nodes, t)
		}
	}
	m.Index()
	slices.SortFunc(m.services, func(a, b *corev1.Service) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return m
}

// Service implements Source.
func (m *MemorySource) Service(namespace, name string) (*corev1.Service, error) {
	return m.byService[namespace+"/"+name], nil
}

// Services implements Source.
func (m *MemorySource) Services() ([]*corev1.Service, error) { return m.services, nil }

// Gateways implements Source.
func (m *MemorySource) Gateways() ([]*svcapi.Gateway, error) { return m.gateways, nil }

// EndpointSlices implements Source.
func (m *MemorySource) EndpointSlices(namespace, service string) ([]*discoveryv1.EndpointSlice, error) {
	return m.slices[namespace+"/"+service], nil
}

// Nodes implements Source.
func (m *MemorySource) Nodes() ([]*corev1.Node, error) { return m.nodes, nil }
