package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/probe"
)

// TestProbeHelp pins the help of the probe commands: the exit codes are documented there.
func TestProbeHelp(t *testing.T) {
	var all strings.Builder
	for _, args := range [][]string{{"probe", "--help"}, {"probe", "listen", "--help"}, {"probe", "connect", "--help"}} {
		out, errOut, code := runCLI(t, "", args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit code %d, stderr %q", args, code, errOut)
		}
		if !strings.Contains(out, probe.ExitCodesHelp) {
			t.Errorf("%v: the help does not list the exit codes", args)
		}
		all.WriteString("$ sctpguard " + strings.Join(args, " ") + "\n" + out + "\n")
	}
	golden(t, "probe-help.txt", []byte(all.String()))
}

func TestProbeUsage(t *testing.T) {
	tests := []struct {
		args   []string
		errOut string
	}{
		{[]string{"probe", "connect"}, "error: accepts 1 arg(s), received 0\n"},
		{[]string{"probe", "connect", "host", "--count", "0"},
			"error: [target: Invalid value: \"host\": want HOST:PORT: address host: missing port in address, count: Invalid value: 0: must be from 1 to 10000]\n"},
		{[]string{"probe", "connect", "10.0.0.1:30102", "--bind", "eth0"}, "error: bind[0]: Invalid value: \"eth0\": must be an IP address\n"},
		{[]string{"probe", "connect", "10.0.0.1:30102", "--timeout", "soon"},
			"error: invalid argument \"soon\" for \"--timeout\" flag: time: invalid duration \"soon\"\nSee 'sctpguard probe connect --help'.\n"},
		{[]string{"probe", "listen", "--port", "0", "-o", "yaml"},
			"error: [port: Invalid value: 0: must be from 1 to 65535, output: Unsupported value: \"yaml\": supported values: \"text\", \"json\"]\n"},
		{[]string{"probe", "listen", "extra"}, "error: unknown command \"extra\" for \"sctpguard probe listen\"\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, "", tt.args...)
			if diff := cmp.Diff([]any{2, "", tt.errOut}, []any{code, out, errOut}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeConnectHere runs probe connect against this host's kernel: where it has no SCTP,
// the verdict is "kernel SCTP unavailable" (3) before any socket is opened; where it has,
// a port nobody listens on is refused (4). Either way within the timeout.
func TestProbeConnectHere(t *testing.T) {
	out, errOut, code := runCLI(t, "", "probe", "connect", "127.0.0.1:1", "--bind", "127.0.0.1", "--timeout", "2s")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	want := "verdict: refused (exit code 4): association with 127.0.0.1:1 refused: the peer answered INIT with ABORT, nothing listens on that SCTP port (connection refused)"
	wantCode := 4
	if k := probe.HostKernel().SCTP(); !k.Available() {
		t.Logf("%s: expecting exit code 3", k.Reason())
		want, wantCode = "verdict: kernel-unavailable (exit code 3): "+k.Message(), 3
	}
	if diff := cmp.Diff([]any{wantCode, want, ""}, []any{code, last, errOut}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestProbeExample checks the OKD verification manifest as the README tells users to: no
// finding, and on OpenShift none once the load-sctp-module MachineConfig is applied with it.
func TestProbeExample(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "check", "-f", "examples/probe")
	if code != 0 || errOut != "" {
		t.Errorf("exit code %d, stderr %q", code, errOut)
	}
	golden(t, "probe-example.txt", []byte(out))

	out, errOut, code = runCLI(t, "", "check", "-f", "examples/probe", "-f", "examples/seeds/okd-load-sctp-module.yaml", "--platform", "openshift")
	want := "checked 5 resources in 2 inputs: 0 denied (0 denials), 0 with warnings only (0 warnings)\n"
	if diff := cmp.Diff([]any{0, want, ""}, []any{code, out, errOut}); diff != "" {
		t.Errorf("openshift (-want +got):\n%s", diff)
	}
}
