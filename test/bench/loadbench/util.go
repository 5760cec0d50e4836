package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
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
