package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Statuses AKO writes to status.status.
const (
	StatusAccepted = "Accepted"
	StatusRejected = "Rejected"
)

// AviInfraSetting selects Avi infrastructure (Service Engine group, VIP and node networks,
// BGP advertisement) for the virtual services of a GatewayClass, a Service or a namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AviInfraSetting struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec AviInfraSettingSpec `json:"spec,omitempty"`
	// +optional
	Status AviInfraSettingStatus `json:"status,omitempty"`
}

// AviInfraSettingSpec is the infrastructure to use.
type AviInfraSettingSpec struct {
	// Network holds the VIP and node networks and the BGP advertisement.
	// +optional
	Network AviInfraSettingNetwork `json:"network,omitempty"`
	// SeGroup is the Service Engine group of the virtual services.
	// +optional
	SeGroup AviInfraSettingSeGroup `json:"seGroup,omitempty"`
	// L7Settings holds settings of L7 virtual services.
	// +optional
	L7Settings AviInfraSettingL7Settings `json:"l7Settings,omitempty"`
	// NSXSettings holds NSX-T settings.
	// +optional
	NSXSettings AviInfraSettingNSXSettings `json:"nsxSettings,omitempty"`
}

// AviInfraSettingNetwork holds the networks of an AviInfraSetting.
type AviInfraSettingNetwork struct {
	// VipNetworks are the networks the VIPs are allocated from; the first is used.
	// +optional
	VipNetworks []AviInfraSettingVipNetwork `json:"vipNetworks,omitempty"`
	// NodeNetworks are the networks of the nodes: the pools' placement networks.
	// +optional
	NodeNetworks []AviInfraSettingNodeNetwork `json:"nodeNetworks,omitempty"`
	// EnableRhi advertises the VIPs over BGP (route health injection).
	// +optional
	EnableRhi *bool `json:"enableRhi,omitempty"`
	// EnablePublicIP requests a public IP in public clouds.
	// +optional
	EnablePublicIP *bool `json:"enablePublicIP,omitempty"`
	// BgpPeerLabels select the BGP peers the VIPs are advertised to; they need EnableRhi.
	// +optional
	BgpPeerLabels []string `json:"bgpPeerLabels,omitempty"`
	// Listeners are the ports of L7 virtual services.
	// +optional
	Listeners []AviInfraSettingListener `json:"listeners,omitempty"`
}

// AviInfraSettingVipNetwork is a VIP network, by name or uuid, and its subnets.
type AviInfraSettingVipNetwork struct {
	// +optional
	NetworkName string `json:"networkName,omitempty"`
	// +optional
	NetworkUUID string `json:"networkUUID,omitempty"`
	// +optional
	Cidr string `json:"cidr,omitempty"`
	// +optional
	V6Cidr string `json:"v6cidr,omitempty"`
}

// AviInfraSettingNodeNetwork is a node network, by name or uuid, and its subnets.
type AviInfraSettingNodeNetwork struct {
	// +optional
	NetworkName string `json:"networkName,omitempty"`
	// +optional
	NetworkUUID string `json:"networkUUID,omitempty"`
	// +optional
	Cidrs []string `json:"cidrs,omitempty"`
}

// AviInfraSettingListener is a port of L7 virtual services.
type AviInfraSettingListener struct {
	// +optional
	Port *int `json:"port,omitempty"`
	// +optional
	EnableSSL *bool `json:"enableSSL,omitempty"`
	// +optional
	EnableHTTP2 *bool `json:"enableHTTP2,omitempty"`
}

// AviInfraSettingSeGroup names a Service Engine group.
type AviInfraSettingSeGroup struct {
	// +optional
	Name string `json:"name,omitempty"`
}

// AviInfraSettingL7Settings holds L7 settings.
type AviInfraSettingL7Settings struct {
	// ShardSize is the number of L7 shards.
	// +optional
	// +kubebuilder:validation:Enum=SMALL;MEDIUM;LARGE;DEDICATED
	ShardSize string `json:"shardSize,omitempty"`
}

// AviInfraSettingNSXSettings holds NSX-T settings.
type AviInfraSettingNSXSettings struct {
	// T1LR is the NSX-T tier-1 logical router.
	// +optional
	T1LR *string `json:"t1lr,omitempty"`
}

// AviInfraSettingStatus is what AKO reports: Accepted or Rejected, with the reason.
type AviInfraSettingStatus struct {
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
}

// AviInfraSettingList is a list of AviInfraSettings.
//
// +kubebuilder:object:root=true
type AviInfraSettingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AviInfraSetting `json:"items"`
}
