package probe

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeNet is an in-memory SCTP network that keeps the kernel's rules: a Dial to a port
// nobody listens on is refused (ABORT), a Dial to a dropped address never completes (INIT
// unanswered) until its context ends, a bind to an address the host does not own fails,
// messages keep their boundaries, and Close wakes the peer's Read with EOF.
type fakeNet struct {
	mu sync.Mutex
	// local are this host's addresses; listeners are keyed by port.
	local     map[netip.Addr]bool
	listeners map[int]*fakeListener
	// dropped addresses swallow INIT; unroutable ones fail at once with EHOSTUNREACH.
	dropped    map[netip.Addr]bool
	unroutable map[netip.Addr]bool
	// socketErr, when set, is what every socket() returns (EPROTONOSUPPORT: no SCTP).
	socketErr error
	nextPort  int
	dials     int
}

var _ Transport = (*fakeNet)(nil)

func newFakeNet(local ...string) *fakeNet {
	n := &fakeNet{local: map[netip.Addr]bool{}, listeners: map[int]*fakeListener{}, dropped: map[netip.Addr]bool{},
		unroutable: map[netip.Addr]bool{}, nextPort: 40000}
	for _, a := range local {
		n.local[netip.MustParseAddr(a)] = true
	}
	return n
}

func (n *fakeNet) Dial(ctx context.Context, local []netip.Addr, remote Endpoint, _ time.Duration) (Conn, error) {
	n.mu.Lock()
	n.dials++
	if n.socketErr != nil {
		n.mu.Unlock()
		return nil, n.socketErr
	}
	if err := n.checkLocal(local); err != nil {
		n.mu.Unlock()
		return nil, err
	}
	if n.dropped[remote.Addrs[0]] {
		n.mu.Unlock()
		// Ignores the timeout it is given, as a connect without SO_SNDTIMEO would: the
		// caller must bound it.
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if n.unroutable[remote.Addrs[0]] {
		n.mu.Unlock()
		return nil, syscall.EHOSTUNREACH
	}
	ln := n.listeners[remote.Port]
	if ln == nil || !n.local[remote.Addrs[0]] || !ln.serves(remote.Addrs[0]) {
		n.mu.Unlock()
		return nil, syscall.ECONNREFUSED
	}
	if len(local) == 0 {
		local = remote.Addrs[:1] // loopback: the kernel picks the address it dials from
	}
	n.nextPort++
	client, server := fakePipe(Endpoint{Addrs: local, Port: n.nextPort}.String(), Endpoint{Addrs: ln.served(), Port: remote.Port}.String())
	n.mu.Unlock()
	select {
	case ln.backlog <- server:
		return client, nil
	default:
		return nil, syscall.ECONNREFUSED // backlog full
	}
}

func (n *fakeNet) Listen(local []netip.Addr, port int) (Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.socketErr != nil {
		return nil, n.socketErr
	}
	if err := n.checkLocal(local); err != nil {
		return nil, err
	}
	if n.listeners[port] != nil {
		return nil, syscall.EADDRINUSE
	}
	ln := &fakeListener{net: n, port: port, addrs: local, backlog: make(chan *fakeConn, 16)}
	n.listeners[port] = ln
	return ln, nil
}

func (n *fakeNet) checkLocal(local []netip.Addr) error {
	for _, a := range local {
		if !n.local[a] {
			return syscall.EADDRNOTAVAIL
		}
	}
	return nil
}

type fakeListener struct {
	net     *fakeNet
	port    int
	addrs   []netip.Addr
	backlog chan *fakeConn
}

func (l *fakeListener) serves(a netip.Addr) bool {
	if len(l.addrs) == 0 {
		return true
	}
	for _, b := range l.addrs {
		if a == b {
			return true
		}
	}
	return false
}

func (l *fakeListener) served() []netip.Addr {
	if len(l.addrs) == 0 {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	return l.addrs
}

func (l *fakeListener) Addr() string {
	if len(l.addrs) == 0 {
		return Endpoint{Addrs: []netip.Addr{netip.IPv6Unspecified()}, Port: l.port}.String()
	}
	return Endpoint{Addrs: l.addrs, Port: l.port}.String()
}

func (l *fakeListener) Accept(ctx context.Context) (Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close refuses the associations not yet accepted, as the kernel aborts them.
func (l *fakeListener) Close() error {
	l.net.mu.Lock()
	delete(l.net.listeners, l.port)
	l.net.mu.Unlock()
	for {
		select {
		case c := <-l.backlog:
			_ = c.Close()
		default:
			return nil
		}
	}
}

// fakeConn is one side of an association.
type fakeConn struct {
	in, out       chan []byte
	closed        chan struct{} // this side
	peerClosed    chan struct{}
	once          *sync.Once
	local, remote string
}

func fakePipe(clientAddr, serverAddr string) (client, server *fakeConn) {
	a, b := make(chan []byte, 64), make(chan []byte, 64)
	ca, cb := make(chan struct{}), make(chan struct{})
	client = &fakeConn{in: a, out: b, closed: ca, peerClosed: cb, once: &sync.Once{}, local: clientAddr, remote: serverAddr}
	server = &fakeConn{in: b, out: a, closed: cb, peerClosed: ca, once: &sync.Once{}, local: serverAddr, remote: clientAddr}
	return client, server
}

func (c *fakeConn) Read(p []byte) (int, error) {
	select {
	case m := <-c.in:
		return copy(p, m), nil
	default:
	}
	select {
	case m := <-c.in:
		return copy(p, m), nil
	case <-c.closed:
		return 0, io.EOF // shutdown(SHUT_RDWR) wakes a blocked recvmsg with 0 bytes
	case <-c.peerClosed:
		select {
		case m := <-c.in: // what was sent before SHUTDOWN is still delivered
			return copy(p, m), nil
		default:
			return 0, io.EOF
		}
	}
}

func (c *fakeConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, syscall.EBADF
	case <-c.peerClosed:
		return 0, syscall.EPIPE
	default:
	}
	select {
	case c.out <- bytes.Clone(p):
		return len(p), nil
	case <-c.closed:
		return 0, syscall.EBADF
	case <-c.peerClosed:
		return 0, syscall.EPIPE
	}
}

// Close may be called twice, as the library's is (the second gets EBADF).
func (c *fakeConn) Close() error {
	var err error = syscall.EBADF
	c.once.Do(func() { close(c.closed); err = nil })
	return err
}

func (c *fakeConn) LocalAddr() string  { return c.local }
func (c *fakeConn) RemoteAddr() string { return c.remote }

// fakeKernel is a Kernel with a fixed status.
type fakeKernel KernelStatus

func (k fakeKernel) SCTP() KernelStatus { return KernelStatus(k) }

var kernelUp = fakeKernel{State: KernelRegistered, Evidence: []string{"/proc/net/sctp present", "/sys/module/sctp present"}}

// fakeResolver knows a fixed set of names.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	if addrs, ok := r[host]; ok {
		return addrs, nil
	}
	return nil, &lookupError{host}
}

type lookupError struct{ host string }

func (e *lookupError) Error() string { return "lookup " + e.host + ": no such host" }

// fakeClock advances one millisecond each time it is read, so round-trip times are
// predictable.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func fakeEnv(n *fakeNet) Env {
	return Env{Kernel: kernelUp, Transport: n, Resolver: fakeResolver{}, Now: newFakeClock().Now, Grace: 50 * time.Millisecond}
}

// syncBuffer is a bytes.Buffer that a listener's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startListen runs RunListen until the test ends; stop ends it early and returns its exit
// code and log.
func startListen(t *testing.T, o *ListenOptions, env Env) (log *syncBuffer, stop func() (ExitCode, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done := make(chan ExitCode, 1)
	go func() { done <- RunListen(ctx, o, env, log, log) }()
	var once sync.Once
	var code ExitCode
	stop = func() (ExitCode, string) {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("listen did not stop within 5s of its context's end")
			}
		})
		return code, log.String()
	}
	t.Cleanup(func() { stop() })
	// Wait until it listens, as a client in another pod would retry until it does.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, ok := env.Transport.(*fakeNet); ok {
			n.mu.Lock()
			up := n.listeners[o.Port] != nil
			n.mu.Unlock()
			if up {
				return log, stop
			}
		}
		select {
		case c := <-done:
			done <- c
			return log, stop
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("listener not up within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// noLeaks fails the test when goroutines other than the test framework's are still
// running at its end: every aborted call must have come back.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}
