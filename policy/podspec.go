package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerAt is a container and its field path.
type containerAt struct {
	c *corev1.Container
	p *field.Path
}

// containersOf lists the init containers, then the regular containers, with their paths.
func containersOf(spec *corev1.PodSpec, p *field.Path) (inits, regular []containerAt) {
	for i := range spec.InitContainers {
		inits = append(inits, containerAt{&spec.InitContainers[i], p.Child("initContainers").Index(i)})
	}
	for i := range spec.Containers {
		regular = append(regular, containerAt{&spec.Containers[i], p.Child("containers").Index(i)})
	}
	return inits, regular
}

// validatePodSpec mirrors the API server's port checks of a pod or pod template: protocol
// values, containerPort and hostPort ranges, unique host ports, and hostNetwork ports.
func validatePodSpec(spec *corev1.PodSpec, p *field.Path) []Finding {
	inits, regular := containersOf(spec, p)
	all := append(append([]containerAt{}, inits...), regular...)
	var out []Finding
	for _, c := range all {
		out = append(out, validateContainerPorts(c)...)
	}
	// Host ports are unique across all regular containers together, and within each init
	// container on its own (init containers run one at a time).
	out = append(out, uniqueHostPorts(regular)...)
	for _, c := range inits {
		out = append(out, uniqueHostPorts([]containerAt{c})...)
	}
	if spec.HostNetwork {
		for _, c := range all {
			out = append(out, validateHostNetworkPorts(c)...)
		}
	}
	return out
}

func validateContainerPorts(c containerAt) []Finding {
	var out []Finding
	for j, port := range c.c.Ports {
		pp := c.p.Child("ports").Index(j)
		if port.ContainerPort == 0 {
			out = append(out, mirrorFinding(RulePortRange, field.Required(pp.Child("containerPort"), "")))
		} else {
			out = append(out, validatePortNum(port.ContainerPort, pp.Child("containerPort"))...)
		}
		if port.HostPort != 0 {
			out = append(out, validatePortNum(port.HostPort, pp.Child("hostPort"))...)
		}
		if !validProtocol(port.Protocol) {
			out = append(out, mirrorFinding(RuleProtocolValue, field.NotSupported(pp.Child("protocol"), string(port.Protocol), supportedPortProtocols)))
		}
	}
	return out
}

// uniqueHostPorts mirrors AccumulateUniqueHostPorts; the key is "<protocol>/<hostIP>/<hostPort>",
// so SCTP and TCP may share a host port, and so may different host IPs.
func uniqueHostPorts(containers []containerAt) []Finding {
	var out []Finding
	seen := sets.New[string]()
	for _, c := range containers {
		for j, port := range c.c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				out = append(out, mirrorFinding(RuleDuplicateHostPort, field.Duplicate(c.p.Child("ports").Index(j).Child("hostPort"), key)))
			}
			seen.Insert(key)
		}
	}
	return out
}

// validateHostNetworkPorts mirrors the API server: with hostNetwork a set hostPort must equal
// containerPort. Pods get a zero hostPort defaulted to containerPort; templates may keep 0.
func validateHostNetworkPorts(c containerAt) []Finding {
	var out []Finding
	for j, port := range c.c.Ports {
		if port.HostPort != 0 && port.HostPort != port.ContainerPort {
			out = append(out, mirrorFinding(RuleHostNetworkHostPort,
				field.Invalid(c.p.Child("ports").Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true")))
		}
	}
	return out
}

// firstSCTPContainerPort returns the path of the first SCTP container port, or nil.
func firstSCTPContainerPort(spec *corev1.PodSpec, p *field.Path) *field.Path {
	inits, regular := containersOf(spec, p)
	for _, c := range append(inits, regular...) {
		for j, port := range c.c.Ports {
			if port.Protocol == corev1.ProtocolSCTP {
				return c.p.Child("ports").Index(j).Child("protocol")
			}
		}
	}
	return nil
}
