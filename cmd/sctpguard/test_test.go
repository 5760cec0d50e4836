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

// TestPolicyTestOptions: --run selects a case by the name test prints; a Rego v0 file in
// the tree fails the unit tests with a hint, and leaves the suites beside it to run;
// --rego-version v0 runs v0 unit tests, with --data documents.
func TestPolicyTestOptions(t *testing.T) {
	t.Chdir("../..")
	expect := func(what string, wantCode int, want string, args ...string) {
		t.Helper()
		out, _, code := runCLI(t, "", append([]string{"test"}, args...)...)
		if code != wantCode {
			t.Errorf("%s: exit code %d, want %d", what, code, wantCode)
		}
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", what, diff)
		}
	}
	expect("--run a case", 0, "ok    examples/policies/telco-namespaces/suite.yaml sctp-only-in-telco-namespaces / SCTP in another namespace\n"+
		"1 tests, 1 passed, 0 failed, 0 skipped\n",
		"examples/policies", "--run", "sctp-only-in-telco-namespaces / SCTP in another namespace")

	dir := t.TempDir()
	for name, content := range map[string]string{
		"v0/ports.rego":      "package ports\n\nreserved[p] {\n\tp := data.reserved[_]\n}\n\ndeny[msg] {\n\tinput.spec.ports[_].port == reserved[_]\n\tmsg := \"reserved port\"\n}\n",
		"v0/ports_test.rego": "package ports\n\ntest_reserved {\n\tdeny[\"reserved port\"] with input as {\"spec\": {\"ports\": [{\"port\": 3868}]}}\n}\n\ntest_free {\n\tcount(deny) == 0 with input as {\"spec\": {\"ports\": [{\"port\": 80}]}}\n}\n",
		"data/reserved.json": `{"reserved": [3868]}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "owner-label"), os.DirFS("examples/policies/owner-label")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "v0/ports.rego")
	want := "FAIL  Rego unit tests in " + dir + "\n" +
		"      do not load:\n" +
		"      " + file + ":3: `if` keyword is required before rule body\n" +
		"      " + file + ":3: `contains` keyword is required for partial set rules\n" +
		"      " + file + ":7: `if` keyword is required before rule body\n" +
		"      " + file + ":7: `contains` keyword is required for partial set rules\n" +
		"      " + file + ": this looks like Rego v0; read v0 modules with --rego-version v0, or add `import rego.v1` and move them to v1\n" +
		"      " + filepath.Join(dir, "v0/ports_test.rego") + ":3: `if` keyword is required before rule body\n" +
		"      " + filepath.Join(dir, "v0/ports_test.rego") + ":7: `if` keyword is required before rule body\n" +
		"      " + filepath.Join(dir, "v0/ports_test.rego") + ": this looks like Rego v0; read v0 modules with --rego-version v0, or add `import rego.v1` and move them to v1\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " sctp-services-have-owners / owned SCTP Service\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " sctp-services-have-owners / SCTP Service without owner\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " the schema rejects a constraint whose labels are not a list\n" +
		"4 tests, 3 passed, 1 failed, 0 skipped\n"
	expect("a v0 file read as v1", 1, want, dir)

	want = "ok    ports.test_free\nok    ports.test_reserved\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " sctp-services-have-owners / owned SCTP Service\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " sctp-services-have-owners / SCTP Service without owner\n" +
		"ok    " + filepath.Join(dir, "owner-label/suite.yaml") + " the schema rejects a constraint whose labels are not a list\n" +
		"5 tests, 5 passed, 0 failed, 0 skipped\n"
	expect("--rego-version v0", 0, want, dir, "--rego-version", "v0", "--data", filepath.Join(dir, "data"))

	// A builtin error leaves the call undefined, as in opa test, unless asked for.
	bdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bdir, "b_test.rego"), []byte("package b\n\nf(x) := object.get(x, \"a\", 1)\n\ntest_null if not f(input.x) with input as {\"x\": null}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect("builtin error, by default", 0, "ok    b.test_null\n1 tests, 1 passed, 0 failed, 0 skipped\n", bdir)
	expect("builtin error, --show-builtin-errors", 1, "FAIL  b.test_null\n      "+filepath.Join(bdir, "b_test.rego")+":5: error: "+
		filepath.Join(bdir, "b_test.rego")+":3: eval_type_error: object.get: operand 1 must be object but got null\n1 tests, 0 passed, 1 failed, 0 skipped\n",
		bdir, "--show-builtin-errors")
}
