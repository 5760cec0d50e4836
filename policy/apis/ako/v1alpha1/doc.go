// Package v1alpha1 holds AKO's ako.vmware.com/v1alpha1 AviInfraSetting, the object an AKO
// GatewayClass points to with parametersRef. Only its shape is modelled, so that test
// clusters and clusters without AKO's CRDs can accept the seed manifests; sctpguard's rules do
// not read it (check passes it through unjudged).
//
// +kubebuilder:object:generate=true
// +groupName=ako.vmware.com
package v1alpha1
