package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func schemaGVK(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

func runtimeCPUs() int { return runtime.NumCPU() }

// processCPU is the user and system CPU time a process has used, from /proc (0 where there
// is none): the servers' CPU per request is a figure the shared machine's load moves much
// less than the latency.
func processCPU(pid int) time.Duration {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses and may hold spaces:
	// state is the first, utime the 12th and stime the 13th.
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc's times: 100 on every architecture Go
// runs Linux on.
const clockTicks = 100

// profile starts a CPU profile of the process in dir/NAME.cpu.pprof; the returned function
// stops it and writes the heap's profile to dir/NAME.heap.pprof. The names are the handler's
// with "+" made "-".
func profile(dir, which string) (func(), error) {
	name := filepath.Join(dir, strings.ReplaceAll(which, "+", "-"))
	cpu, err := os.Create(name + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		_ = cpu.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		heap, err := os.Create(name + ".heap.pprof")
		if err != nil {
			return
		}
		defer func() { _ = heap.Close() }()
		runtime.GC()
		_ = pprof.WriteHeapProfile(heap)
	}, nil
}

// runtimeStats are a server's garbage collection figures and the inventory changes it
// applied: totals as read from the server, or over a load step (since).
type runtimeStats struct {
	AllocBytes float64 `json:"allocBytes"` // heap bytes allocated
	Cycles     float64 `json:"cycles"`     // collections completed
	GCSeconds  float64 `json:"gcSeconds"`  // CPU spent collecting (marking, assists, pauses)
	LiveBytes  float64 `json:"liveBytes"`  // the heap marked live by the last collection
	Changes    float64 `json:"changes"`    // data.inventory changes applied (the churn)
}

var statsSamples = []string{"/gc/heap/allocs:bytes", "/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds", "/gc/heap/live:bytes"}

// stats answers the server's runtimeStats, for the generator to read before and after a step.
func stats(changes *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		samples := make([]metrics.Sample, len(statsSamples))
		for i, name := range statsSamples {
			samples[i].Name = name
		}
		metrics.Read(samples)
		value := func(s metrics.Sample) float64 {
			switch s.Value.Kind() {
			case metrics.KindUint64:
				return float64(s.Value.Uint64())
			case metrics.KindFloat64:
				return s.Value.Float64()
			}
			return 0
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(runtimeStats{AllocBytes: value(samples[0]), Cycles: value(samples[1]), GCSeconds: value(samples[2]), LiveBytes: value(samples[3]),
			Changes: float64(changes.Load())})
	}
}

// readStats reads a server's runtimeStats; zero when it cannot (the columns then say 0).
func readStats(client *http.Client, validateURL string) runtimeStats {
	var s runtimeStats
	resp, err := client.Get(strings.TrimSuffix(validateURL, "/validate") + "/stats")
	if err != nil {
		return s
	}
	defer func() { _ = resp.Body.Close() }()
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// since is what changed from before over n requests: allocation and GC CPU per request,
// collections and inventory changes in all, and the live heap at the end.
func (s runtimeStats) since(before runtimeStats, n int) runtimeStats {
	return runtimeStats{
		AllocBytes: (s.AllocBytes - before.AllocBytes) / float64(n),
		Cycles:     s.Cycles - before.Cycles,
		GCSeconds:  (s.GCSeconds - before.GCSeconds) / float64(n),
		LiveBytes:  s.LiveBytes,
		Changes:    s.Changes - before.Changes,
	}
}
