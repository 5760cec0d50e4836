// Package v1alpha2 holds AKO's ako.vmware.com/v1alpha2 L4Rule: virtual service and pool
// properties of an L4 Service, named by the Service annotation ako.vmware.com/l4rule. The
// fields follow AKO's pkg/apis/ako/v1alpha2 L4Rule; the translator honours or refuses each of
// them (translator/avi-translation.md, "AKO inputs").
//
// +kubebuilder:object:generate=true
// +groupName=ako.vmware.com
package v1alpha2
