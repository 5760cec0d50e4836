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
// through its webhooks.
var namespaces = []string{"sctpguard", "avi-system", "legacy", "ran", "core"}

func TestMain(m *testing.M) {
	cluster.Main(m, cluster.Suite{
		Name: "audit", Root: "../../..",
		Options: cluster.Options{Namespaces: namespaces, NoReplicas: true},
	}, &cl, &skipReason)
}
