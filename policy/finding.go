package policy

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Action is what a finding does to the object under review.
type Action string

const (
	// ActionDeny rejects the object.
	ActionDeny Action = "deny"
	// ActionWarn admits the object and returns a warning.
	ActionWarn Action = "warn"
	// ActionDryRun admits the object without telling the user; the finding is only logged
	// and counted (Gatekeeper's enforcementAction: dryrun).
	ActionDryRun Action = "dryrun"
	// ActionException admits the object: a conftest exception exempted it from a user rule.
	// check reports it, as conftest does; the webhook only counts it.
	ActionException Action = "exception"
)

// MaxWarningLength is the longest admission warning sctpguard returns. Kubernetes may
// truncate single warnings past 256 characters; 120 keeps them on one terminal line.
const MaxWarningLength = 120

// ObjectRef names the object a finding is about.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String renders "Kind ns/name", or "Kind name" for cluster-scoped objects.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Finding is one problem found in an object: which rule, what it does, where and why.
type Finding struct {
	// Rule is the rule ID from the catalogue (or a user policy's name).
	Rule string `json:"rule"`
	// Action is deny or warn, after the rule configuration was applied.
	Action Action `json:"action"`
	// Object is the object the finding is about.
	Object ObjectRef `json:"object"`
	// Path is the field path, e.g. spec.ports[1].protocol.
	Path string `json:"path"`
	// Message says what is wrong, what AKO or Kubernetes would do, and how to fix it.
	Message string `json:"message"`
	// Summary is the short constant used for admission warnings; empty means Message.
	Summary string `json:"-"`
	// Standing marks a denying finding demoted to a warning because the update under review
	// did not introduce it (the old object has it too) or the object is being deleted.
	Standing bool `json:"standing,omitempty"`
}

// String renders the finding the way denials list it: "[rule] path: message".
func (f Finding) String() string {
	var b strings.Builder
	b.Grow(len(f.Rule) + len(f.Path) + len(f.Message) + len("[] : "))
	f.WriteLine(&b)
	return b.String()
}

// WriteLine writes the finding's line, as String renders it, into b: a denial writes its
// findings' lines into one message without a copy of each.
func (f Finding) WriteLine(b *strings.Builder) {
	b.WriteByte('[')
	b.WriteString(f.Rule)
	b.WriteString("] ")
	if f.Path != "" {
		b.WriteString(f.Path)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
}

// Warning renders the finding as a short admission warning, "path: summary [rule]",
// at most MaxWarningLength characters. The full text stays in Message.
func (f Finding) Warning() string {
	text := f.Summary
	if text == "" {
		text = f.Message
	}
	if f.Standing {
		text = "standing: " + text
	}
	if f.Path != "" {
		text = f.Path + ": " + text
	}
	suffix := " [" + f.Rule + "]"
	limit := MaxWarningLength - utf8.RuneCountInString(suffix)
	if utf8.RuneCountInString(text) > limit {
		runes := []rune(text)
		text = string(runes[:limit-1]) + "…"
	}
	return text + suffix
}

// Denied reports whether any finding denies.
func Denied(findings []Finding) bool {
	for _, f := range findings {
		if f.Action == ActionDeny {
			return true
		}
	}
	return false
}

// newFinding builds a finding of a built-in rule with the rule's default action and summary.
// The engine fills in Object and applies the configuration.
func newFinding(rule RuleID, p *field.Path, format string, args ...any) Finding {
	info := catalogue[rule]
	return Finding{
		Rule:    string(rule),
		Action:  info.Action,
		Path:    pathString(p),
		Message: fmt.Sprintf(format, args...),
		Summary: info.Summary,
	}
}

// findingAt is newFinding with the path written as a string and the message made: for the
// rules every review of a kind runs, where formatting is a cost.
func findingAt(rule RuleID, path, message string) Finding {
	info := catalogue[rule]
	return Finding{Rule: string(rule), Action: info.Action, Path: path, Message: message, Summary: info.Summary}
}

// mirrorFinding turns an upstream-style field error into a finding whose message is the
// API server's own text for it, so `check` prints what kubectl would.
func mirrorFinding(rule RuleID, err *field.Error) Finding {
	info := catalogue[rule]
	return Finding{
		Rule:    string(rule),
		Action:  info.Action,
		Path:    err.Field,
		Message: err.ErrorBody(),
		Summary: info.Summary,
	}
}

func pathString(p *field.Path) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// SortFindings orders findings by field path in document order (list indexes compared as
// numbers, so ports[2] comes before ports[10]); findings on one path keep their order.
func SortFindings(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int { return comparePaths(a.Path, b.Path) })
}

// comparePaths compares two field paths segment by segment, without allocating: sorting
// calls it n log n times.
func comparePaths(a, b string) int {
	for {
		sa, ra := nextSegment(a)
		sb, rb := nextSegment(b)
		switch {
		case sa == "" && sb == "":
			return 0
		case sa == "":
			return -1
		case sb == "":
			return 1
		}
		if c := compareSegment(sa, sb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
}

// compareSegment compares list indexes as numbers and everything else as text.
func compareSegment(a, b string) int {
	if a == b {
		return 0
	}
	if mayBeInt(a) && mayBeInt(b) {
		ai, aerr := strconv.Atoi(a)
		bi, berr := strconv.Atoi(b)
		if aerr == nil && berr == nil {
			return ai - bi
		}
	}
	return strings.Compare(a, b)
}

// mayBeInt says whether s starts as strconv.Atoi's numbers start: sorting findings then
// parses no field name (and makes no error of it).
func mayBeInt(s string) bool {
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '+' || s[0] == '-')
}

// nextSegment returns the first segment of a path and the rest.
func nextSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, ".")
	if p == "" {
		return "", ""
	}
	if p[0] == '[' {
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return p[1:], ""
		}
		return p[1:end], p[end+1:]
	}
	end := strings.IndexAny(p, ".[")
	if end < 0 {
		return p, ""
	}
	return p[:end], p[end:]
}

// PathSegments yields the segments of a field path as rendered by field.Path: names, list
// indexes and map keys, in order. It is the inverse of field.Path.String for paths whose
// map keys contain no ']'.
func PathSegments(p string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for {
			seg, rest := nextSegment(p)
			if seg == "" && rest == "" || !yield(seg) {
				return
			}
			p = rest
		}
	}
}
