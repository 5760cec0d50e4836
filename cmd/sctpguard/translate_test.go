package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTranslateCommand runs `sctpguard translate` on the seed manifests (golden YAML and
// JSON), on a denied example (listed as not synced, exit 1) and on bad input (exit 2).
func TestTranslateCommand(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "translate", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "translate-seeds.yaml", []byte(out))
	out, _, code = runCLI(t, "", "translate", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "--cluster-name", "prod", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	golden(t, "translate-lb.json", []byte(out))

	out, errOut, code = runCLI(t, "", "translate", "-f", "examples/broken/sctp-nodeportlocal.yaml", "--ako-values", "examples/ako/values-nodeportlocal.yaml", "-o", "json")
	if code != 1 {
		t.Errorf("frozen unit: exit %d, want 1", code)
	}
	golden(t, "translate-frozen.json", []byte(out))
	wantErr := "svc/default/server: not synced: [sctp-nodeportlocal] port 80/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
		"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
		"Run AKO in ClusterIP or NodePort mode for SCTP workloads, or expose this port over TCP or UDP; existing Avi objects left unchanged\n"
	if diff := cmp.Diff(wantErr, errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"translate", "-f", "examples/seeds"}, "error: AKO's clusterName is needed for the object names: pass --ako-values, --ako-configmap or --cluster-name\n"},
		{[]string{"translate", "-f", "examples/seeds", "--cluster-name", "c", "-o", "sarif"}, "error: output: Unsupported value: \"sarif\": supported values: \"yaml\", \"json\"\n"},
		{[]string{"translate", "-f", "-", "--cluster-name", "c"}, "-: standard input is empty: nothing was piped in (did the command before the pipe fail?)\n"},
	} {
		_, errOut, code := runCLI(t, "", tt.args...)
		if code != 2 || errOut != tt.wantErr {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", tt.args, code, errOut, tt.wantErr)
		}
	}
	_, errOut, code = runCLI(t, "kind: Service\nmetadata: {name: x}\nspec: {ports: [{port: eighty}]}\n", "translate", "-f", "-", "--cluster-name", "c")
	if code != 2 || errOut == "" {
		t.Errorf("bad input: exit %d, stderr %q; want 2 and the error", code, errOut)
	}
}
