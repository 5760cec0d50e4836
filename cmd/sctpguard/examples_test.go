package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files from the actual output (review the diff)")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(testdataDir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// testdataDir is absolute, because the example tests run from the repository root.
var testdataDir = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata")
}()

// runCLI runs the sctpguard command line in-process and returns its output and exit code.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestBrokenExamples runs the command written on the first line of each broken example,
// as the README tells users to, and compares the report with its golden file.
func TestBrokenExamples(t *testing.T) {
	t.Chdir("../..")
	files, err := filepath.Glob("examples/broken/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no broken examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			cmdline, ok := strings.CutPrefix(first, "# sctpguard ")
			if !ok {
				t.Fatalf("first line must be the command that shows the denial, got %q", first)
			}
			out, errOut, code := runCLI(t, "", strings.Fields(cmdline)...)
			if code != 1 || errOut != "" {
				t.Errorf("exit code %d (want 1), stderr %q", code, errOut)
			}
			// Each example shows the denial it is named after.
			rule := strings.TrimSuffix(filepath.Base(f), ".yaml")
			if !strings.Contains(out, "["+rule+"] ") {
				t.Errorf("output does not show [%s]:\n%s", rule, out)
			}
			golden(t, filepath.Join("examples", rule+".txt"), []byte(out))
		})
	}
}

// TestSeedExamples checks the seed manifests the project was founded on: no denial, and
// with --mutate not even a warning (the mutating webhook names the unnamed SCTP ports).
func TestSeedExamples(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "check", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml")
	if code != 0 || errOut != "" {
		t.Errorf("exit code %d, stderr %q", code, errOut)
	}
	golden(t, "seeds.txt", []byte(out))

	out, errOut, code = runCLI(t, "", "check", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml", "--mutate")
	if code != 0 {
		t.Errorf("--mutate: exit code %d, report:\n%s", code, errOut)
	}
	golden(t, "seeds-mutated.yaml", []byte(out))
	golden(t, "seeds-mutated.txt", []byte(errOut))

	// On OpenShift the seeds carry their own load-sctp-module MachineConfig.
	out, _, code = runCLI(t, "", "check", "-f", "examples/seeds", "--ako-values", "examples/ako/values.yaml", "--platform", "openshift")
	if code != 0 || strings.Contains(out, "sctp-openshift-module") {
		t.Errorf("openshift: exit code %d:\n%s", code, out)
	}
}
