package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Transport opens SCTP associations. The real one is SCTP (the kernel through
// github.com/ishidawataru/sctp); tests use fakes that behave like it.
type Transport interface {
	// Dial sets up an association from the local addresses (none: the kernel chooses) to
	// the remote endpoint. It should give up after timeout, and when ctx is done if it can;
	// the caller bounds it in any case.
	Dial(ctx context.Context, local []netip.Addr, remote Endpoint, timeout time.Duration) (Conn, error)
	// Listen binds the local addresses (none: all) and port and listens.
	Listen(local []netip.Addr, port int) (Listener, error)
}

// Conn is one association (one-to-one style).
type Conn interface {
	// Read returns one message. It blocks until a message arrives, the peer ends the
	// association (io.EOF or an error) or Close is called.
	Read(p []byte) (int, error)
	// Write sends p as one message.
	Write(p []byte) (int, error)
	// Close ends the association and unblocks Read and Write.
	Close() error
	// LocalAddr and RemoteAddr are the association's addresses ("a/b:port" when
	// multi-homed), or "" when the kernel does not say.
	LocalAddr() string
	RemoteAddr() string
}

// Listener accepts associations.
type Listener interface {
	// Accept returns the next association, or ctx's error soon after ctx is done. It is
	// never called concurrently with itself or with Close.
	Accept(ctx context.Context) (Conn, error)
	// Addr is the listening address.
	Addr() string
	Close() error
}

// Resolver looks up host names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Endpoint is a port on one or more addresses of the same host (SCTP multi-homing).
type Endpoint struct {
	Addrs []netip.Addr
	Port  int
}

// String writes the endpoint as the library does: "10.0.0.1/10.0.0.2:3868", "[::1]:3868".
func (e Endpoint) String() string {
	return formatEndpoint(e.Addrs, e.Port)
}

func formatEndpoint(addrs []netip.Addr, port int) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		if a.Is6() && !a.Is4In6() {
			parts[i] = "[" + a.String() + "]"
		} else {
			parts[i] = a.Unmap().String()
		}
	}
	return strings.Join(parts, "/") + ":" + strconv.Itoa(port)
}

// Target is a parsed HOST[/HOST...]:PORT: host names or addresses, not yet resolved.
type Target struct {
	Hosts []string
	Port  int
}

// ParseTarget parses "host:port", "10.0.0.1/10.0.0.2:3868" (multi-homed peer) or
// "[fd00::1]:3868".
func ParseTarget(s string) (Target, error) {
	elems := strings.Split(s, "/")
	host, port, err := net.SplitHostPort(elems[len(elems)-1])
	if err != nil {
		return Target{}, fmt.Errorf("want HOST:PORT: %w", err)
	}
	p, err := parsePort(port)
	if err != nil {
		return Target{}, err
	}
	t := Target{Port: p}
	for _, h := range append(elems[:len(elems)-1:len(elems)-1], host) {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			return Target{}, errors.New("empty host")
		}
		t.Hosts = append(t.Hosts, h)
	}
	return t, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q must be a number from 1 to 65535", s)
	}
	return p, nil
}

// parseAddrs parses --bind addresses: IP literals only, since a local address that a name
// resolves to may not be this host's.
func parseAddrs(list []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range list {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}
