package policy

import "sort"

// RuleID identifies a built-in rule or mutation of the catalogue (spec/rules.md).
type RuleID string

// Upstream mirrors: what the API server itself rejects, so `check` fails first.
const (
	RuleProtocolValue        RuleID = "protocol-value"
	RulePortRange            RuleID = "port-range"
	RuleDuplicateServicePort RuleID = "duplicate-service-port"
	RuleDuplicateHostPort    RuleID = "duplicate-host-port"
	RuleHostNetworkHostPort  RuleID = "hostnetwork-hostport"
	RuleNetworkPolicyEndPort RuleID = "networkpolicy-endport"
	RuleUnknownField         RuleID = "unknown-field"
)

// SCTP under AKO.
const (
	RuleSCTPNodePortLocal       RuleID = "sctp-nodeportlocal"
	RuleSCTPNPLAnnotation       RuleID = "sctp-npl-annotation"
	RuleSCTPControllerVersion   RuleID = "sctp-controller-version"
	RuleSCTPLBNotAKO            RuleID = "sctp-lb-not-ako"
	RuleSharedVIPPortClash      RuleID = "shared-vip-port-clash"
	RuleSharedVIPInconsistent   RuleID = "shared-vip-inconsistent"
	RuleSCTPPortUnnamed         RuleID = "sctp-port-unnamed"
	RuleSCTPAppProtocol         RuleID = "sctp-app-protocol"
	RuleSCTPCiliumTargetPort    RuleID = "sctp-cilium-target-port"
	RuleSCTPOpenShiftModule     RuleID = "sctp-openshift-module"
	RuleSCTPNetworkPolicyCNI    RuleID = "sctp-networkpolicy-cni"
	RuleGatewayListenerProtocol RuleID = "gateway-listener-protocol"
	RuleGatewayListenerPort     RuleID = "gateway-listener-port"
	RuleGatewayListenerDup      RuleID = "gateway-listener-duplicate"
	RuleGatewaySelectorLabels   RuleID = "gateway-selector-labels"
	RuleGatewayListenerTLS      RuleID = "gateway-listener-tls"
	RuleGatewayRoutesKind       RuleID = "gateway-routes-kind"
	RuleGatewayClassMissing     RuleID = "gateway-class-missing"
	RuleGatewayAddress          RuleID = "gateway-address"
	RuleGatewayServicesAPIOff   RuleID = "gateway-services-api-off"
)

// AKO inputs: the settings, annotations and CRD fields that shape an L4 virtual service.
const (
	RuleLoadBalancerIPConflict     RuleID = "load-balancer-ip-conflict"
	RuleSharedVIPAnnotationIgnored RuleID = "shared-vip-annotation-ignored"
	RuleAKOInputUnsupported        RuleID = "ako-input-unsupported"
	RuleAKOReferenceInvalid        RuleID = "ako-reference-invalid"
	RuleAKOReferenceMissing        RuleID = "ako-reference-missing"
)

// Gateway to backend Service (cross-object).
const (
	RuleBackendNoListener        RuleID = "backend-no-listener"
	RuleBackendPortConflict      RuleID = "backend-port-conflict"
	RuleBackendType              RuleID = "backend-type"
	RuleBackendClusterIPNodePort RuleID = "backend-clusterip-in-nodeport-mode"
	RuleBackendGatewayMissing    RuleID = "backend-gateway-missing"
	RuleListenerNoBackend        RuleID = "listener-no-backend"
)

// gateway.networking.k8s.io Gateways.
const (
	RuleGatewayAPIAKOL4        RuleID = "gatewayapi-ako-l4"
	RuleGatewayAPISCTPListener RuleID = "gatewayapi-sctp-listener"
)

// Mutations.
const (
	MutationDefaultGatewaySelector RuleID = "default-gateway-selector"
	MutationDefaultSCTPPortName    RuleID = "default-sctp-port-name"
	MutationLabelSCTP              RuleID = "label-sctp"
	MutationDefaultNoLBNodePorts   RuleID = "default-no-lb-nodeports"
)

// RuleInfo describes a built-in rule or mutation.
type RuleInfo struct {
	ID RuleID `json:"id"`
	// Action is the default action; empty for mutations.
	Action Action `json:"action,omitempty"`
	// Mutation is true for the defaulting and labelling mutations.
	Mutation bool `json:"mutation,omitempty"`
	// Objects names the kinds the rule looks at.
	Objects string `json:"objects"`
	// Summary is the short text of admission warnings (path and rule ID are added).
	Summary string `json:"summary"`
}

// catalogue is the one list of built-in rules and mutations, keyed by ID. It mirrors
// spec/rules.md; TestCatalogueMatchesSpec keeps the two in step.
var catalogue = map[RuleID]RuleInfo{
	RuleProtocolValue:        {Action: ActionDeny, Objects: "Service, Pod/workload ports, NetworkPolicy, Endpoints, EndpointSlice", Summary: "protocol must be TCP, UDP or SCTP (case-sensitive)"},
	RulePortRange:            {Action: ActionDeny, Objects: "Service, Pod/workload ports, NetworkPolicy, Endpoints", Summary: "port must be between 1 and 65535"},
	RuleDuplicateServicePort: {Action: ActionDeny, Objects: "Service", Summary: "the same (protocol, port) appears twice"},
	RuleDuplicateHostPort:    {Action: ActionDeny, Objects: "Pod templates", Summary: "the same (protocol, hostIP, hostPort) appears twice"},
	RuleHostNetworkHostPort:  {Action: ActionDeny, Objects: "Pod templates", Summary: "hostPort must equal containerPort with hostNetwork"},
	RuleNetworkPolicyEndPort: {Action: ActionDeny, Objects: "NetworkPolicy", Summary: "invalid endPort"},
	RuleUnknownField:         {Action: ActionWarn, Objects: "any known kind", Summary: "unknown field"},

	RuleSCTPNodePortLocal:       {Action: ActionDeny, Objects: "Service handled by AKO, AKO Gateway, Gateway backend Service", Summary: "SCTP is not supported in AKO NodePortLocal mode"},
	RuleSCTPNPLAnnotation:       {Action: ActionDeny, Objects: "Service", Summary: "Antrea NodePortLocal supports only TCP and UDP ports"},
	RuleSCTPControllerVersion:   {Action: ActionDeny, Objects: "Service or Gateway handled by AKO", Summary: "SCTP needs Avi Controller 22.1.3 or newer"},
	RuleSCTPLBNotAKO:            {Action: ActionWarn, Objects: "LoadBalancer Service not handled by AKO", Summary: "SCTP LoadBalancer not handled by AKO; most LBs lack SCTP"},
	RuleSharedVIPPortClash:      {Action: ActionDeny, Objects: "shared-VIP Services", Summary: "port clashes with another Service on the shared VIP"},
	RuleSharedVIPInconsistent:   {Action: ActionDeny, Objects: "shared-VIP Services", Summary: "shared-VIP Services disagree; AKO deletes the VS"},
	RuleSCTPPortUnnamed:         {Action: ActionWarn, Objects: "Service", Summary: "unnamed SCTP port gets no DNS SRV record"},
	RuleSCTPAppProtocol:         {Action: ActionWarn, Objects: "Service", Summary: "TCP-only appProtocol on an SCTP port"},
	RuleSCTPCiliumTargetPort:    {Action: ActionWarn, Objects: "Service", Summary: "Cilium cannot rewrite SCTP ports; set targetPort = port"},
	RuleSCTPOpenShiftModule:     {Action: ActionWarn, Objects: "Service, Pod template, NetworkPolicy", Summary: "sctp module is blacklisted on RHCOS; apply load-sctp-module"},
	RuleSCTPNetworkPolicyCNI:    {Action: ActionWarn, Objects: "NetworkPolicy", Summary: "kube-router does not enforce NetworkPolicy for SCTP"},
	RuleGatewayListenerProtocol: {Action: ActionDeny, Objects: "AKO v1alpha1 Gateway", Summary: "listener protocol must be TCP, UDP or SCTP"},
	RuleGatewayListenerPort:     {Action: ActionDeny, Objects: "AKO v1alpha1 Gateway", Summary: "listener port must be between 1 and 65535"},
	RuleGatewayListenerDup:      {Action: ActionDeny, Objects: "AKO v1alpha1 Gateway", Summary: "two listeners with the same (protocol, port)"},
	RuleGatewaySelectorLabels:   {Action: ActionDeny, Objects: "AKO v1alpha1 Gateway", Summary: "selector must match this Gateway's AKO labels"},
	RuleGatewayListenerTLS:      {Action: ActionDeny, Objects: "AKO v1alpha1 Gateway", Summary: "tls is not supported on SCTP or UDP listeners"},
	RuleGatewayRoutesKind:       {Action: ActionWarn, Objects: "AKO v1alpha1 Gateway", Summary: "AKO binds only routes of kind services, group v1"},
	RuleGatewayClassMissing:     {Action: ActionWarn, Objects: "v1alpha1 Gateway", Summary: "GatewayClass not found; the Gateway stays Pending"},
	RuleGatewayAddress:          {Action: ActionWarn, Objects: "AKO v1alpha1 Gateway", Summary: "AKO uses only the first IPAddress"},
	RuleGatewayServicesAPIOff:   {Action: ActionWarn, Objects: "AKO v1alpha1 Gateway", Summary: "AKO servicesAPI is off; AKO ignores this Gateway"},

	RuleLoadBalancerIPConflict:     {Action: ActionWarn, Objects: "LoadBalancer Service", Summary: "annotation ignored: spec.loadBalancerIP differs and wins"},
	RuleSharedVIPAnnotationIgnored: {Action: ActionWarn, Objects: "shared-VIP Services", Summary: "no effect on a shared VIP, as in AKO"},
	RuleAKOInputUnsupported:        {Action: ActionDeny, Objects: "SCTP Service or Gateway handled by AKO", Summary: "an AKO input sctpguard does not translate"},
	RuleAKOReferenceInvalid:        {Action: ActionDeny, Objects: "SCTP Service or Gateway handled by AKO", Summary: "AviInfraSetting or L4Rule is rejected or invalid"},
	RuleAKOReferenceMissing:        {Action: ActionWarn, Objects: "SCTP Service or Gateway handled by AKO", Summary: "AviInfraSetting or L4Rule not found"},

	RuleBackendNoListener:        {Action: ActionDeny, Objects: "Gateway backend Service, AKO v1alpha1 Gateway", Summary: "port matches no listener of the Gateway"},
	RuleBackendPortConflict:      {Action: ActionDeny, Objects: "Gateway backend Service, AKO v1alpha1 Gateway", Summary: "another backend Service claims the same listener"},
	RuleBackendType:              {Action: ActionDeny, Objects: "Gateway backend Service", Summary: "a LoadBalancer Service cannot be a Gateway backend"},
	RuleBackendClusterIPNodePort: {Action: ActionDeny, Objects: "Gateway backend Service", Summary: "ClusterIP backend gets no servers in AKO NodePort mode"},
	RuleBackendGatewayMissing:    {Action: ActionWarn, Objects: "Gateway backend Service", Summary: "the Gateway named by the labels was not found"},
	RuleListenerNoBackend:        {Action: ActionWarn, Objects: "AKO v1alpha1 Gateway", Summary: "no backend Service claims this listener"},

	RuleGatewayAPIAKOL4:        {Action: ActionDeny, Objects: "gateway.networking.k8s.io Gateway, ListenerSet", Summary: "AKO's Gateway API serves only HTTP and HTTPS"},
	RuleGatewayAPISCTPListener: {Action: ActionWarn, Objects: "gateway.networking.k8s.io Gateway, ListenerSet", Summary: "bare SCTP is not a core Gateway API protocol"},

	MutationDefaultGatewaySelector: {Mutation: true, Objects: "AKO v1alpha1 Gateway", Summary: "default routes selector, kind and group"},
	MutationDefaultSCTPPortName:    {Mutation: true, Objects: "Service", Summary: "name unnamed SCTP ports sctp-<port>"},
	MutationLabelSCTP:              {Mutation: true, Objects: "Service, Gateways, ListenerSet", Summary: `label sctpguard.io/sctp: "true" while SCTP is used`},
	MutationDefaultNoLBNodePorts:   {Mutation: true, Objects: "AKO LoadBalancer Service with SCTP", Summary: "allocateLoadBalancerNodePorts: false in AKO ClusterIP mode"},
}

// Catalogue returns every built-in rule and mutation, sorted by ID.
func Catalogue() []RuleInfo {
	out := make([]RuleInfo, 0, len(catalogue))
	for id, info := range catalogue {
		info.ID = id
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LookupRule returns the catalogue entry of a built-in rule or mutation.
func LookupRule(id string) (RuleInfo, bool) {
	info, ok := catalogue[RuleID(id)]
	info.ID = RuleID(id)
	return info, ok
}
