package policy_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/policy"
)

// TestCatalogueMatchesDoc keeps the rule catalogue in the code and the one in rules.md in
// step: the same IDs, default actions and mutations.
func TestCatalogueMatchesDoc(t *testing.T) {
	data, err := os.ReadFile("rules.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z0-9-]+)`( \\(warn\\))? \\|(.*)$")
	var doc []string
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = line
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(section, "## Context") {
			continue
		}
		action := "deny"
		switch {
		case strings.HasPrefix(section, "## Mutations"):
			action = "mutate"
		case m[2] != "":
			action = "warn"
		case strings.HasPrefix(strings.TrimSpace(m[3]), "warn |"):
			action = "warn"
		}
		doc = append(doc, m[1]+" "+action)
	}
	var code []string
	for _, r := range policy.Catalogue() {
		action := string(r.Action)
		if r.Mutation {
			action = "mutate"
		}
		code = append(code, string(r.ID)+" "+action)
	}
	sort.Strings(doc)
	if diff := cmp.Diff(doc, code); diff != "" {
		t.Errorf("catalogue in code (+) and in rules.md (-) differ:\n%s", diff)
	}
}

func TestWarningText(t *testing.T) {
	for _, tt := range []struct {
		f    policy.Finding
		want string
	}{
		{
			policy.Finding{Rule: "sctp-port-unnamed", Path: "spec.ports[0].name", Message: "long text", Summary: "unnamed SCTP port gets no DNS SRV record"},
			"spec.ports[0].name: unnamed SCTP port gets no DNS SRV record [sctp-port-unnamed]",
		},
		{
			policy.Finding{Rule: "my-policy", Message: "no summary: the message is used"},
			"no summary: the message is used [my-policy]",
		},
	} {
		got := tt.f.Warning()
		if got != tt.want {
			t.Errorf("Warning() = %q, want %q", got, tt.want)
		}
		if n := len([]rune(got)); n > policy.MaxWarningLength {
			t.Errorf("warning is %d characters, over %d", n, policy.MaxWarningLength)
		}
	}
	// Too long: clipped to the limit, keeping the path and the rule ID.
	long := policy.Finding{Rule: "gateway-selector-labels", Path: "spec.listeners[12].routes.selector.matchLabels[ako.vmware.com/gateway-namespace]",
		Summary: "selector must match this Gateway's AKO labels, and here is a great deal more text to push it over"}.Warning()
	if n := len([]rune(long)); n != policy.MaxWarningLength || !strings.HasPrefix(long, "spec.listeners[12].routes.selector.matchLabels[") ||
		!strings.HasSuffix(long, "… [gateway-selector-labels]") {
		t.Errorf("clipped warning (%d characters): %q", n, long)
	}
	// Every built-in rule's warning, on a typical path, fits the limit unclipped.
	for _, r := range policy.Catalogue() {
		w := policy.Finding{Rule: string(r.ID), Path: "spec.listeners[10].protocol", Summary: r.Summary}.Warning()
		if strings.Contains(w, "…") {
			t.Errorf("%s: warning clipped: %q", r.ID, w)
		}
	}
}
