// Package v1beta1 holds AKO's ako.vmware.com/v1beta1 AviInfraSetting: the Service Engine
// group, VIP and node networks and BGP advertisement of the virtual services of a Service
// (annotation aviinfrasetting.ako.vmware.com/name), of a namespace (the same annotation on
// the Namespace) or of a GatewayClass (parametersRef). The fields follow AKO's
// pkg/apis/ako/v1beta1 AviInfraSetting; the translator honours or refuses each of them
// (translator/avi-translation.md, "AKO inputs").
//
// +kubebuilder:object:generate=true
// +groupName=ako.vmware.com
package v1beta1
