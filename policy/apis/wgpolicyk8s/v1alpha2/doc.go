// Package v1alpha2 holds the wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport of
// the Kubernetes Policy Working Group, the report format Kyverno, Policy Reporter and the
// policy dashboards read. The fields and their JSON names follow the working group's
// policy-report API (kubernetes-sigs/wg-policy-prototypes, policy-report/pkg/api), so that
// the CRDs sctpguard installs (charts/sctpguard/files/crds) and those Kyverno installs are
// interchangeable: sctpguard writes its reports into whichever the cluster has.
//
// +kubebuilder:object:generate=true
// +groupName=wgpolicyk8s.io
package v1alpha2
