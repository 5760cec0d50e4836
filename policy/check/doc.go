// Package check is `sctpguard check`, the GitOps pre-flight: it reads manifests from files,
// directories and standard input, judges every object with the same policy engine the
// admission webhook uses (the whole input set serving as the inventory for cross-object
// rules), and reports findings as text, JSON, JUnit, SARIF or GitHub workflow annotations.
//
// A check holds one document at a time, not the set: it reads the inputs twice, first for
// a compact inventory of what the cross-object rules look up, then to judge each object
// against it as it is decoded (see bounded.go for the trade-offs). It holds every object
// only when the options need them all at once: --mutate, --combine, and user policies that
// read data.inventory.
//
// Unlike the policy package it does I/O: it reads the inputs and writes the report.
package check
