package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/sctpguard/sctpguard/policy"
)

// AKOGuardPath is where the guard on AKO's ConfigMap is served.
const AKOGuardPath = "/validate-ako-settings"

// DefaultAKOGuardDeadline bounds the guard's judgement: half its configuration's
// timeoutSeconds (DefaultAKOGuardTimeoutSeconds), so that it always answers in time. The
// server's own deadline (under its write timeout) applies too.
const DefaultAKOGuardDeadline = 1500 * time.Millisecond

// maxGuardWarning bounds one warning of the guard: the API server may cut a warning over
// 256 characters.
const maxGuardWarning = 250

// akoGuardMode labels the guard's requests in the metrics.
const akoGuardMode Mode = "ako-guard"

// AKOGuard is the validating webhook on AKO's ConfigMap. It judges the stored objects under
// the settings the new ConfigMap holds and under those it replaces, and answers, before the
// change is stored, with a warning per rule that names the objects the change would break:
// "3 SCTP Services would be skipped by AKO in NodePortLocal mode: ran/ngap, ran/s1ap,
// core/diameter". It allows the change, unless Deny is set and the change breaks an object a
// denying rule would refuse. It never blocks AKO's ConfigMap on its own failure: whatever it
// cannot judge (a listing that fails, a deadline that passes) is allowed with a warning that
// says so.
type AKOGuard struct {
	// Namespace and Name name AKO's ConfigMap; requests about other objects are allowed.
	Namespace, Name string
	// Policy is the engine in force; Inventory what the cross-object rules read; Stored the
	// objects judged.
	Policy    func() Policy
	Inventory policy.Inventory
	Stored    StoredSource
	// Skip reports whether the webhook configurations skip a namespace (opted out, or
	// excluded): its objects are not judged (nil: none is skipped).
	Skip func(namespace string) bool
	// Read reads a ConfigMap's settings as the webhooks apply them (nil: no ConfigMap).
	Read func(*corev1.ConfigMap) (policy.Context, []policy.SettingProblem)
	// Deny refuses a change that breaks stored objects a denying rule would refuse.
	Deny bool
	// Deadline bounds the judgement (DefaultAKOGuardDeadline when 0).
	Deadline time.Duration
	Log      logr.Logger
	Metrics  *Metrics
}

// ServeHTTP answers one AdmissionReview.
func (g *AKOGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	review, code, err := readReview(r)
	if err != nil {
		// Not a request the API server sends: it gets a denial that says why.
		resp := errored(code, err)
		if review != nil && review.Request != nil {
			resp.UID = review.Request.UID
		}
		g.Metrics.observe(akoGuardMode, "ConfigMap", "", outcomeBadRequest, time.Since(start))
		writeReview(w, resp)
		return
	}
	req := review.Request
	resp, outcome := g.answer(r.Context(), req)
	resp.UID = req.UID
	g.Metrics.observe(akoGuardMode, req.Kind.Kind, string(req.Operation), outcome, time.Since(start))
	writeReview(w, resp)
}

func (g *AKOGuard) answer(ctx context.Context, req *admissionv1.AdmissionRequest) (resp *admissionv1.AdmissionResponse, outcome string) {
	defer func() {
		if p := recover(); p != nil {
			g.Log.Error(fmt.Errorf("panic: %v", p), "the guard on AKO's ConfigMap panicked; the change is allowed", "uid", req.UID)
			resp, outcome = &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{
				fmt.Sprintf("sctpguard could not judge this change of AKO's settings (internal error; its log has the details under request uid %q)", req.UID),
			}}, outcomePanic
		}
	}()
	if req.Kind.Group != "" || req.Kind.Kind != "ConfigMap" || req.Namespace != g.Namespace || req.Name != g.Name ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allowed("not AKO's ConfigMap, or not a change of it"), outcomeSkipped
	}
	proposed, err := decodeConfigMap(req.Object.Raw)
	if err != nil {
		return allowedWith(fmt.Sprintf("sctpguard could not read the new %s: %v", g.Name, err)), outcomeError
	}
	var stored *corev1.ConfigMap
	if req.Operation == admissionv1.Update {
		if stored, err = decodeConfigMap(req.OldObject.Raw); err != nil {
			return allowedWith(fmt.Sprintf("sctpguard could not read the stored %s: %v", g.Name, err)), outcomeError
		}
	}
	next, problems := g.Read(proposed)
	current, _ := g.Read(stored)
	var warnings []string
	for _, p := range problems {
		warnings = append(warnings, fmt.Sprintf("%s: %s", g.Name, p))
	}
	if reflect.DeepEqual(next, current) {
		return allowedResponse(warnings), outcomeFor(warnings)
	}
	deadline := cmp.Or(g.Deadline, DefaultAKOGuardDeadline)
	if d, ok := ctx.Deadline(); ok {
		deadline = min(deadline, time.Until(d).Round(time.Millisecond))
	}
	jctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	broken, incomplete, err := g.judge(jctx, current, next)
	if err != nil {
		g.Log.Info("could not judge the stored objects under AKO's new settings; the change is allowed", "error", err.Error())
		warnings = append(warnings, fmt.Sprintf("sctpguard could not judge the stored objects under the new settings: %v; "+
			"run sctpguard check --cluster -A --ako-configmap <the new ConfigMap> to see what it would break", err))
		return allowedResponse(warnings), outcomeError
	}
	breaks := brokenWarnings(broken)
	if incomplete != "" {
		breaks = append(breaks, fmt.Sprintf("sctpguard judged %s before its deadline (%s): the list may be incomplete; "+
			"run sctpguard check --cluster -A --ako-configmap <the new ConfigMap> for all", incomplete, deadline))
	}
	warnings = append(warnings, breaks...)
	g.Log.Info("AKO's settings change judged", "from", current.String(), "to", next.String(), "broken", len(broken), "incomplete", incomplete != "")
	if g.Deny && slices.ContainsFunc(broken, func(b brokenObject) bool { return b.Action == policy.ActionDeny }) {
		return &admissionv1.AdmissionResponse{Allowed: false, Warnings: capGuardWarnings(warnings), Result: &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
			Message: "sctpguard refuses this change of AKO's settings: it would break stored objects:\n" + strings.Join(breaks, "\n") +
				"\n(the guard's deny is set: akoGuard.deny in the chart, --ako-guard-deny; fix the objects first, or unset it to make the change anyway)",
		}}, outcomeDenied
	}
	return allowedResponse(warnings), outcomeFor(warnings)
}

// brokenObject is a finding a stored object would have under the new settings and has not
// under the current ones.
type brokenObject struct {
	Rule   string
	Action policy.Action
	Object policy.ObjectRef
}

// judge judges every stored object under both settings and returns the findings the new ones
// add. When ctx ends first, it returns what it found and how far it got.
func (g *AKOGuard) judge(ctx context.Context, current, next policy.Context) ([]brokenObject, string, error) {
	objs, err := g.Stored.Stored(ctx)
	if err != nil {
		return nil, "", err
	}
	pol := g.Policy()
	type key struct {
		rule, path string
	}
	var out []brokenObject
	for n, obj := range objs {
		if ctx.Err() != nil {
			return out, fmt.Sprintf("%d of %d stored objects", n, len(objs)), nil
		}
		if ns := obj.GetNamespace(); ns != "" && (pol.Exempt(ns) || (g.Skip != nil && g.Skip(ns))) {
			continue
		}
		before, err := judgeStored(ctx, pol, obj, policy.Env{Context: current, Inventory: g.Inventory})
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Sprintf("%d of %d stored objects", n, len(objs)), nil
			}
			return nil, "", fmt.Errorf("%s: %w", policy.Ref(obj), err)
		}
		after, err := judgeStored(ctx, pol, obj, policy.Env{Context: next, Inventory: g.Inventory})
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Sprintf("%d of %d stored objects", n, len(objs)), nil
			}
			return nil, "", fmt.Errorf("%s: %w", policy.Ref(obj), err)
		}
		had := map[key]bool{}
		for _, f := range before {
			had[key{f.Rule, f.Path}] = true
		}
		seen := map[string]bool{} // one entry per rule and object
		for _, f := range after {
			if had[key{f.Rule, f.Path}] || seen[f.Rule] || (f.Action != policy.ActionDeny && f.Action != policy.ActionWarn) {
				continue
			}
			seen[f.Rule] = true
			out = append(out, brokenObject{Rule: f.Rule, Action: f.Action, Object: f.Object})
		}
	}
	return out, "", nil
}

// brokenWarnings makes one warning per rule and kind, naming the objects:
// "3 SCTP Services would be skipped by AKO in NodePortLocal mode: ran/ngap, ran/s1ap, core/diameter".
func brokenWarnings(broken []brokenObject) []string {
	type group struct {
		rule, kind string
		action     policy.Action
		names      []string
	}
	var groups []*group
	index := map[[2]string]*group{}
	for _, b := range broken {
		k := [2]string{b.Rule, b.Object.Kind}
		g, ok := index[k]
		if !ok {
			g = &group{rule: b.Rule, kind: b.Object.Kind, action: b.Action}
			index[k] = g
			groups = append(groups, g)
		}
		name := b.Object.Name
		if b.Object.Namespace != "" {
			name = b.Object.Namespace + "/" + name
		}
		g.names = append(g.names, name)
		if b.Action == policy.ActionDeny {
			g.action = policy.ActionDeny
		}
	}
	// Denials first, then by rule and kind.
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(strings.Compare(string(a.action), string(b.action)), strings.Compare(a.rule, b.rule), strings.Compare(a.kind, b.kind))
	})
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, listNames(groupHead(g.rule, g.kind, g.action, len(g.names)), g.names))
	}
	return out
}

// groupHead says what the change does to n objects of a kind under a rule.
func groupHead(rule, kind string, action policy.Action, n int) string {
	noun := kindNoun(kind, n)
	if strings.HasPrefix(rule, "sctp-") {
		noun = "SCTP " + noun
	}
	switch policy.RuleID(rule) {
	case policy.RuleSCTPNodePortLocal:
		return fmt.Sprintf("%d %s would be skipped by AKO in NodePortLocal mode", n, noun)
	case policy.RuleBackendClusterIPNodePort:
		return fmt.Sprintf("%d %s would get no pool servers from AKO in NodePort mode", n, noun)
	case policy.RuleGatewayServicesAPIOff:
		return fmt.Sprintf("%d %s would be ignored by AKO with servicesAPI off", n, noun)
	}
	what := "would be denied by"
	if action != policy.ActionDeny {
		what = "would get a warning from"
	}
	if info, ok := policy.LookupRule(rule); ok && info.Summary != "" {
		return fmt.Sprintf("%d %s %s [%s] (%s)", n, noun, what, rule, info.Summary)
	}
	return fmt.Sprintf("%d %s %s [%s]", n, noun, what, rule)
}

// kindNoun is "Service" or "Services", "NetworkPolicies".
func kindNoun(kind string, n int) string {
	switch {
	case n == 1:
		return kind
	case strings.HasSuffix(kind, "y"):
		return strings.TrimSuffix(kind, "y") + "ies"
	case strings.HasSuffix(kind, "s"):
		return kind + "es"
	}
	return kind + "s"
}

// listNames appends ": a, b, c" to head, as many names as fit in maxGuardWarning, then how
// many more there are.
func listNames(head string, names []string) string {
	var b strings.Builder
	b.WriteString(head)
	sep := ": "
	for i, name := range names {
		more := ""
		if rest := len(names) - i - 1; rest > 0 {
			more = fmt.Sprintf(", and %d more", rest)
		}
		// Room for this name and for the count of those after it.
		if b.Len()+len(sep)+len(name)+len(more) > maxGuardWarning {
			fmt.Fprintf(&b, "%sand %d more", sep, len(names)-i)
			break
		}
		b.WriteString(sep)
		b.WriteString(name)
		sep = ", "
	}
	return b.String()
}

// capGuardWarnings keeps the warnings within what the API server passes on: at most
// MaxWarnings, each cut to maxGuardWarning and made header-safe.
func capGuardWarnings(warnings []string) []string {
	return capWarningsTo(warnings, maxGuardWarning, "sctpguard check --cluster lists them all")
}

func decodeConfigMap(raw []byte) (*corev1.ConfigMap, error) {
	if len(raw) == 0 {
		return nil, errors.New("the request carries no object")
	}
	var cm corev1.ConfigMap
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &cm); err != nil {
		return nil, err
	}
	return &cm, nil
}

func allowedWith(warning string) *admissionv1.AdmissionResponse {
	return allowedResponse([]string{warning})
}

func allowedResponse(warnings []string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: capGuardWarnings(warnings)}
}

func outcomeFor(warnings []string) string {
	if len(warnings) > 0 {
		return outcomeWarned
	}
	return outcomeAllowed
}
