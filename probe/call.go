package probe

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is returned by a call that did not finish within its timeout.
var ErrTimeout = errors.New("timed out")

// DefaultGrace is how long an aborted call is waited for before it is left to finish alone.
const DefaultGrace = 500 * time.Millisecond

// call runs op and waits for it at most timeout, and not past ctx.
//
// The library's sockets have no deadlines (SetDeadline returns EOPNOTSUPP) and block in
// syscalls outside the netpoller, so a blocked op cannot be interrupted, only made to
// return: when the wait ends first, call cancels op's context and runs abort (closing the
// socket), then gives op grace to come back. An op that still has not returned is left to
// a reaper that hands its late result to discard (closing a late association), so nothing
// stays open; the real transport's kernel timeouts (SO_SNDTIMEO, SO_RCVTIMEO) make it
// return soon after.
func call[T any](ctx context.Context, timeout, grace time.Duration, op func(context.Context) (T, error), abort func(), discard func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	opCtx, cancel := context.WithCancel(ctx)
	done := make(chan result, 1)
	go func() {
		v, err := op(opCtx)
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var zero T
	var err error
	select {
	case r := <-done:
		cancel()
		return r.v, r.err
	case <-timer.C:
		err = ErrTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	if abort != nil {
		abort()
	}
	late := func(r result) {
		if r.err == nil && discard != nil {
			discard(r.v)
		}
	}
	graceTimer := time.NewTimer(grace)
	defer graceTimer.Stop()
	select {
	case r := <-done:
		late(r)
	case <-graceTimer.C:
		go func() { late(<-done) }()
	}
	return zero, err
}
