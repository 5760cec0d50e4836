//go:build tools

// Package controlplane only pins the Kubernetes control-plane binaries that
// envtest drives. Build them with, e.g.:
//
//	go build -o BIN/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
//	go build -o BIN/kubectl k8s.io/kubernetes/cmd/kubectl
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
