// Package rego runs the platform team's own rules, written in Rego, beside sctpguard's
// built-in ones. It accepts plain Rego modules with conftest's conventions (deny, warn and
// violation rules, conftest exceptions) and Gatekeeper ConstraintTemplates with their
// constraints (Rego v0 unless the template declares v1, input.parameters, spec.match,
// enforcementAction), and gives every policy the same input: Gatekeeper's input.review, the
// object's own fields at the top of input for conftest policies, input.parameters, AKO's
// settings under data.sctpguard.context and related objects under data.inventory.
//
// A policy set is compiled once into prepared queries and evaluated per review under a
// deadline. Policies cannot reach the network or the host: the builtins that would
// (http.send, net.*, opa.runtime) are not available to them.
package rego
