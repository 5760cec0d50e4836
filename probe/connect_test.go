package probe

import (
	"context"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testTimeout = 200 * time.Millisecond

func f(v float64) *float64 { return &v }

// peer listens on port and hands the first association to handle.
func peer(t *testing.T, n *fakeNet, port int, handle func(c Conn)) {
	t.Helper()
	ln, err := n.Listen(nil, port)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		handle(c)
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = ln.Close()
	})
}

func echoListener(t *testing.T, n *fakeNet, echo bool, bind ...string) {
	t.Helper()
	o := NewListenOptions()
	o.Echo, o.Bind = echo, bind
	startListen(t, o, fakeEnv(n))
}

func TestConnect(t *testing.T) {
	kernel := KernelStatus(kernelUp)
	blacklisted := KernelStatus{State: KernelBlacklisted, Evidence: []string{
		"/proc/net/sctp absent", "/sys/module/sctp absent", "/lib/modules/6.1.0/kernel/net/sctp/sctp.ko.xz present",
		"/etc/modprobe.d/sctp-blacklist.conf: blacklist sctp"}}
	okMessage := func(seq int) Message { return Message{Seq: seq, Bytes: 15, Echo: EchoOK, RTTMs: f(1)} }

	tests := []struct {
		name  string
		setup func(t *testing.T, n *fakeNet, env *Env)
		opts  func(o *ConnectOptions)
		want  Result
		dials int  // Dial calls expected
		waits bool // must wait out the timeout
	}{
		{
			name:  "echo",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { echoListener(t, n, true) },
			opts:  func(o *ConnectOptions) { o.Count = 3 },
			want: Result{Verdict: VerdictOK, ExitCode: ExitOK, Target: "127.0.0.1:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 3, Echoed: 3, Messages: []Message{okMessage(1), okMessage(2), okMessage(3)}, RTTMs: &RTTStats{Min: 1, Avg: 1, Max: 1}},
			dials: 1,
		},
		{
			name:  "multi-homed on both sides",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { echoListener(t, n, true, "127.0.0.1", "127.0.0.2") },
			opts: func(o *ConnectOptions) {
				o.Target, o.Bind = "127.0.0.2/127.0.0.1:30102", []string{"127.0.0.1", "127.0.0.2"}
			},
			want: Result{Verdict: VerdictOK, ExitCode: ExitOK, Target: "127.0.0.2/127.0.0.1:30102", Local: "127.0.0.1/127.0.0.2:40001",
				Remote: "127.0.0.1/127.0.0.2:30102", SetupMs: f(1), Sent: 1, Echoed: 1, Messages: []Message{okMessage(1)}, RTTMs: &RTTStats{Min: 1, Avg: 1, Max: 1}},
			dials: 1,
		},
		{
			name: "name resolved to its first address",
			setup: func(t *testing.T, n *fakeNet, env *Env) {
				echoListener(t, n, true)
				env.Resolver = fakeResolver{"sctpservice": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.9")}}
			},
			opts: func(o *ConnectOptions) { o.Target = "sctpservice:30102" },
			want: Result{Verdict: VerdictOK, ExitCode: ExitOK, Target: "sctpservice:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 1, Echoed: 1, Messages: []Message{okMessage(1)}, RTTMs: &RTTStats{Min: 1, Avg: 1, Max: 1}},
			dials: 1,
		},
		{
			name:  "send only",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { echoListener(t, n, false) },
			opts:  func(o *ConnectOptions) { o.Count, o.ExpectEcho = 2, false },
			want: Result{Verdict: VerdictOK, ExitCode: ExitOK, Target: "127.0.0.1:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 2, Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoNotExpected}, {Seq: 2, Bytes: 15, Echo: EchoNotExpected}}},
			dials: 1,
		},
		{
			name: "closed port",
			want: Result{Verdict: VerdictRefused, ExitCode: ExitRefused, Target: "127.0.0.1:30102",
				Error: "association with 127.0.0.1:30102 refused: the peer answered INIT with ABORT, nothing listens on that SCTP port (connection refused)"},
			dials: 1,
		},
		{
			name:  "INIT unanswered",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { n.dropped[netip.MustParseAddr("192.0.2.1")] = true },
			opts:  func(o *ConnectOptions) { o.Target = "192.0.2.1:30102" },
			want: Result{Verdict: VerdictUnreachable, ExitCode: ExitUnreachable, Target: "192.0.2.1:30102",
				Error: "no association with 192.0.2.1:30102 within 200ms: INIT unanswered (host down, dropped by a firewall or NetworkPolicy, or no route)"},
			dials: 1,
			waits: true,
		},
		{
			name:  "no route",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { n.unroutable[netip.MustParseAddr("192.0.2.1")] = true },
			opts:  func(o *ConnectOptions) { o.Target = "192.0.2.1:30102" },
			want: Result{Verdict: VerdictUnreachable, ExitCode: ExitUnreachable, Target: "192.0.2.1:30102",
				Error: "no association with 192.0.2.1:30102: no route to host"},
			dials: 1,
		},
		{
			name: "name does not resolve",
			opts: func(o *ConnectOptions) { o.Target = "nosuch.example:30102" },
			want: Result{Verdict: VerdictUnreachable, ExitCode: ExitUnreachable, Target: "nosuch.example:30102",
				Error: "resolve nosuch.example: lookup nosuch.example: no such host"},
		},
		{
			name:  "peer accepts and never answers",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { echoListener(t, n, false) },
			opts:  func(o *ConnectOptions) { o.Count = 2 },
			want: Result{Verdict: VerdictNoAnswer, ExitCode: ExitNoAnswer, Target: "127.0.0.1:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 1, Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoMissing}},
				Error: "no answer from 127.0.0.1:30102 to message 1 within 200ms"},
			dials: 1,
			waits: true,
		},
		{
			name: "peer closes without answering",
			setup: func(t *testing.T, n *fakeNet, _ *Env) {
				peer(t, n, 30102, func(c Conn) { _, _ = c.Read(make([]byte, 100)) })
			},
			want: Result{Verdict: VerdictNoAnswer, ExitCode: ExitNoAnswer, Target: "127.0.0.1:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 1, Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoMissing}},
				Error: "127.0.0.1:30102 ended the association without answering message 1 (EOF)"},
			dials: 1,
		},
		{
			name: "echo mismatch on the second message",
			setup: func(t *testing.T, n *fakeNet, _ *Env) {
				peer(t, n, 30102, func(c Conn) {
					buf := make([]byte, 100)
					for _, answer := range []string{"sctpguard-probe", "hostname-1"} {
						if _, err := c.Read(buf); err != nil {
							return
						}
						_, _ = c.Write([]byte(answer))
					}
				})
			},
			opts: func(o *ConnectOptions) { o.Count = 3 },
			want: Result{Verdict: VerdictEchoMismatch, ExitCode: ExitEchoMismatch, Target: "127.0.0.1:30102", Local: "127.0.0.1:40001", Remote: "127.0.0.1:30102",
				SetupMs: f(1), Sent: 2, Echoed: 1, Messages: []Message{okMessage(1), {Seq: 2, Bytes: 15, Echo: EchoMismatch, RTTMs: f(1)}},
				RTTMs: &RTTStats{Min: 1, Avg: 1, Max: 1},
				Error: `message 2: 127.0.0.1:30102 answered 10 bytes "hostname-1", sent 15 bytes "sctpguard-probe"`},
			dials: 1,
		},
		{
			name:  "kernel SCTP blacklisted: no socket opened",
			setup: func(t *testing.T, n *fakeNet, env *Env) { env.Kernel = fakeKernel(blacklisted) },
			want: Result{Verdict: VerdictKernelUnavailable, ExitCode: ExitKernelUnavailable, Target: "127.0.0.1:30102", Kernel: blacklisted,
				Error: "kernel SCTP unavailable: module not loaded or blacklisted (/proc/net/sctp absent, /sys/module/sctp absent, " +
					"/lib/modules/6.1.0/kernel/net/sctp/sctp.ko.xz present, /etc/modprobe.d/sctp-blacklist.conf: blacklist sctp); see 'sctpguard probe --help' (Kernel SCTP)"},
		},
		{
			name: "module load allowed, socket says no SCTP",
			setup: func(t *testing.T, n *fakeNet, env *Env) {
				env.Kernel = fakeKernel(blacklisted)
				n.socketErr = syscall.EPROTONOSUPPORT
			},
			opts: func(o *ConnectOptions) { o.AllowModuleLoad = true },
			want: Result{Verdict: VerdictKernelUnavailable, ExitCode: ExitKernelUnavailable, Target: "127.0.0.1:30102", Kernel: blacklisted,
				Error: "kernel SCTP unavailable: module not loaded or blacklisted (socket: protocol not supported); see 'sctpguard probe --help' (Kernel SCTP)"},
			dials: 1,
		},
		{
			name:  "bind to an address this host does not have",
			setup: func(t *testing.T, n *fakeNet, _ *Env) { echoListener(t, n, true) },
			opts:  func(o *ConnectOptions) { o.Bind = []string{"127.0.0.1", "10.9.9.9"} },
			want: Result{Verdict: VerdictError, ExitCode: ExitError, Target: "127.0.0.1:30102",
				Error: "associate 127.0.0.1:30102: cannot assign requested address"},
			dials: 1,
		},
		{
			name: "invalid options",
			opts: func(o *ConnectOptions) { o.Count = 0 },
			want: Result{Verdict: VerdictUsage, ExitCode: ExitUsage, Target: "127.0.0.1:30102", Kernel: KernelStatus{},
				Error: "count: Invalid value: 0: must be from 1 to 10000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			n := newFakeNet("127.0.0.1", "127.0.0.2")
			env := fakeEnv(n)
			if tt.setup != nil {
				tt.setup(t, n, &env)
			}
			o := NewConnectOptions()
			o.Target, o.Timeout = "127.0.0.1:30102", testTimeout
			if tt.opts != nil {
				tt.opts(o)
			}
			want := tt.want
			want.Schema = SchemaConnect
			if want.Kernel.State == "" && want.Verdict != VerdictUsage {
				want.Kernel = kernel
			}
			if want.Messages == nil {
				want.Messages = []Message{}
			}

			start := time.Now()
			got := Connect(context.Background(), o, env)
			elapsed := time.Since(start)

			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if n.dials != tt.dials {
				t.Errorf("%d dials, want %d", n.dials, tt.dials)
			}
			// Each step is bounded by the timeout, and an aborted call by the grace after it.
			if limit := testTimeout + env.Grace + 300*time.Millisecond; elapsed > limit {
				t.Errorf("took %v, more than %v", elapsed, limit)
			}
			if tt.waits && elapsed < testTimeout {
				t.Errorf("took %v, less than the timeout %v", elapsed, testTimeout)
			}
		})
	}
}

// TestConnectInterrupted: SIGTERM (the context's end) stops a connect blocked in set-up.
func TestConnectInterrupted(t *testing.T) {
	noLeaks(t)
	n := newFakeNet("127.0.0.1")
	n.dropped[netip.MustParseAddr("192.0.2.1")] = true
	o := NewConnectOptions()
	o.Target, o.Timeout = "192.0.2.1:30102", time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	got := Connect(ctx, o, fakeEnv(n))
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v after the signal", elapsed)
	}
	want := &Result{Schema: SchemaConnect, Verdict: VerdictInterrupted, ExitCode: ExitInterrupted, Target: "192.0.2.1:30102",
		Kernel: KernelStatus(kernelUp), Messages: []Message{}, Error: "interrupted during associate"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}
