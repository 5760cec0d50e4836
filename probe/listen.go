package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// maxAssociations bounds the associations a listener serves at once: each blocked read
// pins an OS thread, since the library's sockets bypass the netpoller.
const maxAssociations = 256

// acceptBackoff paces the accept loop after an error such as EMFILE.
const acceptBackoff = 100 * time.Millisecond

// Event is one entry of probe listen's log: a text line, or a JSON object per line.
type Event struct {
	Time  string `json:"time"`
	Event string `json:"event"` // listening, association, closed, error, stopped
	// Association numbers the associations from 1 in the order they were accepted.
	Association int    `json:"association,omitempty"`
	Local       string `json:"local,omitempty"`
	Remote      string `json:"remote,omitempty"`
	Echo        bool   `json:"echo,omitempty"`
	Messages    int    `json:"messages,omitempty"`
	Bytes       int    `json:"bytes,omitempty"`
	// Reason says why an association closed or the listener stopped.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// eventLog writes events from concurrent associations, one whole line at a time.
type eventLog struct {
	mu     sync.Mutex
	w      io.Writer
	output string
	now    func() time.Time
}

func (l *eventLog) log(e Event) {
	e.Time = l.now().UTC().Format(time.RFC3339Nano)
	var line string
	if l.output == OutputJSON {
		b, _ := json.Marshal(e) // plain strings and numbers: cannot fail
		line = string(b)
	} else {
		line = e.Time + " " + e.text()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, line)
}

func (e Event) text() string {
	switch e.Event {
	case "listening":
		echo := "off"
		if e.Echo {
			echo = "on"
		}
		return fmt.Sprintf("listening on %s (echo %s)", e.Local, echo)
	case "association":
		return fmt.Sprintf("association %d from %s to %s", e.Association, orUnknown(e.Remote), orUnknown(e.Local))
	case "closed":
		return fmt.Sprintf("association %d from %s closed after %d messages, %d bytes: %s", e.Association, orUnknown(e.Remote), e.Messages, e.Bytes, e.Reason)
	case "stopped":
		return fmt.Sprintf("stopped after %d associations: %s", e.Association, e.Reason)
	default:
		s := "error: " + e.Error
		if e.Association > 0 {
			s = fmt.Sprintf("association %d: %s", e.Association, s)
		}
		return s
	}
}

// RunListen is probe listen: it checks the kernel, listens, logs every association to out
// and, with Echo, sends every message back. It returns ExitOK when ctx ends it (SIGTERM),
// after closing every association; setting up fails with the exit code of the cause.
func RunListen(ctx context.Context, o *ListenOptions, env Env, out, errOut io.Writer) ExitCode {
	if errs := o.Validate(); len(errs) > 0 {
		fmt.Fprintf(errOut, "error: %v\n", errs.ToAggregate())
		return ExitUsage
	}
	log := &eventLog{w: out, output: o.Output, now: env.Now}
	k := env.Kernel.SCTP()
	if !k.Available() && !o.AllowModuleLoad {
		log.log(Event{Event: "error", Error: k.Message()})
		return ExitKernelUnavailable
	}
	local, _ := parseAddrs(o.Bind) // validated
	ep := Endpoint{Addrs: local, Port: o.Port}
	ln, err := env.Transport.Listen(local, o.Port)
	if err != nil {
		code := classify(phaseListen, err)
		msg := fmt.Sprintf("listen on %s: %v", ep, err)
		if code == ExitKernelUnavailable {
			msg = fmt.Sprintf("kernel SCTP unavailable: module not loaded or blacklisted (socket: %v); %s", err, KernelHint)
		}
		log.log(Event{Event: "error", Error: msg})
		return code
	}
	log.log(Event{Event: "listening", Local: ln.Addr(), Echo: o.Echo})
	n := serveListener(ctx, ln, o, env, log)
	_ = ln.Close()
	log.log(Event{Event: "stopped", Association: n, Reason: "signal"})
	return ExitOK
}

// serveListener accepts until ctx is done, then waits for every association to close and
// returns how many it accepted. Only this goroutine touches the listener, so Accept never
// races Close (closing does not reliably unblock Accept: ishidawataru/sctp#41).
func serveListener(ctx context.Context, ln Listener, o *ListenOptions, env Env, log *eventLog) int {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxAssociations)
	id := 0
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return id
		}
		conn, err := ln.Accept(ctx)
		if ctx.Err() != nil {
			if err == nil {
				_ = conn.Close()
			}
			return id
		}
		if err != nil {
			<-slots
			log.log(Event{Event: "error", Error: "accept: " + err.Error()})
			select {
			case <-time.After(acceptBackoff):
			case <-ctx.Done():
			}
			continue
		}
		id++
		n := id
		wg.Go(func() {
			defer func() { <-slots }()
			serveConn(ctx, conn, n, o, env, log)
		})
	}
}

// serveConn reads messages until the peer ends the association, it idles past the idle
// timeout, or ctx is done, echoing them with o.Echo.
func serveConn(ctx context.Context, conn Conn, id int, o *ListenOptions, env Env, log *eventLog) {
	defer func() { _ = conn.Close() }()
	abort := func() { _ = conn.Close() }
	// Read the addresses before anything can close the socket.
	e := Event{Event: "association", Association: id, Local: conn.LocalAddr(), Remote: conn.RemoteAddr()}
	log.log(e)
	e.Event = "closed"
	buf := make([]byte, 64<<10)
	for {
		n, err := call(ctx, o.IdleTimeout, env.grace(), func(context.Context) (int, error) { return conn.Read(buf) }, abort, nil)
		if err == nil && n == 0 {
			err = io.EOF
		}
		if err == nil && o.Echo {
			_, err = call(ctx, o.IdleTimeout, env.grace(), func(context.Context) (int, error) { return conn.Write(buf[:n]) }, abort, nil)
		}
		if err != nil {
			e.Reason = closeReason(ctx, err, o.IdleTimeout)
			log.log(e)
			return
		}
		e.Messages++
		e.Bytes += n
	}
}

func closeReason(ctx context.Context, err error, idle time.Duration) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return "idle for " + idle.String()
	case ctx.Err() != nil:
		return "listener stopped"
	case errors.Is(err, io.EOF):
		return "closed by the peer"
	default:
		return strings.TrimSpace(err.Error())
	}
}
