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
	cl = &testCluster{avi: avisim.New(avisim.Options{})}
	cluster.Main(m, cluster.Suite{
		Name: "e2e", Root: "../..", Log: &cl.log,
		Options: cluster.Options{Namespaces: namespaces},
		Setup:   cl.withTranslator,
	}, &cl.Cluster, &skipReason)
}

// withTranslator serves avisim over TLS and turns on sctpguard's translator against it.
func (c *testCluster) withTranslator(o *cluster.Options) (func(), error) {
	c.bin = o.Sctpguard
	aviServer, err := c.avi.ListenTLS("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start avisim: %w", err)
	}
	creds, err := os.MkdirTemp("", "sctpguard-avi")
	if err == nil {
		err = avisim.WriteCredentials(creds, aviServer)
	}
	cleanup := func() {
		aviServer.Close()
		if creds != "" {
			_ = os.RemoveAll(creds)
		}
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	o.ServeArgs = append(o.ServeArgs, "--translator", "--avi-controller", aviServer.Listener.Addr().String(),
		"--avi-credentials-dir", creds, "--translator-slow-retry", "2s")
	return cleanup, nil
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
