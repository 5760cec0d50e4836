// Package policy is sctpguard's policy engine: the review input, the AKO context, the
// built-in rules of the rule catalogue as pure functions over typed objects, the mutations,
// and the Inventory interface through which cross-object rules see related objects.
//
// The package does no I/O. The admission webhook, the offline `sctpguard check` command and
// the translator's re-check all call the same Engine with the same inputs, so a manifest is
// judged identically wherever it is judged; only the Inventory (the cluster's cache or the
// manifest set) and the Context (the live AKO ConfigMap or a values file) differ.
package policy
