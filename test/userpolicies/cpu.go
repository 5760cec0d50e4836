package userpolicies

import (
	"syscall"
	"testing"
	"time"
)

// ReportCPU starts measuring the CPU time of the whole process (every thread: the
// operation, the garbage collector, the scheduler's wake-ups) and returns the function that
// reports it per operation as cpu-ns/op, to be called after the benchmark's loop. On a
// shared machine the wall time per operation moves with the other processes' load, which
// delays the benchmark without adding to its work; the CPU time moves much less.
func ReportCPU(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
