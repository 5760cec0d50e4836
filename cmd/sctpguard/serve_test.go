package main

import "testing"

// TestServeFlags: serve's options are checked before anything starts, the errors naming
// the flag, and the flag's name of earlier releases still works, said to be deprecated.
func TestServeFlags(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "serve", "--audit-exclude-namespace", "kube-system", "--audit-max-results", "1001")
	if code == 0 {
		t.Fatalf("serve with --audit-max-results=1001 ran; stderr:\n%s", stderr)
	}
	// cobra prints a flag's deprecation where the command prints, stdout here.
	if want := "Flag --audit-exclude-namespace has been deprecated, use --exclude-namespace: the audit and the guard skip the same namespaces\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if want := "error: audit-max-results: Invalid value: 1001: must be between 1 and 1000: a PolicyReport of more results may outgrow etcd's object size\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}
