// Command checkbench measures `sctpguard check` over a generated manifest set side by side
// with the bare YAML parse of the same files (the floor) and with conftest running an
// equivalent Rego rule, all in the same run, and prints throughput, CPU use and peak memory.
// Then it measures the largest single inputs (a ConfigMap of 30,000 and of 300,000 keys,
// 100,000 Services in one file) against kubectl's own reader of the same file.
//
//	go run ./test/bench/checkbench -sctpguard bin/sctpguard -parsefloor bin/parsefloor -conftest bin/conftest
//
// With -baseline, another sctpguard binary (one built from main, say) is measured beside it
// in the same rounds, on the manifest set and on the largest inputs.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/test/bench/manifests"
)

// regoPolicy is sctp-nodeportlocal written for conftest: with AKO in NodePortLocal mode,
// deny SCTP ports of AKO LoadBalancers and Gateway backends, and SCTP Gateway listeners.
const regoPolicy = `package main

import rego.v1

ako_service if input.spec.type == "LoadBalancer"

ako_service if input.metadata.labels["ako.vmware.com/gateway-name"]

deny contains msg if {
	input.kind == "Service"
	ako_service
	some i
	input.spec.ports[i].protocol == "SCTP"
	msg := sprintf("%s/%s: spec.ports[%d].protocol: SCTP is not supported in AKO NodePortLocal mode", [input.metadata.namespace, input.metadata.name, i])
}

deny contains msg if {
	input.kind == "Gateway"
	some i
	input.spec.listeners[i].protocol == "SCTP"
	msg := sprintf("%s/%s: spec.listeners[%d].protocol: SCTP is not supported in AKO NodePortLocal mode", [input.metadata.namespace, input.metadata.name, i])
}
`

// tool is one command measured: its name, command line and expected exit code.
type tool struct {
	name string
	args []string
	ok   func(code int) bool
}

type result struct {
	wall   time.Duration
	cpu    time.Duration
	maxRSS int64 // bytes
}

func main() {
	files := flag.Int("files", 100, "files to generate")
	docs := flag.Int("docs", 100, "documents per file")
	runs := flag.Int("runs", 3, "runs of each tool; the median is reported")
	largeRuns := flag.Int("large-runs", 3, "runs of each tool on each of the largest inputs (0: skip them)")
	sctpguard := flag.String("sctpguard", "bin/sctpguard", "sctpguard binary")
	floor := flag.String("parsefloor", "bin/parsefloor", "parse floor binary")
	conftest := flag.String("conftest", "", "conftest binary (skipped with a note when empty)")
	baseline := flag.String("baseline", "", "another sctpguard binary (say, built from main) to measure beside -sctpguard (none when empty)")
	flag.Parse()
	if err := run(*files, *docs, *runs, *largeRuns, *sctpguard, *floor, *conftest, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "checkbench:", err)
		os.Exit(1)
	}
}

func run(files, docs, runs, largeRuns int, sctpguard, floor, conftest, baseline string) error {
	dir, err := os.MkdirTemp("", "checkbench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	data := filepath.Join(dir, "manifests")
	policy := filepath.Join(dir, "policy")
	for _, d := range []string{data, policy} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	paths, err := manifests.Write(data, files, docs)
	if err != nil {
		return err
	}
	class := filepath.Join(data, "gatewayclass.yaml")
	if err := os.WriteFile(class, []byte(manifests.GatewayClass), 0o600); err != nil {
		return err
	}
	paths = append(paths, class)
	if err := os.WriteFile(filepath.Join(policy, "sctp.rego"), []byte(regoPolicy), 0o600); err != nil {
		return err
	}
	resources := files*docs + 1

	tools := []tool{
		{"yaml.v3 parse (floor)", append([]string{floor}, paths...), func(c int) bool { return c == 0 }},
		{"sctpguard check", append([]string{sctpguard, "check", "-o", "json", "--ako-service-type", "NodePortLocal", "--ako-services-api", "-f"}, data),
			func(c int) bool { return c == 1 }},
		// The same check with conftest's policy loaded as a user policy: every built-in rule
		// plus the same Rego conftest runs.
		{"sctpguard check +rego", append([]string{sctpguard, "check", "-o", "json", "--ako-service-type", "NodePortLocal", "--ako-services-api", "--policy", policy, "-f"}, data),
			func(c int) bool { return c == 1 }},
	}
	if conftest != "" {
		tools = append(tools, tool{toolName(conftest), append([]string{conftest, "test", "--no-color", "-o", "json", "-p", policy}, paths...),
			func(c int) bool { return c == 1 }})
	}
	var conftestArgs []string
	if conftest != "" {
		conftestArgs = tools[3].args
	}
	if baseline != "" {
		// The same two checks by the baseline binary.
		for _, t := range tools[1:3] {
			args := append([]string{baseline}, t.args[1:]...)
			tools = append(tools, tool{"baseline " + strings.TrimPrefix(t.name, "sctpguard "), args, t.ok})
		}
	}
	if err := sameVerdicts(tools[1].args, tools[2].args, conftestArgs); err != nil {
		return err
	}

	fmt.Printf("check over %d manifests (%d files x %d documents + GatewayClass), median of %d rounds of every tool, %d CPUs\n\n",
		resources, files, docs, runs, runtime.NumCPU())
	fmt.Printf("%-24s %14s %10s %9s %10s\n", "tool", "resources/s", "wall", "cpu/wall", "peak RSS")
	medians, err := measureRounds(tools, runs)
	if err != nil {
		return err
	}
	for _, t := range tools {
		m := medians[t.name]
		fmt.Printf("%-24s %14.0f %10s %9.2f %8.0fMB\n", t.name, float64(resources)/m.wall.Seconds(),
			m.wall.Round(time.Millisecond), m.cpu.Seconds()/m.wall.Seconds(), float64(m.maxRSS)/(1<<20))
	}
	fl, sg, sr := medians[tools[0].name], medians[tools[1].name], medians[tools[2].name]
	fmt.Printf("\nsctpguard check takes %.2fx the parse floor's time", sg.wall.Seconds()/fl.wall.Seconds())
	if conftest != "" {
		ct := medians[tools[3].name]
		fmt.Printf("; its throughput is %.1fx conftest's, with %.2fx the memory\n", ct.wall.Seconds()/sg.wall.Seconds(), float64(sg.maxRSS)/float64(ct.maxRSS))
		fmt.Printf("with conftest's Rego policy loaded too, its throughput is %.1fx conftest's, with %.2fx the memory", ct.wall.Seconds()/sr.wall.Seconds(), float64(sr.maxRSS)/float64(ct.maxRSS))
	}
	fmt.Println()
	if baseline != "" {
		bg, br := medians["baseline check"], medians["baseline check +rego"]
		fmt.Printf("sctpguard check / baseline check: %.2fx the wall time, %.2fx the CPU, %.2fx the peak memory; with the Rego policy %.2fx, %.2fx, %.2fx\n",
			sg.wall.Seconds()/bg.wall.Seconds(), sg.cpu.Seconds()/bg.cpu.Seconds(), float64(sg.maxRSS)/float64(bg.maxRSS),
			sr.wall.Seconds()/br.wall.Seconds(), sr.cpu.Seconds()/br.cpu.Seconds(), float64(sr.maxRSS)/float64(br.maxRSS))
	}
	if largeRuns <= 0 {
		return nil
	}
	return large(dir, largeRuns, sctpguard, floor, baseline)
}

// measureRounds runs every tool once per round, in an order that alternates so that a slow
// spell of a shared machine hits them all alike, and returns each tool's median wall and
// CPU time (of the run of median wall time) and its highest peak memory.
func measureRounds(tools []tool, runs int) (map[string]result, error) {
	all := map[string][]result{}
	for round := range runs {
		order := slices.Clone(tools)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			r, code, err := measure(t.args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			if !t.ok(code) {
				return nil, fmt.Errorf("%s: unexpected exit code %d", t.name, code)
			}
			all[t.name] = append(all[t.name], r)
		}
	}
	medians := map[string]result{}
	for name, rs := range all {
		slices.SortFunc(rs, func(a, b result) int { return int(a.wall - b.wall) })
		m := rs[len(rs)/2]
		m.maxRSS = slices.MaxFunc(rs, func(a, b result) int { return int(a.maxRSS - b.maxRSS) }).maxRSS
		medians[name] = m
	}
	return medians, nil
}

// large measures the largest single inputs — one ConfigMap of 30,000 and of 300,000 keys,
// and 100,000 Services in one file — read by sctpguard check, by kubectl's reader (what
// `kubectl apply -f` does with the file before it talks to the API server, holding every
// object as kubectl does) and by the bare parse, side by side, and prints sctpguard's cost
// as ratios to kubectl's, and to a baseline sctpguard when one is given.
func large(dir string, runs int, sctpguard, floor, baseline string) error {
	inputs := []struct {
		name  string
		write func(path string) error
	}{
		{"ConfigMap of 30,000 keys", func(p string) error { return manifests.WriteConfigMap(p, 30000) }},
		{"ConfigMap of 300,000 keys", func(p string) error { return manifests.WriteConfigMap(p, 300000) }},
		{"100,000 Services in one file", func(p string) error { return manifests.WriteServices(p, 100000) }},
	}
	fmt.Printf("\nlargest inputs, one file each, median of %d runs\n", runs)
	for i, in := range inputs {
		path := filepath.Join(dir, fmt.Sprintf("large-%d.yaml", i))
		if err := in.write(path); err != nil {
			return err
		}
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		zero := func(c int) bool { return c == 0 }
		tools := []tool{
			{"yaml.v3 parse (floor)", []string{floor, path}, zero},
			{"kubectl's reader", []string{floor, "-kubectl", path}, zero},
			// Denials or not, the run is measured: exit 0 or 1.
			{"sctpguard check", []string{sctpguard, "check", "-o", "json", "-f", path}, func(c int) bool { return c <= 1 }},
		}
		if baseline != "" {
			tools = append(tools, tool{"baseline check", []string{baseline, "check", "-o", "json", "-f", path}, tools[2].ok})
		}
		fmt.Printf("\n%s, %.1f MB\n%-24s %10s %10s %10s\n", in.name, float64(info.Size())/1e6, "tool", "wall", "cpu", "peak RSS")
		medians, err := measureRounds(tools, runs)
		if err != nil {
			return err
		}
		ms := make([]result, len(tools))
		for j, t := range tools {
			ms[j] = medians[t.name]
			fmt.Printf("%-24s %10s %10s %8.0fMB\n", t.name, ms[j].wall.Round(time.Millisecond),
				ms[j].cpu.Round(time.Millisecond), float64(ms[j].maxRSS)/(1<<20))
		}
		kube, check := ms[1], ms[2]
		fmt.Printf("sctpguard check / kubectl's reader: %.2fx the wall time, %.2fx the CPU, %.2fx the peak memory\n",
			check.wall.Seconds()/kube.wall.Seconds(), check.cpu.Seconds()/kube.cpu.Seconds(), float64(check.maxRSS)/float64(kube.maxRSS))
		if baseline != "" {
			base := ms[3]
			fmt.Printf("sctpguard check / baseline check: %.2fx the wall time, %.2fx the CPU, %.2fx the peak memory\n",
				check.wall.Seconds()/base.wall.Seconds(), check.cpu.Seconds()/base.cpu.Seconds(), float64(check.maxRSS)/float64(base.maxRSS))
		}
	}
	return nil
}

// measure runs a command and returns its wall time, CPU time and peak resident memory.
func measure(args []string) (result, int, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = nil, nil
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return result{}, 0, err
		}
		code = ee.ExitCode()
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := result{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru != nil {
		r.maxRSS = ru.Maxrss * 1024
	}
	return r, code, nil
}

// sameVerdicts checks that the checkers agree: as many conftest failures as sctpguard
// sctp-nodeportlocal denials, and as many as the Rego policy gives inside sctpguard.
// Otherwise the comparison would not be fair.
func sameVerdicts(checkArgs, checkRegoArgs, conftestArgs []string) error {
	count := func(args []string, rule string) (int, error) {
		out, _ := exec.Command(args[0], args[1:]...).Output()
		var rep struct {
			Findings []struct{ Rule string }
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			return 0, fmt.Errorf("sctpguard check output: %w", err)
		}
		n := 0
		for _, f := range rep.Findings {
			if f.Rule == rule {
				n++
			}
		}
		return n, nil
	}
	want, err := count(checkArgs, "sctp-nodeportlocal")
	if err != nil {
		return err
	}
	if want == 0 {
		return fmt.Errorf("sctpguard found no sctp-nodeportlocal denials; the generated set is wrong")
	}
	got, err := count(checkRegoArgs, "main/deny")
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the Rego policy inside sctpguard gives %d denials, the built-in rule %d", got, want)
	}
	if conftestArgs == nil {
		return nil
	}
	out, _ := exec.Command(conftestArgs[0], conftestArgs[1:]...).Output()
	var results []struct {
		Failures []json.RawMessage `json:"failures"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &results); err != nil {
		return fmt.Errorf("conftest output: %w", err)
	}
	got = 0
	for _, r := range results {
		got += len(r.Failures)
	}
	if got != want {
		return fmt.Errorf("conftest reports %d failures, sctpguard %d sctp-nodeportlocal denials: the rules are not equivalent", got, want)
	}
	fmt.Printf("equivalent rule verified: %d SCTP denials from each of sctpguard's rule, the Rego policy in sctpguard, and conftest\n", want)
	return nil
}

// toolName names a tool by the folder the Makefile installs it in (bin/tools/conftest-v0.71.1):
// binaries built with go install report no version of their own.
func toolName(bin string) string {
	if dir := filepath.Base(filepath.Dir(bin)); strings.HasPrefix(dir, "conftest-") {
		return strings.Replace(dir, "-", " ", 1)
	}
	return "conftest"
}
