package main

import "testing"

// TestRun runs the benchmark at a small size, so that `make test` finds it broken (a
// translator change that leaves its Services unsynced, say) rather than the next `make bench`:
// run fails when the converge writes fewer than 4 objects per Service, when a unit is out of
// scope or skipped, or when a change does not write its pool.
func TestRun(t *testing.T) {
	if err := run(20, 5, 2); err != nil {
		t.Fatal(err)
	}
}
