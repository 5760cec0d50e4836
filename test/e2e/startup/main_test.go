package startup

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/test/cluster"
)

var (
	skipReason string
	cl         *cluster.Cluster
)

func TestMain(m *testing.M) {
	cluster.Main(m, cluster.Suite{
		Name: "startup", Root: "../../..",
		Options: cluster.Options{
			Namespaces: []string{"sctpguard", "avi-system", "telco", "load"},
			NoReplicas: true, LateCRDs: true,
		},
	}, &cl, &skipReason)
}

// replica is a sctpguard serve process of one test, with its log.
type replica struct {
	*cluster.Replica
	log cluster.SyncBuffer
}

// startReplica starts a replica (not a platform sctpguard could take for OpenShift, so no
// module warning joins the answers) and stops it when the test ends, showing its log if the
// test failed.
func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	r := &replica{}
	var err error
	if r.Replica, err = cl.StartReplica(&r.log, append([]string{"--platform=none"}, args...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Stop()
		if t.Failed() {
			t.Logf("--- sctpguard serve log ---\n%s", r.log.String())
		}
	})
	return r
}

// serveFrom starts a replica, waits until it is ready and points the webhooks at it.
func serveFrom(t *testing.T, args ...string) *replica {
	t.Helper()
	r := startReplica(t, args...)
	if err := r.WaitReady(t.Context()); err != nil {
		t.Fatalf("%v\n--- log ---\n%s", err, r.log.String())
	}
	if err := cl.InstallWebhooks(t.Context(), r.WebhookURL, r.WebhookURL, cl.ServingCA()); err != nil {
		t.Fatal(err)
	}
	return r
}

// withTranslator starts avisim, the Avi Controller's test double, for the test and returns the
// flags that turn on a replica's translator against it.
func withTranslator(t *testing.T) (*avisim.Server, []string) {
	t.Helper()
	avi := avisim.New(avisim.Options{})
	ts, err := avi.ListenTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	creds := t.TempDir()
	if err := avisim.WriteCredentials(creds, ts); err != nil {
		t.Fatal(err)
	}
	return avi, []string{"--translator", "--avi-controller", ts.Listener.Addr().String(), "--avi-credentials-dir", creds, "--translator-slow-retry", "2s"}
}

// metric returns the samples of a metric family, one "name{labels} value" line each.
func metric(t *testing.T, r *replica, name string) []string {
	t.Helper()
	resp, err := http.Get(r.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}

// poll retries f until it succeeds or a minute passes.
func poll(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := cluster.Poll(t.Context(), time.Minute, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
