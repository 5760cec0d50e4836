package policy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// gatewayHandledByAKO tells whether a v1alpha1 Gateway's class is AKO's: unknown when the
// class is not in the inventory.
func gatewayHandledByAKO(gw *svcapi.Gateway, inv Inventory) (tristate, error) {
	class, err := inv.GatewayClass(gw.Spec.GatewayClassName)
	if err != nil {
		return unknown, fmt.Errorf("get GatewayClass %s: %w", gw.Spec.GatewayClassName, err)
	}
	switch {
	case class == nil:
		return unknown, nil
	case class.Spec.Controller == AKOController:
		return yes, nil
	default:
		return no, nil
	}
}

// validateGateway runs the rules for networking.x-k8s.io/v1alpha1 Gateways of AKO's class:
// listeners, selectors, addresses, SCTP support, and the backends bound to it.
func validateGateway(gw *svcapi.Gateway, ctx Context, inv Inventory) ([]Finding, error) {
	handled, err := gatewayHandledByAKO(gw, inv)
	if err != nil {
		return nil, err
	}
	switch handled {
	case unknown:
		return []Finding{newFinding(RuleGatewayClassMissing, field.NewPath("spec", "gatewayClassName"),
			"GatewayClass %q does not exist: the Gateway stays Pending (InvalidGatewayClass) and nothing is load balanced; "+
				"create the GatewayClass (controller %s for AKO) or fix the name", gw.Spec.GatewayClassName, AKOController)}, nil
	case no:
		return nil, nil
	}
	var out []Finding
	if ctx.AKO != nil && !ctx.AKO.ServicesAPI {
		out = append(out, newFinding(RuleGatewayServicesAPIOff, field.NewPath("spec", "gatewayClassName"),
			"AKO runs with servicesAPI: false (AKOSettings.servicesAPI), so it ignores this Gateway entirely; enable servicesAPI in AKO"))
	}
	out = append(out, validateListeners(gw, ctx, field.NewPath("spec", "listeners"))...)
	out = append(out, validateGatewayAddresses(gw, field.NewPath("spec", "addresses"))...)
	backends, err := validateGatewayBackends(gw, inv)
	if err != nil {
		return nil, err
	}
	inputs, err := validateGatewayAKOInputs(gw, ctx, inv)
	if err != nil {
		return nil, err
	}
	return append(append(out, backends...), inputs...), nil
}

func validateListeners(gw *svcapi.Gateway, ctx Context, p *field.Path) []Finding {
	var out []Finding
	seen := map[portKey]int{}
	for i, l := range gw.Spec.Listeners {
		lp := p.Index(i)
		k := listenerKey(l)
		if !validProtocol(corev1.Protocol(l.Protocol)) {
			hint := `use "TCP", "UDP" or "SCTP"`
			if up := strings.ToUpper(l.Protocol); validProtocol(corev1.Protocol(up)) {
				hint = fmt.Sprintf("use %q (protocols are case-sensitive)", up)
			}
			out = append(out, newFinding(RuleGatewayListenerProtocol, lp.Child("protocol"),
				"protocol %q is not TCP, UDP or SCTP: AKO matches backend Service ports by exact protocol, so no pool can ever match and it says nothing; %s",
				l.Protocol, hint))
		}
		if l.Port < 1 || l.Port > 65535 {
			out = append(out, newFinding(RuleGatewayListenerPort, lp.Child("port"),
				"port %d is not between 1 and 65535: the virtual service would be invalid; use a valid port", l.Port))
		}
		if first, dup := seen[k]; dup {
			out = append(out, newFinding(RuleGatewayListenerDup, lp,
				"listener %s duplicates spec.listeners[%d]: AKO keeps listener status by port only and one of them is lost; remove one", k, first))
		} else {
			seen[k] = i
		}
		out = append(out, validateListenerSelector(gw, l.Routes, lp.Child("routes"))...)
		if l.TLS != nil && (l.Protocol == string(corev1.ProtocolSCTP) || l.Protocol == string(corev1.ProtocolUDP)) {
			out = append(out, newFinding(RuleGatewayListenerTLS, lp.Child("tls"),
				"tls is set on this %s listener, but the %s proxy terminates no TLS and AKO ignores it; remove tls, or terminate TLS (DTLS) in the pods",
				l.Protocol, l.Protocol))
		}
		if l.Routes.Kind != "services" {
			out = append(out, newFinding(RuleGatewayRoutesKind, lp.Child("routes", "kind"),
				"routes kind %q is ignored: AKO binds backend Services by label only; use kind: services", l.Routes.Kind))
		}
		if g := l.Routes.Group; g != nil && *g != "" && *g != "v1" {
			out = append(out, newFinding(RuleGatewayRoutesKind, lp.Child("routes", "group"),
				"routes group %q is ignored: AKO binds core Services by label only; use group: v1", *g))
		}
		if l.Protocol == string(corev1.ProtocolSCTP) {
			if ctx.serviceType() == ServiceTypeNodePortLocal {
				out = append(out, newFinding(RuleSCTPNodePortLocal, lp.Child("protocol"),
					"listener %s: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
						"AKO would log a warning and skip this Gateway's whole virtual service, its TCP and UDP listeners too. "+
						"Run AKO in ClusterIP or NodePort mode for SCTP workloads", k))
			}
			if ctx.controllerTooOld() {
				out = append(out, newFinding(RuleSCTPControllerVersion, lp.Child("protocol"),
					"listener %s: Avi Controller %s has no SCTP profiles (System-SCTP-Proxy, System-SCTP need %s or newer), "+
						"so creating the virtual service would fail; upgrade the controller", k, ctx.ControllerVersion, MinSCTPControllerVersion))
			}
		}
	}
	return out
}

// validateListenerSelector checks that routes.selector.matchLabels names this Gateway with
// AKO's two labels; AKO deletes the virtual service otherwise ("Incorrect gateway
// matchLabels configuration").
func validateListenerSelector(gw *svcapi.Gateway, routes svcapi.RouteBindingSelector, p *field.Path) []Finding {
	const consequence = "AKO deletes the virtual service (\"Incorrect gateway matchLabels configuration\")"
	if routes.Selector == nil {
		return []Finding{newFinding(RuleGatewaySelectorLabels, p.Child("selector"),
			"no selector: %s; set matchLabels %s: %s and %s: %s (sctpguard's mutating webhook sets them when selector is omitted)",
			consequence, LabelGatewayName, gw.Name, LabelGatewayNamespace, gw.Namespace)}
	}
	ml := p.Child("selector", "matchLabels")
	var out []Finding
	for _, want := range []struct{ key, value string }{{LabelGatewayName, gw.Name}, {LabelGatewayNamespace, gw.Namespace}} {
		got, ok := routes.Selector.MatchLabels[want.key]
		switch {
		case !ok:
			out = append(out, newFinding(RuleGatewaySelectorLabels, ml,
				"matchLabels lacks %s: %s; add %s: %s", want.key, consequence, want.key, want.value))
		case got != want.value:
			out = append(out, newFinding(RuleGatewaySelectorLabels, ml.Key(want.key),
				"is %q, not this Gateway's %q: %s; set it to %q", got, want.value, consequence, want.value))
		}
	}
	return out
}

func validateGatewayAddresses(gw *svcapi.Gateway, p *field.Path) []Finding {
	var out []Finding
	for i, a := range gw.Spec.Addresses {
		if a.Type != nil && *a.Type != "IPAddress" {
			out = append(out, newFinding(RuleGatewayAddress, p.Index(i).Child("type"),
				"address type %q is not used: AKO takes only an IPAddress as static VIP; use type IPAddress", *a.Type))
		} else if i > 0 {
			out = append(out, newFinding(RuleGatewayAddress, p.Index(i),
				"address %q is not used: AKO takes only the first IPAddress as the static VIP; keep one address", a.Value))
		}
	}
	return out
}
