package check_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy/check"
)

// TestCRLF: a file edited on Windows is split where kubectl splits it. A comment padding
// the end of the first document hid the second from check (1 resource, exit 0) while
// kubectl applied both and the cluster denied the hidden one; a ConfigMap and a Service
// were "document is a scalar".
func TestCRLF(t *testing.T) {
	hidden := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: decoy, namespace: telco}\n" + strings.Repeat("# padding\n", 40) +
		"---\n" + sctpLB
	for _, tt := range []struct {
		name, stdin, want string
		code              int
	}{
		{"a ConfigMap and a Service", strings.ReplaceAll("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: telco\ndata:\n  x: \"1\"\n---\n"+clean, "\n", "\r\n"),
			"checked 2 resources in 1 input: 0 denied (0 denials), 0 with warnings only (0 warnings)\n", check.ExitClean},
		{"a document hidden behind a padded comment", strings.ReplaceAll(hidden, "\n", "\r\n"),
			"-:52: Service telco/amf: spec.ClusterIP: [unknown-field] warning: unknown field \"spec.ClusterIP\"\n" +
				"-:56: Service telco/amf: spec.ports[0].protocol: [sctp-nodeportlocal] port 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. Run AKO in ClusterIP or NodePort mode for SCTP workloads, or expose this port over TCP or UDP\n" +
				"checked 2 resources in 1 input: 1 denied (1 denial), 0 with warnings only (1 warning)\n", check.ExitDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := check.NewOptions()
			o.Files = []string{"-"}
			o.AKOServiceType = "NodePortLocal"
			out, errOut, code := run(t, tt.stdin, o)
			if code != tt.code || errOut != "" {
				t.Errorf("exit code %d, stderr %q; want %d and nothing", code, errOut, tt.code)
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}
