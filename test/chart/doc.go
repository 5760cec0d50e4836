// Package chart tests the Helm chart charts/sctpguard with the pinned helm (HELM): the
// rendered webhook configurations against webhook.Configurations, the values schema, the
// cert-manager objects against cert-manager's Go types, and the rendered manifests against a
// real kube-apiserver (KUBEBUILDER_ASSETS) with cert-manager's CRDs, where sctpguard runs
// with the chart's arguments as the chart's service account and the audit log shows which
// API requests it makes, to compare with the RBAC the chart grants.
//
// It is a module of its own so that cert-manager's API types and CRDs, which the tests
// need, do not bring cert-manager's requirements into sctpguard's go.mod.
package chart
