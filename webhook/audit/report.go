package audit

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/policy"
	wgpolicy "github.com/sctpguard/sctpguard/policy/apis/wgpolicyk8s/v1alpha2"
)

// The reports sctpguard writes.
const (
	// ReportName names sctpguard's PolicyReport in each namespace that has results, and its
	// ClusterPolicyReport. One report per namespace, as Kyverno's reports were before 1.10
	// and as Policy Reporter groups them: sctpguard's findings are few (objects that break
	// SCTP), and a report per namespace is read in one `kubectl get`; a report per object
	// (Kyverno 1.10's choice, for clusters with thousands of violating Pods) would multiply
	// the objects for no gain here. A namespace with more than MaxResults results (thousands
	// of violating objects, which would outgrow etcd's object size) gets more reports,
	// sctpguard-2, sctpguard-3, ... (reportName), each with whole objects.
	ReportName = "sctpguard"
	// ManagedByLabel and ManagedBy mark the reports as sctpguard's: it lists only those and
	// deletes them when they empty.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "sctpguard"
	// Source is each result's source: the engine that wrote it.
	Source = "sctpguard"
	// PolicyBuiltin is the policy of the results of built-in rules (the rule is the rule's
	// ID, as in policy/rules.md); PolicyUser that of the user policies' (the rule is the
	// finding's rule).
	PolicyBuiltin = "sctpguard"
	PolicyUser    = "sctpguard-user-policies"
	// PropertyPath and PropertyAction are the result properties that hold the finding's
	// field path and action.
	PropertyPath   = "path"
	PropertyAction = "action"
	// FieldOwner is the field manager of the reports' server-side apply.
	FieldOwner = "sctpguard-audit"
)

// maxMessage bounds a result's message, and DefaultMaxResults the results of one report: a
// result is at most about 1.5 KiB (the message, its subject, properties and the rest), so
// that a report stays well within etcd's 1.5 MiB object limit (--max-request-bytes) and the
// API server's 3 MiB request limit. MaxResultsLimit is the most a report may be given
// (--audit-max-results): 1,000 results of 1.5 KiB still fit etcd's limit, with nothing to
// spare.
const (
	maxMessage        = 1024
	DefaultMaxResults = 500
	MaxResultsLimit   = 1000
)

// reportName is the name of a namespace's report part (0-based): ReportName, then
// ReportName-2, ReportName-3, ...
func reportName(part int) string {
	if part == 0 {
		return ReportName
	}
	return fmt.Sprintf("%s-%d", ReportName, part+1)
}

// reportPart is the part a report's name says, or false for a name that is not sctpguard's.
func reportPart(name string) (int, bool) {
	if name == ReportName {
		return 0, true
	}
	n, ok := strings.CutPrefix(name, ReportName+"-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 2 || strconv.Itoa(i) != n {
		return 0, false
	}
	return i - 1, true
}

// judged is one judged object: its reference and the findings it has, each with the time it
// was first found.
type judged struct {
	ref      corev1.ObjectReference
	findings []policy.Finding
	since    []metav1.Timestamp
}

// resultKey identifies a result across passes and restarts: the object's uid and what the
// finding says. Its first time is kept while it stands.
type resultKey struct {
	uid                 types.UID
	rule, path, message string
}

func keyOf(uid types.UID, f policy.Finding) resultKey {
	return resultKey{uid: uid, rule: f.Rule, path: f.Path, message: truncate(f.Message)}
}

// objectRef references an object in a result: its kind, version, namespace, name and uid.
func objectRef(obj policy.Object) corev1.ObjectReference {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return corev1.ObjectReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
	}
}

// Result turns a finding on an object into a PolicyReport result: the rule's ID as policy
// rule, the message, the object as subject, the path and action in properties, fail for a
// denying finding and warn for a warning (Gatekeeper's dryrun too), skip for a conftest
// exception, and a severity by action.
func Result(ref corev1.ObjectReference, f policy.Finding, at metav1.Timestamp) wgpolicy.PolicyReportResult {
	pol := PolicyUser
	if _, builtin := policy.LookupRule(f.Rule); builtin {
		pol = PolicyBuiltin
	}
	r := wgpolicy.PolicyReportResult{
		Source: Source, Policy: pol, Rule: f.Rule, Timestamp: at,
		Subjects: []corev1.ObjectReference{ref}, Description: truncate(f.Message),
		Properties: map[string]string{PropertyAction: string(f.Action)},
	}
	if f.Path != "" {
		r.Properties[PropertyPath] = f.Path
	}
	switch f.Action {
	case policy.ActionDeny:
		r.Result, r.Severity, r.Scored = wgpolicy.ResultFail, wgpolicy.SeverityHigh, true
	case policy.ActionWarn:
		r.Result, r.Severity = wgpolicy.ResultWarn, wgpolicy.SeverityMedium
	case policy.ActionDryRun:
		r.Result, r.Severity = wgpolicy.ResultWarn, wgpolicy.SeverityLow
	default:
		r.Result, r.Severity = wgpolicy.ResultSkip, wgpolicy.SeverityInfo
	}
	return r
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// content is what a report says: its summary and results.
type content struct {
	Summary wgpolicy.PolicyReportSummary
	Results []wgpolicy.PolicyReportResult
}

// reportContents splits the judged objects of a namespace into the contents of its reports:
// each of at most max results, an object's results never split (one with more than max has
// a report of its own), each report's results ordered by kind, name and (within an object)
// field path. Only objects with findings are given; none: no report.
//
// The parts are stable: an object stays in the part that held it in prev (what was last
// written) while it fits there, and the others, new or grown out of their part, go to the
// first part with room, then to new parts. So one object more, fewer or changed rewrites
// one report, not every report after it, as a split in sorted order would. Parts left
// empty are deleted (the names may have gaps, filled again by later objects). When the
// stable parts are twice as many as the results need, they are packed again from scratch.
func reportContents(objs []*judged, max int, prev []content) []content {
	objs = slices.Clone(objs)
	slices.SortFunc(objs, func(a, b *judged) int { return compareRefs(a.ref, b.ref) })
	packed := packSorted(objs, max)
	if len(prev) == 0 {
		return packed
	}
	was := map[refKey]int{}
	for part, c := range prev {
		for _, r := range c.Results {
			if len(r.Subjects) > 0 {
				was[refKeyOf(r.Subjects[0])] = part
			}
		}
	}
	stable := packStable(objs, max, func(j *judged) (int, bool) {
		part, ok := was[refKeyOf(j.ref)]
		return part, ok
	})
	used := 0
	for _, c := range stable {
		if len(c.Results) > 0 {
			used++
		}
	}
	if used >= 2*len(packed) {
		return packed
	}
	return stable
}

// refKey identifies an object in the reports across passes and restarts: its kind and name
// (a uid changes when the object is recreated under the same name).
type refKey struct{ apiVersion, kind, name string }

func refKeyOf(r corev1.ObjectReference) refKey { return refKey{r.APIVersion, r.Kind, r.Name} }

func compareRefs(a, b corev1.ObjectReference) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.APIVersion, b.APIVersion), cmp.Compare(a.Name, b.Name))
}

// packSorted places the sorted objects in parts of at most max results, in order: each in
// the last part if it fits there, else in a new part (an object with more than max results
// fills a part of its own). Each part holds a run of consecutive objects, in their order,
// and there are no more parts than an in-order split needs.
func packSorted(objs []*judged, max int) []content {
	p := newPacking(len(objs), max)
	for i, j := range objs {
		// In sorted order only the last part can have room.
		p.put(i, p.firstFit(len(p.size)-1, len(j.findings)), len(j.findings))
	}
	return p.contents(objs)
}

// packStable places the sorted objects in parts of at most max results, each object
// staying where it was: first each object in the part was says, if it says and the object
// fits there; then the rest in order, each in the first part with room, else in a new part.
// A part that held objects keeps its index, even if it is left empty. Each part's results
// keep the objects' order.
func packStable(objs []*judged, max int, was func(*judged) (int, bool)) []content {
	p := newPacking(len(objs), max)
	for i, j := range objs {
		if part, ok := was(j); ok && p.fits(part, len(j.findings)) {
			p.put(i, part, len(j.findings))
		}
	}
	for i, j := range objs {
		if p.where[i] < 0 {
			p.put(i, p.firstFit(0, len(j.findings)), len(j.findings))
		}
	}
	return p.contents(objs)
}

// packing is a split of objects into parts being made: the number of results in each
// part, and the part of each object (-1 until it is placed).
type packing struct {
	max   int
	size  []int
	where []int
}

func newPacking(objs, max int) *packing {
	p := &packing{max: max, where: make([]int, objs)}
	for i := range p.where {
		p.where[i] = -1
	}
	return p
}

// fits reports whether n more results fit in part: an empty part, or one not yet made,
// always has room.
func (p *packing) fits(part, n int) bool {
	return part >= len(p.size) || p.size[part] == 0 || p.size[part]+n <= p.max
}

// firstFit is the first part from from on where n more results fit (a new part if none).
func (p *packing) firstFit(from, n int) int {
	part := max(from, 0)
	for part < len(p.size) && !p.fits(part, n) {
		part++
	}
	return part
}

// put places object i, with n results, in part, making the parts up to it.
func (p *packing) put(i, part, n int) {
	for len(p.size) <= part {
		p.size = append(p.size, 0)
	}
	p.where[i] = part
	p.size[part] += n
}

// contents is the parts' reports: each part's results in the order of objs.
func (p *packing) contents(objs []*judged) []content {
	parts := make([]content, len(p.size))
	for i, j := range objs {
		c := &parts[p.where[i]]
		for k, f := range j.findings {
			r := Result(j.ref, f, j.since[k])
			c.Results = append(c.Results, r)
			switch r.Result {
			case wgpolicy.ResultFail:
				c.Summary.Fail++
			case wgpolicy.ResultWarn:
				c.Summary.Warn++
			case wgpolicy.ResultSkip:
				c.Summary.Skip++
			}
		}
	}
	return parts
}

func (c content) equal(o content) bool {
	return c.Summary == o.Summary && len(c.Results) == len(o.Results) && (len(c.Results) == 0 || reflect.DeepEqual(c.Results, o.Results))
}

// reportObject is the report part of a namespace ("" for the ClusterPolicyReport) with
// content, as unstructured for server-side apply.
func reportObject(namespace string, part int, c content) (*unstructured.Unstructured, error) {
	meta := metav1.ObjectMeta{Name: reportName(part), Namespace: namespace, Labels: map[string]string{ManagedByLabel: ManagedBy}}
	var obj runtime.Object
	if namespace == "" {
		obj = &wgpolicy.ClusterPolicyReport{
			TypeMeta:   metav1.TypeMeta{APIVersion: wgpolicy.SchemeGroupVersion.String(), Kind: "ClusterPolicyReport"},
			ObjectMeta: meta, Report: wgpolicy.Report{Summary: c.Summary, Results: c.Results},
		}
	} else {
		obj = &wgpolicy.PolicyReport{
			TypeMeta:   metav1.TypeMeta{APIVersion: wgpolicy.SchemeGroupVersion.String(), Kind: "PolicyReport"},
			ObjectMeta: meta, Report: wgpolicy.Report{Summary: c.Summary, Results: c.Results},
		}
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("report of %q: %w", namespace, err)
	}
	// An empty creationTimestamp would be applied as null: leave it to the API server.
	if m, ok := u["metadata"].(map[string]any); ok {
		delete(m, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: u}, nil
}

// reportLists are the lists of sctpguard's reports read at start: the PolicyReports. The
// judged kinds are all namespaced, so no ClusterPolicyReport is written (reportObject would
// write one for the namespace ""); a cluster-scoped kind joining Kinds adds its list here,
// and the chart's RBAC for clusterpolicyreports.
func reportLists() []client.ObjectList {
	return []client.ObjectList{&wgpolicy.PolicyReportList{}}
}

// contents returns the reports of a list by namespace, each namespace's by part (a part
// missing is an empty content).
func contents(l client.ObjectList) map[string][]content {
	out := map[string][]content{}
	add := func(namespace, name string, c content) {
		part, ok := reportPart(name)
		if !ok {
			return
		}
		parts := out[namespace]
		if part >= len(parts) {
			parts = append(parts, make([]content, part+1-len(parts))...)
		}
		parts[part] = c
		out[namespace] = parts
	}
	switch l := l.(type) {
	case *wgpolicy.PolicyReportList:
		for _, r := range l.Items {
			add(r.Namespace, r.Name, content{Summary: r.Summary, Results: r.Results})
		}
	case *wgpolicy.ClusterPolicyReportList:
		for _, r := range l.Items {
			add("", r.Name, content{Summary: r.Summary, Results: r.Results})
		}
	}
	return out
}

// Scheme returns a scheme with the report kinds, for the client that writes them.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := wgpolicy.AddToScheme(s); err != nil {
		panic(fmt.Sprintf("build scheme: %v", err)) // conflicting types: a programming error
	}
	return s
}
