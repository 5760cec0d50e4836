// Package certs tests `sctpguard serve --self-signed-certs` end to end, on a control plane of
// its own (the shared e2e cluster uses envtest's certificates): two replicas, running as a
// service account with exactly the RBAC in testdata/rbac.yaml, issue the certificates, the
// API server trusts them, and rotations of the serving certificate and of the CA under a
// steady load of admissions drop no request.
//
// They need the test control plane: run them with `make test-e2e`, which builds it.
// Without KUBEBUILDER_ASSETS they skip, saying so.
package certs
