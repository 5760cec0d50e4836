package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/test/cluster"
)

// skipReason is why the tests cannot run here; empty when they can.
var skipReason string

// cl is the cluster every test uses.
var cl *testCluster

// testCluster adds the serve log and the Avi Controller test double to a cluster.
type testCluster struct {
	*cluster.Cluster
	log cluster.SyncBuffer
	// avi is avisim, the test double of the Avi Controller the translator syncs to.
	avi *avisim.Server
	// bin is the sctpguard binary.
	bin string
}

// namespaces the tests and the examples use.
var namespaces = []string{"sctpguard", "avi-system", "svcapi", "telco", "voice", "myapp", "gw-first", "svc-first", "conflict-a", "conflict-b", "dryrun", "ran", "web", "gwapi", "ratchet", "big", "status", "race", "telco-voice", "classes"}

func TestMain(m *testing.M) {
	var assets, repo, bin string
	if assets, repo, bin, skipReason = cluster.FromEnv("../.."); skipReason != "" {
		os.Exit(m.Run())
	}
	cl = &testCluster{avi: avisim.New(avisim.Options{}), bin: bin}
	aviServer, err := cl.avi.ListenTLS("127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start avisim: %v\n", err)
		os.Exit(1)
	}
	creds, err := os.MkdirTemp("", "sctpguard-avi")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	// Removed explicitly below: os.Exit skips deferred calls.
	if err := avisim.WriteCredentials(creds, aviServer); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := cluster.Start(ctx, cluster.Options{
		Repo: repo, Assets: assets, Sctpguard: bin, Namespaces: namespaces, Log: &cl.log,
		ServeArgs: []string{"--translator", "--avi-controller", aviServer.Listener.Addr().String(), "--avi-credentials-dir", creds,
			"--translator-slow-retry", "2s"},
	})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start: %v\n--- sctpguard serve log ---\n%s\n", err, cl.log.String())
		os.Exit(1)
	}
	cl.Cluster = c
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- sctpguard serve log ---\n%s\n", cl.log.String())
	}
	c.Stop()
	aviServer.Close()
	_ = os.RemoveAll(creds)
	os.Exit(code)
}

// requireCluster skips a test, with the reason, where the control plane is not available.
func requireCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// kubectl runs kubectl against the test cluster.
func (c *testCluster) kubectl(stdin string, args ...string) (string, string, int) {
	return c.Kubectl(stdin, args...)
}

func (c *testCluster) httpClient() *http.Client { return c.HTTPClient() }

func poll(ctx context.Context, f func() error) error { return cluster.Poll(ctx, time.Minute, f) }
