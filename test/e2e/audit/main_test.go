package audit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/test/cluster"
)

var (
	skipReason string
	cl         *cluster.Cluster
)

// namespaces: legacy holds what was stored before sctpguard; ran and core what is applied
// through its webhooks; lab opts out, with optOutLabel.
var namespaces = []string{"sctpguard", "avi-system", "legacy", "ran", "core", "lab"}

// optOutLabel is an opt-out label of the operator's own (the chart's webhook.optOutLabel),
// in the webhook configurations and sctpguard's flags.
const optOutLabel = "example.com/no-sctpguard"

func TestMain(m *testing.M) {
	var assets, repo, bin string
	if assets, repo, bin, skipReason = cluster.FromEnv("../../.."); skipReason != "" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := cluster.Start(ctx, cluster.Options{
		Repo: repo, Assets: assets, Sctpguard: bin, Namespaces: namespaces, NoReplicas: true, OptOutLabel: optOutLabel,
	})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "audit: start: %v\n", err)
		os.Exit(1)
	}
	cl = c
	code := m.Run()
	c.Stop()
	os.Exit(code)
}
