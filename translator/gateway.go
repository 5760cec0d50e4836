package translator

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Gateway listener condition types and reasons (networking.x-k8s.io/v1alpha1 vocabulary).
const (
	ListenerReady        = "Ready"
	ListenerDetached     = "Detached"
	ListenerConflicted   = "Conflicted"
	ListenerResolvedRefs = "ResolvedRefs"

	ReasonUnsupportedProtocol = "UnsupportedProtocol"
	ReasonRouteConflict       = "RouteConflict"
	ReasonDegradedRoutes      = "DegradedRoutes"
	ReasonInvalidRoutesRef    = "InvalidRoutesRef"
)

type listenerKey struct {
	protocol corev1.Protocol
	port     int32
}

// buildGateway builds the unit of a v1alpha1 Gateway of AKO's class and its backend
// Services (avi-translation.md §2.4).
func (b *Builder) buildGateway(ctx context.Context, key UnitKey) (*Unit, error) {
	if !b.ako().ServicesAPI {
		return nil, nil
	}
	gw, err := b.Source.Gateway(key.Namespace, key.Name)
	if err != nil {
		return nil, fmt.Errorf("get Gateway %s/%s: %w", key.Namespace, key.Name, err)
	}
	if gw == nil || !slices.ContainsFunc(gw.Spec.Listeners, func(l svcapi.Listener) bool { return l.Protocol == string(corev1.ProtocolSCTP) }) {
		return nil, nil
	}
	class, err := b.Source.GatewayClass(gw.Spec.GatewayClassName)
	if err != nil {
		return nil, fmt.Errorf("get GatewayClass %s: %w", gw.Spec.GatewayClassName, err)
	}
	if class == nil || class.Spec.Controller != policy.AKOController {
		return nil, nil // not AKO's: no Avi objects and no status
	}
	u := b.newUnit(key, gw.Name, MarkerGateway)
	u.Gateway = gw
	u.Listeners = listenerStates(gw)
	if len(u.Name) > MaxNameLength {
		u.Events = append(u.Events, warning(gw, ReasonNameTooLong, "Avi object name is %d characters; the limit is %d", len(u.Name), MaxNameLength))
		u.Skip = ReasonNameTooLong
		return u, nil
	}
	f, err := b.freeze(ctx, gw)
	if err != nil {
		return nil, err
	}
	if f != nil {
		u.Frozen, u.Skip = []*Freeze{f}, f.Message()
		if slices.ContainsFunc(f.Findings, func(fd policy.Finding) bool { return fd.Rule == string(policy.RuleSCTPNodePortLocal) }) {
			for i := range u.Listeners {
				if u.Listeners[i].Protocol == string(corev1.ProtocolSCTP) {
					u.Listeners[i].problem(ListenerDetached, ReasonUnsupportedProtocol, "SCTP protocol is not supported for service type NodePortLocal"+frozenSuffix)
				}
			}
		}
		return u, nil
	}
	ref, ok, err := policy.GatewayInfraSettingRef(gw, class, b.Source)
	if err != nil {
		return nil, err
	}
	infra, err := b.resolveInfraSetting(u, gw, ref, ok)
	if err != nil || u.Skip != "" {
		return u, err
	}
	u.place = b.placementFor(infra)
	backends, err := b.Source.GatewayBackends(gw.Namespace, gw.Name)
	if err != nil {
		return nil, fmt.Errorf("list backends of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	slices.SortFunc(backends, func(a, c *corev1.Service) int {
		if policy.NewerThan(a, c) {
			return 1
		}
		return -1
	})
	// Each backend port offers "<PROTO>/<port>"; the oldest synced backend provides it.
	providers := map[listenerKey]*corev1.Service{}
	frozenKeys := map[listenerKey]*Freeze{}
	for _, s := range backends {
		if s.Labels[policy.LabelGatewayName] != gw.Name || s.Labels[policy.LabelGatewayNamespace] != gw.Namespace {
			continue
		}
		if s.Namespace != gw.Namespace {
			u.Events = append(u.Events, warning(s, ReasonCrossNamespaceBackend, "Service is labelled as a backend of Gateway %s/%s, but backends must be in the Gateway's namespace; ignored", gw.Namespace, gw.Name))
			continue
		}
		f, err := b.freeze(ctx, s)
		if err != nil {
			return nil, err
		}
		if f != nil || s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			if f != nil {
				u.Frozen = append(u.Frozen, f)
			}
			u.frozenMembers = append(u.frozenMembers, s.Name)
			for _, p := range s.Spec.Ports {
				k := listenerKey{p.Protocol, p.Port}
				if frozenKeys[k] == nil {
					frozenKeys[k] = f
				}
			}
			continue
		}
		ignoredOnBackend(u, s)
		for _, p := range s.Spec.Ports {
			k := listenerKey{p.Protocol, p.Port}
			if providers[k] == nil {
				providers[k] = s
			}
		}
	}
	seen := map[listenerKey]bool{}
	var fqdns []string
	for _, l := range gw.Spec.Listeners {
		k := listenerKey{corev1.Protocol(l.Protocol), l.Port}
		if seen[k] {
			continue
		}
		seen[k] = true
		if l.Hostname != nil && *l.Hostname != "" && !slices.Contains(fqdns, *l.Hostname) {
			fqdns = append(fqdns, *l.Hostname)
		}
		e := Entry{Protocol: k.protocol, Port: k.port}
		ls := u.listener(k.port)
		if s := providers[k]; s != nil {
			port := servicePort(s, k)
			name := b.objectName(fmt.Sprintf("%s%s-%s-%s-%s-%d", b.prefix(), gw.Namespace, s.Name, gw.Name, k.protocol, k.port))
			meta := serviceMetadata(gw.Namespace+"/"+gw.Name, []string{s.Namespace + "/" + s.Name}, nil)
			pool, err := b.pool(u, name, s, s, port, k.port, []avi.Marker{{Key: MarkerGateway, Values: []string{gw.Name}}}, meta)
			if err != nil {
				return nil, err
			}
			if pool == nil {
				ls.problem(ListenerResolvedRefs, ReasonDegradedRoutes, fmt.Sprintf("the pool name for backend %s is longer than %d characters", s.Name, MaxNameLength))
			}
			e.Pool, e.Member = pool, s.Name
			if !slices.Contains(u.Members, nn(s)) {
				u.Members = append(u.Members, nn(s))
			}
		} else if _, frozen := frozenKeys[k]; !frozen {
			ls.problem(ListenerResolvedRefs, ReasonDegradedRoutes, fmt.Sprintf("no backend Service labelled %s: %s, %s: %s offers port %d/%s",
				policy.LabelGatewayName, gw.Name, policy.LabelGatewayNamespace, gw.Namespace, k.port, k.protocol))
		}
		// A frozen backend that claims the listener: a conflict with the provider, or an
		// invalid backend the listener would otherwise have used.
		if f := frozenKeys[k]; f != nil {
			if f.Rule() == string(policy.RuleBackendPortConflict) {
				ls.problem(ListenerConflicted, ReasonRouteConflict, "["+f.Rule()+"] "+f.Findings[0].Message+frozenSuffix)
			} else if e.Pool == nil {
				ls.problem(ListenerResolvedRefs, ReasonInvalidRoutesRef, "["+f.Rule()+"] "+f.Findings[0].Message+frozenSuffix)
			}
		}
		u.Entries = append(u.Entries, e)
	}
	sortEntries(u.Entries)
	var vip netip.Addr
	if len(gw.Spec.Addresses) > 0 {
		a := gw.Spec.Addresses[0]
		if a.Type == nil || *a.Type == "IPAddress" {
			var ok bool
			if vip, ok = staticVIP(u, gw, a.Value, "spec.addresses[0]"); !ok {
				return u, nil
			}
		}
	}
	slices.Sort(fqdns)
	b.finish(u, vip, fqdns, serviceMetadata(gw.Namespace+"/"+gw.Name, nil, fqdns), true)
	return u, nil
}

// servicePort returns the Service port with the key.
func servicePort(s *corev1.Service, k listenerKey) corev1.ServicePort {
	for _, p := range s.Spec.Ports {
		if p.Protocol == k.protocol && p.Port == k.port {
			return p
		}
	}
	return corev1.ServicePort{Protocol: k.protocol, Port: k.port}
}

// listenerStates returns one state per unique port, with the protocol of the first
// listener on it: the status list is keyed by port.
func listenerStates(gw *svcapi.Gateway) []ListenerState {
	var out []ListenerState
	for _, l := range gw.Spec.Listeners {
		if !slices.ContainsFunc(out, func(s ListenerState) bool { return s.Port == l.Port }) {
			out = append(out, ListenerState{Port: l.Port, Protocol: l.Protocol})
		}
	}
	return out
}

func (u *Unit) listener(port int32) *ListenerState {
	for i := range u.Listeners {
		if u.Listeners[i].Port == port {
			return &u.Listeners[i]
		}
	}
	u.Listeners = append(u.Listeners, ListenerState{Port: port})
	return &u.Listeners[len(u.Listeners)-1]
}

func (s *ListenerState) problem(typ, reason, message string) {
	for _, p := range s.Problems {
		if p.Type == typ {
			return
		}
	}
	s.Problems = append(s.Problems, ListenerProblem{Type: typ, Reason: reason, Message: message})
}
