//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOnlyRegularFiles: translate and test read their files as check does: a named pipe or
// a device is refused at once, a file over --max-file-size too, each naming the file.
func TestOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := syscall.Mkfifo("fifo.yaml", 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"svc.yaml":     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n",
		"suite/p.rego": "package p\n\ndeny contains \"x\" if false\n",
		"suite/suite.yaml": "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n" +
			"- name: t\n  template: ../fifo.yaml\n  constraint: ../fifo.yaml\n  cases: []\n",
		"big/p_test.rego": "package p_test\n\n" + strings.Repeat("# padding\n", 20) + "test_x if true\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"translate", "--cluster-name", "prod", "-f", "fifo.yaml"},
			"fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{[]string{"translate", "--cluster-name", "prod", "-f", "svc.yaml", "--ako-values", "/dev/zero"},
			"error: read AKO values: read /dev/zero: not a regular file but a character device; only regular files are read\n"},
		{[]string{"translate", "--cluster-name", "prod", "-f", "svc.yaml", "--config", "fifo.yaml"},
			"error: read rule configuration: read fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{[]string{"test", "suite"},
			"error: " + filepath.Join("suite", "suite.yaml") + ": read fifo.yaml: not a regular file but a named pipe; only regular files are read\n"},
		{[]string{"test", "big", "--max-file-size", "100"},
			"error: read big/p_test.rego: file is 231 bytes, over the limit of 100 bytes\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := runCLI(t, "", tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if diff := cmp.Diff(tt.want, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
