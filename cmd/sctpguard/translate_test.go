package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/test/avisim"
)

// TestTranslateCommand runs `sctpguard translate` on the seed manifests (golden YAML and
// JSON), on a denied example (listed as not synced, exit 1) and on bad input (exit 2).
func TestTranslateCommand(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "translate", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml", "--sync-ako-class")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "translate-seeds.yaml", []byte(out))
	out, _, code = runCLI(t, "", "translate", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "--cluster-name", "prod", "-o", "json", "--sync-ako-class")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	golden(t, "translate-lb.json", []byte(out))

	out, errOut, code = runCLI(t, "", "translate", "-f", "examples/broken/sctp-nodeportlocal.yaml", "--ako-values", "examples/ako/values-nodeportlocal.yaml", "-o", "json", "--sync-ako-class")
	if code != 1 {
		t.Errorf("frozen unit: exit %d, want 1", code)
	}
	golden(t, "translate-frozen.json", []byte(out))
	wantErr := "svc/default/server: not synced: [sctp-nodeportlocal] port 80/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
		"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
		"Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP; existing Avi objects left unchanged\n"
	if diff := cmp.Diff(wantErr, errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}

	// Without --sync-ako-class, AKO's class is AKO's: the seeds, of AKO's class, give no unit.
	out, errOut, code = runCLI(t, "", "translate", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml")
	if code != 0 || errOut != "" || out != "units: []\n" {
		t.Errorf("AKO's class left to AKO: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"translate", "-f", "examples/seeds"}, "error: AKO's clusterName is needed for the object names: pass --ako-values, --ako-configmap or --cluster-name\n"},
		{[]string{"translate", "-f", "examples/seeds", "--cluster-name", "c", "-o", "sarif"}, "error: output: Unsupported value: \"sarif\": supported values: \"yaml\", \"json\"\n"},
		{[]string{"translate", "-f", "examples/seeds", "--cluster-name", "c", "--controller", "avi.example.com", "-o", "yaml"}, "error: output: Unsupported value: \"yaml\": supported values: \"text\", \"json\"\n"},
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

// TestTranslatePlanAgainstController runs `sctpguard translate --controller` against avisim,
// the Avi Controller's test double, holding a leftover pool of sctpguard's and a virtual
// service of AKO's: the plan (text and JSON, whole) creates the example's unit, deletes the
// leftover, leaves AKO's object out, and nothing is written to the controller.
func TestTranslatePlanAgainstController(t *testing.T) {
	t.Chdir("../..")
	sim := avisim.New(avisim.Options{})
	ts := sim.StartTLS()
	t.Cleanup(ts.Close)
	creds := t.TempDir()
	for name, value := range map[string][]byte{"username": []byte("admin"), "password": []byte("admin"), "certificateAuthorityData": avisim.CertPEM(ts)} {
		if err := os.WriteFile(filepath.Join(creds, name), value, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	markers := func(svc string) []any {
		return []any{map[string]any{"key": "clustername", "values": []any{"prod"}}, map[string]any{"key": "managed_by", "values": []any{"sctpguard-prod"}},
			map[string]any{"key": "Namespace", "values": []any{"telco"}}, map[string]any{"key": "ServiceName", "values": []any{svc}}}
	}
	for _, o := range []struct {
		typ string
		obj map[string]any
	}{
		{"pool", map[string]any{"name": "sctpguard.prod--telco-old-SCTP-2905", "created_by": "sctpguard-prod", "markers": markers("old")}},
		{"vsvip", map[string]any{"name": "prod--telco-diameter", "vip": []any{map[string]any{"vip_id": "0", "auto_allocate_ip": true}}}},
		{"virtualservice", map[string]any{"name": "prod--telco-diameter", "created_by": "ako-prod", "vsvip_ref": "/api/vsvip/?name=prod--telco-diameter",
			"services": []any{map[string]any{"port": 3868}}, "service_metadata": `{"namespace_svc_name":["team-b/diameter"]}`}},
	} {
		if _, err := sim.Preload("admin", o.typ, o.obj); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"translate", "-f", "examples/classes/sctpguard-class.yaml", "--cluster-name", "prod",
		"--controller", ts.Listener.Addr().String(), "--avi-credentials-dir", creds}
	out, errOut, code := runCLI(t, "", args...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "translate-plan.txt", []byte(out))
	out, errOut, code = runCLI(t, "", append(args, "-o", "json")...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "translate-plan.json", []byte(out))
	if diff := cmp.Diff([]avisim.Request(nil), sim.Writes()); diff != "" {
		t.Errorf("translate --controller wrote to the controller (-want +got):\n%s", diff)
	}
}
