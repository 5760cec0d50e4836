//go:build linux

package check_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy/check"
)

// TestOnlyRegularFiles: every file check reads (-f inputs, those found in -f directories,
// --ako-values, --ako-configmap, --config, --policy) is a regular file under the -f size
// limit, or refused at once with a message naming it; a named pipe or a device never makes
// check wait or grow.
func TestOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tree(t, dir, map[string]string{
		"deploy/good.yaml": clean,
		"policy/big.rego":  "package main\n\n" + strings.Repeat("# padding\n", 10),
		"big.yaml":         strings.Repeat("#", 200),
	})
	for _, p := range []string{"fifo.yaml", "deploy/fifo.yaml"} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		set  func(o *check.Options)
		want string
	}{
		{"a named pipe given to -f", func(o *check.Options) { o.Files = []string{"fifo.yaml"} },
			"checked 0 resources in 1 input: 0 denied (0 denials), 0 with warnings only (0 warnings), 1 unreadable input or document\n" +
				"error: fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{"a named pipe in a -f directory; the other files are checked", func(o *check.Options) { o.Files = []string{"deploy"} },
			"checked 1 resource in 2 inputs: 0 denied (0 denials), 0 with warnings only (0 warnings), 1 unreadable input or document\n" +
				"error: deploy/fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{"a device given to -f", func(o *check.Options) { o.Files = []string{"/dev/zero"} },
			"checked 0 resources in 1 input: 0 denied (0 denials), 0 with warnings only (0 warnings), 1 unreadable input or document\n" +
				"error: /dev/zero: not a regular file but a character device; only regular files are read\n"},
		{"--ako-values from a named pipe", func(o *check.Options) { o.AKOValues = "fifo.yaml" },
			"error: read AKO values: read fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{"--ako-values /dev/zero", func(o *check.Options) { o.AKOValues = "/dev/zero" },
			"error: read AKO values: read /dev/zero: not a regular file but a character device; only regular files are read\n"},
		{"--ako-values over the limit", func(o *check.Options) { o.AKOValues = "big.yaml" },
			"error: read AKO values: read big.yaml: file is 200 bytes, over the limit of 128 bytes; split it, or raise --max-file-size\n"},
		{"--ako-configmap from a named pipe", func(o *check.Options) { o.AKOConfigMap = "fifo.yaml" },
			"error: read AKO ConfigMap: read fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{"--config /dev/zero", func(o *check.Options) { o.ConfigFile = "/dev/zero" },
			"error: read rule configuration: read /dev/zero: not a regular file but a character device; only regular files are read\n"},
		{"--config from a named pipe", func(o *check.Options) { o.ConfigFile = "fifo.yaml" },
			"error: read rule configuration: read fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{"--config over the limit", func(o *check.Options) { o.ConfigFile = "big.yaml" },
			"error: read rule configuration: read big.yaml: file is 200 bytes, over the limit of 128 bytes; split it, or raise --max-file-size\n"},
		{"a --policy file over the limit", func(o *check.Options) { o.PolicyDirs = []string{"policy"} },
			"error: read policies: read policy/big.rego: file is 114 bytes, over the limit of 100 bytes; split it, or raise --max-file-size\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := check.NewOptions()
			o.Files = []string{"deploy/good.yaml"}
			o.MaxFileSize = 128
			if strings.Contains(tt.name, "--policy") {
				o.MaxFileSize = 100
			}
			tt.set(o)
			out, errOut := within(t, func() (string, string) {
				out, errOut, code := run(t, "", o)
				if code != check.ExitError {
					t.Errorf("exit code %d, want %d", code, check.ExitError)
				}
				return out, errOut
			})
			if diff := cmp.Diff(tt.want, out+errOut); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// within runs f and fails the test if it does not return in time: the bugs these tests
// guard against hang.
func within(t *testing.T, f func() (string, string)) (string, string) {
	t.Helper()
	type result struct{ out, err string }
	done := make(chan result, 1)
	go func() {
		out, err := f()
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("check did not return: it is waiting on an input")
		return "", ""
	}
}
