package translator

import (
	"cmp"
	"context"
	"crypto/sha1" //nolint:gosec // AKO's name encoding
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Annotations the translator honours beyond the rule catalogue's (avi-translation.md §2.5).
const (
	AnnotationDisableTraffic     = policy.AnnotationDisableTraffic
	AnnotationApplicationProfile = policy.AnnotationApplicationProfile
	AnnotationExternalDNS        = "external-dns.alpha.kubernetes.io/hostname"
	AnnotationSkipNodePort       = "skipnodeport.ako.vmware.com/enabled"
	labelExcludeFromLB           = "node.kubernetes.io/exclude-from-external-load-balancers"
)

// Event reasons.
const (
	ReasonSynced                  = "Synced"
	ReasonRemoved                 = "Removed"
	ReasonNameTooLong             = "NameTooLong"
	ReasonCrossNamespaceBackend   = "CrossNamespaceBackend"
	ReasonInvalidLoadBalancerIP   = "InvalidLoadBalancerIP"
	ReasonUnsupportedAnnotation   = "UnsupportedAnnotation"
	ReasonSharedVIPSettingIgnored = "SharedVIPSettingIgnored"
	ReasonNoNodePort              = "NoNodePort"
)

// freezingRules are the rules whose deny findings freeze an object (avi-translation.md §2.0).
var freezingRules = []policy.RuleID{
	policy.RuleSCTPNodePortLocal, policy.RuleSCTPNPLAnnotation, policy.RuleSCTPControllerVersion,
	policy.RuleSharedVIPPortClash, policy.RuleSharedVIPInconsistent,
	policy.RuleGatewayListenerProtocol, policy.RuleGatewayListenerPort, policy.RuleGatewayListenerDup,
	policy.RuleGatewaySelectorLabels, policy.RuleGatewayListenerTLS,
	policy.RuleBackendNoListener, policy.RuleBackendPortConflict, policy.RuleBackendType, policy.RuleBackendClusterIPNodePort,
	policy.RuleAKOInputUnsupported, policy.RuleAKOReferenceInvalid,
}

// Builder builds the desired units from a Source. It reads; it writes nothing.
type Builder struct {
	// Context holds AKO's settings (required) and the controller version the gate reported.
	Context policy.Context
	Source  Source
	// Engine re-checks every input with the built-in rules; nil checks nothing.
	Engine *policy.Engine
}

// Owner is the created_by and managed_by value of a cluster's objects.
func Owner(cluster string) string { return "sctpguard-" + cluster }

func (b *Builder) ako() *policy.AKOSettings { return b.Context.AKO }

func (b *Builder) owner() string { return Owner(b.ako().ClusterName) }

// prefix is "<cluster>--", the start of every object name.
func (b *Builder) prefix() string { return b.ako().ClusterName + "--" }

// UnitName is the name of a unit's virtual service, VsVip and L4 policy set (AKO:
// internal/lib/lib.go GetL4VSName).
func (b *Builder) UnitName(key UnitKey) string {
	return b.objectName(b.prefix() + key.Namespace + "-" + key.Name)
}

// objectName is the name AKO gives an object: as built, or with enableEVH the prefix and the
// SHA-1 of it, in hex (AKO: internal/lib/lib.go Encode, EncodeWithPrefix).
func (b *Builder) objectName(s string) string {
	if !b.ako().EnableEVH {
		return s
	}
	sum := sha1.Sum([]byte(s)) //nolint:gosec // AKO's name encoding, not a security measure
	return b.prefix() + hex.EncodeToString(sum[:])
}

// namespaceSynced reports whether AKO syncs the objects of a namespace: not in
// blockedNamespaceList, and carrying the namespaceSelector label when one is set (AKO:
// internal/lib/lib.go IsNamespaceBlocked, internal/k8s's namespace filter). An unknown
// namespace (a manifest set without it) counts as synced.
func (b *Builder) namespaceSynced(namespace string) (bool, error) {
	a := b.ako()
	if slices.Contains(a.BlockedNamespaces, namespace) {
		return false, nil
	}
	if a.NamespaceSelector == nil {
		return true, nil
	}
	ns, err := b.Source.Namespace(namespace)
	if err != nil {
		return false, fmt.Errorf("get Namespace %s: %w", namespace, err)
	}
	return ns == nil || ns.Labels[a.NamespaceSelector.LabelKey] == a.NamespaceSelector.LabelValue, nil
}

// Keys returns the units that may be in scope, sorted: every AKO LoadBalancer Service's
// own or shared-VIP unit, and every Gateway's. Build decides.
func (b *Builder) Keys() ([]UnitKey, error) {
	svcs, err := b.Source.Services()
	if err != nil {
		return nil, fmt.Errorf("list Services: %w", err)
	}
	seen := map[UnitKey]bool{}
	for _, s := range svcs {
		if !b.lbService(s) {
			continue
		}
		if key := policy.SharedVIPKey(s); key != "" {
			seen[UnitKey{Kind: KindSharedVIP, Namespace: s.Namespace, Name: key}] = true
		} else if hasSCTP(s) {
			seen[UnitKey{Kind: KindService, Namespace: s.Namespace, Name: s.Name}] = true
		}
	}
	gws, err := b.Source.Gateways()
	if err != nil {
		return nil, fmt.Errorf("list Gateways: %w", err)
	}
	for _, g := range gws {
		seen[UnitKey{Kind: KindGateway, Namespace: g.Namespace, Name: g.Name}] = true
	}
	keys := make([]UnitKey, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b UnitKey) int { return strings.Compare(a.String(), b.String()) })
	return keys, nil
}

// Build returns the desired unit, or nil when the unit is out of scope (its objects are to
// be deleted).
func (b *Builder) Build(ctx context.Context, key UnitKey) (*Unit, error) {
	if b.ako() == nil || b.ako().ClusterName == "" {
		return nil, fmt.Errorf("build %s: AKO's clusterName is not known", key)
	}
	if ok, err := b.namespaceSynced(key.Namespace); err != nil || !ok {
		return nil, err // out of AKO's scope: the unit's objects are deleted
	}
	switch key.Kind {
	case KindService:
		return b.buildService(ctx, key)
	case KindSharedVIP:
		return b.buildSharedVIP(ctx, key)
	case KindGateway:
		return b.buildGateway(ctx, key)
	}
	return nil, fmt.Errorf("build %s: unknown kind", key)
}

// lbService reports whether AKO handles a LoadBalancer Service (avi-translation.md §2.1).
func (b *Builder) lbService(s *corev1.Service) bool {
	return s != nil && policy.ServiceHandledByAKO(s, b.Context)
}

func hasSCTP(s *corev1.Service) bool {
	return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Protocol == corev1.ProtocolSCTP })
}

// newUnit starts a unit: its name, markers and the fixed parts of its objects.
func (b *Builder) newUnit(key UnitKey, nameKey, markerKey string) *Unit {
	a := b.ako()
	u := &Unit{Key: key, Name: b.UnitName(key)}
	u.markers = []avi.Marker{
		{Key: MarkerCluster, Values: []string{a.ClusterName}},
		{Key: MarkerManagedBy, Values: []string{b.owner()}},
		{Key: MarkerNamespace, Values: []string{key.Namespace}},
		{Key: markerKey, Values: []string{nameKey}},
	}
	u.vrfRef = avi.NameRef(avi.TypeVRFContext, b.vrf())
	u.place = b.placementFor(nil)
	return u
}

// finish fills the VS, VsVip and L4 policy set bases once the unit's settings are known.
func (b *Builder) finish(u *Unit, vip netip.Addr, fqdns []string, metadata string, trafficEnabled bool) {
	a := b.ako()
	tenant := avi.NameRef(avi.TypeTenant, a.Tenant())
	cloud := avi.NameRef(avi.TypeCloud, a.Cloud())
	appProfile := u.appProf
	if appProfile == "" {
		appProfile = appProfileL4
	}
	u.vs = &avi.VirtualService{
		Name: u.Name, Type: avi.VSTypeNormal, TenantRef: tenant, CloudRef: cloud, CreatedBy: b.owner(),
		Enabled: ptrTo(true), TrafficEnabled: ptrTo(trafficEnabled), EastWestPlacement: ptrTo(false),
		SEGroupRef:                  avi.NameRef(avi.TypeServiceEngineGroup, u.place.seGroup),
		VRFContextRef:               u.vrfRef,
		VsVipRef:                    avi.NameRef(avi.TypeVsVip, u.Name),
		ApplicationProfileRef:       avi.NameRef(avi.TypeApplicationProfile, appProfile),
		L4Policies:                  []avi.L4Policies{{L4PolicySetRef: avi.NameRef(avi.TypeL4PolicySet, u.Name), Index: 0}},
		RemoveListeningPortOnVsDown: ptrTo(true),
		ServiceMetadata:             metadata,
		Markers:                     u.markers,
	}
	// AKO sends enable_rhi only when it is on (internal/rest/avi_obj_vs.go AviVsBuild).
	if u.place.enableRHI {
		u.vs.EnableRHI = ptrTo(true)
	}
	applyL4RuleVS(u.vs, u.l4rule)
	v := avi.VIP{VipID: "0", AutoAllocateIP: ptrTo(true)}
	switch {
	case vip.Is4():
		v.IPAddress = &avi.IPAddr{Addr: vip.String(), Type: avi.AddrV4}
	case vip.Is6():
		v.IP6Address = &avi.IPAddr{Addr: vip.String(), Type: avi.AddrV6}
	}
	if n := u.place.vipNetwork; n != nil {
		v.IPAMNetworkSubnet, v.AutoAllocateIPType = vipSubnet(n)
	}
	u.vsvip = &avi.VsVip{
		Name: u.Name, TenantRef: tenant, CloudRef: cloud, VRFContextRef: u.vrfRef, EastWestPlacement: ptrTo(false),
		VIP: []avi.VIP{v}, Markers: u.markers, BGPPeerLabels: slices.Clone(u.place.bgpPeerLabels),
	}
	for _, f := range fqdns {
		u.vsvip.DNSInfo = append(u.vsvip.DNSInfo, avi.DNSInfo{FQDN: f})
	}
	u.l4 = &avi.L4PolicySet{Name: u.Name, TenantRef: tenant, CreatedBy: b.owner()}
}

// pool returns the desired pool of one entry, or nil with a NameTooLong event when its
// name is too long.
func (b *Builder) pool(u *Unit, name string, obj policy.Object, svc *corev1.Service, port corev1.ServicePort, entryPort int32, extra []avi.Marker, metadata string) (*avi.Pool, error) {
	if len(name) > MaxNameLength {
		u.Events = append(u.Events, warning(obj, ReasonNameTooLong, "Avi object name is %d characters; the limit is %d (pool %s...)", len(name), MaxNameLength, name[:64]))
		return nil, nil
	}
	servers, err := b.servers(u, svc, port, u.Key.Kind != KindGateway)
	if err != nil {
		return nil, err
	}
	a := b.ako()
	markers := []avi.Marker{
		{Key: MarkerCluster, Values: []string{a.ClusterName}},
		{Key: MarkerManagedBy, Values: []string{b.owner()}},
		{Key: MarkerNamespace, Values: []string{svc.Namespace}},
		{Key: MarkerService, Values: []string{svc.Name}},
	}
	markers = append(markers, extra...)
	markers = append(markers,
		avi.Marker{Key: MarkerPort, Values: []string{portString(entryPort)}},
		avi.Marker{Key: MarkerProtocol, Values: []string{string(port.Protocol)}})
	p := &avi.Pool{
		Name: name, TenantRef: avi.NameRef(avi.TypeTenant, a.Tenant()), CloudRef: avi.NameRef(avi.TypeCloud, a.Cloud()),
		VRFRef: u.vrfRef, CreatedBy: b.owner(),
		HealthMonitorRefs:      []string{avi.NameRef(avi.TypeHealthMonitor, monitorPrefix+string(port.Protocol))},
		Servers:                servers,
		SNIEnabled:             ptrTo(false),
		GracefulDisableTimeout: ptrTo(int32(1)),
		ServiceMetadata:        metadata,
		Markers:                markers,
		PlacementNetworks:      b.placementNetworks(u.place),
	}
	applyL4RulePool(p, u.l4rule, port.Protocol, entryPort)
	return p, nil
}

// servers returns the pool servers of a Service port (avi-translation.md §6). The
// skipnodeport annotation acts by its presence, whatever its value, and only on LB Services
// and shared-VIP members (AKO: internal/nodes/avi_model_l4_translator.go
// ConstructAviL4PolPoolNodes, avi_model_advl4_translator.go ConstructSharedVipPolPoolNodes;
// Gateway backends do not look at it, ConstructAdvL4PolPoolNodes).
func (b *Builder) servers(u *Unit, svc *corev1.Service, port corev1.ServicePort, skipAnnotation bool) ([]avi.Server, error) {
	_, skip := svc.Annotations[AnnotationSkipNodePort]
	if b.ako().ServiceType == policy.ServiceTypeNodePort && (!skip || !skipAnnotation) {
		return b.nodeServers(u, svc, port)
	}
	slices, err := b.Source.EndpointSlices(svc.Namespace, svc.Name)
	if err != nil {
		return nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	fam := b.families(svc)
	set := serverSet{}
	for _, es := range slices {
		if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
			continue // FQDN slices are not load balanced
		}
		target := slicePort(es, port)
		if target == nil {
			continue
		}
		for _, ep := range es.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			// Only the first address: the others are the same endpoint's, fungible
			// (AKO: PopulateServers, after https://issue.k8s.io/106267).
			typ := fam.typeOf(ep.Addresses[0])
			if typ == "" {
				continue
			}
			enabled := (ep.Conditions.Ready == nil || *ep.Conditions.Ready) &&
				(ep.Conditions.Terminating == nil || !*ep.Conditions.Terminating)
			srv := set.add(ep.Addresses[0], typ, *target, enabled)
			if ep.NodeName != nil {
				srv.ServerNode = *ep.NodeName // AKO: PopulateServers
			}
		}
	}
	return set.sorted(), nil
}

// slicePort returns the target port of a Service port in an EndpointSlice: the slice port
// with the Service port's name AND protocol [≠AKO: name or number].
func slicePort(es *discoveryv1.EndpointSlice, port corev1.ServicePort) *int32 {
	for _, p := range es.Ports {
		name, proto := "", corev1.ProtocolTCP
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == port.Name && proto == port.Protocol && p.Port != nil {
			return p.Port
		}
	}
	return nil
}

// families are the address families a Service's pool servers may have: those AKO's
// ipFamily enables and the Service serves (AKO: v4enabled, v4Family, v6enabled, v6Family in
// internal/nodes/avi_model_l4_translator.go PopulateServers, PopulateServersForNodePort).
type families struct{ v4, v6 bool }

func (b *Builder) families(svc *corev1.Service) families {
	ipFamily := b.ako().IPFamilyFor(b.Context.CloudType())
	v4On := ipFamily == policy.IPFamilyV4 || ipFamily == policy.IPFamilyV4V6
	v6On := ipFamily == policy.IPFamilyV6 || ipFamily == policy.IPFamilyV4V6
	// The Service's families: both when dual-stack, IPv6 when its first is, else IPv4 (an
	// unset list too, as on clusters that predate the field).
	v4Svc, v6Svc := true, false
	switch fs := svc.Spec.IPFamilies; {
	case len(fs) >= 2:
		v6Svc = true
	case len(fs) == 1 && fs[0] == corev1.IPv6Protocol:
		v4Svc, v6Svc = false, true
	}
	return families{v4: v4On && v4Svc, v6: v6On && v6Svc}
}

// typeOf is the Avi address type of an address the families allow, or "".
func (f families) typeOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return ""
	case ip.Is4() && f.v4:
		return avi.AddrV4
	case ip.Is6() && !ip.Is4In6() && f.v6:
		return avi.AddrV6
	}
	return ""
}

// nodeServers returns NodePort-mode servers: one per eligible Node, at the port's nodePort,
// with the Node's IPv4 address when the families allow it and it has one, else its IPv6
// address (AKO: internal/nodes/avi_model_l4_translator.go PopulateServersForNodePort).
// kube-proxy opens the NodePort only for the Service's families, so no other address is used.
func (b *Builder) nodeServers(u *Unit, svc *corev1.Service, port corev1.ServicePort) ([]avi.Server, error) {
	if port.NodePort == 0 {
		u.Events = append(u.Events, warning(svc, ReasonNoNodePort, "port %d/%s has no nodePort, so its pool has no servers in NodePort mode", port.Port, port.Protocol))
		return nil, nil
	}
	nodes, err := b.Source.Nodes()
	if err != nil {
		return nil, fmt.Errorf("list Nodes: %w", err)
	}
	// With externalTrafficPolicy Local, only Nodes with an endpoint of the port, per family
	// (AKO: checkIfEndpointSliceExistsForNode; readiness is not looked at).
	var local4, local6 map[string]bool
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		slices, err := b.Source.EndpointSlices(svc.Namespace, svc.Name)
		if err != nil {
			return nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		local4, local6 = map[string]bool{}, map[string]bool{}
		for _, es := range slices {
			if slicePort(es, port) == nil {
				continue
			}
			for _, ep := range es.Endpoints {
				if ep.NodeName == nil {
					continue
				}
				switch es.AddressType {
				case discoveryv1.AddressTypeIPv4:
					local4[*ep.NodeName] = true
				case discoveryv1.AddressTypeIPv6:
					local6[*ep.NodeName] = true
				}
			}
		}
	}
	fam := b.families(svc)
	sel := b.ako().NodePortSelector
	set := serverSet{}
	for _, n := range nodes {
		if sel != nil && n.Labels[sel.Key] != sel.Value {
			continue
		}
		if _, excluded := n.Labels[labelExcludeFromLB]; excluded {
			continue
		}
		v4, v6 := nodeAddresses(n, b.Context.CNI, fam)
		on4 := local4 == nil || local4[n.Name]
		on6 := local6 == nil || local6[n.Name]
		switch {
		case v4 != "" && on4:
			set.add(v4, avi.AddrV4, port.NodePort, true)
		case v6 != "" && on6:
			set.add(v6, avi.AddrV6, port.NodePort, true)
		}
	}
	return set.sorted(), nil
}

// Node annotations AKO reads a Node's address from under some CNIs (AKO: internal/lib/lib.go
// GetIPFromNode).
const (
	annotationCalicoIPv4      = "projectcalico.org/IPv4Address"
	annotationCalicoIPv6      = "projectcalico.org/IPv6Address"
	annotationAntreaTransport = "node.antrea.io/transport-addresses"
)

// nodeAddresses returns a Node's IPv4 and IPv6 address of the families asked for: from the
// Calico or Antrea annotation under that CNI, else the first InternalIP of the family
// (AKO: internal/lib/lib.go GetIPFromNode).
func nodeAddresses(n *corev1.Node, cni string, fam families) (v4, v6 string) {
	fromAnnotation := func(s string) {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		switch {
		case err != nil:
		case ip.Is4() && fam.v4:
			v4 = ip.String()
		case ip.Is6() && fam.v6:
			v6 = ip.String()
		}
	}
	switch cni {
	case "calico":
		for _, a := range []string{annotationCalicoIPv4, annotationCalicoIPv6} {
			if v, ok := n.Annotations[a]; ok {
				addr, _, _ := strings.Cut(v, "/")
				fromAnnotation(addr)
			}
		}
	case "antrea":
		for a := range strings.SplitSeq(n.Annotations[annotationAntreaTransport], ",") {
			fromAnnotation(a)
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		switch {
		case err != nil:
		case ip.Is4() && fam.v4 && v4 == "":
			v4 = a.Address
		case ip.Is6() && fam.v6 && v6 == "":
			v6 = a.Address
		}
	}
	return v4, v6
}

// serverSet merges duplicate servers: enabled is the OR of the duplicates.
type serverSet map[serverKey]*avi.Server

type serverKey struct {
	addr string
	port int32
}

// add adds a server, or merges it into the one of that address and port, and returns it. Its
// external_uuid is "<addr>:<port>", as AKO's (AKO: internal/rest/avi_obj_pool.go AviPoolBuild).
func (s serverSet) add(addr, typ string, port int32, enabled bool) *avi.Server {
	k := serverKey{addr, port}
	if cur, ok := s[k]; ok {
		*cur.Enabled = *cur.Enabled || enabled
		return cur
	}
	s[k] = &avi.Server{IP: avi.IPAddr{Addr: addr, Type: typ}, Port: port, Enabled: ptrTo(enabled),
		ExternalUUID: fmt.Sprintf("%s:%d", addr, port)}
	return s[k]
}

func (s serverSet) sorted() []avi.Server {
	out := make([]avi.Server, 0, len(s))
	for _, v := range s {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b avi.Server) int { return compareServers(a, b) })
	return out
}

func compareServers(a, b avi.Server) int {
	aa, errA := netip.ParseAddr(a.IP.Addr)
	ba, errB := netip.ParseAddr(b.IP.Addr)
	if errA == nil && errB == nil {
		if c := aa.Compare(ba); c != 0 {
			return c
		}
	} else if c := strings.Compare(a.IP.Addr, b.IP.Addr); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// freeze re-checks an object with the rule catalogue, as admission would have judged it
// when it was created: against the related objects that are older than it. Of two
// conflicting objects the newer is thus the one frozen, and the older keeps syncing.
func (b *Builder) freeze(ctx context.Context, obj policy.Object) (*Freeze, error) {
	if b.Engine == nil {
		return nil, nil
	}
	env := policy.Env{Context: b.Context, Inventory: olderView{Inventory: b.Source, of: obj}}
	findings, err := b.Engine.Validate(ctx, &policy.Review{Operation: policy.OperationCreate, Object: obj}, env)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", policy.Ref(obj), err)
	}
	var frozen []policy.Finding
	for _, f := range findings {
		if f.Action == policy.ActionDeny && slices.Contains(freezingRules, policy.RuleID(f.Rule)) {
			frozen = append(frozen, f)
		}
	}
	if len(frozen) == 0 {
		return nil, nil
	}
	return &Freeze{Object: frozen[0].Object, Findings: frozen, obj: obj}, nil
}

// olderView is the inventory as it was when an object was created: related Services and
// Gateways newer than it are not there yet.
type olderView struct {
	policy.Inventory
	of policy.Object
}

func (v olderView) older(o policy.Object) bool {
	return (o.GetNamespace() == v.of.GetNamespace() && o.GetName() == v.of.GetName()) || !policy.NewerThan(o, v.of)
}

func (v olderView) Gateway(namespace, name string) (*svcapi.Gateway, error) {
	gw, err := v.Inventory.Gateway(namespace, name)
	if err != nil || gw == nil || !v.older(gw) {
		return nil, err
	}
	return gw, nil
}

func (v olderView) GatewayBackends(namespace, name string) ([]*corev1.Service, error) {
	svcs, err := v.Inventory.GatewayBackends(namespace, name)
	return v.filter(svcs), err
}

func (v olderView) SharedVIPServices(namespace, key string) ([]*corev1.Service, error) {
	svcs, err := v.Inventory.SharedVIPServices(namespace, key)
	return v.filter(svcs), err
}

func (v olderView) filter(svcs []*corev1.Service) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range svcs {
		if v.older(s) {
			out = append(out, s)
		}
	}
	return out
}

// staticVIP parses a static VIP; an invalid one gets an InvalidLoadBalancerIP event and
// stops the unit.
func staticVIP(u *Unit, obj policy.Object, value, where string) (netip.Addr, bool) {
	if value == "" {
		return netip.Addr{}, true
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(value))
	if err != nil || ip.Zone() != "" {
		u.Events = append(u.Events, warning(obj, ReasonInvalidLoadBalancerIP, "%s %q is not a single IPv4 or IPv6 address; the unit is not synced until it is fixed", where, value))
		u.Skip = "invalid static VIP"
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// trafficDisabled reports the disable-traffic annotation as AKO reads it on a LoadBalancer
// Service: "true" in any case (AKO: internal/nodes/avi_model_l4_translator.go
// ConstructAviL4VsNode lower-cases it).
func trafficDisabled(svc *corev1.Service) bool {
	return strings.ToLower(svc.Annotations[AnnotationDisableTraffic]) == "true"
}

// hostnames returns the external-dns FQDNs of a Service: trimmed, deduplicated.
func hostnames(svc *corev1.Service) []string {
	var out []string
	for h := range strings.SplitSeq(svc.Annotations[AnnotationExternalDNS], ",") {
		if h = strings.TrimSpace(h); h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func warning(obj policy.Object, reason, format string, args ...any) Event {
	return Event{Object: objectRef(obj), Type: corev1.EventTypeWarning, Reason: reason, Message: fmt.Sprintf(format, args...), Regarding: obj}
}

func objectRef(obj policy.Object) policy.ObjectRef {
	ref := policy.Ref(obj)
	if ref.Kind == "" {
		if gvks, _, err := policy.Scheme().ObjectKinds(obj); err == nil && len(gvks) > 0 {
			ref.APIVersion, ref.Kind = gvks[0].GroupVersion().String(), gvks[0].Kind
		}
	}
	return ref
}

func nn(obj policy.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// buildService builds the unit of a LoadBalancer Service with its own virtual service
// (avi-translation.md §2.1, §2.2).
func (b *Builder) buildService(ctx context.Context, key UnitKey) (*Unit, error) {
	svc, err := b.Source.Service(key.Namespace, key.Name)
	if err != nil {
		return nil, fmt.Errorf("get Service %s/%s: %w", key.Namespace, key.Name, err)
	}
	if !b.lbService(svc) || !hasSCTP(svc) {
		return nil, nil
	}
	if policy.SharedVIPKey(svc) != "" {
		// The Service joined a shared-VIP group, whose unit now carries it, and its own unit
		// goes. A frozen Service changes nothing, though: what the controller holds for it
		// stays until it is admitted (a join that clashes, written while the webhook was down
		// or through a side door).
		f, err := b.freeze(ctx, svc)
		if err != nil || f == nil {
			return nil, err
		}
		u := b.newUnit(key, svc.Name, MarkerService)
		u.Members = []types.NamespacedName{nn(svc)}
		u.Frozen, u.Skip = []*Freeze{f}, f.Message()
		return u, nil
	}
	u := b.newUnit(key, svc.Name, MarkerService)
	u.Members = []types.NamespacedName{nn(svc)}
	if len(u.Name) > MaxNameLength {
		u.Events = append(u.Events, warning(svc, ReasonNameTooLong, "Avi object name is %d characters; the limit is %d", len(u.Name), MaxNameLength))
		u.Skip = ReasonNameTooLong
		return u, nil
	}
	f, err := b.freeze(ctx, svc)
	if err != nil {
		return nil, err
	}
	if f != nil {
		u.Frozen, u.Skip = []*Freeze{f}, f.Message()
		return u, nil
	}
	if err := b.serviceInputs(u, svc); err != nil || u.Skip != "" {
		return u, err
	}
	// The L4Rule's loadBalancerIP comes last (AKO: ConstructAviL4VsNode).
	ip := policy.StaticIP(svc)
	if ip == "" && u.l4rule != nil && u.l4rule.Spec.LoadBalancerIP != nil {
		ip = *u.l4rule.Spec.LoadBalancerIP
	}
	vip, ok := staticVIP(u, svc, ip, "static VIP")
	if !ok {
		return u, nil
	}
	u.appProf = svc.Annotations[AnnotationApplicationProfile]
	meta := serviceMetadata("", []string{svc.Namespace + "/" + svc.Name}, nil)
	for _, p := range svc.Spec.Ports {
		name := b.objectName(fmt.Sprintf("%s%s-%s-%s-%d", b.prefix(), svc.Namespace, svc.Name, p.Protocol, p.Port))
		pool, err := b.pool(u, name, svc, svc, p, p.Port, nil, meta)
		if err != nil {
			return nil, err
		}
		u.Entries = append(u.Entries, Entry{Protocol: p.Protocol, Port: p.Port, Pool: pool, Member: svc.Name})
	}
	sortEntries(u.Entries)
	fqdns := hostnames(svc)
	slices.Sort(fqdns)
	b.finish(u, vip, fqdns, serviceMetadata("", []string{svc.Namespace + "/" + svc.Name}, fqdns), !trafficDisabled(svc))
	return u, nil
}

// serviceInputs resolves the AviInfraSetting and L4Rule of a LoadBalancer Service into the
// unit's placement and rule; a missing one stops the unit (Skip).
func (b *Builder) serviceInputs(u *Unit, svc *corev1.Service) error {
	ref, ok, err := policy.ServiceInfraSettingRef(svc, b.Source)
	if err != nil {
		return err
	}
	infra, err := b.resolveInfraSetting(u, svc, ref, ok)
	if err != nil {
		return err
	}
	u.place = b.placementFor(infra)
	u.l4rule, err = b.resolveL4Rule(u, svc)
	return err
}

// buildSharedVIP builds the unit of a shared-VIP group (avi-translation.md §2.3).
func (b *Builder) buildSharedVIP(ctx context.Context, key UnitKey) (*Unit, error) {
	all, err := b.Source.SharedVIPServices(key.Namespace, key.Name)
	if err != nil {
		return nil, fmt.Errorf("list shared-VIP Services %s/%s: %w", key.Namespace, key.Name, err)
	}
	var members []*corev1.Service
	for _, s := range all {
		if s.Namespace == key.Namespace && b.lbService(s) && policy.SharedVIPKey(s) == key.Name {
			members = append(members, s)
		}
	}
	if !slices.ContainsFunc(members, hasSCTP) {
		return nil, nil
	}
	// Oldest first: the oldest member's settings win.
	slices.SortFunc(members, func(a, c *corev1.Service) int {
		if policy.NewerThan(a, c) {
			return 1
		}
		return -1
	})
	u := b.newUnit(key, key.Name, MarkerSharedVIP)
	var synced []*corev1.Service
	for _, m := range members {
		f, err := b.freeze(ctx, m)
		if err != nil {
			return nil, err
		}
		if f != nil {
			u.Frozen = append(u.Frozen, f)
			u.frozenMembers = append(u.frozenMembers, m.Name)
			continue
		}
		synced = append(synced, m)
		u.Members = append(u.Members, nn(m))
	}
	if len(u.Name) > MaxNameLength {
		for _, m := range members {
			u.Events = append(u.Events, warning(m, ReasonNameTooLong, "Avi object name is %d characters; the limit is %d", len(u.Name), MaxNameLength))
		}
		u.Skip = ReasonNameTooLong
		return u, nil
	}
	if !slices.ContainsFunc(synced, hasSCTP) {
		// Only frozen members carry SCTP: the group keeps what the controller holds rather
		// than losing the frozen members' shares.
		u.Skip = "every SCTP member is frozen"
		return u, nil
	}
	// The oldest member's AviInfraSetting and L4Rule apply to the whole group, its L4Rule's
	// backendProperties to every member's pools (AKO: ConstructSharedVipSvcLBNode,
	// ConstructSharedVipPolPoolNodes take the first member's).
	oldest := synced[0]
	if err := b.serviceInputs(u, oldest); err != nil || u.Skip != "" {
		return u, err
	}
	// An L4Rule's loadBalancerIP wins on a shared VIP (AKO: ConstructSharedVipSvcLBNode).
	ip := policy.StaticIP(oldest)
	if u.l4rule != nil && u.l4rule.Spec.LoadBalancerIP != nil {
		ip = *u.l4rule.Spec.LoadBalancerIP
	}
	vip, ok := staticVIP(u, oldest, ip, "static VIP")
	if !ok {
		return u, nil
	}
	var fqdns []string
	for _, m := range synced {
		// AKO builds a shared VIP with System-L4-Application and traffic enabled, whatever
		// its members say (ConstructSharedVipSvcLBNode); so does sctpguard, aloud.
		for _, a := range []string{AnnotationDisableTraffic, AnnotationApplicationProfile} {
			if v, ok := m.Annotations[a]; ok {
				u.Events = append(u.Events, warning(m, ReasonSharedVIPSettingIgnored, "annotation %s: %q has no effect on a Service sharing the VIP %q: AKO builds a shared virtual service with %s and traffic enabled", a, v, key.Name, appProfileL4))
			}
		}
		for _, h := range hostnames(m) {
			if !slices.Contains(fqdns, h) {
				fqdns = append(fqdns, h)
			}
		}
		meta := serviceMetadata("", []string{m.Namespace + "/" + m.Name}, nil)
		for _, p := range m.Spec.Ports {
			name := b.objectName(fmt.Sprintf("%s%s-%s-%s-%s-%d", b.prefix(), m.Namespace, m.Name, key.Name, p.Protocol, p.Port))
			pool, err := b.pool(u, name, m, m, p, p.Port, []avi.Marker{{Key: MarkerSharedVIP, Values: []string{key.Name}}}, meta)
			if err != nil {
				return nil, err
			}
			u.Entries = append(u.Entries, Entry{Protocol: p.Protocol, Port: p.Port, Pool: pool, Member: m.Name})
		}
	}
	sortEntries(u.Entries)
	slices.Sort(fqdns)
	// The shared virtual service's metadata has the hostnames only; its members are on the
	// pools (AKO: ConstructSharedVipSvcLBNode).
	b.finish(u, vip, fqdns, serviceMetadata("", nil, fqdns), true)
	return u, nil
}
