package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// SchemaConnect names the JSON summary's schema; it changes only with an incompatible change.
const SchemaConnect = "sctpguard.io/probe-connect/v1"

// Result is the summary of probe connect. In JSON every field is always present (null or
// "" when unknown), so scripts need no presence checks.
type Result struct {
	Schema   string   `json:"schema"`
	Verdict  Verdict  `json:"verdict"`
	ExitCode ExitCode `json:"exitCode"`
	// Error is the message of a failed verdict, "" when ok.
	Error  string       `json:"error"`
	Target string       `json:"target"`
	Kernel KernelStatus `json:"kernel"`
	// Local and Remote are the association's addresses, "" before it is set up.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// SetupMs is how long the association set-up took; null when it failed.
	SetupMs  *float64  `json:"setupMs"`
	Sent     int       `json:"sent"`
	Echoed   int       `json:"echoed"`
	Messages []Message `json:"messages"`
	// RTTMs summarizes the round-trip times of the echoed messages; null when none was.
	RTTMs *RTTStats `json:"rttMs"`
}

// Echo is what became of one message's echo.
type Echo string

// Echo outcomes.
const (
	EchoOK          Echo = "ok"
	EchoMismatch    Echo = "mismatch"
	EchoMissing     Echo = "missing"
	EchoNotExpected Echo = "not-expected"
)

// Message is one message sent.
type Message struct {
	Seq   int  `json:"seq"`
	Bytes int  `json:"bytes"`
	Echo  Echo `json:"echo"`
	// RTTMs is from send to echo received, in milliseconds; null without an echo.
	RTTMs *float64 `json:"rttMs"`
}

// RTTStats are round-trip times in milliseconds.
type RTTStats struct {
	Min float64 `json:"min"`
	Avg float64 `json:"avg"`
	Max float64 `json:"max"`
}

// ms converts a duration to milliseconds, to the microsecond.
func ms(d time.Duration) *float64 {
	v := float64(d.Microseconds()) / 1000
	return &v
}

// finish sets the verdict and the RTT summary.
func (r *Result) finish(code ExitCode, msg string) {
	r.ExitCode, r.Verdict, r.Error = code, code.Verdict(), msg
	r.Sent, r.Echoed, r.RTTMs = len(r.Messages), 0, nil
	var sum float64
	for _, m := range r.Messages {
		if m.Echo != EchoOK || m.RTTMs == nil {
			continue
		}
		v := *m.RTTMs
		if r.RTTMs == nil {
			r.RTTMs = &RTTStats{Min: v, Max: v}
		}
		r.RTTMs.Min, r.RTTMs.Max = min(r.RTTMs.Min, v), max(r.RTTMs.Max, v)
		sum += v
		r.Echoed++
	}
	if r.RTTMs != nil {
		r.RTTMs.Avg = float64(int64(sum/float64(r.Echoed)*1000+0.5)) / 1000
	}
}

// Write writes the summary in the output format.
func (r *Result) Write(w io.Writer, output string) error {
	if output == OutputJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "probe connect %s\n", r.Target)
	fmt.Fprintf(&b, "kernel: %s (%s)\n", r.Kernel.State, strings.Join(r.Kernel.Evidence, ", "))
	if r.SetupMs != nil {
		fmt.Fprintf(&b, "association: %s -> %s, set up in %.3f ms\n", orUnknown(r.Local), orUnknown(r.Remote), *r.SetupMs)
	}
	for _, m := range r.Messages {
		switch m.Echo {
		case EchoOK:
			fmt.Fprintf(&b, "message %d: %d bytes, echoed in %.3f ms\n", m.Seq, m.Bytes, *m.RTTMs)
		case EchoMismatch:
			fmt.Fprintf(&b, "message %d: %d bytes, answered with other bytes in %.3f ms\n", m.Seq, m.Bytes, *m.RTTMs)
		case EchoMissing:
			fmt.Fprintf(&b, "message %d: %d bytes, no echo\n", m.Seq, m.Bytes)
		default:
			fmt.Fprintf(&b, "message %d: %d bytes sent\n", m.Seq, m.Bytes)
		}
	}
	if len(r.Messages) > 0 {
		fmt.Fprintf(&b, "sent %d, echoed %d", r.Sent, r.Echoed)
		if r.RTTMs != nil {
			fmt.Fprintf(&b, ", rtt min/avg/max %.3f/%.3f/%.3f ms", r.RTTMs.Min, r.RTTMs.Avg, r.RTTMs.Max)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "verdict: %s (exit code %d)", r.Verdict, r.ExitCode)
	if r.Error != "" {
		b.WriteString(": " + r.Error)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
