// Package probe is `sctpguard probe`: an SCTP connectivity check that replaces the OKD
// verification procedure's `nc --sctp` pods. `probe listen` accepts associations, logs
// them and, with --echo, sends every message back; `probe connect` sets up an association,
// sends a message --count times, checks each echo and reports round-trip times as text or
// JSON (schema SchemaConnect).
//
// Before any socket, the kernel is checked passively (Kernel, FSKernel): /proc/net/sctp,
// /sys/module/sctp, /proc/modules, the module tree and the modprobe blacklist. Opening an
// SCTP socket would make the kernel load sctp.ko, so without --allow-module-load a probe
// on a host where SCTP is not registered stops there with ExitKernelUnavailable.
//
// github.com/ishidawataru/sctp has no deadlines and blocks in syscalls outside the
// netpoller, so every blocking call runs under call: bounded by the step's timeout and the
// context, and unblocked by closing the socket; the real transport (SCTP) also sets kernel
// timeouts on every socket. Transport, Conn and Listener are the seams the tests fake.
//
// Exit codes (ExitCode) are the verdicts: 0 ok, 2 usage, 3 kernel SCTP unavailable,
// 4 refused (ABORT: no listener on the port), 5 unreachable (no association within the
// timeout), 6 no answer (association up, no echo within the timeout), 7 echo mismatch,
// 8 local error, 130 interrupted. 1 is unused: check and test mean "denied" by it.
package probe
