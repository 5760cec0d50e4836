package probe

import (
	"net"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Output formats.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// Outputs lists the supported output formats.
var Outputs = []string{OutputText, OutputJSON}

// Defaults and limits.
const (
	// DefaultPort is the port of the OKD verification procedure.
	DefaultPort = 30102
	// DefaultMessage is what connect sends when --message is not given.
	DefaultMessage = "sctpguard-probe"
	// DefaultTimeout bounds each step of connect: association set-up and each round trip.
	DefaultTimeout = 5 * time.Second
	// DefaultIdleTimeout closes a listener's association that sends nothing for this long,
	// so a silent client cannot pin one of its threads forever.
	DefaultIdleTimeout = time.Minute
	// MaxMessage bounds --message; one message must fit one read.
	MaxMessage = 16 << 10
	// MaxCount bounds --count.
	MaxCount = 10000
)

// ConnectOptions are the settings of probe connect.
type ConnectOptions struct {
	// Target is HOST:PORT, or HOST/HOST:PORT for a multi-homed peer.
	Target string
	// Bind are the local addresses of the association (none: the kernel chooses).
	Bind []string
	// Message is sent Count times.
	Message string
	Count   int
	// Timeout bounds each blocking step: name resolution, association set-up, each round trip.
	Timeout time.Duration
	// ExpectEcho requires each message back unchanged; without it messages are only sent.
	ExpectEcho bool
	// Output is one of Outputs.
	Output string
	// AllowModuleLoad opens the socket even when the passive checks did not find SCTP
	// registered, which makes the kernel load sctp.ko when it can.
	AllowModuleLoad bool
}

// NewConnectOptions returns the defaults.
func NewConnectOptions() *ConnectOptions {
	return &ConnectOptions{Message: DefaultMessage, Count: 1, Timeout: DefaultTimeout, ExpectEcho: true, Output: OutputText}
}

// Validate checks the options without touching the network.
func (o *ConnectOptions) Validate() field.ErrorList {
	var errs field.ErrorList
	if o.Target == "" {
		errs = append(errs, field.Required(field.NewPath("target"), "give HOST:PORT"))
	} else if _, err := ParseTarget(o.Target); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("target"), o.Target, err.Error()))
	}
	errs = append(errs, validateBind(o.Bind)...)
	if o.Message == "" || len(o.Message) > MaxMessage {
		errs = append(errs, field.Invalid(field.NewPath("message"), len(o.Message), "length must be from 1 to 16384 bytes"))
	}
	if o.Count < 1 || o.Count > MaxCount {
		errs = append(errs, field.Invalid(field.NewPath("count"), o.Count, "must be from 1 to 10000"))
	}
	errs = append(errs, validateTimeout(field.NewPath("timeout"), o.Timeout)...)
	errs = append(errs, validateOutput(o.Output)...)
	return errs
}

// ListenOptions are the settings of probe listen.
type ListenOptions struct {
	// Port is the SCTP port to listen on.
	Port int
	// Bind are the local addresses (none: all of them).
	Bind []string
	// Echo sends every message back on its association.
	Echo bool
	// IdleTimeout closes an association that sends nothing for this long.
	IdleTimeout time.Duration
	// Output is one of Outputs: text lines, or one JSON object per event.
	Output string
	// AllowModuleLoad: as in ConnectOptions.
	AllowModuleLoad bool
}

// NewListenOptions returns the defaults.
func NewListenOptions() *ListenOptions {
	return &ListenOptions{Port: DefaultPort, IdleTimeout: DefaultIdleTimeout, Output: OutputText}
}

// Validate checks the options without touching the network.
func (o *ListenOptions) Validate() field.ErrorList {
	var errs field.ErrorList
	if o.Port < 1 || o.Port > 65535 {
		errs = append(errs, field.Invalid(field.NewPath("port"), o.Port, "must be from 1 to 65535"))
	}
	errs = append(errs, validateBind(o.Bind)...)
	errs = append(errs, validateTimeout(field.NewPath("idle-timeout"), o.IdleTimeout)...)
	errs = append(errs, validateOutput(o.Output)...)
	return errs
}

func validateBind(bind []string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("bind")
	seen := map[string]bool{}
	for i, s := range bind {
		a, err := parseAddrs([]string{s})
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Index(i), s, "must be an IP address"))
		case seen[a[0].String()]:
			errs = append(errs, field.Duplicate(p.Index(i), s))
		default:
			seen[a[0].String()] = true
		}
	}
	return errs
}

func validateTimeout(p *field.Path, d time.Duration) field.ErrorList {
	// The kernel takes socket timeouts in whole microseconds and at most about 24 days.
	if d < time.Millisecond || d > 24*time.Hour {
		return field.ErrorList{field.Invalid(p, d.String(), "must be from 1ms to 24h")}
	}
	return nil
}

func validateOutput(o string) field.ErrorList {
	if !slices.Contains(Outputs, o) {
		return field.ErrorList{field.NotSupported(field.NewPath("output"), o, Outputs)}
	}
	return nil
}

// Env is what a probe runs against: the host's kernel and sockets, or fakes in tests.
type Env struct {
	Kernel    Kernel
	Transport Transport
	Resolver  Resolver
	// Now reads the clock for round-trip times.
	Now func() time.Time
	// Grace is how long an aborted call is waited for (DefaultGrace when zero).
	Grace time.Duration
}

// HostEnv is this host: passive kernel checks on /, the kernel's SCTP, the system resolver.
func HostEnv() Env {
	return Env{Kernel: HostKernel(), Transport: SCTP{}, Resolver: net.DefaultResolver, Now: time.Now, Grace: DefaultGrace}
}

func (e Env) grace() time.Duration {
	if e.Grace <= 0 {
		return DefaultGrace
	}
	return e.Grace
}
