package policy

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayAPIClassIsAKO tells whether a gateway.networking.k8s.io GatewayClass of that name
// belongs to AKO; false when the class is not in the inventory.
func gatewayAPIClassIsAKO(name gwv1.ObjectName, inv Inventory) (bool, error) {
	class, err := inv.GatewayAPIClass(string(name))
	if err != nil {
		return false, fmt.Errorf("get GatewayClass %s: %w", name, err)
	}
	return class != nil && string(class.Spec.ControllerName) == AKOController, nil
}

// validateGatewayAPIGateway runs the rules for gateway.networking.k8s.io Gateways (the hub
// version: v1beta1 ones are converted first): AKO's implementation serves only HTTP and
// HTTPS (ako-gateway-api's isValidListener marks any other protocol UnsupportedProtocol), on
// the Gateway's own listeners and on those its ListenerSets attach; bare "SCTP" is not a
// core protocol.
func validateGatewayAPIGateway(gw *gwv1.Gateway, inv Inventory) ([]Finding, error) {
	ako, err := gatewayAPIClassIsAKO(gw.Spec.GatewayClassName, inv)
	if err != nil {
		return nil, err
	}
	p := field.NewPath("spec", "listeners")
	var out []Finding
	for i, l := range gw.Spec.Listeners {
		out = append(out, validateGatewayAPIListener(string(l.Name), l.Protocol, l.Hostname != nil || l.TLS != nil, ako, "", p.Index(i).Child("protocol"))...)
	}
	if !ako {
		return out, nil
	}
	// ListenerSets created before this Gateway (or before its class became AKO's).
	sets, err := inv.GatewayListenerSets(gw.Namespace, gw.Name)
	if err != nil {
		return nil, fmt.Errorf("list ListenerSets of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	sort.Slice(sets, func(i, j int) bool { return nsName(sets[i]) < nsName(sets[j]) })
	for _, ls := range sets {
		for _, l := range ls.Spec.Listeners {
			if l.Protocol == gwv1.HTTPProtocolType || l.Protocol == gwv1.HTTPSProtocolType {
				continue
			}
			out = append(out, newFinding(RuleGatewayAPIAKOL4, field.NewPath("spec", "gatewayClassName"),
				"ListenerSet %s attaches listener %q of protocol %s to this Gateway, but AKO's Gateway API implementation serves only HTTP and HTTPS "+
					"and would not program it; for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass",
				nsName(ls), l.Name, l.Protocol))
		}
	}
	return out, nil
}

// validateListenerSet runs the same listener rules on a ListenerSet, in the light of the
// class of the Gateway it attaches to. A parent that is not (yet) in the inventory leaves
// the class unknown: the Gateway is judged with its ListenerSets when it comes.
func validateListenerSet(ls *gwv1.ListenerSet, inv Inventory) ([]Finding, error) {
	key := ListenerSetParent(ls)
	if key == "" {
		return nil, nil
	}
	ns, name, _ := strings.Cut(key, "/")
	parent, err := inv.GatewayAPIGateway(ns, name)
	if err != nil {
		return nil, fmt.Errorf("get Gateway %s: %w", key, err)
	}
	ako := false
	if parent != nil {
		if ako, err = gatewayAPIClassIsAKO(parent.Spec.GatewayClassName, inv); err != nil {
			return nil, err
		}
	}
	p := field.NewPath("spec", "listeners")
	var out []Finding
	for i, l := range ls.Spec.Listeners {
		parentNote := ""
		if ako {
			parentNote = " (the class of its Gateway " + key + ")"
		}
		out = append(out, validateGatewayAPIListener(string(l.Name), l.Protocol, l.Hostname != nil || l.TLS != nil, ako, parentNote, p.Index(i).Child("protocol"))...)
	}
	return out, nil
}

// validateGatewayAPIListener judges one listener's protocol: on AKO's class anything but
// HTTP and HTTPS is denied (TCP, UDP, TLS, SCTP, a domain-prefixed name such as
// example.com/sctp); on another class bare "SCTP" is flagged.
func validateGatewayAPIListener(name string, protocol gwv1.ProtocolType, hostnameOrTLS, ako bool, classNote string, lp *field.Path) []Finding {
	proto := string(protocol)
	if ako {
		if protocol == gwv1.HTTPProtocolType || protocol == gwv1.HTTPSProtocolType {
			return nil
		}
		return []Finding{newFinding(RuleGatewayAPIAKOL4, lp,
			"listener %q is %s, but AKO's Gateway API implementation%s serves only HTTP and HTTPS and would not program it; "+
				"for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass", name, proto, classNote)}
	}
	if !strings.EqualFold(proto, "SCTP") {
		return nil
	}
	extra := ""
	if hostnameOrTLS {
		extra = "; hostname and tls on it are not checked by the CRD and mean nothing for SCTP"
	}
	return []Finding{newFinding(RuleGatewayAPISCTPListener, lp,
		"%q is not a core Gateway API protocol (HTTP, HTTPS, TLS, TCP, UDP); un-prefixed names are reserved, so implementations "+
			"use a domain-prefixed name such as example.com/sctp, and most will set Accepted=False (UnsupportedProtocol)%s", proto, extra)}
}
