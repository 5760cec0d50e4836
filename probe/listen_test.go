package probe

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitLog waits until the listener's log has n lines.
func waitLog(t *testing.T, log func() string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(log(), "\n") < n {
		if time.Now().After(deadline) {
			t.Fatalf("log has not %d lines after 5s:\n%s", n, log())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestListen(t *testing.T) {
	noLeaks(t)
	n := newFakeNet("127.0.0.1", "127.0.0.2")
	o := NewListenOptions()
	o.Echo, o.Bind = true, []string{"127.0.0.1", "127.0.0.2"}
	var log syncBuffer
	env := fakeEnv(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	go func() { done <- RunListen(ctx, o, env, &log, &log) }()
	waitLog(t, log.String, 1)

	// Two clients one after the other, each checking its echoes; a third left open.
	for i, count := range []int{3, 1} {
		co := NewConnectOptions()
		co.Target, co.Count, co.Timeout = "127.0.0.2:30102", count, time.Second
		if res := Connect(context.Background(), co, fakeEnv(n)); res.ExitCode != ExitOK {
			t.Fatalf("client %d: %s", i+1, res.Error)
		}
		waitLog(t, log.String, 3+2*i)
	}
	open, err := n.Dial(context.Background(), nil, Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: 30102}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Close() }()
	waitLog(t, log.String, 6)

	// SIGTERM: the open association is closed and the listener stops cleanly.
	start := time.Now()
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v to stop", elapsed)
	}
	if _, err := open.Read(make([]byte, 10)); err == nil {
		t.Error("the open association still reads after the listener stopped")
	}
	want := `2026-01-02T03:04:05.001Z listening on 127.0.0.1/127.0.0.2:30102 (echo on)
2026-01-02T03:04:05.002Z association 1 from 127.0.0.2:40001 to 127.0.0.1/127.0.0.2:30102
2026-01-02T03:04:05.003Z association 1 from 127.0.0.2:40001 closed after 3 messages, 45 bytes: closed by the peer
2026-01-02T03:04:05.004Z association 2 from 127.0.0.2:40002 to 127.0.0.1/127.0.0.2:30102
2026-01-02T03:04:05.005Z association 2 from 127.0.0.2:40002 closed after 1 messages, 15 bytes: closed by the peer
2026-01-02T03:04:05.006Z association 3 from 127.0.0.1:40003 to 127.0.0.1/127.0.0.2:30102
2026-01-02T03:04:05.007Z association 3 from 127.0.0.1:40003 closed after 0 messages, 0 bytes: listener stopped
2026-01-02T03:04:05.008Z stopped after 3 associations: signal
`
	if diff := cmp.Diff(want, log.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// TestListenIdle: an association that sends nothing is closed after the idle timeout, and
// the listener goes on.
func TestListenIdle(t *testing.T) {
	noLeaks(t)
	n := newFakeNet("127.0.0.1")
	o := NewListenOptions()
	o.IdleTimeout, o.Output = 100*time.Millisecond, OutputJSON
	log, stop := startListen(t, o, fakeEnv(n))
	c, err := n.Dial(context.Background(), nil, Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: 30102}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Read(make([]byte, 10)); err == nil {
		t.Fatal("read after the idle timeout succeeded: want EOF")
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond || elapsed > 400*time.Millisecond {
		t.Errorf("closed after %v, want about the idle timeout of 100ms", elapsed)
	}
	waitLog(t, log.String, 3)
	code, got := stop()
	want := `{"time":"2026-01-02T03:04:05.001Z","event":"listening","local":"[::]:30102"}
{"time":"2026-01-02T03:04:05.002Z","event":"association","association":1,"local":"127.0.0.1:30102","remote":"127.0.0.1:40001"}
{"time":"2026-01-02T03:04:05.003Z","event":"closed","association":1,"local":"127.0.0.1:30102","remote":"127.0.0.1:40001","messages":1,"bytes":3,"reason":"idle for 100ms"}
{"time":"2026-01-02T03:04:05.004Z","event":"stopped","association":1,"reason":"signal"}
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if code != ExitOK {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestListenFails(t *testing.T) {
	blacklisted := fakeKernel{State: KernelBlacklisted, Evidence: []string{"/proc/net/sctp absent", "/proc/cmdline: module_blacklist=sctp"}}
	tests := []struct {
		name    string
		setup   func(n *fakeNet, env *Env, o *ListenOptions)
		code    ExitCode
		log     string
		errOut  string
		dialled bool
	}{
		{
			name:  "port in use",
			setup: func(n *fakeNet, _ *Env, _ *ListenOptions) { _, _ = n.Listen(nil, 30102) },
			code:  ExitError,
			log:   "2026-01-02T03:04:05.001Z error: listen on :30102: address already in use\n",
		},
		{
			name:  "bind to an address this host does not have",
			setup: func(_ *fakeNet, _ *Env, o *ListenOptions) { o.Bind = []string{"127.0.0.1", "10.1.1.1"} },
			code:  ExitError,
			log:   "2026-01-02T03:04:05.001Z error: listen on 127.0.0.1/10.1.1.1:30102: cannot assign requested address\n",
		},
		{
			name:  "kernel SCTP blacklisted",
			setup: func(_ *fakeNet, env *Env, _ *ListenOptions) { env.Kernel = blacklisted },
			code:  ExitKernelUnavailable,
			log: "2026-01-02T03:04:05.001Z error: kernel SCTP unavailable: module not loaded or blacklisted " +
				"(/proc/net/sctp absent, /proc/cmdline: module_blacklist=sctp); see 'sctpguard probe --help' (Kernel SCTP)\n",
		},
		{
			name: "module load allowed, socket says no SCTP",
			setup: func(n *fakeNet, env *Env, o *ListenOptions) {
				env.Kernel, o.AllowModuleLoad, n.socketErr = blacklisted, true, syscall.EPROTONOSUPPORT
			},
			code: ExitKernelUnavailable,
			log:  "2026-01-02T03:04:05.001Z error: kernel SCTP unavailable: module not loaded or blacklisted (socket: protocol not supported); see 'sctpguard probe --help' (Kernel SCTP)\n",
		},
		{
			name:   "invalid options",
			setup:  func(_ *fakeNet, _ *Env, o *ListenOptions) { o.Port, o.Output = 0, "yaml" },
			code:   ExitUsage,
			errOut: "error: [port: Invalid value: 0: must be from 1 to 65535, output: Unsupported value: \"yaml\": supported values: \"text\", \"json\"]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			n := newFakeNet("127.0.0.1")
			env := fakeEnv(n)
			o := NewListenOptions()
			tt.setup(n, &env, o)
			var out, errOut bytes.Buffer
			code := RunListen(context.Background(), o, env, &out, &errOut)
			got := []any{code, out.String(), errOut.String()}
			if diff := cmp.Diff([]any{tt.code, tt.log, tt.errOut}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
