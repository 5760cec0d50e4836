package probe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
)

// RunConnect is probe connect: it validates the options (problems go to errOut, exit code
// 2), probes, writes the summary to out and returns the verdict's exit code.
func RunConnect(ctx context.Context, o *ConnectOptions, env Env, out, errOut io.Writer) ExitCode {
	if errs := o.Validate(); len(errs) > 0 {
		fmt.Fprintf(errOut, "error: %v\n", errs.ToAggregate())
		return ExitUsage
	}
	res := Connect(ctx, o, env)
	if err := res.Write(out, o.Output); err != nil {
		fmt.Fprintf(errOut, "error: write summary: %v\n", err)
		return ExitError
	}
	return res.ExitCode
}

// Connect checks the kernel, resolves the target, sets up an association, sends the
// message Count times and checks each echo. It stops at the first failure: a late echo
// would otherwise be taken for the next message's. Every blocking step is bounded by
// o.Timeout and by ctx.
func Connect(ctx context.Context, o *ConnectOptions, env Env) *Result {
	res := &Result{Schema: SchemaConnect, Target: o.Target, Messages: []Message{}}
	if errs := o.Validate(); len(errs) > 0 {
		res.finish(ExitUsage, errs.ToAggregate().Error())
		return res
	}
	res.Kernel = env.Kernel.SCTP()
	if !res.Kernel.Available() && !o.AllowModuleLoad {
		res.finish(ExitKernelUnavailable, res.Kernel.Message())
		return res
	}
	r := connectRun{o: o, env: env, res: res}
	res.finish(r.run(ctx))
	return res
}

type connectRun struct {
	o   *ConnectOptions
	env Env
	res *Result
	// remote names the peer in messages: the resolved endpoint, then the association's.
	remote string
}

func (r *connectRun) run(ctx context.Context) (ExitCode, string) {
	o, env := r.o, r.env
	target, _ := ParseTarget(o.Target) // validated
	local, _ := parseAddrs(o.Bind)

	remote, err := r.resolve(ctx, target)
	if err != nil {
		return r.fail(ctx, phaseResolve, 0, err)
	}
	r.remote = remote.String()

	start := env.Now()
	conn, err := call(ctx, o.Timeout, env.grace(),
		func(ctx context.Context) (Conn, error) { return env.Transport.Dial(ctx, local, remote, o.Timeout) },
		nil, func(c Conn) { _ = c.Close() })
	if err != nil {
		return r.fail(ctx, phaseAssociate, 0, err)
	}
	// Close aborts a blocked Read or Write; closing twice is harmless.
	defer func() { _ = conn.Close() }()
	abort := func() { _ = conn.Close() }
	r.res.SetupMs = ms(env.Now().Sub(start))
	r.res.Local, r.res.Remote = conn.LocalAddr(), conn.RemoteAddr()
	if r.res.Remote != "" {
		r.remote = r.res.Remote
	}

	payload := []byte(o.Message)
	buf := make([]byte, 64<<10)
	for seq := 1; seq <= o.Count; seq++ {
		m := Message{Seq: seq, Bytes: len(payload), Echo: EchoNotExpected}
		start := env.Now()
		_, err := call(ctx, o.Timeout, env.grace(),
			func(context.Context) (int, error) { return conn.Write(payload) }, abort, nil)
		if err != nil {
			if o.ExpectEcho {
				m.Echo = EchoMissing
			}
			r.res.Messages = append(r.res.Messages, m)
			return r.fail(ctx, phaseSend, seq, err)
		}
		if !o.ExpectEcho {
			r.res.Messages = append(r.res.Messages, m)
			continue
		}
		n, err := call(ctx, o.Timeout, env.grace(),
			func(context.Context) (int, error) { return conn.Read(buf) }, abort, nil)
		if err == nil && n == 0 {
			err = io.EOF
		}
		if err != nil {
			m.Echo = EchoMissing
			r.res.Messages = append(r.res.Messages, m)
			return r.fail(ctx, phaseReceive, seq, err)
		}
		m.RTTMs = ms(env.Now().Sub(start))
		if !bytes.Equal(buf[:n], payload) {
			m.Echo = EchoMismatch
			r.res.Messages = append(r.res.Messages, m)
			return ExitEchoMismatch, fmt.Sprintf("message %d: %s answered %d bytes %s, sent %d bytes %s",
				seq, r.remote, n, quote(buf[:n]), len(payload), quote(payload))
		}
		m.Echo = EchoOK
		r.res.Messages = append(r.res.Messages, m)
	}
	return ExitOK, ""
}

// resolve turns the target's hosts into addresses, each name bounded by the timeout.
func (r *connectRun) resolve(ctx context.Context, t Target) (Endpoint, error) {
	ep := Endpoint{Port: t.Port}
	for _, h := range t.Hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			ep.Addrs = append(ep.Addrs, a.Unmap())
			continue
		}
		addrs, err := call(ctx, r.o.Timeout, r.env.grace(),
			func(ctx context.Context) ([]netip.Addr, error) { return r.env.Resolver.LookupNetIP(ctx, "ip", h) }, nil, nil)
		if err != nil {
			return ep, fmt.Errorf("resolve %s: %w", h, err)
		}
		if len(addrs) == 0 {
			return ep, fmt.Errorf("resolve %s: no addresses", h)
		}
		// A name's addresses may be different hosts (the Pods behind a headless Service),
		// so only the first joins the association; name each address for multi-homing.
		ep.Addrs = append(ep.Addrs, addrs[0].Unmap())
	}
	return ep, nil
}

// fail turns a failed step into the verdict and the sentence the user reads.
func (r *connectRun) fail(ctx context.Context, ph phase, seq int, err error) (ExitCode, string) {
	if ctx.Err() != nil {
		return ExitInterrupted, fmt.Sprintf("interrupted during %s", ph)
	}
	code := classify(ph, err)
	o := r.o
	switch {
	case code == ExitKernelUnavailable:
		return code, fmt.Sprintf("kernel SCTP unavailable: module not loaded or blacklisted (socket: %v); %s", err, KernelHint)
	case ph == phaseResolve:
		return code, err.Error()
	case code == ExitRefused:
		return code, fmt.Sprintf("association with %s refused: the peer answered INIT with ABORT, nothing listens on that SCTP port (%v)", r.remote, err)
	case code == ExitUnreachable && isTimeout(err):
		return code, fmt.Sprintf("no association with %s within %s: INIT unanswered (host down, dropped by a firewall or NetworkPolicy, or no route)", r.remote, o.Timeout)
	case code == ExitUnreachable:
		return code, fmt.Sprintf("no association with %s: %v", r.remote, err)
	case code == ExitNoAnswer && isTimeout(err):
		return code, fmt.Sprintf("no answer from %s to message %d within %s", r.remote, seq, o.Timeout)
	case code == ExitNoAnswer:
		return code, fmt.Sprintf("%s ended the association without answering message %d (%v)", r.remote, seq, err)
	case seq > 0:
		return code, fmt.Sprintf("%s message %d to %s: %v", ph, seq, r.remote, err)
	default:
		return code, fmt.Sprintf("%s %s: %v", ph, r.remote, err)
	}
}

// quote shows at most 64 bytes of a message.
func quote(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q...", b[:64])
	}
	return fmt.Sprintf("%q", b)
}
