package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Gateway is a load balancer with listeners. Under AKO, an L4 Gateway becomes one Avi
// virtual service; backend Services bind to it by the labels
// ako.vmware.com/gateway-name and ako.vmware.com/gateway-namespace.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=gtw
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.gatewayClassName`
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.status.addresses[0].value`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Gateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GatewaySpec   `json:"spec,omitempty"`
	Status GatewayStatus `json:"status,omitempty"`
}

// GatewaySpec is the desired state of a Gateway.
type GatewaySpec struct {
	// GatewayClassName names the GatewayClass of this Gateway.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	GatewayClassName string `json:"gatewayClassName"`

	// Listeners are the logical endpoints bound on the Gateway's addresses.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Listeners []Listener `json:"listeners"`

	// Addresses requested for the Gateway; AKO uses the first IPAddress as a static VIP.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Addresses []GatewayAddress `json:"addresses,omitempty"`
}

// Listener is one (protocol, port) endpoint of a Gateway.
type Listener struct {
	// Hostname is matched by L7 protocols; for L4 listeners AKO turns it into an FQDN.
	//
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Hostname *string `json:"hostname,omitempty"`

	// Port is the network port.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// Protocol is a free string in v1alpha1; AKO matches it case-sensitively against the
	// backend Service port protocols TCP, UDP and SCTP.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Protocol string `json:"protocol"`

	// TLS configuration for the listener. Meaningless for TCP, UDP and SCTP under AKO.
	//
	// +optional
	TLS *GatewayTLSConfig `json:"tls,omitempty"`

	// Routes selects the routes (for AKO: the Services) bound to this listener.
	Routes RouteBindingSelector `json:"routes"`
}

// GatewayTLSConfig describes a TLS configuration.
type GatewayTLSConfig struct {
	// Mode is "Terminate" (default) or "Passthrough".
	//
	// +optional
	// +kubebuilder:validation:Enum=Terminate;Passthrough
	Mode *string `json:"mode,omitempty"`

	// CertificateRef names the certificate object.
	//
	// +optional
	CertificateRef *LocalObjectReference `json:"certificateRef,omitempty"`

	// Options are implementation-specific TLS settings.
	//
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	Options map[string]string `json:"options,omitempty"`
}

// LocalObjectReference refers to an object in the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`
	// +kubebuilder:validation:MaxLength=253
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// RouteBindingSelector selects the routes bound to a listener. AKO reads only Kind, Group
// and Selector, and binds backend Services by their labels, not by evaluating Selector.
type RouteBindingSelector struct {
	// Namespaces from which routes may bind.
	//
	// +optional
	Namespaces *RouteNamespaces `json:"namespaces,omitempty"`

	// Selector over route labels. AKO requires matchLabels
	// ako.vmware.com/gateway-name and ako.vmware.com/gateway-namespace naming this Gateway.
	//
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// Group of the route kind; AKO expects "v1" (core Services).
	//
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group *string `json:"group,omitempty"`

	// Kind of the routes; AKO expects "services".
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Kind string `json:"kind"`
}

// RouteNamespaces selects namespaces from which routes may bind.
type RouteNamespaces struct {
	// From is "Same" (default), "All" or "Selector".
	//
	// +optional
	// +kubebuilder:validation:Enum=All;Selector;Same
	From *string `json:"from,omitempty"`

	// Selector over namespace labels when From is "Selector".
	//
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// GatewayAddress is an address requested for, or bound to, a Gateway.
type GatewayAddress struct {
	// Type is "IPAddress" (default) or "NamedAddress".
	//
	// +optional
	// +kubebuilder:validation:Enum=IPAddress;NamedAddress
	Type *string `json:"type,omitempty"`

	// Value of the address.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Value string `json:"value"`
}

// GatewayStatus is the observed state of a Gateway.
type GatewayStatus struct {
	// Addresses bound to the Gateway.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Addresses []GatewayAddress `json:"addresses,omitempty"`

	// Conditions describe the current state of the Gateway.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Listeners hold the status of each listener.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Listeners []ListenerStatus `json:"listeners,omitempty"`
}

// ListenerStatus is the status of one listener.
type ListenerStatus struct {
	// Port of the listener.
	Port int32 `json:"port"`

	// Protocol of the listener.
	Protocol string `json:"protocol"`

	// Hostname of the listener.
	//
	// +optional
	Hostname *string `json:"hostname,omitempty"`

	// Conditions describe the current state of the listener.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// GatewayList is a list of Gateways.
//
// +kubebuilder:object:root=true
type GatewayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Gateway `json:"items"`
}
