package probe

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCall(t *testing.T) {
	type outcome struct {
		V         int
		Err       string
		Aborted   bool
		Discarded []int
	}
	// blocked is an op that blocks until aborted (like a read that close wakes), or until
	// released (like a connect that only the kernel's own timeout ends).
	type blocked struct {
		abort   chan struct{}
		release chan struct{}
	}
	tests := []struct {
		name    string
		op      func(b blocked) func(context.Context) (int, error)
		ctx     func() context.Context
		release time.Duration // when the test releases an op that ignores abort (0: never needed)
		want    outcome
		minTime time.Duration
		maxTime time.Duration
	}{
		{
			name: "returns the op's result",
			op: func(blocked) func(context.Context) (int, error) {
				return func(context.Context) (int, error) { return 7, nil }
			},
			want:    outcome{V: 7},
			maxTime: 200 * time.Millisecond,
		},
		{
			name: "returns the op's error",
			op: func(blocked) func(context.Context) (int, error) {
				return func(context.Context) (int, error) { return 0, errors.New("boom") }
			},
			want:    outcome{Err: "boom"},
			maxTime: 200 * time.Millisecond,
		},
		{
			name: "op blocked until aborted: timeout, abort, op reaped",
			op: func(b blocked) func(context.Context) (int, error) {
				return func(context.Context) (int, error) { <-b.abort; return 0, errors.New("closed") }
			},
			want:    outcome{Err: "timed out", Aborted: true},
			minTime: 100 * time.Millisecond,
			maxTime: 300 * time.Millisecond,
		},
		{
			name: "op honouring its context: cancelled at the timeout",
			op: func(b blocked) func(context.Context) (int, error) {
				return func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
			},
			want:    outcome{Err: "timed out", Aborted: true},
			minTime: 100 * time.Millisecond,
			maxTime: 300 * time.Millisecond,
		},
		{
			name: "op ignoring abort: returns after the grace, its late result discarded",
			op: func(b blocked) func(context.Context) (int, error) {
				return func(context.Context) (int, error) { <-b.release; return 42, nil }
			},
			release: time.Second,
			want:    outcome{Err: "timed out", Aborted: true, Discarded: []int{42}},
			minTime: 150 * time.Millisecond, // timeout + grace
			maxTime: 500 * time.Millisecond, // well before the release
		},
		{
			name: "context ends first",
			op: func(b blocked) func(context.Context) (int, error) {
				return func(context.Context) (int, error) { <-b.abort; return 0, errors.New("closed") }
			},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx
			},
			want:    outcome{Err: "context canceled", Aborted: true},
			minTime: 20 * time.Millisecond,
			maxTime: 300 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			b := blocked{abort: make(chan struct{}), release: make(chan struct{})}
			var aborted atomic.Bool
			discarded := make(chan int, 1)
			// Timed from before the context is made: its timer starts there, and a
			// loaded machine may pause the test between the two.
			start := time.Now()
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			v, err := call(ctx, 100*time.Millisecond, 50*time.Millisecond, tt.op(b),
				func() { aborted.Store(true); close(b.abort) },
				func(v int) { discarded <- v })
			elapsed := time.Since(start)

			got := outcome{V: v, Aborted: aborted.Load()}
			if err != nil {
				got.Err = err.Error()
			}
			if tt.release > 0 {
				time.Sleep(tt.release - elapsed)
				close(b.release)
				select {
				case d := <-discarded:
					got.Discarded = append(got.Discarded, d)
				case <-time.After(time.Second):
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if elapsed < tt.minTime || elapsed > tt.maxTime {
				t.Errorf("took %v, want %v to %v", elapsed, tt.minTime, tt.maxTime)
			}
		})
	}
}
