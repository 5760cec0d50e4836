package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// supportedPortProtocols is the API server's list for core objects, sorted as it prints it.
var supportedPortProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}

func validProtocol(p corev1.Protocol) bool {
	return p == corev1.ProtocolTCP || p == corev1.ProtocolUDP || p == corev1.ProtocolSCTP
}

// validatePortNum mirrors the API server's port number check.
func validatePortNum(port int32, p *field.Path) []Finding {
	var out []Finding
	for _, msg := range validation.IsValidPortNum(int(port)) {
		out = append(out, mirrorFinding(RulePortRange, field.Invalid(p, port, msg)))
	}
	return out
}

// validateServicePorts mirrors the API server's checks of Service ports: protocol values,
// port ranges, and duplicate (protocol, port) pairs.
func validateServicePorts(svc *corev1.Service, p *field.Path) []Finding {
	var out []Finding
	seen := map[portKey]bool{}
	for i, port := range svc.Spec.Ports {
		pp := p.Index(i)
		if !validProtocol(port.Protocol) {
			out = append(out, mirrorFinding(RuleProtocolValue, field.NotSupported(pp.Child("protocol"), string(port.Protocol), supportedPortProtocols)))
		}
		out = append(out, validatePortNum(port.Port, pp.Child("port"))...)
		if port.TargetPort.Type == intstr.Int {
			out = append(out, validatePortNum(port.TargetPort.IntVal, pp.Child("targetPort"))...)
		}
		if port.NodePort != 0 {
			out = append(out, validatePortNum(port.NodePort, pp.Child("nodePort"))...)
		}
		key := servicePortKey(port)
		if seen[key] {
			// The API server prints its internal type with %#v; mirror that text exactly.
			f := newFinding(RuleDuplicateServicePort, pp, "Duplicate value: %s", internalServicePort(port))
			out = append(out, f)
		}
		seen[key] = true
	}
	return out
}

// internalServicePort renders a port as the API server renders its internal core.ServicePort.
func internalServicePort(p corev1.ServicePort) string {
	s := fmt.Sprintf("%#v", p)
	return "core" + s[len("v1"):]
}

// nodeProxyNeeds is what a node must do for sctpguard to serve SCTP through node ports.
const nodeProxyNeeds = "AKO runs in NodePortLocal mode, so sctpguard serves this through the nodes, as AKO's NodePort mode does " +
	"(pool servers are the node addresses at the nodePort): the node proxy (kube-proxy, or the CNI's replacement such as " +
	"Antrea Proxy or Cilium's) must forward SCTP node ports, and the nodes must load the sctp kernel module"

// validateServiceSCTP holds the SCTP-under-AKO rules that need only the Service and the
// context: NodePortLocal mode, the Antrea NPL annotation, the controller version, LBs not
// handled by AKO or sctpguard, port names, appProtocol and Cilium's port rewriting.
// backend is who serves the Gateway the Service is a backend of (AKO when that Gateway or
// its class is unknown), or ImplementationNone when it is no backend.
func validateServiceSCTP(svc *corev1.Service, settings Context, backend Implementation, p *field.Path) []Finding {
	if !serviceHasSCTP(svc) {
		return nil
	}
	var out []Finding
	impl, handled, reason := serviceImplementation(svc, settings)
	npl := svc.Annotations[AnnotationNodePortLocal] == "true" && svc.Spec.Selector != nil &&
		(svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == corev1.ServiceTypeLoadBalancer)
	noNodePorts := svc.Spec.AllocateLoadBalancerNodePorts != nil && !*svc.Spec.AllocateLoadBalancerNodePorts
	for i, port := range svc.Spec.Ports {
		if port.Protocol != corev1.ProtocolSCTP {
			continue
		}
		pp := p.Index(i)
		key := servicePortKey(port)
		switch {
		case settings.serviceType() != ServiceTypeNodePortLocal:
		case impl == ImplementationAKO:
			out = append(out, newFinding(RuleSCTPNodePortLocal, pp.Child("protocol"),
				"port %s: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
					"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. "+
					"Set spec.loadBalancerClass: %s to have sctpguard serve it through the nodes' nodePorts "+
					"(the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP",
				key, SCTPGuardClass))
		case impl == ImplementationSCTPGuard && port.NodePort == 0 && noNodePorts:
			out = append(out, newFinding(RuleSCTPNodeProxy, pp.Child("protocol"),
				"port %s: %s; this port has no nodePort (allocateLoadBalancerNodePorts: false), so its pool would have no servers: "+
					"remove allocateLoadBalancerNodePorts or set a nodePort", key, nodeProxyNeeds))
		case impl == ImplementationSCTPGuard || backend == ImplementationSCTPGuard:
			out = append(out, newFinding(RuleSCTPNodeProxy, pp.Child("protocol"), "port %s: %s", key, nodeProxyNeeds))
		case backend == ImplementationAKO:
			out = append(out, newFinding(RuleSCTPNodePortLocal, pp.Child("protocol"),
				"port %s: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
					"AKO would log a warning and skip the Gateway's whole virtual service, its TCP and UDP listeners too. "+
					"Give the Gateway a GatewayClass whose controller is %s to have sctpguard serve it through this Service's nodePorts (type NodePort), "+
					"run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP", key, SCTPGuardClass))
		}
		// Antrea's NodePortLocal acts only on ClusterIP and LoadBalancer Services with a
		// selector; on other Services the annotation has no effect, so there is nothing to deny.
		if npl {
			out = append(out, newFinding(RuleSCTPNPLAnnotation, pp.Child("protocol"),
				"port %s: the annotation %s: \"true\" enables Antrea NodePortLocal, which supports only TCP and UDP Service ports, "+
					"so this port would get no node port; remove the annotation or move the SCTP port to a Service without it", key, AnnotationNodePortLocal))
		}
		if handled == yes && settings.controllerTooOld() {
			out = append(out, newFinding(RuleSCTPControllerVersion, pp.Child("protocol"),
				"port %s: Avi Controller %s has no SCTP profiles (System-SCTP-Proxy, System-SCTP need %s or newer), "+
					"so creating the virtual service would fail; upgrade the controller or expose this port over TCP or UDP",
				key, settings.ControllerVersion, MinSCTPControllerVersion))
		}
		if handled == no && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			out = append(out, newFinding(RuleSCTPLBNotAKO, pp.Child("protocol"),
				"port %s: this LoadBalancer Service is not handled by AKO because %s, and most cloud load balancers do not support SCTP; "+
					"set spec.loadBalancerClass: %s to have AKO serve it, or %s to have sctpguard serve it", key, reason, AKOController, SCTPGuardClass))
		}
		if port.Name == "" {
			out = append(out, newFinding(RuleSCTPPortUnnamed, pp.Child("name"),
				"port %s has no name, so no DNS SRV record _<name>._sctp.%s.%s.svc can exist for it; "+
					"name the port (sctpguard's mutating webhook names it sctp-%d)", key, svc.Name, svc.Namespace, port.Port))
		}
		if port.AppProtocol != nil {
			switch *port.AppProtocol {
			case "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss":
				out = append(out, newFinding(RuleSCTPAppProtocol, pp.Child("appProtocol"),
					"appProtocol %q runs only over TCP, but this port is %s; remove appProtocol or name the protocol that runs over SCTP", *port.AppProtocol, key))
			}
		}
		if settings.CNI == "cilium" && port.TargetPort.Type == intstr.Int && port.TargetPort.IntVal != port.Port {
			out = append(out, newFinding(RuleSCTPCiliumTargetPort, pp.Child("targetPort"),
				"port %s forwards to targetPort %d, but Cilium cannot rewrite SCTP ports and drops such packets; "+
					"set targetPort to %d and have the pods listen there", key, port.TargetPort.IntVal, port.Port))
		}
	}
	return out
}
