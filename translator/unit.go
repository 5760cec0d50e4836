package translator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// UnitKind is the kind of Kubernetes object a unit comes from.
type UnitKind string

// Unit kinds.
const (
	// KindService is a LoadBalancer Service with its own virtual service.
	KindService UnitKind = "svc"
	// KindSharedVIP is the group of LoadBalancer Services of a namespace sharing one VIP.
	KindSharedVIP UnitKind = "sharedvip"
	// KindGateway is a networking.x-k8s.io/v1alpha1 Gateway with its backend Services.
	KindGateway UnitKind = "gw"
)

// UnitKey names a unit: "svc/<ns>/<name>", "sharedvip/<ns>/<key>" or "gw/<ns>/<name>".
type UnitKey struct {
	Kind      UnitKind
	Namespace string
	Name      string
}

func (k UnitKey) String() string { return string(k.Kind) + "/" + k.Namespace + "/" + k.Name }

// Marker keys (avi-translation.md §4 and §5.6).
const (
	MarkerCluster   = "clustername"
	MarkerManagedBy = "managed_by"
	MarkerNamespace = "Namespace"
	MarkerService   = "ServiceName"
	MarkerSharedVIP = "SharedVipKey"
	MarkerGateway   = "GatewayName"
	MarkerPort      = "Port"
	MarkerProtocol  = "Protocol"
)

// unitOfMarkers returns the unit an object's markers name: Namespace plus GatewayName,
// else SharedVipKey, else ServiceName.
func unitOfMarkers(m map[string][]string) (UnitKey, bool) {
	first := func(k string) string {
		if v := m[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ns := first(MarkerNamespace)
	if ns == "" {
		return UnitKey{}, false
	}
	switch {
	case first(MarkerGateway) != "":
		return UnitKey{Kind: KindGateway, Namespace: ns, Name: first(MarkerGateway)}, true
	case first(MarkerSharedVIP) != "":
		return UnitKey{Kind: KindSharedVIP, Namespace: ns, Name: first(MarkerSharedVIP)}, true
	case first(MarkerService) != "":
		return UnitKey{Kind: KindService, Namespace: ns, Name: first(MarkerService)}, true
	}
	return UnitKey{}, false
}

// MaxNameLength is the longest Avi object name (AKO's AVI_OBJ_NAME_MAX_LENGTH).
const MaxNameLength = 255

// Names of the system objects sctpguard references; it creates none of them.
const (
	profileSCTPProxy   = "System-SCTP-Proxy"
	profileTCPProxy    = "System-TCP-Proxy"
	profileUDPFastPath = "System-UDP-Fast-Path"
	appProfileL4       = "System-L4-Application"
	monitorPrefix      = "System-"
)

// Entry is one (protocol, port) of a unit: a virtual service port, and, when a backend
// provides it, a pool and an L4 rule.
type Entry struct {
	Protocol corev1.Protocol
	// Port is the Service port (LB, shared VIP) or the listener port (Gateway).
	Port int32
	// Pool is the desired pool; nil when no backend provides the entry, or when the pool is
	// frozen (KeptPool).
	Pool *avi.Pool
	// KeptPool names a pool of a frozen member that is kept as the controller holds it.
	KeptPool string
	// Member is the Service that provides the pool.
	Member string
}

// poolName returns the name the entry's L4 rule selects, or "".
func (e Entry) poolName() string {
	if e.Pool != nil {
		return e.Pool.Name
	}
	return e.KeptPool
}

// protocolRank orders protocols within one port: SCTP, TCP, UDP.
func protocolRank(p corev1.Protocol) int {
	switch p {
	case corev1.ProtocolSCTP:
		return 0
	case corev1.ProtocolTCP:
		return 1
	default:
		return 2
	}
}

// sortEntries puts entries in unit order: port ascending, then SCTP < TCP < UDP.
func sortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(protocolRank(a.Protocol), protocolRank(b.Protocol)))
	})
}

// aviProtocol is the L4 rule protocol of a Kubernetes protocol. It is produced once, when
// the desired object is built; Kubernetes strings are never compared with Avi enums.
func aviProtocol(p corev1.Protocol) string {
	switch p {
	case corev1.ProtocolSCTP:
		return avi.ProtocolSCTP
	case corev1.ProtocolUDP:
		return avi.ProtocolUDP
	default:
		return avi.ProtocolTCP
	}
}

// Freeze records why an object is not synced: the deny findings of the rule catalogue that
// freeze (avi-translation.md §2.0).
type Freeze struct {
	Object   policy.ObjectRef
	Findings []policy.Finding
	obj      policy.Object
}

// Message is the text of a frozen Gateway's condition: every finding with its rule ID.
func (f *Freeze) Message() string {
	msgs := make([]string, 0, len(f.Findings))
	for _, fd := range f.Findings {
		msgs = append(msgs, "["+fd.Rule+"] "+fd.Message)
	}
	return strings.Join(msgs, "; ") + frozenSuffix
}

// frozenSuffix ends every message about a frozen object.
const frozenSuffix = "; existing Avi objects left unchanged"

// Events returns the Warning Events of a frozen object: one per finding, the rule ID as reason.
func (f *Freeze) Events() []Event {
	out := make([]Event, 0, len(f.Findings))
	for _, fd := range f.Findings {
		out = append(out, Event{Object: f.Object, Type: corev1.EventTypeWarning, Reason: fd.Rule, Message: fd.Message + frozenSuffix, Regarding: f.obj})
	}
	return out
}

// Rule is the rule ID of the first finding.
func (f *Freeze) Rule() string { return f.Findings[0].Rule }

// Event is a Kubernetes Event the translator emits about an input object.
type Event struct {
	Object  policy.ObjectRef `json:"object"`
	Type    string           `json:"type"`
	Reason  string           `json:"reason"`
	Message string           `json:"message"`
	// Regarding is the object itself, when known, for the Event's reference.
	Regarding policy.Object `json:"-"`
}

// ListenerState is what a Gateway listener's status says.
type ListenerState struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	// Problems are the failing conditions, present only while a problem exists.
	Problems []ListenerProblem `json:"problems,omitempty"`
}

// ListenerProblem is one problem condition of a listener.
type ListenerProblem struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Unit is the desired state of one unit on the controller, with what is reported about it.
type Unit struct {
	Key UnitKey
	// Name is the name of the virtual service, its VsVip and its L4 policy set.
	Name string
	// Skip, when set, is why the unit is not synced at all (frozen, or a name too long):
	// the controller keeps what it holds, nothing is written.
	Skip string
	// Frozen lists the frozen input objects (a frozen LB Service or Gateway freezes the
	// whole unit and sets Skip; a frozen member or backend keeps only its share).
	Frozen []*Freeze
	// Entries are the unit's (protocol, port) pairs in unit order.
	Entries []Entry
	// Members are the Services whose status gets the VIP.
	Members []types.NamespacedName
	// Gateway is the unit's Gateway (KindGateway).
	Gateway *svcapi.Gateway
	// Listeners are the Gateway's listener states, keyed by port as the status is.
	Listeners []ListenerState
	// Events are the warnings about the inputs.
	Events []Event

	// The parts of the desired objects that do not depend on the entries.
	markers         []avi.Marker
	vsvip           *avi.VsVip
	vs              *avi.VirtualService
	l4              *avi.L4PolicySet
	frozenMembers   []string
	vrfRef, appProf string
	// place is where the objects go (AKO's settings and the AviInfraSetting in force); l4rule
	// the L4Rule whose properties apply.
	place  placement
	l4rule *akov1alpha2.L4Rule
}

// frozenMember reports whether a member Service's share is frozen.
func (u *Unit) frozenMember(name string) bool { return slices.Contains(u.frozenMembers, name) }

// Pools returns the desired pools in unit order.
func (u *Unit) Pools() []*avi.Pool {
	var out []*avi.Pool
	for _, e := range u.Entries {
		if e.Pool != nil {
			out = append(out, e.Pool)
		}
	}
	return out
}

// VsVip returns the desired VsVip.
func (u *Unit) VsVip() *avi.VsVip { return u.vsvip }

// L4PolicySet returns the desired L4 policy set for the entries.
func (u *Unit) L4PolicySet() *avi.L4PolicySet {
	l4 := *u.l4
	l4.Markers = append(slices.Clone(u.markers), avi.Marker{Key: MarkerProtocol, Values: []string{u.protocolSet()}})
	rules := []avi.L4Rule{}
	for _, e := range u.Entries {
		pool := e.poolName()
		if pool == "" {
			continue
		}
		rules = append(rules, avi.L4Rule{
			Name:   fmt.Sprintf("%s-%d", e.Protocol, e.Port),
			Index:  int32(len(rules)), //nolint:gosec // one rule per (protocol, port): far below 2^31
			Enable: ptrTo(true),
			Match: &avi.L4RuleMatch{
				Port:     &avi.PortMatch{MatchCriteria: avi.MatchIsIn, Ports: []int32{e.Port}},
				Protocol: &avi.ProtocolMatch{MatchCriteria: avi.MatchIsIn, Protocol: aviProtocol(e.Protocol)},
			},
			Action: &avi.L4RuleAction{SelectPool: &avi.SelectPool{ActionType: avi.ActionSelectPool, PoolRef: avi.NameRef(avi.TypePool, pool)}},
		})
	}
	l4.L4ConnectionPolicy = &avi.L4ConnectionPolicy{Rules: rules}
	return &l4
}

// VirtualService returns the desired virtual service for the entries.
func (u *Unit) VirtualService() *avi.VirtualService {
	vs := *u.vs
	protos := map[corev1.Protocol]bool{}
	for _, e := range u.Entries {
		protos[e.Protocol] = true
	}
	// avi-translation.md §5.5: the VS profile follows the protocol mix, and the entries of
	// the other protocols override it.
	base := profileTCPProxy
	switch {
	case protos[corev1.ProtocolTCP]:
	case protos[corev1.ProtocolSCTP] && !protos[corev1.ProtocolUDP]:
		base = profileSCTPProxy
	case protos[corev1.ProtocolUDP]:
		base = profileUDPFastPath
	}
	vs.NetworkProfileRef = avi.NameRef(avi.TypeNetworkProfile, base)
	if u.l4rule != nil && u.l4rule.Spec.NetworkProfileRef != nil {
		// The L4Rule's profile replaces the computed one; the per-port overrides stay
		// (AKO: AviVsBuild copies the L4Rule's fields over the virtual service last).
		vs.NetworkProfileRef = avi.NameRef(avi.TypeNetworkProfile, *u.l4rule.Spec.NetworkProfileRef)
	}
	vs.Services = nil
	for _, e := range u.Entries {
		s := avi.Service{Port: e.Port, PortRangeEnd: ptrTo(e.Port), EnableSSL: ptrTo(false), EnableHTTP2: ptrTo(false)}
		if base != profileSCTPProxy {
			switch e.Protocol {
			case corev1.ProtocolSCTP:
				s.OverrideNetworkProfileRef = avi.NameRef(avi.TypeNetworkProfile, profileSCTPProxy)
			case corev1.ProtocolUDP:
				s.OverrideNetworkProfileRef = avi.NameRef(avi.TypeNetworkProfile, profileUDPFastPath)
			}
		}
		vs.Services = append(vs.Services, s)
	}
	return &vs
}

// protocolSet is the sorted, comma-joined set of the unit's protocols, e.g. "SCTP,TCP,UDP".
func (u *Unit) protocolSet() string {
	var ps []string
	for _, e := range u.Entries {
		if !slices.Contains(ps, string(e.Protocol)) {
			ps = append(ps, string(e.Protocol))
		}
	}
	slices.Sort(ps)
	return strings.Join(ps, ",")
}

// Objects returns the desired objects in creation order: pools, L4 policy set, VsVip,
// virtual service.
func (u *Unit) Objects() []TypedObject {
	var out []TypedObject
	for _, p := range u.Pools() {
		out = append(out, TypedObject{Type: avi.TypePool, Name: p.Name, Body: p})
	}
	return append(out,
		TypedObject{Type: avi.TypeL4PolicySet, Name: u.Name, Body: u.L4PolicySet()},
		TypedObject{Type: avi.TypeVsVip, Name: u.Name, Body: u.VsVip()},
		TypedObject{Type: avi.TypeVirtualService, Name: u.Name, Body: u.VirtualService()},
	)
}

// TypedObject is a desired object with its type.
type TypedObject struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Body any    `json:"body"`
}

// serviceMetadata renders service_metadata: sorted keys, no whitespace, empty keys left out.
func serviceMetadata(gateway string, services, hostnames []string) string {
	m := map[string]any{}
	if gateway != "" {
		m["gateway"] = gateway
	}
	if len(services) > 0 {
		m["namespace_svc_name"] = services
	}
	if len(hostnames) > 0 {
		m["hostnames"] = hostnames
	}
	data, _ := json.Marshal(m) // a map of strings and string lists always marshals
	return string(data)
}

func ptrTo[T any](v T) *T { return &v }

func portString(p int32) string { return strconv.Itoa(int(p)) }
