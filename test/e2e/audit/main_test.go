package audit

import (
	"testing"

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
	cluster.Main(m, cluster.Suite{
		Name: "audit", Root: "../../..",
		Options: cluster.Options{Namespaces: namespaces, NoReplicas: true, OptOutLabel: optOutLabel},
	}, &cl, &skipReason)
}
