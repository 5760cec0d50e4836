package v1alpha2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PolicyReportSummary counts the results of a report by outcome.
type PolicyReportSummary struct {
	// Pass counts the policies whose requirements were met.
	// +optional
	Pass int `json:"pass"`
	// Fail counts the policies whose requirements were not met.
	// +optional
	Fail int `json:"fail"`
	// Warn counts the unscored policies whose requirements were not met.
	// +optional
	Warn int `json:"warn"`
	// Error counts the policies that could not be evaluated.
	// +optional
	Error int `json:"error"`
	// Skip counts the policies not selected for evaluation.
	// +optional
	Skip int `json:"skip"`
}

// PolicyResult is the outcome of one policy rule on its subjects.
//
// +kubebuilder:validation:Enum=pass;fail;warn;error;skip
type PolicyResult string

// Outcomes of a result.
const (
	ResultPass  PolicyResult = "pass"
	ResultFail  PolicyResult = "fail"
	ResultWarn  PolicyResult = "warn"
	ResultError PolicyResult = "error"
	ResultSkip  PolicyResult = "skip"
)

// PolicyResultSeverity is how critical a result is.
//
// +kubebuilder:validation:Enum=critical;high;low;medium;info
type PolicyResultSeverity string

// Severities of a result.
const (
	SeverityCritical PolicyResultSeverity = "critical"
	SeverityHigh     PolicyResultSeverity = "high"
	SeverityMedium   PolicyResultSeverity = "medium"
	SeverityLow      PolicyResultSeverity = "low"
	SeverityInfo     PolicyResultSeverity = "info"
)

// PolicyReportResult is the result of one policy rule.
type PolicyReportResult struct {
	// Source names the policy engine that manages the report.
	// +optional
	Source string `json:"source"`
	// Policy is the name or identifier of the policy.
	Policy string `json:"policy"`
	// Rule is the name or identifier of the rule within the policy.
	// +optional
	Rule string `json:"rule,omitempty"`
	// Category is the policy's category.
	// +optional
	Category string `json:"category,omitempty"`
	// Severity is how critical the result is.
	// +optional
	Severity PolicyResultSeverity `json:"severity,omitempty"`
	// Timestamp is when the result was found.
	Timestamp metav1.Timestamp `json:"timestamp,omitempty"`
	// Result is the outcome.
	Result PolicyResult `json:"result,omitempty"`
	// Scored says whether the result is scored.
	Scored bool `json:"scored,omitempty"`
	// Subjects are the checked resources.
	// +optional
	Subjects []corev1.ObjectReference `json:"resources,omitempty"`
	// SubjectSelector selects the checked resources by label, instead of Subjects.
	// +optional
	SubjectSelector *metav1.LabelSelector `json:"resourceSelector,omitempty"`
	// Description is a short message for the result.
	// +optional
	Description string `json:"message,omitempty"`
	// Properties hold more information about the result.
	// +optional
	Properties map[string]string `json:"properties,omitempty"`
}

// Report is what a PolicyReport and a ClusterPolicyReport hold besides their metadata.
type Report struct {
	// Scope is the resource the report is about, when it is about one.
	// +optional
	Scope *corev1.ObjectReference `json:"scope,omitempty"`
	// ScopeSelector selects the resources the report is about, instead of Scope.
	// +optional
	ScopeSelector *metav1.LabelSelector `json:"scopeSelector,omitempty"`
	// Summary counts the results.
	// +optional
	Summary PolicyReportSummary `json:"summary,omitempty"`
	// Results are the results.
	// +optional
	Results []PolicyReportResult `json:"results,omitempty"`
}

// PolicyReport holds the policy results of the resources of one namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=polr
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.scope.kind`,priority=1
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.scope.name`,priority=1
// +kubebuilder:printcolumn:name="Pass",type=integer,JSONPath=`.summary.pass`
// +kubebuilder:printcolumn:name="Fail",type=integer,JSONPath=`.summary.fail`
// +kubebuilder:printcolumn:name="Warn",type=integer,JSONPath=`.summary.warn`
// +kubebuilder:printcolumn:name="Error",type=integer,JSONPath=`.summary.error`
// +kubebuilder:printcolumn:name="Skip",type=integer,JSONPath=`.summary.skip`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Report            `json:",inline"`
}

// PolicyReportList is a list of PolicyReports.
//
// +kubebuilder:object:root=true
type PolicyReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PolicyReport `json:"items"`
}

// ClusterPolicyReport holds the policy results of cluster-scoped resources.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cpolr
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.scope.kind`,priority=1
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.scope.name`,priority=1
// +kubebuilder:printcolumn:name="Pass",type=integer,JSONPath=`.summary.pass`
// +kubebuilder:printcolumn:name="Fail",type=integer,JSONPath=`.summary.fail`
// +kubebuilder:printcolumn:name="Warn",type=integer,JSONPath=`.summary.warn`
// +kubebuilder:printcolumn:name="Error",type=integer,JSONPath=`.summary.error`
// +kubebuilder:printcolumn:name="Skip",type=integer,JSONPath=`.summary.skip`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Report            `json:",inline"`
}

// ClusterPolicyReportList is a list of ClusterPolicyReports.
//
// +kubebuilder:object:root=true
type ClusterPolicyReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPolicyReport `json:"items"`
}
