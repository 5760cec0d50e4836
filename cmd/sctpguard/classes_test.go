package main

import (
	"testing"
)

// TestCheckOptInClass: with the opt-in mutation default-sctpguard-class, the seed SCTP
// LoadBalancer under AKO's NodePortLocal mode gets sctpguard's class, and is then only
// warned about the node proxy instead of denied (golden manifest and report); an ID that
// is no opt-in mutation is refused.
func TestCheckOptInClass(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "check", "-f", "examples/seeds/ako-loadbalancer-service.yaml",
		"--ako-values", "examples/ako/values-nodeportlocal.yaml", "--mutate", "--enable", "default-sctpguard-class")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	golden(t, "opt-in-class.yaml", []byte(out))
	golden(t, "opt-in-class.txt", []byte(errOut))
	_, errOut, code = runCLI(t, "", "check", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "--enable", "default-sctp-port-name")
	want := "error: invalid rule configuration: enable[0]: Unsupported value: \"default-sctp-port-name\": supported values: \"default-sctpguard-class\"\n"
	if code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, errOut, want)
	}
}
