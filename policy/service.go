package policy

import (
	"fmt"
	"strconv"

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
func validateServicePorts(svc *corev1.Service) []Finding {
	var out []Finding
	seen := map[portKey]bool{}
	for i, port := range svc.Spec.Ports {
		// The port's path is made for a finding only: most ports have none.
		at := func() *field.Path { return specPortsPath.Index(i) }
		if !validProtocol(port.Protocol) {
			out = append(out, mirrorFinding(RuleProtocolValue, field.NotSupported(at().Child("protocol"), string(port.Protocol), supportedPortProtocols)))
		}
		out = append(out, portNumFindings(port.Port, at, "port")...)
		if port.TargetPort.Type == intstr.Int {
			out = append(out, portNumFindings(port.TargetPort.IntVal, at, "targetPort")...)
		}
		if port.NodePort != 0 {
			out = append(out, portNumFindings(port.NodePort, at, "nodePort")...)
		}
		key := servicePortKey(port)
		if seen[key] {
			// The API server prints its internal type with %#v; mirror that text exactly.
			f := newFinding(RuleDuplicateServicePort, at(), "Duplicate value: %s", internalServicePort(port))
			out = append(out, f)
		}
		seen[key] = true
	}
	return out
}

// portNumFindings is validatePortNum of the field child of the path at gives, made only
// when the number is out of range.
func portNumFindings(port int32, at func() *field.Path, child string) []Finding {
	if len(validation.IsValidPortNum(int(port))) == 0 {
		return nil
	}
	return validatePortNum(port, at().Child(child))
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
func validateServiceSCTP(svc *corev1.Service, settings Context, backend Implementation) []Finding {
	if !serviceHasSCTP(svc) {
		return nil
	}
	var out []Finding
	impl, handled, reason := serviceImplementation(svc, settings)
	npl := svc.Annotations[AnnotationNodePortLocal] == "true" && svc.Spec.Selector != nil &&
		(svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == corev1.ServiceTypeLoadBalancer)
	noNodePorts := svc.Spec.AllocateLoadBalancerNodePorts != nil && !*svc.Spec.AllocateLoadBalancerNodePorts
	// Messages are joined rather than formatted, and paths written as strings: every review
	// of an SCTP Service under NodePortLocal makes them.
	for i, port := range svc.Spec.Ports {
		if port.Protocol != corev1.ProtocolSCTP {
			continue
		}
		key := servicePortKey(port).String()
		switch {
		case settings.serviceType() != ServiceTypeNodePortLocal:
		case impl == ImplementationAKO:
			out = append(out, findingAt(RuleSCTPNodePortLocal, servicePortField(i, "protocol"),
				"port "+key+": AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
					"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. "+
					"Set spec.loadBalancerClass: "+SCTPGuardClass+" to have sctpguard serve it through the nodes' nodePorts "+
					"(the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP"))
		case impl == ImplementationSCTPGuard && port.NodePort == 0 && noNodePorts:
			out = append(out, findingAt(RuleSCTPNodeProxy, servicePortField(i, "protocol"),
				"port "+key+": "+nodeProxyNeeds+"; this port has no nodePort (allocateLoadBalancerNodePorts: false), so its pool would have no servers: "+
					"remove allocateLoadBalancerNodePorts or set a nodePort"))
		case impl == ImplementationSCTPGuard || backend == ImplementationSCTPGuard:
			out = append(out, findingAt(RuleSCTPNodeProxy, servicePortField(i, "protocol"), "port "+key+": "+nodeProxyNeeds))
		case backend == ImplementationAKO:
			out = append(out, findingAt(RuleSCTPNodePortLocal, servicePortField(i, "protocol"),
				"port "+key+": AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
					"AKO would log a warning and skip the Gateway's whole virtual service, its TCP and UDP listeners too. "+
					"Give the Gateway a GatewayClass whose controller is "+SCTPGuardClass+" to have sctpguard serve it through this Service's nodePorts (type NodePort), "+
					"run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP"))
		}
		// Antrea's NodePortLocal acts only on ClusterIP and LoadBalancer Services with a
		// selector; on other Services the annotation has no effect, so there is nothing to deny.
		if npl {
			out = append(out, findingAt(RuleSCTPNPLAnnotation, servicePortField(i, "protocol"),
				"port "+key+": the annotation "+AnnotationNodePortLocal+": \"true\" enables Antrea NodePortLocal, which supports only TCP and UDP Service ports, "+
					"so this port would get no node port; remove the annotation or move the SCTP port to a Service without it"))
		}
		if handled == yes && settings.controllerTooOld() {
			out = append(out, findingAt(RuleSCTPControllerVersion, servicePortField(i, "protocol"),
				"port "+key+": Avi Controller "+settings.ControllerVersion+" has no SCTP profiles (System-SCTP-Proxy, System-SCTP need "+MinSCTPControllerVersion+" or newer), "+
					"so creating the virtual service would fail; upgrade the controller or expose this port over TCP or UDP"))
		}
		if handled == no && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			out = append(out, findingAt(RuleSCTPLBNotAKO, servicePortField(i, "protocol"),
				"port "+key+": this LoadBalancer Service is not handled by AKO because "+reason+", and most cloud load balancers do not support SCTP; "+
					"set spec.loadBalancerClass: "+AKOController+" to have AKO serve it, or "+SCTPGuardClass+" to have sctpguard serve it"))
		}
		if port.Name == "" {
			out = append(out, findingAt(RuleSCTPPortUnnamed, servicePortField(i, "name"),
				"port "+key+" has no name, so no DNS SRV record _<name>._sctp."+svc.Name+"."+svc.Namespace+".svc can exist for it; "+
					"name the port (sctpguard's mutating webhook names it sctp-"+strconv.Itoa(int(port.Port))+")"))
		}
		if port.AppProtocol != nil {
			switch *port.AppProtocol {
			case "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss":
				out = append(out, findingAt(RuleSCTPAppProtocol, servicePortField(i, "appProtocol"),
					"appProtocol "+strconv.Quote(*port.AppProtocol)+" runs only over TCP, but this port is "+key+"; remove appProtocol or name the protocol that runs over SCTP"))
			}
		}
		if settings.CNI == "cilium" && port.TargetPort.Type == intstr.Int && port.TargetPort.IntVal != port.Port {
			out = append(out, findingAt(RuleSCTPCiliumTargetPort, servicePortField(i, "targetPort"),
				"port "+key+" forwards to targetPort "+strconv.Itoa(int(port.TargetPort.IntVal))+", but Cilium cannot rewrite SCTP ports and drops such packets; "+
					"set targetPort to "+strconv.Itoa(int(port.Port))+" and have the pods listen there"))
		}
	}
	return out
}
