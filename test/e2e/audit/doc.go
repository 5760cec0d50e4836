// Package audit tests, on a control plane of its own, sctpguard's continuous audit: objects
// stored before sctpguard started show up in their namespace's PolicyReport; a switch of
// AKO's ConfigMap to NodePortLocal (with the real kubectl) turns the SCTP Services and the
// Gateway with its backend into sctp-nodeportlocal results within seconds, compared as whole
// results, and the switch back removes them; while AKO's settings are unknown the reports
// are left alone and the pause shows in the metrics.
//
// They need the test control plane: run them with `make test-e2e`, which builds it.
// Without KUBEBUILDER_ASSETS they skip, saying so.
package audit
