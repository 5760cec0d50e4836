package policy

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// networkPolicyProtocols is the API server's list for NetworkPolicy ports; unlike the core
// list it is printed unsorted.
var networkPolicyProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

// networkPolicyPortsAt lists every port of a NetworkPolicy with its path.
func networkPolicyPortsAt(np *networkingv1.NetworkPolicy) ([]networkingv1.NetworkPolicyPort, []*field.Path) {
	var ports []networkingv1.NetworkPolicyPort
	var paths []*field.Path
	spec := field.NewPath("spec")
	for i, r := range np.Spec.Ingress {
		for j, port := range r.Ports {
			ports = append(ports, port)
			paths = append(paths, spec.Child("ingress").Index(i).Child("ports").Index(j))
		}
	}
	for i, r := range np.Spec.Egress {
		for j, port := range r.Ports {
			ports = append(ports, port)
			paths = append(paths, spec.Child("egress").Index(i).Child("ports").Index(j))
		}
	}
	return ports, paths
}

// validateNetworkPolicyPorts mirrors ValidateNetworkPolicyPort, including its quirk of
// printing `port`, not endPort, when endPort < port; and warns where the CNI does not
// enforce SCTP policies.
func validateNetworkPolicyPorts(np *networkingv1.NetworkPolicy, settings Context) []Finding {
	var out []Finding
	ports, paths := networkPolicyPortsAt(np)
	for i, port := range ports {
		p := paths[i]
		if port.Protocol != nil && !validProtocol(*port.Protocol) {
			out = append(out, mirrorFinding(RuleProtocolValue, field.NotSupported(p.Child("protocol"), string(*port.Protocol), networkPolicyProtocols)))
		}
		switch {
		case port.Port == nil:
			if port.EndPort != nil {
				out = append(out, mirrorFinding(RuleNetworkPolicyEndPort,
					field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified")))
			}
		case port.Port.Type == intstr.Int:
			out = append(out, validatePortNum(port.Port.IntVal, p.Child("port"))...)
			if port.EndPort != nil {
				if *port.EndPort < port.Port.IntVal {
					out = append(out, mirrorFinding(RuleNetworkPolicyEndPort,
						field.Invalid(p.Child("endPort"), port.Port.IntVal, "must be greater than or equal to `port`")))
				}
				out = append(out, validatePortNum(*port.EndPort, p.Child("endPort"))...)
			}
		default:
			if port.EndPort != nil {
				out = append(out, mirrorFinding(RuleNetworkPolicyEndPort,
					field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric")))
			}
		}
		if settings.CNI == "kube-router" && port.Protocol != nil && *port.Protocol == corev1.ProtocolSCTP {
			out = append(out, newFinding(RuleSCTPNetworkPolicyCNI, p.Child("protocol"),
				"kube-router does not implement NetworkPolicy for SCTP (cloudnativelabs/kube-router#1019), so this rule is not enforced; "+
					"use a CNI that enforces SCTP policies (Antrea, Calico, Cilium) or protect the workload otherwise"))
		}
	}
	return out
}

// firstSCTPNetworkPolicyPort returns the path of the first SCTP port of a policy, or nil.
func firstSCTPNetworkPolicyPort(np *networkingv1.NetworkPolicy) *field.Path {
	ports, paths := networkPolicyPortsAt(np)
	for i, port := range ports {
		if port.Protocol != nil && *port.Protocol == corev1.ProtocolSCTP {
			return paths[i].Child("protocol")
		}
	}
	return nil
}
