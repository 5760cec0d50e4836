//go:build !linux || 386

package probe

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"time"
)

// SCTP stands in for the kernel's SCTP where github.com/ishidawataru/sctp has only stubs
// (anything but Linux, and linux/386): every call reports SCTP as unavailable.
type SCTP struct {
	// PollInterval is unused here; it keeps the type the same on every platform.
	PollInterval time.Duration
}

var _ Transport = SCTP{}

var errUnsupported = fmt.Errorf("SCTP sockets need Linux, this is %s/%s: %w", runtime.GOOS, runtime.GOARCH, syscall.EPROTONOSUPPORT)

// Dial reports SCTP as unavailable.
func (SCTP) Dial(context.Context, []netip.Addr, Endpoint, time.Duration) (Conn, error) {
	return nil, errUnsupported
}

// Listen reports SCTP as unavailable.
func (SCTP) Listen([]netip.Addr, int) (Listener, error) {
	return nil, errUnsupported
}
