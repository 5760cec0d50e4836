//go:build tools

// Package etcd only pins the etcd server that envtest drives. Build it with:
//
//	go build -o BIN/etcd go.etcd.io/etcd/server/v3
package etcd

import _ "go.etcd.io/etcd/server/v3"
