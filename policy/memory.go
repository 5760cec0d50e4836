package policy

import (
	"errors"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// MemoryInventory is an Inventory over a fixed set of objects: the manifest set of `check`,
// and tests. It is not safe for concurrent Add; lookups may run concurrently once filled.
//
// A compact one (NewCompactInventory) keeps only what the built-in rules look up.
type MemoryInventory struct {
	gatewayClasses map[string]*svcapi.GatewayClass
	gateways       map[types.NamespacedName]*svcapi.Gateway
	services       map[types.NamespacedName]*corev1.Service
	apiClasses     map[string]*gwv1.GatewayClass
	apiGateways    map[types.NamespacedName]*gwv1.Gateway
	listenerSets   map[types.NamespacedName]*gwv1.ListenerSet
	namespaces     map[string]*corev1.Namespace
	infraSettings  map[string]*akov1beta1.AviInfraSetting
	l4Rules        map[types.NamespacedName]*akov1alpha2.L4Rule
	machineConfigs []MachineConfig
	// all holds every object added, by kind, namespace and name, for Objects.
	all        map[objectKey]Object
	order      []objectKey
	generation uint64

	backends  map[types.NamespacedName][]*corev1.Service
	sharedVIP map[types.NamespacedName][]*corev1.Service

	// compact keeps no object for listing, drops the kinds no lookup returns, and keeps of
	// a Service its InventoryService projection; services then maps a Service no lookup
	// returns to nil, so that it still replaces an earlier one in Merge.
	compact bool
}

var (
	_ Inventory = (*MemoryInventory)(nil)
	_ Lister    = (*MemoryInventory)(nil)
)

type objectKey struct {
	gvk             string
	namespace, name string
}

// NewMemoryInventory returns an inventory holding objs. Later objects replace earlier ones
// of the same kind, namespace and name, as a later `kubectl apply` would.
func NewMemoryInventory(objs ...Object) *MemoryInventory {
	m := &MemoryInventory{
		gatewayClasses: map[string]*svcapi.GatewayClass{},
		gateways:       map[types.NamespacedName]*svcapi.Gateway{},
		services:       map[types.NamespacedName]*corev1.Service{},
		apiClasses:     map[string]*gwv1.GatewayClass{},
		apiGateways:    map[types.NamespacedName]*gwv1.Gateway{},
		listenerSets:   map[types.NamespacedName]*gwv1.ListenerSet{},
		namespaces:     map[string]*corev1.Namespace{},
		infraSettings:  map[string]*akov1beta1.AviInfraSetting{},
		l4Rules:        map[types.NamespacedName]*akov1alpha2.L4Rule{},
		all:            map[objectKey]Object{},
	}
	for _, o := range objs {
		m.Add(o)
	}
	return m
}

// NewCompactInventory returns an inventory that keeps of each object only what the built-in
// rules look up: the objects of the kinds they look up, and of a Service only its
// InventoryService projection, nothing of the Services no lookup returns. Its memory grows
// with the related objects, not with the set: `check` of 100,000 plain Services holds
// none of them. It lists no objects (Objects fails), so it cannot serve user policies
// that read data.inventory, which need whole objects.
func NewCompactInventory() *MemoryInventory {
	m := NewMemoryInventory()
	m.compact, m.all = true, nil
	return m
}

// errCompact is what a compact inventory answers a listing with.
var errCompact = errors.New("a compact inventory keeps only what the built-in rules look up and cannot list whole objects for data.inventory")

// Add adds an object. Every object is listed by Objects; the kinds the rules look up are
// also indexed.
func (m *MemoryInventory) Add(obj Object) {
	m.generation++
	if m.compact {
		m.addCompact(obj)
		return
	}
	ok := objectKey{gvk: obj.GetObjectKind().GroupVersionKind().String(), namespace: obj.GetNamespace(), name: obj.GetName()}
	if _, seen := m.all[ok]; !seen {
		m.order = append(m.order, ok)
	}
	m.all[ok] = obj
	m.index(obj)
}

// index adds the object to the table of its kind, when the rules look it up.
func (m *MemoryInventory) index(obj Object) {
	key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
	switch o := toHub(obj).(type) {
	case *corev1.Namespace:
		m.namespaces[o.Name] = o
	case *svcapi.GatewayClass:
		m.gatewayClasses[o.Name] = o
	case *svcapi.Gateway:
		m.gateways[key] = o
	case *gwv1.GatewayClass:
		m.apiClasses[o.Name] = o
	case *gwv1.Gateway:
		m.apiGateways[key] = o
	case *gwv1.ListenerSet:
		m.listenerSets[key] = o
	case *corev1.Service:
		m.services[key] = o
		m.backends, m.sharedVIP = nil, nil // rebuilt on the next lookup
	case *akov1beta1.AviInfraSetting:
		m.infraSettings[o.Name] = o
	case *akov1alpha1.AviInfraSetting:
		m.infraSettings[o.Name] = AviInfraSettingV1beta1(o)
	case *akov1alpha2.L4Rule:
		m.l4Rules[key] = o
	}
}

// Related reports whether the built-in rules look up objects of obj's kind in an
// Inventory: the kinds a compact inventory keeps (besides MachineConfigs, which are not
// typed).
func Related(obj Object) bool {
	switch toHub(obj).(type) {
	case *corev1.Namespace, *corev1.Service, *svcapi.GatewayClass, *svcapi.Gateway, *gwv1.GatewayClass, *gwv1.Gateway,
		*gwv1.ListenerSet, *akov1beta1.AviInfraSetting, *akov1alpha1.AviInfraSetting, *akov1alpha2.L4Rule:
		return true
	}
	return false
}

// addCompact adds what the rules look up of an object to a compact inventory.
func (m *MemoryInventory) addCompact(obj Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		if Related(obj) {
			m.index(obj)
		}
		return
	}
	m.services[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}] = InventoryService(svc)
	m.backends, m.sharedVIP = nil, nil
}

// Merge adds the objects of other, a compact inventory, as if they were added after those
// of m: `check` builds one inventory per input file, in parallel, and merges them in input
// order.
func (m *MemoryInventory) Merge(other *MemoryInventory) {
	if !m.compact || !other.compact {
		panic("policy: Merge of an inventory that is not compact")
	}
	m.generation++
	for k, v := range other.gatewayClasses {
		m.gatewayClasses[k] = v
	}
	mergeKeyed(m.gateways, other.gateways)
	mergeKeyed(m.apiGateways, other.apiGateways)
	mergeKeyed(m.listenerSets, other.listenerSets)
	mergeKeyed(m.l4Rules, other.l4Rules)
	for k, v := range other.services {
		if v == nil {
			delete(m.services, k) // replaced by a Service no lookup returns
		} else {
			m.services[k] = v
		}
	}
	for k, v := range other.apiClasses {
		m.apiClasses[k] = v
	}
	for k, v := range other.namespaces {
		m.namespaces[k] = v
	}
	for k, v := range other.infraSettings {
		m.infraSettings[k] = v
	}
	m.machineConfigs = append(m.machineConfigs, other.machineConfigs...)
	m.backends, m.sharedVIP = nil, nil
}

func mergeKeyed[T any](dst, src map[types.NamespacedName]*T) {
	for k, v := range src {
		dst[k] = v
	}
}

// InventoryService returns the part of a Service the built-in rules read of the Services an
// Inventory returns (GatewayBackends and SharedVIPServices): its name, creation time, type,
// class, static IP, ports by protocol and number, and the AKO labels and annotations that
// bind it to a Gateway, a shared VIP, an AviInfraSetting or an L4Rule. It returns nil for a
// Service neither lookup returns (no Gateway label, no shared-VIP annotation).
// TestRuleScenarios runs every scenario with inventories of these projections too and
// requires the same findings: a rule that reads another field of them fails it.
func InventoryService(svc *corev1.Service) *corev1.Service {
	_, backend := svc.Labels[LabelGatewayName]
	_, backendNS := svc.Labels[LabelGatewayNamespace]
	if !backend && !backendNS && svc.Annotations[AnnotationSharedVIP] == "" {
		return nil
	}
	p := &corev1.Service{TypeMeta: svc.TypeMeta}
	p.Name, p.Namespace, p.CreationTimestamp = svc.Name, svc.Namespace, svc.CreationTimestamp
	p.Labels = keep(svc.Labels, LabelGatewayName, LabelGatewayNamespace)
	p.Annotations = keep(svc.Annotations, AnnotationSharedVIP, AnnotationLoadBalancerIP, AnnotationInfraSetting, AnnotationL4Rule)
	p.Spec.Type, p.Spec.LoadBalancerClass, p.Spec.LoadBalancerIP = svc.Spec.Type, svc.Spec.LoadBalancerClass, svc.Spec.LoadBalancerIP
	p.Spec.Ports = make([]corev1.ServicePort, len(svc.Spec.Ports))
	for i, port := range svc.Spec.Ports {
		p.Spec.Ports[i] = corev1.ServicePort{Protocol: port.Protocol, Port: port.Port}
	}
	return p
}

// keep returns the entries of m with the given keys, or nil when it has none.
func keep(m map[string]string, keys ...string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// AddMachineConfig adds an OpenShift MachineConfig.
func (m *MemoryInventory) AddMachineConfig(mc MachineConfig) {
	m.machineConfigs = append(m.machineConfigs, mc)
}

// Index builds the lookup tables. Lookups call it when needed; call it once after the last
// Add before concurrent lookups.
func (m *MemoryInventory) Index() {
	m.backends = map[types.NamespacedName][]*corev1.Service{}
	m.sharedVIP = map[types.NamespacedName][]*corev1.Service{}
	keys := make([]types.NamespacedName, 0, len(m.services))
	for k := range m.services {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		svc := m.services[k]
		if svc == nil {
			continue // a compact inventory's Service no lookup returns
		}
		if name, ok := svc.Labels[LabelGatewayName]; ok {
			gw := types.NamespacedName{Namespace: svc.Labels[LabelGatewayNamespace], Name: name}
			m.backends[gw] = append(m.backends[gw], svc)
		}
		if key := svc.Annotations[AnnotationSharedVIP]; key != "" {
			vip := types.NamespacedName{Namespace: svc.Namespace, Name: key}
			m.sharedVIP[vip] = append(m.sharedVIP[vip], svc)
		}
	}
}

func (m *MemoryInventory) indexed() *MemoryInventory {
	if m.backends == nil {
		m.Index()
	}
	return m
}

// GatewayClass implements Inventory.
func (m *MemoryInventory) GatewayClass(name string) (*svcapi.GatewayClass, error) {
	return m.gatewayClasses[name], nil
}

// Gateway implements Inventory.
func (m *MemoryInventory) Gateway(namespace, name string) (*svcapi.Gateway, error) {
	return m.gateways[types.NamespacedName{Namespace: namespace, Name: name}], nil
}

// GatewayBackends implements Inventory.
func (m *MemoryInventory) GatewayBackends(gatewayNamespace, gatewayName string) ([]*corev1.Service, error) {
	return m.indexed().backends[types.NamespacedName{Namespace: gatewayNamespace, Name: gatewayName}], nil
}

// SharedVIPServices implements Inventory.
func (m *MemoryInventory) SharedVIPServices(namespace, key string) ([]*corev1.Service, error) {
	return m.indexed().sharedVIP[types.NamespacedName{Namespace: namespace, Name: key}], nil
}

// GatewayAPIClass implements Inventory.
func (m *MemoryInventory) GatewayAPIClass(name string) (*gwv1.GatewayClass, error) {
	return m.apiClasses[name], nil
}

// GatewayAPIGateway implements Inventory.
func (m *MemoryInventory) GatewayAPIGateway(namespace, name string) (*gwv1.Gateway, error) {
	return m.apiGateways[types.NamespacedName{Namespace: namespace, Name: name}], nil
}

// GatewayListenerSets implements Inventory.
func (m *MemoryInventory) GatewayListenerSets(gatewayNamespace, gatewayName string) ([]*gwv1.ListenerSet, error) {
	var out []*gwv1.ListenerSet
	for _, ls := range m.listenerSets {
		if ListenerSetParent(ls) == gatewayNamespace+"/"+gatewayName {
			out = append(out, ls)
		}
	}
	sort.Slice(out, func(i, j int) bool { return nsName(out[i]) < nsName(out[j]) })
	return out, nil
}

// Namespace implements Inventory.
func (m *MemoryInventory) Namespace(name string) (*corev1.Namespace, error) {
	return m.namespaces[name], nil
}

// AviInfraSetting implements Inventory.
func (m *MemoryInventory) AviInfraSetting(name string) (*akov1beta1.AviInfraSetting, error) {
	return m.infraSettings[name], nil
}

// L4Rule implements Inventory.
func (m *MemoryInventory) L4Rule(namespace, name string) (*akov1alpha2.L4Rule, error) {
	return m.l4Rules[types.NamespacedName{Namespace: namespace, Name: name}], nil
}

// Objects implements Lister: every object added, in the order first added.
func (m *MemoryInventory) Objects() ([]Object, error) {
	if m.compact {
		return nil, errCompact
	}
	out := make([]Object, len(m.order))
	for i, k := range m.order {
		out[i] = m.all[k]
	}
	return out, nil
}

// Generation implements Lister.
func (m *MemoryInventory) Generation() uint64 { return m.generation }

// MachineConfigs implements Inventory.
func (m *MemoryInventory) MachineConfigs() ([]MachineConfig, error) {
	return m.machineConfigs, nil
}
