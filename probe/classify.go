package probe

import (
	"context"
	"errors"
	"io"
	"syscall"
)

// phase is the step of a probe that failed; the same errno means different things in
// different steps (EAGAIN while connecting is an unanswered INIT, while reading an
// unanswered message).
type phase string

const (
	phaseResolve   phase = "resolve"
	phaseAssociate phase = "associate"
	phaseSend      phase = "send"
	phaseReceive   phase = "receive"
	phaseListen    phase = "listen"
)

// classify maps an error of a phase to its exit code. The library returns bare
// syscall.Errno values, so errors.Is works on them.
func classify(ph phase, err error) ExitCode {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, syscall.EPROTONOSUPPORT), errors.Is(err, syscall.ESOCKTNOSUPPORT):
		// No SCTP registered and none could be loaded (§17: socket() fails only then).
		return ExitKernelUnavailable
	}
	switch ph {
	case phaseResolve:
		return ExitUnreachable
	case phaseAssociate:
		switch {
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
			return ExitRefused
		case isTimeout(err), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
			errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
			return ExitUnreachable
		}
	case phaseSend, phaseReceive:
		if isTimeout(err) || isClosed(err) {
			return ExitNoAnswer
		}
	case phaseListen:
	}
	return ExitError
}

// isTimeout: our own timeout, or the kernel's (SO_SNDTIMEO makes a blocked connect return
// EINPROGRESS, SO_RCVTIMEO a blocked recvmsg EAGAIN; an INIT retried too often ETIMEDOUT).
func isTimeout(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINPROGRESS) || errors.Is(err, syscall.ETIMEDOUT)
}

// isClosed: the peer ended the association (SHUTDOWN gives EOF, ABORT ECONNRESET).
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ESHUTDOWN) || errors.Is(err, syscall.ENOTCONN)
}
