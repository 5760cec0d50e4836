package webhook

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
)

// Caps of a response. The API server hands a denial's message to the user whole and keeps at
// most 4,096 characters of warnings per request, from every webhook together; an object with
// thousands of findings (a Service with 20,000 unnamed SCTP ports) must not answer megabytes
// that the API server would cut at random. The first findings are listed, then how many more
// there are; `sctpguard check` lists them all.
const (
	// MaxDenials is the number of denying findings a denial lists.
	MaxDenials = 20
	// MaxWarnings is the number of warnings a response carries (each at most
	// policy.MaxWarningLength characters), the last one saying how many were left out.
	MaxWarnings = 15
	// maxDenialRunes bounds one line of a denial: a user policy's message can be any length.
	maxDenialRunes = 1024
)

// decide maps findings to the response: denied with the denying findings, one per line,
// and warnings for the rest (on denials too, so nothing is hidden), both capped. The
// warnings of degraded states come first: they say the verdict was reached with less than
// sctpguard should know.
func decide(findings []policy.Finding, degraded []string) (*admissionv1.AdmissionResponse, string) {
	denials := 0
	warnings := slices.Clone(degraded)
	for _, f := range findings {
		switch f.Action {
		case policy.ActionDeny:
			denials++
		case policy.ActionWarn:
			warnings = append(warnings, f.Warning())
		}
	}
	warnings = capWarnings(dedupe(warnings))
	if denials > 0 {
		return &admissionv1.AdmissionResponse{
			Allowed:  false,
			Warnings: warnings,
			Result: &metav1.Status{
				Status:  metav1.StatusFailure,
				Code:    http.StatusForbidden,
				Reason:  metav1.StatusReasonForbidden,
				Message: denialMessage(findings, denials),
			},
		}, outcomeDenied
	}
	outcome := outcomeAllowed
	if len(warnings) > 0 {
		outcome = outcomeWarned
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}, outcome
}

// dedupe drops repeated warnings (a user policy may repeat a built-in's), keeping the
// engine's order: by field path, in document order.
func dedupe(warnings []string) []string {
	seen := make(map[string]bool, len(warnings))
	out := warnings[:0]
	for _, w := range warnings {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// denialMessage lists the first MaxDenials of the denying findings, one line each (as
// Finding.String renders it) cut to maxDenialRunes, and the count of the rest; denials is
// how many findings deny.
func denialMessage(findings []policy.Finding, denials int) string {
	// The lines are written into the message piece by piece: a line made first, then copied
	// in, would be a copy of each message more. A line whose pieces are not valid UTF-8, or
	// that is over the cap, is made whole and mended as one (deniedLine).
	var b strings.Builder
	n, shown := 0, 0
	for _, f := range findings {
		if f.Action != policy.ActionDeny || shown == MaxDenials {
			continue
		}
		n += len(f.Rule) + len(f.Path) + len(f.Message) + len("[] : \n")
		shown++
	}
	b.Grow(n) // one allocation for the usual lines: valid UTF-8 under the cap
	shown = 0
	for _, f := range findings {
		if f.Action != policy.ActionDeny || shown == MaxDenials {
			continue
		}
		if shown > 0 {
			b.WriteByte('\n')
		}
		shown++
		if !plainLine(f) {
			b.WriteString(deniedLine(f.String()))
			continue
		}
		f.WriteLine(&b)
	}
	if rest := denials - shown; rest > 0 {
		fmt.Fprintf(&b, "\n… and %d more findings deny this object; sctpguard check lists them all", rest)
	}
	return b.String()
}

// deniedLine is a line of a denial as the API server can pass it on: valid UTF-8, at most
// maxDenialRunes characters.
func deniedLine(line string) string {
	return truncateRunes(strings.ToValidUTF8(line, "\uFFFD"), maxDenialRunes)
}

// plainLine reports whether deniedLine leaves the finding's line, f.String(), as it is: its
// pieces are valid UTF-8 (so is their concatenation) and it is within the cap.
func plainLine(f policy.Finding) bool {
	if !utf8.ValidString(f.Rule) || !utf8.ValidString(f.Path) || !utf8.ValidString(f.Message) {
		return false
	}
	runes := len("[] ") + utf8.RuneCountInString(f.Rule) + utf8.RuneCountInString(f.Message)
	if f.Path != "" {
		runes += len(": ") + utf8.RuneCountInString(f.Path)
	}
	return runes <= maxDenialRunes
}

// capWarnings keeps the first MaxWarnings-1 warnings and replaces the rest with one that
// counts them. Warnings are made valid for the API server's Warning header, which drops a
// text with invalid UTF-8 or control characters silently.
func capWarnings(warnings []string) []string {
	return capWarningsTo(warnings, policy.MaxWarningLength, "sctpguard check lists them all")
}

// capWarningsTo is capWarnings with each warning cut to length runes, the count naming where
// the rest are.
func capWarningsTo(warnings []string, length int, rest string) []string {
	if len(warnings) > MaxWarnings {
		more := len(warnings) - (MaxWarnings - 1)
		warnings = append(warnings[:MaxWarnings-1], fmt.Sprintf("… and %d more warnings; %s", more, rest))
	}
	for i, w := range warnings {
		warnings[i] = headerSafe(truncateRunes(w, length))
	}
	return warnings
}

// headerSafe replaces control characters with spaces and invalid UTF-8 with U+FFFD.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func allowed(reason string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: reason}}
}

// errored denies a request sctpguard cannot judge, with the HTTP code of the reason inside.
func errored(code int, err error) *admissionv1.AdmissionResponse {
	//nolint:gosec // HTTP status codes fit in int32
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: int32(code), Reason: reasonFor(code), Message: err.Error(),
	}}
}

// couldNotJudge denies a request sctpguard failed to judge (the inventory failed, say).
func couldNotJudge(err error) *admissionv1.AdmissionResponse {
	return errored(http.StatusInternalServerError, fmt.Errorf("sctpguard could not judge the object, so it is denied: %w", err))
}
