// Package v1alpha1 holds the networking.x-k8s.io/v1alpha1 GatewayClass and Gateway types, the
// "service-apis" generation of Gateway API that AKO still uses for L4 and SCTP load balancing.
//
// The upstream module that shipped these types (sigs.k8s.io/service-apis) is no longer
// available, so only the fields AKO reads are defined here, with the same JSON names and
// validation as upstream v0.3. The CRDs in charts/sctpguard/crds are generated from these
// types with controller-gen.
//
// +kubebuilder:object:generate=true
// +groupName=networking.x-k8s.io
package v1alpha1
