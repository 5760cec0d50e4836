package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AviInfraSetting selects Avi infrastructure (Service Engine group, VIP networks) for the
// virtual services of a GatewayClass or a Service.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
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
	// SeGroup is the Service Engine group of the virtual services.
	// +optional
	SeGroup AviInfraSettingSeGroup `json:"seGroup,omitempty"`
	// Network holds the VIP and node networks.
	// +optional
	Network AviInfraSettingNetwork `json:"network,omitempty"`
	// L7Settings holds settings of L7 virtual services.
	// +optional
	L7Settings AviInfraSettingL7Settings `json:"l7Settings,omitempty"`
}

// AviInfraSettingSeGroup names a Service Engine group.
type AviInfraSettingSeGroup struct {
	// +optional
	Name string `json:"name,omitempty"`
}

// AviInfraSettingNetwork holds the networks of an AviInfraSetting.
type AviInfraSettingNetwork struct {
	// VipNetworks are the networks the VIPs are allocated from.
	// +optional
	VipNetworks []AviInfraSettingVipNetwork `json:"vipNetworks,omitempty"`
	// NodeNetworks are the networks of the nodes, for NodePort and ClusterIP pools.
	// +optional
	NodeNetworks []AviInfraSettingNodeNetwork `json:"nodeNetworks,omitempty"`
	// EnableRhi advertises VIPs with route health injection.
	// +optional
	EnableRhi *bool `json:"enableRhi,omitempty"`
	// BgpPeerLabels select the BGP peers for route health injection.
	// +optional
	BgpPeerLabels []string `json:"bgpPeerLabels,omitempty"`
	// EnablePublicIP requests a public IP in public clouds.
	// +optional
	EnablePublicIP *bool `json:"enablePublicIP,omitempty"`
}

// AviInfraSettingVipNetwork is a VIP network and its subnets.
type AviInfraSettingVipNetwork struct {
	NetworkName string `json:"networkName"`
	// +optional
	Cidr string `json:"cidr,omitempty"`
	// +optional
	V6Cidr string `json:"v6cidr,omitempty"`
}

// AviInfraSettingNodeNetwork is a node network and its subnets.
type AviInfraSettingNodeNetwork struct {
	NetworkName string `json:"networkName"`
	// +optional
	Cidrs []string `json:"cidrs,omitempty"`
}

// AviInfraSettingL7Settings holds L7 settings.
type AviInfraSettingL7Settings struct {
	// ShardSize is the number of L7 shards.
	// +optional
	// +kubebuilder:validation:Enum=SMALL;MEDIUM;LARGE;DEDICATED
	ShardSize string `json:"shardSize,omitempty"`
}

// AviInfraSettingStatus is what AKO reports.
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
