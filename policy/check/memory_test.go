package check

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestSoftLimit: the limit holds while the live heap fits under it, is lifted above the
// live heap once that passes it (instead of collecting without end), and is restored.
func TestSoftLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	beforePercent := debug.SetGCPercent(100)
	debug.SetGCPercent(beforePercent)
	stop := softLimit(64<<20, true)
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("limit %d, want %d", got, 64<<20)
	}
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Fatalf("GC percent %d under the limit, want %d", got, gcPercent)
	}
	live := make([][]byte, 0, 128)
	for range cap(live) {
		live = append(live, make([]byte, 1<<20)) // 128 MiB held
	}
	deadline := time.Now().Add(30 * time.Second)
	for debug.SetMemoryLimit(-1) < 128<<20*3/2 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // finalizers run after the collection
	}
	if got := debug.SetMemoryLimit(-1); got < 128<<20*3/2 {
		t.Errorf("limit %d MiB with 128 MiB live, want at least 192 MiB", got>>20)
	}
	runtime.KeepAlive(live)
	stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after stop, want %d", got, before)
	}
	if got := debug.SetGCPercent(beforePercent); got != beforePercent {
		t.Errorf("GC percent %d after stop, want %d", got, beforePercent)
	}
}
