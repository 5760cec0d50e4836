package probe

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	wrapped := func(err error) error { return fmt.Errorf("dial: %w", os.NewSyscallError("connect", err)) }
	type c struct {
		ph  phase
		err error
	}
	cases := map[string]c{
		"socket: no SCTP":                  {phaseAssociate, syscall.EPROTONOSUPPORT},
		"socket: no SCTP (seqpacket)":      {phaseListen, syscall.ESOCKTNOSUPPORT},
		"ABORT for INIT":                   {phaseAssociate, wrapped(syscall.ECONNREFUSED)},
		"ABORT during set-up":              {phaseAssociate, syscall.ECONNRESET},
		"our timeout in set-up":            {phaseAssociate, ErrTimeout},
		"SO_SNDTIMEO in connect":           {phaseAssociate, syscall.EINPROGRESS},
		"INIT retries exhausted":           {phaseAssociate, syscall.ETIMEDOUT},
		"no route":                         {phaseAssociate, syscall.EHOSTUNREACH},
		"network unreachable":              {phaseAssociate, syscall.ENETUNREACH},
		"bind: not our address":            {phaseAssociate, syscall.EADDRNOTAVAIL},
		"name not resolved":                {phaseResolve, fmt.Errorf("resolve x: %w", &lookupError{"x"})},
		"our timeout on a reply":           {phaseReceive, ErrTimeout},
		"SO_RCVTIMEO on a reply":           {phaseReceive, syscall.EAGAIN},
		"peer SHUTDOWN before replying":    {phaseReceive, io.EOF},
		"peer ABORT before replying":       {phaseReceive, syscall.ECONNRESET},
		"send after the peer went":         {phaseSend, syscall.EPIPE},
		"unexpected read error":            {phaseReceive, syscall.EBADF},
		"listen: port in use":              {phaseListen, syscall.EADDRINUSE},
		"signal":                           {phaseAssociate, context.Canceled},
		"context deadline while resolving": {phaseResolve, context.DeadlineExceeded},
	}
	want := map[string]ExitCode{
		"socket: no SCTP":                  ExitKernelUnavailable,
		"socket: no SCTP (seqpacket)":      ExitKernelUnavailable,
		"ABORT for INIT":                   ExitRefused,
		"ABORT during set-up":              ExitRefused,
		"our timeout in set-up":            ExitUnreachable,
		"SO_SNDTIMEO in connect":           ExitUnreachable,
		"INIT retries exhausted":           ExitUnreachable,
		"no route":                         ExitUnreachable,
		"network unreachable":              ExitUnreachable,
		"bind: not our address":            ExitError,
		"name not resolved":                ExitUnreachable,
		"our timeout on a reply":           ExitNoAnswer,
		"SO_RCVTIMEO on a reply":           ExitNoAnswer,
		"peer SHUTDOWN before replying":    ExitNoAnswer,
		"peer ABORT before replying":       ExitNoAnswer,
		"send after the peer went":         ExitNoAnswer,
		"unexpected read error":            ExitError,
		"listen: port in use":              ExitError,
		"signal":                           ExitInterrupted,
		"context deadline while resolving": ExitUnreachable,
	}
	got := map[string]ExitCode{}
	for name, c := range cases {
		got[name] = classify(c.ph, c.err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

// TestExitCodes pins the codes and verdict names: scripts and Jobs depend on them.
func TestExitCodes(t *testing.T) {
	got := map[ExitCode]Verdict{}
	for _, c := range []ExitCode{ExitOK, ExitUsage, ExitKernelUnavailable, ExitRefused, ExitUnreachable, ExitNoAnswer, ExitEchoMismatch, ExitError, ExitInterrupted, 99} {
		got[c] = c.Verdict()
	}
	want := map[ExitCode]Verdict{0: "ok", 2: "usage", 3: "kernel-unavailable", 4: "refused", 5: "unreachable", 6: "no-answer",
		7: "echo-mismatch", 8: "error", 130: "interrupted", 99: "99"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}
