package v1alpha2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L4Rule sets virtual service and pool properties of the L4 Services that name it in the
// annotation ako.vmware.com/l4rule.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L4Rule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec L4RuleSpec `json:"spec,omitempty"`
	// +optional
	Status L4RuleStatus `json:"status,omitempty"`
}

// L4RuleSpec holds the virtual service properties and, per Service port, the pool ones.
type L4RuleSpec struct {
	// +optional
	AnalyticsPolicy *AnalyticsPolicy `json:"analyticsPolicy,omitempty"`
	// +optional
	AnalyticsProfileRef *string `json:"analyticsProfileRef,omitempty"`
	// +optional
	ApplicationProfileRef *string `json:"applicationProfileRef,omitempty"`
	// BackendProperties are pool properties, each for the pool of one (port, protocol).
	// +optional
	BackendProperties []BackendProperties `json:"backendProperties,omitempty"`
	// ListenerProperties set SSL per Service port.
	// +optional
	ListenerProperties []Service `json:"listenerProperties,omitempty"`
	// +optional
	LoadBalancerIP *string `json:"loadBalancerIP,omitempty"`
	// +optional
	NetworkProfileRef *string `json:"networkProfileRef,omitempty"`
	// +optional
	NetworkSecurityPolicyRef *string `json:"networkSecurityPolicyRef,omitempty"`
	// +optional
	PerformanceLimits *PerformanceLimits `json:"performanceLimits,omitempty"`
	// +optional
	SecurityPolicyRef *string `json:"securityPolicyRef,omitempty"`
	// +optional
	SslKeyAndCertificateRefs []string `json:"sslKeyAndCertificateRefs,omitempty"`
	// +optional
	SslProfileRef *string `json:"sslProfileRef,omitempty"`
	// +optional
	VsDatascriptRefs []string `json:"vsDatascriptRefs,omitempty"`
	// +optional
	RevokeVipRoute *bool `json:"revokeVipRoute,omitempty"`
}

// AnalyticsPolicy is the virtual service's logging.
type AnalyticsPolicy struct {
	// +optional
	FullClientLogs *FullClientLogs `json:"fullClientLogs,omitempty"`
}

// FullClientLogs turns on full client logs for a while.
type FullClientLogs struct {
	// +optional
	Duration *uint32 `json:"duration,omitempty"`
	Enabled  *bool   `json:"enabled"`
	// +optional
	Throttle *uint32 `json:"throttle,omitempty"`
}

// BackendProperties are the properties of the pool of one Service (port, protocol).
type BackendProperties struct {
	// +optional
	AnalyticsPolicy *PoolAnalyticsPolicy `json:"analyticsPolicy,omitempty"`
	// +optional
	ApplicationPersistenceProfileRef *string `json:"applicationPersistenceProfileRef,omitempty"`
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// +optional
	HealthMonitorRefs []string `json:"healthMonitorRefs,omitempty"`
	// HealthMonitorCrdRefs name HealthMonitor objects of AKO's CRD operator.
	// +optional
	HealthMonitorCrdRefs []string `json:"healthMonitorCrdRefs,omitempty"`
	// +optional
	LbAlgorithm *string `json:"lbAlgorithm,omitempty"`
	// +optional
	LbAlgorithmConsistentHashHdr *string `json:"lbAlgorithmConsistentHashHdr,omitempty"`
	// +optional
	LbAlgorithmHash *string `json:"lbAlgorithmHash,omitempty"`
	// +optional
	MinServersUp *uint32 `json:"minServersUp,omitempty"`
	// +optional
	PkiProfileRef *string `json:"pkiProfileRef,omitempty"`
	Port          *int    `json:"port"`
	Protocol      *string `json:"protocol"`
	// +optional
	SslKeyAndCertificateRef *string `json:"sslKeyAndCertificateRef,omitempty"`
	// +optional
	SslProfileRef *string `json:"sslProfileRef,omitempty"`
}

// PoolAnalyticsPolicy is the pool's metrics.
type PoolAnalyticsPolicy struct {
	// +optional
	EnableRealtimeMetrics *bool `json:"enableRealtimeMetrics,omitempty"`
}

// PerformanceLimits cap the virtual service's connections and throughput.
type PerformanceLimits struct {
	// +optional
	MaxConcurrentConnections *int32 `json:"maxConcurrentConnections,omitempty"`
	// +optional
	MaxThroughput *int32 `json:"maxThroughput,omitempty"`
}

// Service sets SSL on one Service port.
type Service struct {
	// +optional
	EnableSsl *bool   `json:"enableSsl,omitempty"`
	Port      *uint32 `json:"port"`
	Protocol  *string `json:"protocol"`
}

// L4RuleStatus is what AKO reports: Accepted or Rejected, with the reason.
type L4RuleStatus struct {
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
}

// L4RuleList is a list of L4Rules.
//
// +kubebuilder:object:root=true
type L4RuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L4Rule `json:"items"`
}
