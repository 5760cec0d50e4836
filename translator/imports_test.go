package translator_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestImports holds the package graph of the design: the translator depends on policy (its
// rules, settings and objects), never on check's command layer, on the Rego engine or on the
// webhook.
func TestImports(t *testing.T) {
	forbidden := []string{"github.com/sctpguard/sctpguard/policy/check", "github.com/sctpguard/sctpguard/policy/rego", "github.com/sctpguard/sctpguard/webhook"}
	for _, dir := range []string{".", "avi"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		for _, imp := range pkg.Imports {
			if slices.ContainsFunc(forbidden, func(f string) bool { return imp == f || strings.HasPrefix(imp, f+"/") }) {
				bad = append(bad, imp)
			}
		}
		if len(bad) > 0 {
			t.Errorf("translator/%s imports %v", dir, bad)
		}
	}
}
