package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/test/cluster"
)

// setAKO writes AKO's avi-k8s-config ConfigMap as AKO's chart would; nil deletes it.
func setAKO(t *testing.T, data map[string]string) {
	t.Helper()
	if err := cl.SetAKO(t.Context(), data); err != nil {
		t.Fatal(err)
	}
}

// clusterIPMode is AKO in ClusterIP mode with the services API on: SCTP works.
var clusterIPMode = map[string]string{"serviceType": "ClusterIP", "servicesAPI": "true", "defaultLBController": "true", "clusterName": "e2e", "cniPlugin": "antrea"}

// nodePortLocalMode is AKO in NodePortLocal mode: SCTP does not.
var nodePortLocalMode = map[string]string{"serviceType": "NodePortLocal", "servicesAPI": "true", "defaultLBController": "true", "clusterName": "e2e", "cniPlugin": "antrea"}

// waitVerdict waits until a server-side dry run of manifest is denied by rule (or allowed
// when rule is ""): the webhook follows the ConfigMap asynchronously, without a restart.
func waitVerdict(t *testing.T, manifest, rule string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := poll(ctx, func() error {
		_, stderr, code := cl.kubectl(manifest, "apply", "--dry-run=server", "-f", "-")
		denied := code != 0 && strings.Contains(stderr, "["+rule+"]")
		if (rule == "" && code == 0) || (rule != "" && denied) {
			return nil
		}
		return errVerdict(stderr)
	})
	if err != nil {
		t.Fatalf("verdict %q never came: %v", rule, err)
	}
}

type errVerdict string

func (e errVerdict) Error() string { return string(e) }

// apply runs kubectl apply and compares exit code, standard output and standard error.
func apply(t *testing.T, manifest string, wantCode int, wantOut, wantErr string, args ...string) {
	t.Helper()
	out, errOut, code := cl.kubectl(manifest, append([]string{"apply", "-f", "-"}, args...)...)
	check(t, code, out, errOut, wantCode, wantOut, wantErr)
}

func check(t *testing.T, code int, out, errOut string, wantCode int, wantOut, wantErr string) {
	t.Helper()
	cluster.CheckRun(t, code, out, errOut, wantCode, wantOut, wantErr)
}

// denied is the text kubectl prints when sctpguard's validating webhook for resource denies
// the creation of an object read from standard input.
func denied(resource string, findings ...string) string {
	return `Error from server (Forbidden): error when creating "STDIN": admission webhook "` + resource +
		`.validate.sctpguard.io" denied the request: ` + strings.Join(findings, "\n") + "\n"
}
