package check_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sctpguard/sctpguard/policy/check"
	"github.com/sctpguard/sctpguard/test/bench/manifests"
)

// BenchmarkCheck checks 10,000 generated manifests (100 files of 100 documents) with
// every rule and writes the JSON report; it reports resources per second.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	if _, err := manifests.Write(dir, 100, 100); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "class.yaml"), []byte(manifests.GatewayClass), 0o600); err != nil {
		b.Fatal(err)
	}
	o := check.NewOptions()
	o.Files = []string{dir}
	o.Output = check.OutputJSON
	o.AKOServiceType = "NodePortLocal"
	b.ReportAllocs()
	for b.Loop() {
		res, err := check.Check(b.Context(), o, nil)
		if err != nil || len(res.Items) != 10001 || len(res.Errors) > 0 {
			b.Fatalf("check: %v, %d items, errors %v", err, len(res.Items), res.Errors)
		}
		if err := check.Report(io.Discard, io.Discard, o, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10001*b.N)/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkCheckWithPolicy is BenchmarkCheck with one user policy (conftest style) loaded.
func BenchmarkCheckWithPolicy(b *testing.B) {
	dir := b.TempDir()
	if _, err := manifests.Write(dir, 100, 100); err != nil {
		b.Fatal(err)
	}
	policyDir := b.TempDir()
	if err := os.WriteFile(filepath.Join(policyDir, "sctp.rego"), []byte(`package main

deny contains msg if {
	input.kind == "Service"
	some i
	input.spec.ports[i].protocol == "SCTP"
	msg := sprintf("%s/%s: spec.ports[%d].protocol: SCTP", [input.metadata.namespace, input.metadata.name, i])
}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	o := check.NewOptions()
	o.Files = []string{dir}
	o.PolicyDirs = []string{policyDir}
	o.Output = check.OutputJSON
	b.ReportAllocs()
	for b.Loop() {
		res, err := check.Check(b.Context(), o, nil)
		if err != nil || len(res.Items) != 10000 || len(res.Errors) > 0 {
			b.Fatalf("check: %v, %d items, errors %v", err, len(res.Items), res.Errors)
		}
		if err := check.Report(io.Discard, io.Discard, o, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "resources/s")
}
