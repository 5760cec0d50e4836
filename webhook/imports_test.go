package webhook

import (
	"go/build"
	"slices"
	"testing"
)

// TestImports holds the package graph of the design: the webhook does not import the
// translator; cmd wires both, and both read AKO's settings from internal/akosettings.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(pkg.Imports, func(imp string) bool {
		return imp == "github.com/sctpguard/sctpguard/translator" || imp == "github.com/sctpguard/sctpguard/translator/avi"
	}) {
		t.Errorf("webhook imports the translator: %v", pkg.Imports)
	}
	if !slices.Contains(pkg.Imports, "github.com/sctpguard/sctpguard/internal/akosettings") {
		t.Errorf("webhook does not use the shared AKO settings follower: %v", pkg.Imports)
	}
}
