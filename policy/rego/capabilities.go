package rego

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// forbiddenBuiltin reports whether a builtin reaches outside the evaluation: the network
// (http.send, net.*) or the host and its environment (opa.runtime).
func forbiddenBuiltin(name string) bool {
	return name == "http.send" || strings.HasPrefix(name, "net.") || name == "opa.runtime"
}

// capabilities are OPA's, without the forbidden builtins: a policy calling one does not
// compile ("undefined function http.send").
func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	builtins := c.Builtins[:0]
	for _, b := range c.Builtins {
		if !forbiddenBuiltin(b.Name) {
			builtins = append(builtins, b)
		}
	}
	c.Builtins = builtins
	// No remote bundles, no network features.
	c.AllowNet = []string{}
	return c
}
