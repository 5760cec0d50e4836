// Package webhook serves sctpguard's policy engine as Kubernetes admission webhooks. It
// decodes AdmissionReviews, builds the policy.Review, calls the engine, and maps findings to
// an allow or a denial (every finding at once, with rule IDs and field paths), warnings, and
// mutations to JSON patches. It owns no rule. It also provides what the engine reads in the
// cluster: the inventory backed by the controller-runtime cache, and the AKO context followed
// from AKO's live ConfigMap.
package webhook
