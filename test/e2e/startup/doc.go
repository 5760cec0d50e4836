// Package startup tests, on a control plane of its own, what the shared e2e cluster cannot:
// how a replica starts and stops. Each test starts replicas itself, against a state made
// before they start: a degraded start (a key of AKO's ConfigMap that does not read, the
// ConfigMap absent, a user policy set refused) is visible in readiness, Events, metrics and
// the warnings of every verdict; Gateway API CRDs installed while sctpguard runs are judged
// without a restart; and two replicas take a rolling restart under a steady load of
// admissions through the API server without a failed request.
//
// They need the test control plane: run them with `make test-e2e`, which builds it.
// Without KUBEBUILDER_ASSETS they skip, saying so.
package startup
