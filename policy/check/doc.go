// Package check is `sctpguard check`, the GitOps pre-flight: it reads manifests from files,
// directories and standard input, judges every object with the same policy engine the
// admission webhook uses (the whole input set serving as the inventory for cross-object
// rules), and reports findings as text, JSON, JUnit, SARIF or GitHub workflow annotations.
//
// Unlike the policy package it does I/O: it reads the inputs and writes the report.
package check
