package check

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// gcPercent is the collector's pace while the soft limit is in force: it collects when the
// heap has grown by twice the objects held, not once (Go's default, 100). The limit, not
// the pace, bounds memory; a check of 10,000 manifests collects less often for the same
// peak.
const gcPercent = 200

// softLimit sets the soft memory limit of a check to limit, and raises it after any
// collection that finds the objects the check holds (the live heap) near it: to half as
// much again as they take. While they fit, garbage is collected early and the heap stays
// under the limit, as in a small CI container; a limit near or under the live heap would
// only make the collector run without end and free little (a check of 100,000 Services in
// one file collected 160 times and spent three times the CPU). With pace, the collector
// runs at gcPercent meanwhile. stop restores the limit and the pace that were in force.
func softLimit(limit int64, pace bool) (stop func()) {
	prev := debug.SetMemoryLimit(limit)
	prevPercent := -2 // not changed
	if pace {
		prevPercent = debug.SetGCPercent(gcPercent)
	}
	var stopped atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		// A finalizer runs after the collection that found its object unreachable: a
		// hook on every collection. (The object holds a pointer: the finalizers of tiny
		// pointer-free objects may never run.)
		runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
			if stopped.Load() {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				live := int64(sample[0].Value.Uint64()) //nolint:gosec // heap sizes fit in int64
				if want := live + live/2; want > debug.SetMemoryLimit(-1) {
					debug.SetMemoryLimit(want)
				}
			}
			arm()
		})
	}
	arm()
	return func() {
		stopped.Store(true)
		debug.SetMemoryLimit(prev)
		if prevPercent != -2 {
			debug.SetGCPercent(prevPercent)
		}
	}
}

type sentinel struct{ _ *int }
