// Package bench holds sctpguard's benchmark tooling: a deterministic generator of large
// manifest sets, and drivers that measure sctpguard against its peers in the same run.
package bench
