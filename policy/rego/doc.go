// Package rego runs the platform team's own rules, written in Rego, beside sctpguard's
// built-in ones. It accepts plain Rego modules judged as conftest judges them (deny, warn and
// violation rules of a package over any number of files, sets or whole values, exceptions,
// data documents, Rego v0 or v1) and Gatekeeper ConstraintTemplates with their constraints
// (Rego v0 unless the template declares v1, input.parameters, spec.match,
// enforcementAction), and gives every policy the same input: Gatekeeper's input.review, the
// object's own fields at the top of input for conftest policies, input.parameters, AKO's
// settings under data.sctpguard.context and related objects under data.inventory, exactly as
// the inventory holds them at the review.
//
// A policy set is compiled once into prepared queries; a review evaluates the rules that can
// judge its kind and the constraints that match it in one query, under a deadline. Policies
// cannot reach the network or the host: the builtins that would (http.send, net.*,
// opa.runtime) are not available to them.
package rego
