package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPolicyTests runs `sctpguard test` on the example policies (all pass), on broken tests
// (exit 1, each failure said), and on a directory without tests (exit 2: a misconfigured
// test run must not pass silently).
func TestPolicyTests(t *testing.T) {
	t.Chdir("../..")
	out, errOut, code := runCLI(t, "", "test", "examples/policies")
	if code != 0 || errOut != "" {
		t.Errorf("exit code %d, stderr %q", code, errOut)
	}
	golden(t, "policy-tests.txt", []byte(out))

	dir := t.TempDir()
	for name, content := range map[string]string{
		"p.rego":      "package p\n\ndeny contains \"always\" if input.kind == \"Service\"\n",
		"p_test.rego": "package p_test\n\nimport data.p\n\ntest_never if {\n\tcount(p.deny) == 0 with input as {\"kind\": \"Service\"}\n}\n\ntest_always if {\n\tp.deny == {\"always\"} with input as {\"kind\": \"Service\"}\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	suiteDir := filepath.Join(dir, "suite")
	if err := os.MkdirAll(suiteDir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"template.yaml", "constraint.yaml", "samples/owned.yaml"} {
		data, err := os.ReadFile(filepath.Join("examples/policies/owner-label", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(suiteDir, f)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(suiteDir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(suiteDir, "suite.yaml"), []byte(`apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
tests:
- name: owners
  template: template.yaml
  constraint: constraint.yaml
  cases:
  - name: wrongly expects a violation
    object: samples/owned.yaml
    assertions:
    - violations: 1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = runCLI(t, "", "test", dir)
	want := "ok    p_test.test_always\n" +
		"FAIL  p_test.test_never\n      " + filepath.Join(dir, "p_test.rego") + ":5: failed\n" +
		"FAIL  " + filepath.Join(suiteDir, "suite.yaml") + " owners / wrongly expects a violation\n" +
		"      want 1 violations matching \"\", got 0: []\n" +
		"3 tests, 1 passed, 2 failed, 0 skipped\n"
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	_, errOut, code = runCLI(t, "", "test", t.TempDir())
	if code != 2 || errOut == "" {
		t.Errorf("an empty directory: exit code %d, stderr %q", code, errOut)
	}
}
