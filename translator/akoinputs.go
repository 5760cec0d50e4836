package translator

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Object types of the refs an L4Rule sets.
const (
	typeAnalyticsProfile      = "analyticsprofile"
	typeNetworkSecurityPolicy = "networksecuritypolicy"
	typeSecurityPolicy        = "securitypolicy"
	typeVSDatascriptSet       = "vsdatascriptset"
	typePersistenceProfile    = "applicationpersistenceprofile"
	lbHashCustomHeader        = "LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER"
)

// placement is where a unit's objects go and how its VIP is advertised: AKO's settings,
// overridden field by field by the AviInfraSetting in force (AKO:
// internal/nodes/avi_model_l7_translator.go buildWithInfraSetting, buildPoolWithInfraSetting).
type placement struct {
	seGroup       string
	vipNetwork    *policy.VIPNetwork
	nodeNetworks  []policy.NodeNetwork
	enableRHI     bool
	bgpPeerLabels []string
}

// placementFor returns the placement under an AviInfraSetting (nil: AKO's settings alone).
func (b *Builder) placementFor(infra *akov1beta1.AviInfraSetting) placement {
	a := b.ako()
	p := placement{seGroup: a.ServiceEngineGroup(), nodeNetworks: a.NodeNetworks, enableRHI: a.EnableRHI}
	if len(a.VIPNetworks) > 0 {
		p.vipNetwork = &a.VIPNetworks[0]
	}
	labels := a.BGPPeerLabels
	if infra != nil {
		n := infra.Spec.Network
		if infra.Spec.SeGroup.Name != "" {
			p.seGroup = infra.Spec.SeGroup.Name
		}
		if n.EnableRhi != nil {
			p.enableRHI = *n.EnableRhi
		}
		if n.BgpPeerLabels != nil {
			labels = n.BgpPeerLabels
		}
		if len(n.VipNetworks) > 0 {
			v := n.VipNetworks[0]
			p.vipNetwork = &policy.VIPNetwork{NetworkName: v.NetworkName, NetworkUUID: v.NetworkUUID, CIDR: v.Cidr, V6CIDR: v.V6Cidr}
		}
		if len(n.NodeNetworks) > 0 {
			p.nodeNetworks = nil
			for _, nn := range n.NodeNetworks {
				p.nodeNetworks = append(p.nodeNetworks, policy.NodeNetwork{NetworkName: nn.NetworkName, NetworkUUID: nn.NetworkUUID, CIDRs: nn.Cidrs})
			}
		}
	}
	// The BGP peers are chosen only while the VIP is advertised at all (AKO:
	// ConstructAviL4VsNode, buildWithInfraSetting).
	if p.enableRHI {
		p.bgpPeerLabels = labels
	}
	return p
}

// vrf is the VRF context of every object: vrfName, else in ClusterIP mode the VRF of the
// first vipNetworkList network as the translator read it from the controller, else global
// (AKO: internal/cache/controller_obj_cache.go checkAndSetVRFFromNetwork, internal/lib/lib.go
// GetVrf). AKO always sends it; so does sctpguard.
func (b *Builder) vrf() string {
	a := b.ako()
	if a.VRFName != "" {
		return a.VRFName
	}
	if a.ServiceType != policy.ServiceTypeNodePort && b.Context.Cloud != nil && b.Context.Cloud.NetworkVRF != "" {
		return b.Context.Cloud.NetworkVRF
	}
	return "global"
}

// networkRef is the ref AKO sends for a network given by name or uuid (uuid first).
func networkRef(name, uuid string) string {
	if uuid != "" {
		return "/api/" + avi.TypeNetwork + "/" + uuid
	}
	return avi.NameRef(avi.TypeNetwork, name)
}

// placementNetworks are a pool's placement_networks: one per node network CIDR, on the
// clouds where AKO sets them (vCenter; an unknown cloud is taken as one) (AKO:
// internal/rest/avi_obj_pool.go AviPoolBuild, internal/lib/lib.go IsNodeNetworkAllowedCloud).
func (b *Builder) placementNetworks(p placement) []avi.PlacementNetwork {
	if t := b.Context.CloudType(); t != "" && t != policy.CloudVCenter {
		return nil
	}
	var out []avi.PlacementNetwork
	for _, n := range p.nodeNetworks {
		for _, c := range n.CIDRs {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				continue // the settings reader rejected it already
			}
			typ := avi.AddrV4
			if pfx.Addr().Is6() {
				typ = avi.AddrV6
			}
			out = append(out, avi.PlacementNetwork{
				NetworkRef: networkRef(n.NetworkName, n.NetworkUUID),
				Subnet:     avi.IPPrefix{IPAddr: avi.IPAddr{Addr: pfx.Masked().Addr().String(), Type: typ}, Mask: int32(pfx.Bits())}, //nolint:gosec // at most 128
			})
		}
	}
	return out
}

// resolveInfraSetting reads the AviInfraSetting a reference names. It returns nil when there
// is no reference, and when AKO would not use it (rejected, or invalid as AKO judges it:
// ako-reference-invalid freezes the unit unless that rule is demoted, and then the unit is
// built as AKO builds it, without). A reference to one that does not exist stops the unit
// until it does (ako-reference-missing), where AKO would build without it.
func (b *Builder) resolveInfraSetting(u *Unit, obj policy.Object, ref policy.AKORef, ok bool) (*akov1beta1.AviInfraSetting, error) {
	if !ok {
		return nil, nil
	}
	s, err := b.Source.AviInfraSetting(ref.Name)
	if err != nil {
		return nil, fmt.Errorf("get AviInfraSetting %s: %w", ref.Name, err)
	}
	if s == nil {
		u.Events = append(u.Events, warning(obj, string(policy.RuleAKOReferenceMissing),
			"AviInfraSetting %q (from the %s) does not exist; the unit is synced once it does", ref.Name, ref.Via))
		u.Skip = "waiting for AviInfraSetting " + ref.Name
		return nil, nil
	}
	if policy.InfraSettingProblem(s) != "" {
		return nil, nil
	}
	return s, nil
}

// resolveL4Rule reads the L4Rule a Service names, like resolveInfraSetting.
func (b *Builder) resolveL4Rule(u *Unit, svc *corev1.Service) (*akov1alpha2.L4Rule, error) {
	ref, ok := policy.ServiceL4RuleRef(svc)
	if !ok {
		return nil, nil
	}
	r, err := b.Source.L4Rule(ref.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("get L4Rule %s: %w", ref, err)
	}
	if r == nil {
		u.Events = append(u.Events, warning(svc, string(policy.RuleAKOReferenceMissing),
			"L4Rule %s does not exist; the unit is synced once it does", ref))
		u.Skip = "waiting for L4Rule " + ref.String()
		return nil, nil
	}
	if policy.L4RuleProblem(r) != "" {
		return nil, nil
	}
	return r, nil
}

// applyL4RuleVS copies an L4Rule's virtual service properties onto the unit's virtual
// service (AKO: internal/nodes/avi_model_l4_translator.go buildWithL4Rule,
// internal/rest/avi_obj_vs.go AviVsBuild). The network profile is applied when the services
// are (VirtualService).
func applyL4RuleVS(vs *avi.VirtualService, r *akov1alpha2.L4Rule) {
	if r == nil {
		return
	}
	sp := r.Spec
	if sp.ApplicationProfileRef != nil {
		vs.ApplicationProfileRef = avi.NameRef(avi.TypeApplicationProfile, *sp.ApplicationProfileRef)
	}
	if sp.AnalyticsProfileRef != nil {
		vs.AnalyticsProfileRef = avi.NameRef(typeAnalyticsProfile, *sp.AnalyticsProfileRef)
	}
	if sp.NetworkSecurityPolicyRef != nil {
		vs.NetworkSecurityPolicyRef = avi.NameRef(typeNetworkSecurityPolicy, *sp.NetworkSecurityPolicyRef)
	}
	if sp.SecurityPolicyRef != nil {
		vs.SecurityPolicyRef = avi.NameRef(typeSecurityPolicy, *sp.SecurityPolicyRef)
	}
	if l := sp.PerformanceLimits; l != nil {
		vs.PerformanceLimits = &avi.PerformanceLimits{MaxConcurrentConnections: l.MaxConcurrentConnections, MaxThroughput: l.MaxThroughput}
	}
	if p := sp.AnalyticsPolicy; p != nil && p.FullClientLogs != nil {
		l := p.FullClientLogs
		vs.AnalyticsPolicy = &avi.AnalyticsPolicy{FullClientLogs: &avi.FullClientLogs{Enabled: l.Enabled, Duration: l.Duration, Throttle: l.Throttle}}
	}
	// Each DataScript once, in order (AKO: AviVsNodeCommonFields.ConvertToRef).
	var seen []string
	for _, d := range sp.VsDatascriptRefs {
		if slices.Contains(seen, d) {
			continue
		}
		seen = append(seen, d)
		vs.VSDatascripts = append(vs.VSDatascripts, avi.VSDatascript{Index: int32(len(vs.VSDatascripts)), VSDatascriptSetRef: avi.NameRef(typeVSDatascriptSet, d)}) //nolint:gosec // a handful
	}
}

// applyL4RulePool copies the backendProperties of an L4Rule that match a pool's (port,
// protocol) onto the pool (AKO: internal/nodes/avi_model_l4_translator.go
// buildPoolWithL4Rule, internal/rest/avi_obj_pool.go AviPoolBuild).
func applyL4RulePool(p *avi.Pool, r *akov1alpha2.L4Rule, protocol corev1.Protocol, port int32) {
	if r == nil {
		return
	}
	i := slices.IndexFunc(r.Spec.BackendProperties, func(bp akov1alpha2.BackendProperties) bool {
		return bp.Port != nil && bp.Protocol != nil && *bp.Port == int(port) && *bp.Protocol == string(protocol)
	})
	if i < 0 {
		return
	}
	bp := r.Spec.BackendProperties[i]
	if bp.Enabled != nil {
		p.Enabled = ptrTo(*bp.Enabled)
	}
	if len(bp.HealthMonitorRefs) > 0 {
		// The L4Rule's monitors replace the system one; each once (AKO: ConvertToRef).
		p.HealthMonitorRefs = nil
		for _, hm := range bp.HealthMonitorRefs {
			if ref := avi.NameRef(avi.TypeHealthMonitor, hm); !slices.Contains(p.HealthMonitorRefs, ref) {
				p.HealthMonitorRefs = append(p.HealthMonitorRefs, ref)
			}
		}
	}
	if bp.LbAlgorithm != nil {
		p.LBAlgorithm = *bp.LbAlgorithm
	}
	if bp.LbAlgorithmHash != nil {
		p.LBAlgorithmHash = *bp.LbAlgorithmHash
		if *bp.LbAlgorithmHash == lbHashCustomHeader && bp.LbAlgorithmConsistentHashHdr != nil {
			p.LBAlgorithmConsistentHashHdr = *bp.LbAlgorithmConsistentHashHdr
		}
	}
	if bp.MinServersUp != nil {
		p.MinServersUp = ptrTo(*bp.MinServersUp)
	}
	if bp.ApplicationPersistenceProfileRef != nil {
		p.ApplicationPersistenceProfileRef = avi.NameRef(typePersistenceProfile, *bp.ApplicationPersistenceProfileRef)
	}
	if a := bp.AnalyticsPolicy; a != nil && a.EnableRealtimeMetrics != nil {
		p.AnalyticsPolicy = &avi.PoolAnalyticsPolicy{EnableRealtimeMetrics: ptrTo(*a.EnableRealtimeMetrics)}
	}
}

// ignoredOnBackend reports the AKO annotations a Gateway backend carries in vain: AKO takes a
// Gateway's AviInfraSetting from its GatewayClass or Namespace, and applies no L4Rule to its
// pools outside NSX-T VPC mode (AKO: internal/nodes/avi_model_advl4_translator.go
// ConstructAdvL4PolPoolNodes).
func ignoredOnBackend(u *Unit, svc *corev1.Service) {
	for _, a := range []string{policy.AnnotationInfraSetting, policy.AnnotationL4Rule} {
		if v, ok := svc.Annotations[a]; ok {
			u.Events = append(u.Events, warning(svc, ReasonUnsupportedAnnotation,
				"annotation %s: %q has no effect on a Gateway backend: AKO takes the AviInfraSetting of the GatewayClass or Namespace, "+
					"and no L4Rule, for a Gateway's virtual service and pools", a, v))
		}
	}
}

// vipSubnet is the ipam_network_subnet of a VIP network (AKO: internal/rest/avi_obj_vsvip.go
// AviVsVipBuild; the network by uuid when it has one).
func vipSubnet(n *policy.VIPNetwork) (*avi.IPNetworkSubnet, string) {
	sub := &avi.IPNetworkSubnet{NetworkRef: networkRef(n.NetworkName, n.NetworkUUID)}
	var allocType string
	if p, err := netip.ParsePrefix(n.CIDR); err == nil {
		sub.Subnet = &avi.IPPrefix{IPAddr: avi.IPAddr{Addr: p.Addr().String(), Type: avi.AddrV4}, Mask: int32(p.Bits())} //nolint:gosec // at most 128
	}
	if p, err := netip.ParsePrefix(n.V6CIDR); err == nil {
		sub.Subnet6 = &avi.IPPrefix{IPAddr: avi.IPAddr{Addr: p.Addr().String(), Type: avi.AddrV6}, Mask: int32(p.Bits())} //nolint:gosec // at most 128
		// AKO: internal/lib/lib.go UpdateV6: both families with an IPv4 cidr too, else
		// IPv6 only; the controller cannot allocate IPv4 from an IPv6-only network.
		allocType = avi.AutoAllocateV6Only
		if strings.TrimSpace(n.CIDR) != "" {
			allocType = avi.AutoAllocateV4V6
		}
	}
	return sub, allocType
}
