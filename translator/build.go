package translator

import (
	"cmp"
	"context"
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
	AnnotationDisableTraffic     = "ako.vmware.com/disable-traffic"
	AnnotationApplicationProfile = "ako.vmware.com/application-profile"
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
	u := &Unit{Key: key, Name: b.prefix() + key.Namespace + "-" + key.Name}
	u.markers = []avi.Marker{
		{Key: MarkerCluster, Values: []string{a.ClusterName}},
		{Key: MarkerManagedBy, Values: []string{b.owner()}},
		{Key: MarkerNamespace, Values: []string{key.Namespace}},
		{Key: markerKey, Values: []string{nameKey}},
	}
	if a.VRFName != "" {
		u.vrfRef = avi.NameRef(avi.TypeVRFContext, a.VRFName)
	}
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
		SEGroupRef:                  avi.NameRef(avi.TypeServiceEngineGroup, a.ServiceEngineGroup()),
		VRFContextRef:               u.vrfRef,
		VsVipRef:                    avi.NameRef(avi.TypeVsVip, u.Name),
		ApplicationProfileRef:       avi.NameRef(avi.TypeApplicationProfile, appProfile),
		L4Policies:                  []avi.L4Policies{{L4PolicySetRef: avi.NameRef(avi.TypeL4PolicySet, u.Name), Index: 0}},
		RemoveListeningPortOnVsDown: ptrTo(true),
		ServiceMetadata:             metadata,
		Markers:                     u.markers,
	}
	v := avi.VIP{VipID: "0", AutoAllocateIP: ptrTo(true)}
	switch {
	case vip.Is4():
		v.IPAddress = &avi.IPAddr{Addr: vip.String(), Type: avi.AddrV4}
	case vip.Is6():
		v.IP6Address = &avi.IPAddr{Addr: vip.String(), Type: avi.AddrV6}
	}
	if nets := a.VIPNetworks; len(nets) > 0 {
		n := nets[0]
		sub := &avi.IPNetworkSubnet{NetworkRef: avi.NameRef(avi.TypeNetwork, n.NetworkName)}
		if p, err := netip.ParsePrefix(n.CIDR); err == nil {
			sub.Subnet = &avi.IPPrefix{IPAddr: avi.IPAddr{Addr: p.Addr().String(), Type: avi.AddrV4}, Mask: int32(p.Bits())} //nolint:gosec // a prefix length is at most 128
		}
		if p, err := netip.ParsePrefix(n.V6CIDR); err == nil {
			sub.Subnet6 = &avi.IPPrefix{IPAddr: avi.IPAddr{Addr: p.Addr().String(), Type: avi.AddrV6}, Mask: int32(p.Bits())} //nolint:gosec // a prefix length is at most 128
			v.AutoAllocateIPType = avi.AutoAllocateV4V6
		}
		v.IPAMNetworkSubnet = sub
	}
	u.vsvip = &avi.VsVip{
		Name: u.Name, TenantRef: tenant, CloudRef: cloud, VRFContextRef: u.vrfRef, EastWestPlacement: ptrTo(false),
		VIP: []avi.VIP{v}, Markers: u.markers,
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
	servers, err := b.servers(u, svc, port)
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
	return &avi.Pool{
		Name: name, TenantRef: avi.NameRef(avi.TypeTenant, a.Tenant()), CloudRef: avi.NameRef(avi.TypeCloud, a.Cloud()),
		VRFRef: u.vrfRef, CreatedBy: b.owner(),
		HealthMonitorRefs:      []string{avi.NameRef(avi.TypeHealthMonitor, monitorPrefix+string(port.Protocol))},
		Servers:                servers,
		SNIEnabled:             ptrTo(false),
		GracefulDisableTimeout: ptrTo(int32(1)),
		ServiceMetadata:        metadata,
		Markers:                markers,
	}, nil
}

// servers returns the pool servers of a Service port (avi-translation.md §6).
func (b *Builder) servers(u *Unit, svc *corev1.Service, port corev1.ServicePort) ([]avi.Server, error) {
	if b.ako().ServiceType == policy.ServiceTypeNodePort && svc.Annotations[AnnotationSkipNodePort] != "true" {
		return b.nodeServers(u, svc, port)
	}
	slices, err := b.Source.EndpointSlices(svc.Namespace, svc.Name)
	if err != nil {
		return nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	set := serverSet{}
	for _, es := range slices {
		var typ string
		switch es.AddressType {
		case discoveryv1.AddressTypeIPv4:
			typ = avi.AddrV4
		case discoveryv1.AddressTypeIPv6:
			typ = avi.AddrV6
		default:
			continue // FQDN slices are not load balanced
		}
		// The slice port with the Service port's name AND protocol [≠AKO: name or number].
		var target *int32
		for _, p := range es.Ports {
			name, proto := "", corev1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == port.Name && proto == port.Protocol && p.Port != nil {
				target = p.Port
				break
			}
		}
		if target == nil {
			continue
		}
		for _, ep := range es.Endpoints {
			enabled := (ep.Conditions.Ready == nil || *ep.Conditions.Ready) &&
				(ep.Conditions.Terminating == nil || !*ep.Conditions.Terminating)
			for _, addr := range ep.Addresses {
				set.add(addr, typ, *target, enabled)
			}
		}
	}
	return set.sorted(), nil
}

// nodeServers returns NodePort-mode servers: the first InternalIP per family of each
// eligible Node, at the port's nodePort.
func (b *Builder) nodeServers(u *Unit, svc *corev1.Service, port corev1.ServicePort) ([]avi.Server, error) {
	if port.NodePort == 0 {
		u.Events = append(u.Events, warning(svc, ReasonNoNodePort, "port %d/%s has no nodePort, so its pool has no servers in NodePort mode", port.Port, port.Protocol))
		return nil, nil
	}
	nodes, err := b.Source.Nodes()
	if err != nil {
		return nil, fmt.Errorf("list Nodes: %w", err)
	}
	var local map[string]bool
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		slices, err := b.Source.EndpointSlices(svc.Namespace, svc.Name)
		if err != nil {
			return nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		local = map[string]bool{}
		for _, es := range slices {
			for _, ep := range es.Endpoints {
				if ep.NodeName != nil && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
					local[*ep.NodeName] = true
				}
			}
		}
	}
	sel := b.ako().NodePortSelector
	set := serverSet{}
	for _, n := range nodes {
		if sel != nil && n.Labels[sel.Key] != sel.Value {
			continue
		}
		if _, excluded := n.Labels[labelExcludeFromLB]; excluded || (local != nil && !local[n.Name]) {
			continue
		}
		var v4, v6 bool
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			ip, err := netip.ParseAddr(a.Address)
			if err != nil {
				continue
			}
			if ip.Is4() && !v4 {
				v4 = true
				set.add(a.Address, avi.AddrV4, port.NodePort, true)
			} else if ip.Is6() && !v6 {
				v6 = true
				set.add(a.Address, avi.AddrV6, port.NodePort, true)
			}
		}
	}
	return set.sorted(), nil
}

// serverSet merges duplicate servers: enabled is the OR of the duplicates.
type serverSet map[serverKey]*avi.Server

type serverKey struct {
	addr string
	port int32
}

func (s serverSet) add(addr, typ string, port int32, enabled bool) {
	k := serverKey{addr, port}
	if cur, ok := s[k]; ok {
		*cur.Enabled = *cur.Enabled || enabled
		return
	}
	s[k] = &avi.Server{IP: avi.IPAddr{Addr: addr, Type: typ}, Port: port, Enabled: ptrTo(enabled)}
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

// unsupported reports AKO CRD annotations sctpguard does not translate.
func unsupported(u *Unit, svc *corev1.Service) {
	for _, a := range []string{policy.AnnotationInfraSetting, policy.AnnotationL4Rule} {
		if v, ok := svc.Annotations[a]; ok {
			u.Events = append(u.Events, warning(svc, ReasonUnsupportedAnnotation, "annotation %s: %s is not translated by sctpguard; the virtual service is synced without it", a, v))
		}
	}
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
	unsupported(u, svc)
	vip, ok := staticVIP(u, svc, policy.StaticIP(svc), "static VIP")
	if !ok {
		return u, nil
	}
	u.appProf = svc.Annotations[AnnotationApplicationProfile]
	meta := serviceMetadata("", []string{svc.Namespace + "/" + svc.Name}, nil)
	for _, p := range svc.Spec.Ports {
		name := fmt.Sprintf("%s-%s-%d", u.Name, p.Protocol, p.Port)
		pool, err := b.pool(u, name, svc, svc, p, p.Port, nil, meta)
		if err != nil {
			return nil, err
		}
		u.Entries = append(u.Entries, Entry{Protocol: p.Protocol, Port: p.Port, Pool: pool, Member: svc.Name})
	}
	sortEntries(u.Entries)
	fqdns := hostnames(svc)
	slices.Sort(fqdns)
	b.finish(u, vip, fqdns, serviceMetadata("", []string{svc.Namespace + "/" + svc.Name}, fqdns), svc.Annotations[AnnotationDisableTraffic] != "true")
	return u, nil
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
	oldest := synced[0]
	vip, ok := staticVIP(u, oldest, policy.StaticIP(oldest), "static VIP")
	if !ok {
		return u, nil
	}
	u.appProf = oldest.Annotations[AnnotationApplicationProfile]
	traffic := oldest.Annotations[AnnotationDisableTraffic] != "true"
	var names, fqdns []string
	for _, m := range synced {
		unsupported(u, m)
		for _, a := range []string{AnnotationDisableTraffic, AnnotationApplicationProfile} {
			if m.Annotations[a] != oldest.Annotations[a] {
				u.Events = append(u.Events, warning(m, ReasonSharedVIPSettingIgnored, "annotation %s differs from the oldest member %s of shared VIP %q, whose value applies to the group", a, oldest.Name, key.Name))
			}
		}
		names = append(names, m.Namespace+"/"+m.Name)
		for _, h := range hostnames(m) {
			if !slices.Contains(fqdns, h) {
				fqdns = append(fqdns, h)
			}
		}
		meta := serviceMetadata("", []string{m.Namespace + "/" + m.Name}, nil)
		for _, p := range m.Spec.Ports {
			name := fmt.Sprintf("%s%s-%s-%s-%s-%d", b.prefix(), m.Namespace, m.Name, key.Name, p.Protocol, p.Port)
			pool, err := b.pool(u, name, m, m, p, p.Port, []avi.Marker{{Key: MarkerSharedVIP, Values: []string{key.Name}}}, meta)
			if err != nil {
				return nil, err
			}
			u.Entries = append(u.Entries, Entry{Protocol: p.Protocol, Port: p.Port, Pool: pool, Member: m.Name})
		}
	}
	sortEntries(u.Entries)
	slices.Sort(names)
	slices.Sort(fqdns)
	b.finish(u, vip, fqdns, serviceMetadata("", names, fqdns), traffic)
	return u, nil
}
