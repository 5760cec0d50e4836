package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// startTimeout bounds a suite's start: the control plane, CRDs, namespaces and sctpguard.
const startTimeout = 2 * time.Minute

// Suite is the cluster one test package runs against; its TestMain hands it to Main.
type Suite struct {
	// Name prefixes what Main prints ("audit: start: …").
	Name string
	// Root is the repository's root relative to the test package's directory ("../..").
	Root string
	// Options say what to start; Main fills in Repo, Assets and Sctpguard from the
	// environment (FromEnv).
	Options Options
	// Setup, when not nil, runs before the start with the filled-in Options and may change
	// them; the cleanup it returns (may be nil) runs after the tests.
	Setup func(o *Options) (cleanup func(), err error)
	// Log, when not nil, receives sctpguard's output (Options.Log) and is shown when the
	// start or a test fails.
	Log *SyncBuffer
}

// Main is a test package's TestMain: it starts the suite's cluster into *c, runs the tests,
// stops the cluster and exits with the tests' code. Where the control plane is not available
// it sets *skip to the reason and runs the tests, each of which skips stating it (Skip).
// Main does not return.
func Main(m *testing.M, s Suite, c **Cluster, skip *string) {
	os.Exit(run(m, s, c, skip))
}

// run is Main up to the exit, so that deferred cleanups run.
func run(m *testing.M, s Suite, c **Cluster, skip *string) int {
	o := s.Options
	if o.Assets, o.Repo, o.Sctpguard, *skip = FromEnv(s.Root); *skip != "" {
		return m.Run()
	}
	if s.Log != nil {
		o.Log = s.Log
	}
	if s.Setup != nil {
		cleanup, err := s.Setup(&o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: set up: %v\n", s.Name, err)
			return 1
		}
		if cleanup != nil {
			defer cleanup()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	started, err := Start(ctx, o)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: start: %v\n%s", s.Name, err, s.log())
		return 1
	}
	defer started.Stop()
	*c = started
	code := m.Run()
	if code != 0 {
		fmt.Fprint(os.Stderr, s.log())
	}
	return code
}

// log is sctpguard's output under a heading, or nothing when the suite keeps none.
func (s Suite) log() string {
	if s.Log == nil {
		return ""
	}
	return fmt.Sprintf("--- sctpguard serve log ---\n%s\n", s.Log.String())
}
