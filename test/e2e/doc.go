// Package e2e holds sctpguard's end-to-end tests: a real kube-apiserver and etcd (built from
// source, driven by controller-runtime's envtest), the real sctpguard binary serving the
// webhooks over TLS, and the real kubectl, whose output the tests compare as users read it.
//
// They need the test control plane: run them with `make test-e2e`, which builds it.
// Without KUBEBUILDER_ASSETS they skip, saying so.
package e2e
