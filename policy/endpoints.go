package policy

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateEndpointSlice mirrors the EndpointSlice protocol check. Its paths have no "spec."
// prefix, and upstream checks no port-number range for it.
func validateEndpointSlice(es *discoveryv1.EndpointSlice) []Finding {
	var out []Finding
	for i, port := range es.Ports {
		if port.Protocol != nil && !validProtocol(*port.Protocol) {
			out = append(out, mirrorFinding(RuleProtocolValue,
				field.NotSupported(field.NewPath("ports").Index(i).Child("protocol"), string(*port.Protocol), supportedPortProtocols)))
		}
	}
	return out
}

// validateEndpoints mirrors validateEndpointPort's protocol and port checks.
func validateEndpoints(ep *corev1.Endpoints) []Finding { //nolint:staticcheck // still served; the API server still validates it
	var out []Finding
	for i, subset := range ep.Subsets {
		for j, port := range subset.Ports {
			p := field.NewPath("subsets").Index(i).Child("ports").Index(j)
			out = append(out, validatePortNum(port.Port, p.Child("port"))...)
			if !validProtocol(port.Protocol) {
				out = append(out, mirrorFinding(RuleProtocolValue, field.NotSupported(p.Child("protocol"), string(port.Protocol), supportedPortProtocols)))
			}
		}
	}
	return out
}
