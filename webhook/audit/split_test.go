package audit

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sctpguard/sctpguard/policy"
	wgpolicy "github.com/sctpguard/sctpguard/policy/apis/wgpolicyk8s/v1alpha2"
)

// TestReportSplit: above MaxResults results a namespace's results go to several reports,
// named sctpguard, sctpguard-2, ..., each with whole objects in the reports' order (an object
// with more results than the bound has a report of its own), each summary its own; objects
// stay in their report while they fit, so a change writes the reports it touches and no
// other; reports no longer needed are deleted, and packed again when they are twice as many
// as needed; a restarted audit reads the parts back as what it wrote.
func TestReportSplit(t *testing.T) {
	ctx := context.Background()
	reports := fake.NewClientBuilder().WithScheme(Scheme()).Build()
	a := &Auditor{Reports: reports, MaxResults: 2, Log: logr.Discard(), synced: true, seeded: true,
		state: map[string]map[item]*judged{}, written: map[string][]content{}, dirty: sets.New[string]()}
	at := metav1.Timestamp{Seconds: 1700000000}
	service := func(name string, rules ...string) {
		it := item{what: judgeObject, gk: serviceGK, namespace: "ran", name: name}
		if len(rules) == 0 {
			delete(a.state["ran"], it)
			return
		}
		j := &judged{ref: corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: "ran", Name: name, UID: types.UID("uid-" + name)}}
		for i, r := range rules {
			j.findings = append(j.findings, policy.Finding{Rule: r, Action: policy.ActionDeny, Path: fmt.Sprintf("spec.ports[%d].protocol", i), Message: "m"})
			j.since = append(j.since, at)
		}
		if a.state["ran"] == nil {
			a.state["ran"] = map[item]*judged{}
		}
		a.state["ran"][it] = j
	}
	// The reports as stored: name, then each result's object and path.
	stored := func() map[string][]string {
		var l wgpolicy.PolicyReportList
		if err := reports.List(ctx, &l, client.InNamespace("ran")); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, r := range l.Items {
			results := []string{fmt.Sprintf("fail=%d", r.Summary.Fail)}
			for _, res := range r.Results {
				results = append(results, res.Subjects[0].Name+" "+res.Properties[PropertyPath])
			}
			out[r.Name] = results
		}
		return out
	}
	flush := func(want map[string][]string, applies, deletes int) {
		t.Helper()
		before := a.Stats()
		if err := a.flush(ctx, "ran"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored()); diff != "" {
			t.Errorf("reports (-want +got):\n%s", diff)
		}
		if got := a.Stats(); got.Applies-before.Applies != applies || got.Deletes-before.Deletes != deletes {
			t.Errorf("%d applies and %d deletes, want %d and %d", got.Applies-before.Applies, got.Deletes-before.Deletes, applies, deletes)
		}
	}

	for _, name := range []string{"e", "a", "c", "b"} {
		service(name, "sctp-nodeportlocal")
	}
	service("d", "sctp-nodeportlocal", "sctp-nodeportlocal", "sctp-nodeportlocal")
	flush(map[string][]string{
		"sctpguard":   {"fail=2", "a spec.ports[0].protocol", "b spec.ports[0].protocol"},
		"sctpguard-2": {"fail=1", "c spec.ports[0].protocol"},
		"sctpguard-3": {"fail=3", "d spec.ports[0].protocol", "d spec.ports[1].protocol", "d spec.ports[2].protocol"},
		"sctpguard-4": {"fail=1", "e spec.ports[0].protocol"},
	}, 4, 0)

	// A restart reads back what was written: nothing to write.
	restarted := &Auditor{Reports: reports, MaxResults: 2, Log: logr.Discard(), synced: true}
	if err := restarted.seed(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.written, restarted.written, cmp.AllowUnexported(content{})); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}

	// A new object early in the order goes to the first report with room, and only that
	// report is written: the reports after it keep their objects.
	service("aa", "sctp-nodeportlocal")
	flush(map[string][]string{
		"sctpguard":   {"fail=2", "a spec.ports[0].protocol", "b spec.ports[0].protocol"},
		"sctpguard-2": {"fail=2", "aa spec.ports[0].protocol", "c spec.ports[0].protocol"},
		"sctpguard-3": {"fail=3", "d spec.ports[0].protocol", "d spec.ports[1].protocol", "d spec.ports[2].protocol"},
		"sctpguard-4": {"fail=1", "e spec.ports[0].protocol"},
	}, 1, 0)

	// d fixed: its report goes, the others are unchanged and not written.
	service("d")
	flush(map[string][]string{
		"sctpguard":   {"fail=2", "a spec.ports[0].protocol", "b spec.ports[0].protocol"},
		"sctpguard-2": {"fail=2", "aa spec.ports[0].protocol", "c spec.ports[0].protocol"},
		"sctpguard-4": {"fail=1", "e spec.ports[0].protocol"},
	}, 0, 1)

	// b grows out of its report: it moves to the first with room, the gap left by d.
	service("b", "sctp-nodeportlocal", "sctp-nodeportlocal")
	flush(map[string][]string{
		"sctpguard":   {"fail=1", "a spec.ports[0].protocol"},
		"sctpguard-2": {"fail=2", "aa spec.ports[0].protocol", "c spec.ports[0].protocol"},
		"sctpguard-3": {"fail=2", "b spec.ports[0].protocol", "b spec.ports[1].protocol"},
		"sctpguard-4": {"fail=1", "e spec.ports[0].protocol"},
	}, 2, 0)

	// A restart in this state reads the parts back, gap and all, and places as before.
	restarted = &Auditor{Reports: reports, MaxResults: 2, Log: logr.Discard(), synced: true}
	if err := restarted.seed(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.written, restarted.written, cmp.AllowUnexported(content{})); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}

	// Fewer results, but the reports they hold are not twice what they need: kept.
	for _, name := range []string{"aa", "b"} {
		service(name)
	}
	flush(map[string][]string{
		"sctpguard":   {"fail=1", "a spec.ports[0].protocol"},
		"sctpguard-2": {"fail=1", "c spec.ports[0].protocol"},
		"sctpguard-4": {"fail=1", "e spec.ports[0].protocol"},
	}, 1, 1)

	// Two reports for what one holds: packed again into one, the others deleted.
	service("e")
	flush(map[string][]string{"sctpguard": {"fail=2", "a spec.ports[0].protocol", "c spec.ports[0].protocol"}}, 1, 2)

	// All fixed but a: one report.
	service("c")
	flush(map[string][]string{"sctpguard": {"fail=1", "a spec.ports[0].protocol"}}, 1, 0)
	service("a")
	flush(map[string][]string{}, 0, 1)
	if _, ok := a.written["ran"]; ok {
		t.Errorf("written still holds ran: %v", a.written["ran"])
	}
}

// TestReportPart: the parts' names and back; other names are not sctpguard's.
func TestReportPart(t *testing.T) {
	for part := range 12 {
		if got, ok := reportPart(reportName(part)); !ok || got != part {
			t.Errorf("reportPart(%q) = %d, %t; want %d", reportName(part), got, ok, part)
		}
	}
	if got := []string{reportName(0), reportName(1), reportName(9)}; !cmp.Equal(got, []string{"sctpguard", "sctpguard-2", "sctpguard-10"}) {
		t.Errorf("names %q", got)
	}
	for _, name := range []string{"sctpguard-1", "sctpguard-0", "sctpguard-02", "sctpguard-x", "sctpguard-", "other", "sctpguard-2-3"} {
		if part, ok := reportPart(name); ok {
			t.Errorf("reportPart(%q) = %d, true", name, part)
		}
	}
}
