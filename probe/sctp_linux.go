//go:build linux && !386

package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ishidawataru/sctp"
)

// SCTP is the kernel's SCTP through github.com/ishidawataru/sctp. The library's sockets
// are blocking and have no deadlines, so every socket gets kernel timeouts (SO_SNDTIMEO
// bounds connect, SO_RCVTIMEO reads and accept) before it is bound or connected; callers
// bound each call again and close the socket to make a blocked call return.
type SCTP struct {
	// PollInterval is how long one accept waits before Accept checks its context
	// (DefaultPollInterval when zero).
	PollInterval time.Duration
}

var _ Transport = SCTP{}

// DefaultPollInterval is how soon a listener notices SIGTERM.
const DefaultPollInterval = 250 * time.Millisecond

// acceptedSendTimeout bounds an echo to a peer that does not read.
const acceptedSendTimeout = DefaultTimeout

// Dial sets up an association; the kernel gives up after timeout (EINPROGRESS).
func (s SCTP) Dial(_ context.Context, local []netip.Addr, remote Endpoint, timeout time.Duration) (Conn, error) {
	cfg := sctp.SocketConfig{
		InitMsg: sctp.InitMsg{NumOstreams: sctp.SCTP_MAX_STREAM, MaxInitTimeout: initRTOCap(timeout)},
		// Control runs after socket() and before bind and connect (panicked with a nil laddr
		// before ishidawataru/sctp#68, hence the pinned pseudo-version).
		Control:             func(_, _ string, c syscall.RawConn) error { return setTimeouts(c, timeout, timeout) },
		NotificationHandler: ignoreNotifications,
	}
	var laddr *sctp.SCTPAddr
	if len(local) > 0 {
		laddr = sctpAddr(local, 0)
	}
	c, err := cfg.Dial("sctp", laddr, sctpAddr(remote.Addrs, remote.Port))
	if err != nil {
		return nil, err
	}
	return newConn(c), nil
}

// initRTOCap caps the INIT retransmission timeout (SCTP_INITMSG sinit_max_init_timeo, in
// ms) at a quarter of the timeout, at least 1s, so a lossy path gets INIT retries before
// the probe gives up; the first retry still waits rto_initial (3s by default).
func initRTOCap(timeout time.Duration) uint16 {
	ms := min(max(timeout/4, time.Second), 65535*time.Millisecond).Milliseconds()
	return uint16(ms) //nolint:gosec // G115: clamped to 1000..65535 above
}

// Listen listens on the addresses (none: the wildcard, dual-stack where the host allows).
func (s SCTP) Listen(local []netip.Addr, port int) (Listener, error) {
	poll := s.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	cfg := sctp.SocketConfig{
		InitMsg: sctp.InitMsg{NumOstreams: sctp.SCTP_MAX_STREAM},
		// SO_RCVTIMEO makes accept return EAGAIN after poll, so Accept sees its context.
		Control:             func(_, _ string, c syscall.RawConn) error { return setTimeouts(c, acceptedSendTimeout, poll) },
		NotificationHandler: ignoreNotifications,
	}
	ln, err := cfg.Listen("sctp", sctpAddr(local, port))
	if err != nil {
		return nil, err
	}
	addr := Endpoint{Addrs: local, Port: port}.String()
	if a := ln.Addr(); a != nil { // nil when getsockopt fails
		addr = a.String()
	}
	return &sctpListener{ln: ln, addr: addr}, nil
}

type sctpListener struct {
	ln   *sctp.SCTPListener
	addr string
}

func (l *sctpListener) Addr() string { return l.addr }

func (l *sctpListener) Close() error { return l.ln.Close() }

func (l *sctpListener) Accept(ctx context.Context) (Conn, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := l.ln.AcceptSCTP()
		switch {
		case err == nil:
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR), errors.Is(err, syscall.ECONNABORTED):
			continue
		default:
			return nil, err
		}
		// An accepted socket inherits the listener's timeouts. Reads get none (the caller
		// bounds them with the idle timeout and closes the socket), writes keep theirs.
		rc, err := c.SyscallConn()
		if err == nil {
			err = setTimeouts(rc, acceptedSendTimeout, 0)
		}
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		return newConn(c), nil
	}
}

// sctpConn is an association with its addresses read once: RemoteAddr and LocalAddr return
// a nil net.Addr when getsockopt fails (kubernetes#124209), so ask with association id 0.
type sctpConn struct {
	c             *sctp.SCTPConn
	local, remote string
	once          sync.Once
	err           error
}

func newConn(c *sctp.SCTPConn) *sctpConn {
	s := &sctpConn{c: c}
	if a, err := c.SCTPLocalAddr(0); err == nil && a != nil {
		s.local = a.String()
	}
	if a, err := c.SCTPRemoteAddr(0); err == nil && a != nil {
		s.remote = a.String()
	}
	return s
}

func (s *sctpConn) Read(p []byte) (int, error)  { return s.c.Read(p) }
func (s *sctpConn) Write(p []byte) (int, error) { return s.c.Write(p) }
func (s *sctpConn) LocalAddr() string           { return s.local }
func (s *sctpConn) RemoteAddr() string          { return s.remote }

// Close shuts the association down (shutdown(SHUT_RDWR) sends SHUTDOWN and wakes a blocked
// read) and closes the socket, once: the library's Close swaps the fd to -1 first, so a
// second call or a racing read gets EBADF rather than someone else's fd.
func (s *sctpConn) Close() error {
	s.once.Do(func() { s.err = s.c.Close() })
	return s.err
}

func ignoreNotifications([]byte) error { return nil }

func sctpAddr(addrs []netip.Addr, port int) *sctp.SCTPAddr {
	a := &sctp.SCTPAddr{Port: port}
	for _, ip := range addrs {
		a.IPAddrs = append(a.IPAddrs, net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()})
	}
	return a
}

// setTimeouts sets SO_SNDTIMEO and SO_RCVTIMEO (0: none).
func setTimeouts(c syscall.RawConn, send, recv time.Duration) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = errors.Join(setTimeout(int(fd), syscall.SO_SNDTIMEO, send), setTimeout(int(fd), syscall.SO_RCVTIMEO, recv))
	}); cerr != nil {
		return cerr
	}
	return err
}

func setTimeout(fd, opt int, d time.Duration) error {
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	return os.NewSyscallError("setsockopt", syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv))
}
