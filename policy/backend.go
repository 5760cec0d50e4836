package policy

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// validateBackendService checks a Service labelled as the backend of a v1alpha1 Gateway
// against that Gateway and its other backends (the Service side of the cross-object rules).
func validateBackendService(svc, old *corev1.Service, settings Context, inv Inventory) ([]Finding, error) {
	if !isGatewayBackend(svc) {
		return nil, nil
	}
	labels := field.NewPath("metadata", "labels")
	gwName, hasName := svc.Labels[LabelGatewayName]
	gwNS, hasNS := svc.Labels[LabelGatewayNamespace]
	var out []Finding
	if !hasName || !hasNS {
		missing := LabelGatewayName
		if hasName {
			missing = LabelGatewayNamespace
		}
		return []Finding{newFinding(RuleBackendGatewayMissing, labels,
			"label %s is missing: AKO binds a backend Service to a Gateway only by both %s and %s; add the missing label",
			missing, LabelGatewayName, LabelGatewayNamespace)}, nil
	}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		out = append(out, newFinding(RuleBackendType, field.NewPath("spec", "type"),
			"a Service of type LoadBalancer is not used as a backend of Gateway %s/%s: AKO ignores it there and gives it a dedicated virtual service of its own; "+
				"use type ClusterIP (or NodePort in AKO NodePort mode), or remove the %s labels", gwNS, gwName, "ako.vmware.com/gateway-*"))
	case svc.Spec.Type == corev1.ServiceTypeClusterIP && settings.serviceType() == ServiceTypeNodePort:
		out = append(out, newFinding(RuleBackendClusterIPNodePort, field.NewPath("spec", "type"),
			"AKO runs in NodePort mode, where pool servers are node IPs with the Service's nodePort; a ClusterIP backend has no nodePort, "+
				"so the pool for Gateway %s/%s would have no servers; use type NodePort", gwNS, gwName))
	case svc.Spec.Type == corev1.ServiceTypeClusterIP && settings.serviceType() == ServiceTypeNodePortLocal:
		// sctpguard serves a Gateway of its class through node ports in NodePortLocal mode.
		if impl, err := backendImplementation(svc, inv); err != nil {
			return nil, err
		} else if impl == ImplementationSCTPGuard {
			out = append(out, newFinding(RuleBackendClusterIPNodePort, field.NewPath("spec", "type"),
				"AKO runs in NodePortLocal mode, so sctpguard serves Gateway %s/%s through node IPs at the Service's nodePort; a ClusterIP backend has no nodePort, "+
					"so the pool would have no servers; use type NodePort", gwNS, gwName))
		}
	}
	if gwNS != svc.Namespace {
		out = append(out, newFinding(RuleBackendGatewayMissing, labels.Key(LabelGatewayNamespace),
			"names Gateway %s/%s in another namespace: AKO binds only backend Services in the Gateway's own namespace and ignores this one; "+
				"create the Service in namespace %s", gwNS, gwName, gwNS))
		return out, nil
	}
	gw, err := inv.Gateway(gwNS, gwName)
	if err != nil {
		return nil, fmt.Errorf("get Gateway %s/%s: %w", gwNS, gwName, err)
	}
	ports := field.NewPath("spec", "ports")
	if gw == nil {
		out = append(out, newFinding(RuleBackendGatewayMissing, labels.Key(LabelGatewayName),
			"Gateway %s/%s does not exist: AKO creates nothing for this backend until it does; check the %s and %s labels",
			gwNS, gwName, LabelGatewayName, LabelGatewayNamespace))
	} else {
		_, handled, err := gatewayImplementation(gw, inv)
		if err != nil {
			return nil, err
		}
		if handled != no {
			listeners := listenerKeys(gw)
			for i, port := range svc.Spec.Ports {
				k := servicePortKey(port)
				if _, ok := listeners[k]; !ok {
					out = append(out, newFinding(RuleBackendNoListener, ports.Index(i),
						"port %s matches no listener of Gateway %s/%s (listeners: %s): %s; "+
							"change the port or protocol to a listener's, or add a listener", k, gwNS, gwName, describeListeners(gw), noListenerConsequence(gw, k)))
				}
			}
		}
	}
	backends, err := inv.GatewayBackends(gwNS, gwName)
	if err != nil {
		return nil, fmt.Errorf("list backends of Gateway %s/%s: %w", gwNS, gwName, err)
	}
	for i, port := range svc.Spec.Ports {
		k := servicePortKey(port)
		var rivals []string
		for _, b := range backends {
			if sameObject(b, svc) || !isBackendOf(b, gwNS, gwName) || !hasServicePort(b, k) {
				continue
			}
			introduced := old != nil && (!isBackendOf(old, gwNS, gwName) || !hasServicePort(old, k))
			if introduced || newerThan(svc, b) {
				rivals = append(rivals, "Service "+nsName(b))
			}
		}
		if len(rivals) > 0 {
			out = append(out, newFinding(RuleBackendPortConflict, ports.Index(i),
				"port %s of Gateway %s/%s is already claimed by backend %s: AKO reports PortConflict and the listener gets no pool at all; "+
					"give each backend its own listener port", k, gwNS, gwName, strings.Join(rivals, ", ")))
		}
	}
	return out, nil
}

// backendImplementation returns who serves the Gateway a backend Service is labelled for:
// sctpguard for a Gateway of its class, AKO otherwise (also while the Gateway or its class is
// unknown, as the rules have always assumed), or ImplementationNone for a Service that is no
// backend.
func backendImplementation(svc *corev1.Service, inv Inventory) (Implementation, error) {
	if !isGatewayBackend(svc) {
		return ImplementationNone, nil
	}
	gw, err := inv.Gateway(svc.Labels[LabelGatewayNamespace], svc.Labels[LabelGatewayName])
	if err != nil || gw == nil {
		return ImplementationAKO, err
	}
	impl, _, err := gatewayImplementation(gw, inv)
	if impl != ImplementationSCTPGuard {
		impl = ImplementationAKO
	}
	return impl, err
}

// isBackendOf reports whether svc is a usable backend of the Gateway: labelled for it, in
// its namespace, and not a LoadBalancer (AKO ignores those as backends).
func isBackendOf(svc *corev1.Service, gwNS, gwName string) bool {
	return svc.Namespace == gwNS && svc.Labels[LabelGatewayName] == gwName && svc.Labels[LabelGatewayNamespace] == gwNS &&
		svc.Spec.Type != corev1.ServiceTypeLoadBalancer
}

// validateGatewayBackends checks an AKO Gateway against its existing backend Services (the
// Gateway side of the cross-object rules).
func validateGatewayBackends(gw *svcapi.Gateway, inv Inventory) ([]Finding, error) {
	backends, err := inv.GatewayBackends(gw.Namespace, gw.Name)
	if err != nil {
		return nil, fmt.Errorf("list backends of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	sort.Slice(backends, func(i, j int) bool { return backends[i].Name < backends[j].Name })
	listeners := listenerKeys(gw)
	claims := map[portKey][]string{}
	var out []Finding
	for _, b := range backends {
		if !isBackendOf(b, gw.Namespace, gw.Name) {
			continue
		}
		for _, port := range b.Spec.Ports {
			k := servicePortKey(port)
			if _, ok := listeners[k]; !ok {
				out = append(out, newFinding(RuleBackendNoListener, field.NewPath("spec", "listeners"),
					"backend Service %s port %s matches no listener (listeners: %s): %s; add a listener %s or change the backend's port",
					nsName(b), k, describeListeners(gw), noListenerConsequence(gw, k), k))
				continue
			}
			claims[k] = append(claims[k], "Service "+nsName(b))
		}
	}
	lp := field.NewPath("spec", "listeners")
	for i, l := range gw.Spec.Listeners {
		k := listenerKey(l)
		if listeners[k] != i || !validProtocol(corev1.Protocol(l.Protocol)) || l.Port < 1 || l.Port > 65535 {
			continue // a duplicate or invalid listener: its own rule reports it, no backend can fix it
		}
		switch n := len(claims[k]); {
		case n == 0:
			out = append(out, newFinding(RuleListenerNoBackend, lp.Index(i),
				"listener %s has no backend Service (labelled %s: %s, %s: %s, with a port %s): AKO exposes the port with no pool",
				k, LabelGatewayName, gw.Name, LabelGatewayNamespace, gw.Namespace, k))
		case n > 1:
			out = append(out, newFinding(RuleBackendPortConflict, lp.Index(i),
				"listener %s is claimed by %d backends (%s): AKO reports PortConflict and the listener gets no pool at all; "+
					"keep one backend per listener", k, n, strings.Join(claims[k], ", ")))
		}
	}
	return out, nil
}

// listenerKeys maps each listener's (protocol, port) to the index of its first listener.
func listenerKeys(gw *svcapi.Gateway) map[portKey]int {
	keys := make(map[portKey]int, len(gw.Spec.Listeners))
	for i, l := range gw.Spec.Listeners {
		if _, ok := keys[listenerKey(l)]; !ok {
			keys[listenerKey(l)] = i
		}
	}
	return keys
}

func listenerKey(l svcapi.Listener) portKey {
	return portKey{Protocol: l.Protocol, Port: l.Port}
}

func describeListeners(gw *svcapi.Gateway) string {
	if len(gw.Spec.Listeners) == 0 {
		return "none"
	}
	parts := make([]string, len(gw.Spec.Listeners))
	for i, l := range gw.Spec.Listeners {
		parts[i] = listenerKey(l).String()
	}
	return strings.Join(parts, ", ")
}

// noListenerConsequence says what AKO does with a backend port no listener matches.
func noListenerConsequence(gw *svcapi.Gateway, k portKey) string {
	for _, l := range gw.Spec.Listeners {
		if l.Protocol == k.Protocol {
			return "AKO creates no pool for it, silently"
		}
	}
	return fmt.Sprintf("AKO reports UnsupportedProtocol since no listener speaks %s", k.Protocol)
}
