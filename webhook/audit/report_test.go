package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
	wgpolicy "github.com/sctpguard/sctpguard/policy/apis/wgpolicyk8s/v1alpha2"
)

// TestReportContent: each finding is one result (built-in rules under policy sctpguard, user
// rules under the user policies', deny fail, warn and dryrun warn, exception skip), objects
// ordered by kind and name, the summary counting them, an overlong message cut.
func TestReportContent(t *testing.T) {
	svc := corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: "ran", Name: "s1ap", UID: "u1"}
	gw := corev1.ObjectReference{APIVersion: "networking.x-k8s.io/v1alpha1", Kind: "Gateway", Namespace: "ran", Name: "ngap", UID: "u2"}
	at := metav1.Timestamp{Seconds: 1700000000}
	long := strings.Repeat("é", 600)
	parts := reportContents([]*judged{
		{ref: svc, since: []metav1.Timestamp{at, at, at}, findings: []policy.Finding{
			{Rule: "sctp-nodeportlocal", Action: policy.ActionDeny, Path: "spec.ports[0].protocol", Message: "m1"},
			{Rule: "sctpguard.owner/warn", Action: policy.ActionDryRun, Message: long},
			{Rule: "sctp-port-unnamed", Action: policy.ActionException, Path: "spec.ports[0]", Message: "m3"},
		}},
		{ref: gw, since: []metav1.Timestamp{at}, findings: []policy.Finding{
			{Rule: "gateway-class-missing", Action: policy.ActionWarn, Path: "spec.gatewayClassName", Message: "m4"},
		}},
	}, DefaultMaxResults, nil)
	if len(parts) != 1 {
		t.Fatalf("%d reports, want 1", len(parts))
	}
	got := parts[0]
	cut := string([]rune(long)[:510]) + "…" // 1,023 bytes: within 1,024, on a rune boundary
	want := content{
		Summary: wgpolicy.PolicyReportSummary{Fail: 1, Warn: 2, Skip: 1},
		Results: []wgpolicy.PolicyReportResult{
			{Source: "sctpguard", Policy: "sctpguard", Rule: "gateway-class-missing", Severity: "medium", Timestamp: at, Result: "warn",
				Subjects: []corev1.ObjectReference{gw}, Description: "m4", Properties: map[string]string{"action": "warn", "path": "spec.gatewayClassName"}},
			{Source: "sctpguard", Policy: "sctpguard", Rule: "sctp-nodeportlocal", Severity: "high", Timestamp: at, Result: "fail", Scored: true,
				Subjects: []corev1.ObjectReference{svc}, Description: "m1", Properties: map[string]string{"action": "deny", "path": "spec.ports[0].protocol"}},
			{Source: "sctpguard", Policy: "sctpguard-user-policies", Rule: "sctpguard.owner/warn", Severity: "low", Timestamp: at, Result: "warn",
				Subjects: []corev1.ObjectReference{svc}, Description: cut, Properties: map[string]string{"action": "dryrun"}},
			{Source: "sctpguard", Policy: "sctpguard", Rule: "sctp-port-unnamed", Severity: "info", Timestamp: at, Result: "skip",
				Subjects: []corev1.ObjectReference{svc}, Description: "m3", Properties: map[string]string{"action": "exception", "path": "spec.ports[0]"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if !got.equal(want) || got.equal(content{}) {
		t.Error("equal does not compare the results")
	}
}
