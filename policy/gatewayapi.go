package policy

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// validateGatewayAPIGateway runs the rules for gateway.networking.k8s.io Gateways: AKO's
// implementation serves only HTTP and HTTPS, and bare "SCTP" is not a core protocol.
func validateGatewayAPIGateway(gw *gwv1.Gateway, inv Inventory) ([]Finding, error) {
	class, err := inv.GatewayAPIClass(string(gw.Spec.GatewayClassName))
	if err != nil {
		return nil, fmt.Errorf("get GatewayClass %s: %w", gw.Spec.GatewayClassName, err)
	}
	ako := class != nil && string(class.Spec.ControllerName) == AKOController
	p := field.NewPath("spec", "listeners")
	var out []Finding
	for i, l := range gw.Spec.Listeners {
		lp := p.Index(i).Child("protocol")
		proto := string(l.Protocol)
		if ako {
			switch l.Protocol {
			case gwv1.TCPProtocolType, gwv1.UDPProtocolType, "SCTP":
				out = append(out, newFinding(RuleGatewayAPIAKOL4, lp,
					"listener %q is %s, but AKO's Gateway API implementation serves only HTTP and HTTPS and would not program it; "+
						"for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass", l.Name, proto))
			}
			continue
		}
		if strings.EqualFold(proto, "SCTP") {
			extra := ""
			if l.Hostname != nil || l.TLS != nil {
				extra = "; hostname and tls on it are not checked by the CRD and mean nothing for SCTP"
			}
			out = append(out, newFinding(RuleGatewayAPISCTPListener, lp,
				"%q is not a core Gateway API protocol (HTTP, HTTPS, TLS, TCP, UDP); un-prefixed names are reserved, so implementations "+
					"use a domain-prefixed name such as example.com/sctp, and most will set Accepted=False (UnsupportedProtocol)%s", proto, extra))
		}
	}
	return out, nil
}
