package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GatewayClass describes a class of Gateways and names the controller that implements them.
// AKO implements the class whose controller is "ako.vmware.com/avi-lb".
//
// +genclient
// +genclient:nonNamespaced
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=gc
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Controller",type=string,JSONPath=`.spec.controller`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GatewayClassSpec   `json:"spec,omitempty"`
	Status GatewayClassStatus `json:"status,omitempty"`
}

// GatewayClassSpec is the desired state of a GatewayClass.
type GatewayClassSpec struct {
	// Controller is the domain-prefixed name of the controller that manages Gateways of
	// this class, e.g. "ako.vmware.com/avi-lb".
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Controller string `json:"controller"`

	// ParametersRef points to controller-specific configuration; AKO uses an
	// ako.vmware.com AviInfraSetting.
	//
	// +optional
	ParametersRef *ParametersReference `json:"parametersRef,omitempty"`
}

// ParametersReference identifies an API object holding controller-specific parameters.
type ParametersReference struct {
	// Group is the API group of the referent.
	//
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`

	// Kind is the kind of the referent.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Kind string `json:"kind"`

	// Name is the name of the referent.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Scope is "Cluster" (default) or "Namespace".
	//
	// +optional
	// +kubebuilder:validation:Enum=Cluster;Namespace
	Scope *string `json:"scope,omitempty"`

	// Namespace of the referent when Scope is "Namespace".
	//
	// +optional
	Namespace *string `json:"namespace,omitempty"`
}

// GatewayClassStatus is the observed state of a GatewayClass.
type GatewayClassStatus struct {
	// Conditions describe the current state of the class.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// GatewayClassList is a list of GatewayClasses.
//
// +kubebuilder:object:root=true
type GatewayClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayClass `json:"items"`
}
