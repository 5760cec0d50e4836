// Package audit judges the objects already stored in the cluster, continuously, and writes
// what it finds as wgpolicyk8s.io/v1alpha2 PolicyReports: the objects created before
// sctpguard, while it was down or bypassed, and those a change of AKO's settings or of the
// user policies breaks after they were admitted.
//
// It follows Gatekeeper's audit (one replica lists the cached objects and judges them with
// the same constraints as admission) and Kyverno's background scan and reports controller
// (results kept as PolicyReports, re-judged when the resource or a policy changes, and at a
// resync period), with two differences. Work is kept to what changed: a workqueue keyed by
// object re-judges a changed object and the objects whose verdicts read it (the backends of
// a Gateway, the members of a shared VIP); only a change of AKO's settings or of the
// policies, and the resync, judge every object, once however many events came. And nothing
// is written from a wrong picture: while AKO's settings are not known or the user policies
// were refused, the reports are left as they are and the pause is visible (metric, Event,
// log) rather than filled with results that would be false.
//
// Judge, Relevant, Kinds and Stored are the pieces other parts reuse to judge stored objects
// under given settings (the guard on AKO's ConfigMap, check --cluster).
package audit
