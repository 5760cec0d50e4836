package probe

import "strconv"

// ExitCode is the process exit code of a probe subcommand. Each failure a user must act on
// differently has its own code, so a Job's exit code alone tells what went wrong. 1 is left
// unused because check and test give it the meaning "denied" or "a test failed".
type ExitCode int

// Exit codes of probe listen and probe connect.
const (
	// ExitOK: every message was echoed (connect), or the listener stopped on a signal (listen).
	ExitOK ExitCode = 0
	// ExitUsage: a flag or argument is invalid.
	ExitUsage ExitCode = 2
	// ExitKernelUnavailable: the kernel of this host cannot do SCTP (module not loaded,
	// blacklisted or absent). Nothing about the peer is known.
	ExitKernelUnavailable ExitCode = 3
	// ExitRefused: the peer's host answered the association set-up with ABORT: nothing
	// listens on that SCTP port there.
	ExitRefused ExitCode = 4
	// ExitUnreachable: no association within the timeout: the name did not resolve, or INIT
	// went unanswered (host down, packets dropped by a firewall or NetworkPolicy, no route).
	ExitUnreachable ExitCode = 5
	// ExitNoAnswer: the association was set up, but the peer did not answer a message within
	// the timeout, or closed the association without answering.
	ExitNoAnswer ExitCode = 6
	// ExitEchoMismatch: the peer answered with bytes other than the message sent.
	ExitEchoMismatch ExitCode = 7
	// ExitError: a local failure: binding the --bind addresses, a port in use, an unexpected
	// socket error.
	ExitError ExitCode = 8
	// ExitInterrupted: SIGINT or SIGTERM ended connect before it reached a verdict.
	ExitInterrupted ExitCode = 130
)

// Verdict is the short, stable name of an exit code, as written in the JSON summary.
type Verdict string

// Verdicts, one per exit code.
const (
	VerdictOK                Verdict = "ok"
	VerdictUsage             Verdict = "usage"
	VerdictKernelUnavailable Verdict = "kernel-unavailable"
	VerdictRefused           Verdict = "refused"
	VerdictUnreachable       Verdict = "unreachable"
	VerdictNoAnswer          Verdict = "no-answer"
	VerdictEchoMismatch      Verdict = "echo-mismatch"
	VerdictError             Verdict = "error"
	VerdictInterrupted       Verdict = "interrupted"
)

var verdicts = map[ExitCode]Verdict{
	ExitOK:                VerdictOK,
	ExitUsage:             VerdictUsage,
	ExitKernelUnavailable: VerdictKernelUnavailable,
	ExitRefused:           VerdictRefused,
	ExitUnreachable:       VerdictUnreachable,
	ExitNoAnswer:          VerdictNoAnswer,
	ExitEchoMismatch:      VerdictEchoMismatch,
	ExitError:             VerdictError,
	ExitInterrupted:       VerdictInterrupted,
}

// Verdict names the code; an unknown code is named by its number.
func (c ExitCode) Verdict() Verdict {
	if v, ok := verdicts[c]; ok {
		return v
	}
	return Verdict(strconv.Itoa(int(c)))
}

// ExitCodesHelp documents the exit codes for --help; the package doc says the same.
const ExitCodesHelp = `Exit codes:
  0    ok: every message echoed (connect); stopped by SIGTERM or SIGINT (listen)
  2    usage: invalid flag or argument
  3    kernel-unavailable: this host's kernel has no SCTP (module not loaded, blacklisted or absent)
  4    refused: the peer answered INIT with ABORT, nothing listens on that SCTP port
  5    unreachable: no association within --timeout (INIT unanswered, no route, name not resolved)
  6    no-answer: association set up, but no echo within --timeout, or the peer closed it
  7    echo-mismatch: the peer answered with other bytes than were sent
  8    error: local failure (bind to --bind addresses, port in use, unexpected socket error)
  130  interrupted: SIGTERM or SIGINT before a verdict (connect)`
