//go:build linux && !386

package probe

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Connectivity tests over the kernel's SCTP on loopback. They need SCTP registered and
// never load the module themselves (the Kubernetes e2e module guard's rule): where it is
// not, each one skips with the detector's reason.

func requireKernelSCTP(t *testing.T) {
	t.Helper()
	if st := HostKernel().SCTP(); !st.Available() {
		t.Skip(st.Reason())
	}
}

// realListener listens on the addresses, on a port the kernel picks, and serves until the
// test ends. It returns the port.
func realListener(t *testing.T, echo bool, addrs ...string) int {
	t.Helper()
	local, err := parseAddrs(addrs)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := SCTP{}.Listen(local, 0)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := portOf(t, ln.Addr())
	o := NewListenOptions()
	o.Echo = echo
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveListener(ctx, ln, o, HostEnv(), &eventLog{w: testWriter{t}, output: OutputText, now: time.Now})
		_ = ln.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var portRE = regexp.MustCompile(`:\d+$`)

// normalize zeroes what differs from run to run: times and the client's ephemeral port; it
// sorts multi-homed addresses, whose order the kernel chooses.
func normalize(r *Result) *Result {
	zero := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		return f(0)
	}
	addrs := func(s string) string { // IPv4 only
		i := strings.LastIndex(s, ":")
		if i < 0 {
			return s
		}
		parts := strings.Split(s[:i], "/")
		slices.Sort(parts)
		return strings.Join(parts, "/") + s[i:]
	}
	r.SetupMs = zero(r.SetupMs)
	for i := range r.Messages {
		r.Messages[i].RTTMs = zero(r.Messages[i].RTTMs)
	}
	if r.RTTMs != nil {
		r.RTTMs = &RTTStats{}
	}
	r.Local = portRE.ReplaceAllString(addrs(r.Local), ":EPHEMERAL")
	r.Remote = addrs(r.Remote)
	return r
}

func TestSCTPLoopback(t *testing.T) {
	requireKernelSCTP(t)
	noLeaks(t)
	kernel := HostKernel().SCTP()
	echoed := func(seq int) Message { return Message{Seq: seq, Bytes: 15, Echo: EchoOK, RTTMs: f(0)} }
	tests := []struct {
		name     string
		listen   []string // listener addresses; nil: no listener (closed port)
		echo     bool
		target   func(port int) string
		bind     []string
		count    int
		want     func(port int) Result
		maxTime  time.Duration
		waitsOut bool
	}{
		{
			// The client binds too: unbound, its association would list every local address.
			name: "echo", listen: []string{"127.0.0.1"}, echo: true, count: 3, bind: []string{"127.0.0.1"},
			target: func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) },
			want: func(p int) Result {
				return Result{Verdict: VerdictOK, ExitCode: ExitOK, Local: "127.0.0.1:EPHEMERAL", Remote: "127.0.0.1:" + strconv.Itoa(p),
					SetupMs: f(0), Sent: 3, Echoed: 3, Messages: []Message{echoed(1), echoed(2), echoed(3)}, RTTMs: &RTTStats{}}
			},
		},
		{
			name: "multi-homed bind on both sides", listen: []string{"127.0.0.1", "127.0.0.2"}, echo: true, count: 2,
			bind:   []string{"127.0.0.1", "127.0.0.2"},
			target: func(p int) string { return "127.0.0.1/127.0.0.2:" + strconv.Itoa(p) },
			want: func(p int) Result {
				return Result{Verdict: VerdictOK, ExitCode: ExitOK, Local: "127.0.0.1/127.0.0.2:EPHEMERAL", Remote: "127.0.0.1/127.0.0.2:" + strconv.Itoa(p),
					SetupMs: f(0), Sent: 2, Echoed: 2, Messages: []Message{echoed(1), echoed(2)}, RTTMs: &RTTStats{}}
			},
		},
		{
			name: "closed port: ABORT", count: 1,
			target: func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) },
			want: func(p int) Result {
				return Result{Verdict: VerdictRefused, ExitCode: ExitRefused, Messages: []Message{},
					Error: "association with 127.0.0.1:" + strconv.Itoa(p) + " refused: the peer answered INIT with ABORT, nothing listens on that SCTP port (connection refused)"}
			},
		},
		{
			name: "listener that never answers", listen: []string{"127.0.0.1"}, count: 1, bind: []string{"127.0.0.1"},
			target: func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) },
			want: func(p int) Result {
				return Result{Verdict: VerdictNoAnswer, ExitCode: ExitNoAnswer, Local: "127.0.0.1:EPHEMERAL", Remote: "127.0.0.1:" + strconv.Itoa(p),
					SetupMs: f(0), Sent: 1, Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoMissing}},
					Error: "no answer from 127.0.0.1:" + strconv.Itoa(p) + " to message 1 within 1s"}
			},
			waitsOut: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var port int
			if tt.listen != nil {
				port = realListener(t, tt.echo, tt.listen...)
			} else {
				port = freePort(t)
			}
			o := NewConnectOptions()
			o.Target, o.Bind, o.Count, o.Timeout = tt.target(port), tt.bind, tt.count, time.Second
			start := time.Now()
			got := normalize(Connect(context.Background(), o, HostEnv()))
			elapsed := time.Since(start)
			want := tt.want(port)
			want.Schema, want.Target, want.Kernel = SchemaConnect, o.Target, kernel
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if limit := time.Second + DefaultGrace + 500*time.Millisecond; elapsed > limit {
				t.Errorf("took %v, more than %v", elapsed, limit)
			}
			if tt.waitsOut && elapsed < time.Second {
				t.Errorf("took %v, less than the timeout", elapsed)
			}
		})
	}
}

// freePort returns a port nobody listens on: one the kernel picked for a listener now closed.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := SCTP{}.Listen([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, 0)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer func() { _ = ln.Close() }()
	return portOf(t, ln.Addr())
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	p, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err != nil {
		t.Fatalf("listening address %q: %v", addr, err)
	}
	return p
}

// TestSCTPListenStops: probe listen over the kernel's SCTP stops within its poll interval
// of SIGTERM, with an association open, and exits 0.
func TestSCTPListenStops(t *testing.T) {
	requireKernelSCTP(t)
	noLeaks(t)
	o := NewListenOptions()
	o.Port, o.Bind, o.Echo = freePort(t), []string{"127.0.0.1"}, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	var log syncBuffer
	go func() { done <- RunListen(ctx, o, HostEnv(), &log, &log) }()

	co := NewConnectOptions()
	co.Target, co.Bind, co.Timeout = "127.0.0.1:"+strconv.Itoa(o.Port), []string{"127.0.0.1"}, time.Second
	var res *Result
	for range 50 { // until the listener is up
		if res = Connect(context.Background(), co, HostEnv()); res.ExitCode != ExitRefused {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.ExitCode != ExitOK {
		t.Fatalf("connect: %s", res.Error)
	}
	open, err := SCTP{}.Dial(context.Background(), nil, Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: o.Port}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Close() }()

	start := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit code %d, want 0:\n%s", code, log.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("listen did not stop within 3s of SIGTERM:\n%s", log.String())
	}
	if elapsed := time.Since(start); elapsed > DefaultPollInterval+DefaultGrace+200*time.Millisecond {
		t.Errorf("stopped after %v", elapsed)
	}
	// The open association was shut down: its read ends instead of blocking.
	if _, err := call(context.Background(), time.Second, 0, func(context.Context) (int, error) { return open.Read(make([]byte, 10)) },
		func() { _ = open.Close() }, nil); errors.Is(err, ErrTimeout) {
		t.Error("the open association still blocks after the listener stopped")
	}
}

// TestSCTPWithoutKernel runs the real socket layer where the kernel has no SCTP and cannot
// load it (no module tree, or blacklisted), so opening a socket has no side effect: both
// directions must report "kernel SCTP unavailable" with exit code 3, not crash or hang.
func TestSCTPWithoutKernel(t *testing.T) {
	st := HostKernel().SCTP()
	noTree := slices.ContainsFunc(st.Evidence, func(e string) bool {
		return strings.HasPrefix(e, "/lib/modules/") && strings.HasSuffix(e, " absent")
	})
	if st.State != KernelAbsent && st.State != KernelBlacklisted && (st.State != KernelUnknown || !noTree) {
		t.Skipf("%s: a socket would work or could load sctp.ko here", st.Reason())
	}
	noLeaks(t)
	env := HostEnv()
	want := "kernel SCTP unavailable: module not loaded or blacklisted (socket: protocol not supported); see 'sctpguard probe --help' (Kernel SCTP)"

	co := NewConnectOptions()
	co.Target, co.AllowModuleLoad, co.Timeout = "127.0.0.1:30102", true, time.Second
	res := Connect(context.Background(), co, env)
	if diff := cmp.Diff([]any{ExitKernelUnavailable, want}, []any{res.ExitCode, res.Error}); diff != "" {
		t.Errorf("connect (-want +got):\n%s", diff)
	}

	lo := NewListenOptions()
	lo.Port, lo.AllowModuleLoad = 30102, true
	var out, errOut strings.Builder
	code := RunListen(context.Background(), lo, env, &out, &errOut)
	_, line, _ := strings.Cut(strings.TrimSpace(out.String()), " ") // drop the time
	if diff := cmp.Diff([]any{ExitKernelUnavailable, "error: " + want, ""}, []any{code, line, errOut.String()}); diff != "" {
		t.Errorf("listen (-want +got):\n%s", diff)
	}
}
