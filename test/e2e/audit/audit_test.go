package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	wgpolicy "github.com/sctpguard/sctpguard/policy/apis/wgpolicyk8s/v1alpha2"
	"github.com/sctpguard/sctpguard/test/cluster"
)

// nodePortLocalMode is AKO's ConfigMap in NodePortLocal mode (SCTP does not work); the test
// patches serviceType to ClusterIP and back with kubectl.
var nodePortLocalMode = map[string]string{"serviceType": "NodePortLocal", "servicesAPI": "true", "defaultLBController": "true", "clusterName": "e2e", "cniPlugin": "antrea"}

// The messages of sctp-nodeportlocal on a LoadBalancer Service, an AKO Gateway and its
// ClusterIP backend Service, as policy/rules.md words them.
const (
	nplService = "port %d/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a warning " +
		"and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. Set spec.loadBalancerClass: " +
		"sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), " +
		"run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP"
	nplGateway = "listener 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a " +
		"warning and skip this Gateway's whole virtual service, its TCP and UDP listeners too. Run AKO in ClusterIP or NodePort mode for " +
		"SCTP workloads, or give the Gateway a GatewayClass whose controller is sctpguard.io/avi-sctp: sctpguard then serves it with the " +
		"nodes as pool servers at its backends' nodePorts (NodePort backends)"
	nplBackend = "port 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a " +
		"warning and skip the Gateway's whole virtual service, its TCP and UDP listeners too. Give the Gateway a GatewayClass whose " +
		"controller is sctpguard.io/avi-sctp to have sctpguard serve it through this Service's nodePorts (type NodePort), run AKO in " +
		"ClusterIP or NodePort mode, or expose this port over TCP or UDP"
)

// labService is an SCTP LoadBalancer Service that sctp-nodeportlocal denies in NodePortLocal
// mode, in the opted-out namespace lab.
const labService = `apiVersion: v1
kind: Service
metadata: {name: lab-s1ap, namespace: lab}
spec:
  type: LoadBalancer
  selector: {app: mme}
  ports: [{name: s1ap, port: 36412, protocol: SCTP}]
`

// TestAuditFollowsAKOMode walks the audit through what the issue names: a Service stored
// while no webhook was installed is reported once sctpguard runs; objects admitted under
// ClusterIP mode are reported, each namespace exactly, once kubectl switches AKO to
// NodePortLocal, and the results go when it switches back; while AKO's settings are unknown
// the reports stay as they were and the pause is visible.
func TestAuditFollowsAKOMode(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	// Stored before sctpguard runs, with no webhook installed: AKO in NodePortLocal mode.
	if err := cl.SetAKO(t.Context(), nodePortLocalMode); err != nil {
		t.Fatal(err)
	}
	legacy := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "old-diameter", Namespace: "legacy"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "hss"},
			Ports: []corev1.ServicePort{{Name: "diameter", Port: 3868, Protocol: corev1.ProtocolSCTP}}},
	}
	if err := cl.Client.Create(t.Context(), legacy); err != nil {
		t.Fatal(err)
	}
	r := serve(t)
	legacyReport := []wgpolicy.PolicyReportResult{result(ref(t, "v1", "Service", "legacy", "old-diameter"), "spec.ports[0].protocol", fmt.Sprintf(nplService, 3868))}
	waitReport(t, "legacy", legacyReport)
	if got := violationEvents(t, "legacy", "old-diameter"); got != 1 {
		t.Errorf("PolicyViolation Events on legacy/old-diameter: got %d, want 1", got)
	}

	// ClusterIP mode: the legacy Service is fine, its report goes.
	patchMode(t, "ClusterIP")
	waitReport(t, "legacy", nil)
	apply(t, "testdata/telco.yaml")
	waitMetric(t, r, `sctpguard_audit_violations{action="deny",rule="sctp-nodeportlocal"}`, "0")
	for _, ns := range []string{"ran", "core"} {
		if _, found := report(t, ns); found {
			t.Errorf("namespace %s has a report under ClusterIP mode", ns)
		}
	}

	// NodePortLocal mode: every SCTP object is reported, in its namespace, but in lab, which
	// opted out with the operator's label: the webhooks admit its Service unjudged, and the
	// audit does not report it either.
	if out, stderr, code := cl.Kubectl("", "label", "namespace", "lab", optOutLabel+"=true"); code != 0 {
		t.Fatalf("kubectl label namespace lab: %s%s", out, stderr)
	}
	patchMode(t, "NodePortLocal")
	out, stderr, code := cl.Kubectl(labService, "create", "-f", "-")
	cluster.CheckRun(t, code, out, stderr, 0, "service/lab-s1ap created\n", "")
	waitReport(t, "ran", []wgpolicy.PolicyReportResult{
		result(ref(t, "networking.x-k8s.io/v1alpha1", "Gateway", "ran", "ngap-gw"), "spec.listeners[0].protocol", nplGateway),
		result(ref(t, "v1", "Service", "ran", "ngap"), "spec.ports[0].protocol", nplBackend),
		result(ref(t, "v1", "Service", "ran", "s1ap"), "spec.ports[0].protocol", fmt.Sprintf(nplService, 36412)),
	})
	waitReport(t, "core", []wgpolicy.PolicyReportResult{result(ref(t, "v1", "Service", "core", "diameter"), "spec.ports[0].protocol", fmt.Sprintf(nplService, 3868))})
	waitReport(t, "legacy", legacyReport)
	waitMetric(t, r, `sctpguard_audit_violations{action="deny",rule="sctp-nodeportlocal"}`, "5")
	if _, found := report(t, "lab"); found {
		t.Error("lab opted out, and has a report")
	}
	// The legacy Service started to violate again: a second Event, and one for each new one.
	if got := violationEvents(t, "legacy", "old-diameter"); got != 2 {
		t.Errorf("PolicyViolation Events on legacy/old-diameter: got %d, want 2", got)
	}
	if got := violationEvents(t, "ran", "s1ap"); got != 1 {
		t.Errorf("PolicyViolation Events on ran/s1ap: got %d, want 1", got)
	}
	out, stderr, code = cl.Kubectl("", "get", "policyreports", "-A")
	if code != 0 {
		t.Fatalf("kubectl get policyreports -A: %s", stderr)
	}
	t.Logf("$ kubectl get policyreports -A\n%s", out)
	if path := os.Getenv("SCTPGUARD_AUDIT_OUTPUT"); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Error(err)
		}
	}

	// AKO's ConfigMap gone: the settings are unknown. The reports stay as they are.
	if err := cl.SetAKO(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, r, `sctpguard_audit_paused{cause="ako-settings-unknown"}`, "1")
	time.Sleep(3 * time.Second) // a pass from the wrong picture would have deleted them by now
	waitReport(t, "core", []wgpolicy.PolicyReportResult{result(ref(t, "v1", "Service", "core", "diameter"), "spec.ports[0].protocol", fmt.Sprintf(nplService, 3868))})
	if err := cl.SetAKO(t.Context(), nodePortLocalMode); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, r, `sctpguard_audit_paused{cause="ako-settings-unknown"}`, "0")

	// Back to ClusterIP: every result goes, and the empty reports with them.
	patchMode(t, "ClusterIP")
	for _, ns := range []string{"ran", "core", "legacy"} {
		waitReport(t, ns, nil)
	}
	waitMetric(t, r, `sctpguard_audit_violations{action="deny",rule="sctp-nodeportlocal"}`, "0")
}

// replica is the sctpguard serve process of a test, with its log.
type replica struct {
	*cluster.Replica
	log cluster.SyncBuffer
}

// serve starts sctpguard (not on a platform it could take for OpenShift), waits until it is
// ready and points the webhooks at it; it stops it when the test ends.
func serve(t *testing.T) *replica {
	t.Helper()
	r := &replica{}
	var err error
	if r.Replica, err = cl.StartReplica(&r.log, "--platform=none", "--shutdown-delay=0s"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Stop()
		if t.Failed() {
			t.Logf("--- sctpguard serve log ---\n%s", r.log.String())
		}
	})
	if err := r.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := cl.InstallWebhooks(t.Context(), r.WebhookURL, r.WebhookURL, cl.ServingCA()); err != nil {
		t.Fatal(err)
	}
	return r
}

// patchMode switches AKO's serviceType with kubectl, as an operator would.
func patchMode(t *testing.T, mode string) {
	t.Helper()
	if _, stderr, code := cl.Kubectl("", "patch", "configmap", "avi-k8s-config", "-n", "avi-system", "--type", "merge",
		"-p", `{"data":{"serviceType":"`+mode+`"}}`); code != 0 {
		t.Fatalf("kubectl patch AKO's ConfigMap to %s: %s", mode, stderr)
	}
}

func apply(t *testing.T, file string) {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := cl.Kubectl("", "apply", "-f", abs); code != 0 {
		t.Fatalf("kubectl apply -f %s: %s%s", file, out, stderr)
	}
}

// ref references a stored object as a result does, with its uid.
func ref(t *testing.T, apiVersion, kind, namespace, name string) corev1.ObjectReference {
	t.Helper()
	out, stderr, code := cl.Kubectl("", "get", kind+"."+strings.Split(apiVersion+"/", "/")[0], "-n", namespace, name, "-o", "jsonpath={.metadata.uid}")
	if kind == "Service" {
		out, stderr, code = cl.Kubectl("", "get", "service", "-n", namespace, name, "-o", "jsonpath={.metadata.uid}")
	}
	if code != 0 || out == "" {
		t.Fatalf("uid of %s %s/%s: %s", kind, namespace, name, stderr)
	}
	return corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name, UID: types.UID(out)}
}

// result is the result of a denying sctp-nodeportlocal finding.
func result(subject corev1.ObjectReference, path, message string) wgpolicy.PolicyReportResult {
	return wgpolicy.PolicyReportResult{
		Source: "sctpguard", Policy: "sctpguard", Rule: "sctp-nodeportlocal", Severity: "high", Result: "fail", Scored: true,
		Subjects: []corev1.ObjectReference{subject}, Description: message,
		Properties: map[string]string{"path": path, "action": "deny"},
	}
}

// report reads sctpguard's PolicyReport of a namespace with kubectl.
func report(t *testing.T, namespace string) (*wgpolicy.PolicyReport, bool) {
	t.Helper()
	out, stderr, code := cl.Kubectl("", "get", "policyreports.wgpolicyk8s.io", "sctpguard", "-n", namespace, "-o", "json", "--ignore-not-found")
	if code != 0 {
		t.Fatalf("kubectl get policyreport -n %s: %s", namespace, stderr)
	}
	if strings.TrimSpace(out) == "" {
		return nil, false
	}
	var r wgpolicy.PolicyReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("policyreport of %s: %v", namespace, err)
	}
	return &r, true
}

// waitReport waits until the namespace's report holds exactly want (compared whole, each
// result's time only checked to be set) with a summary that counts it, and its label; nil
// want: until there is no report.
func waitReport(t *testing.T, namespace string, want []wgpolicy.PolicyReportResult) {
	t.Helper()
	err := cluster.Poll(t.Context(), time.Minute, func() error {
		r, found := report(t, namespace)
		if want == nil {
			if found {
				return fmt.Errorf("report still there with %d results", len(r.Results))
			}
			return nil
		}
		if !found {
			return errors.New("no report")
		}
		got := make([]wgpolicy.PolicyReportResult, len(r.Results))
		for i, res := range r.Results {
			if res.Timestamp.Seconds == 0 {
				return fmt.Errorf("result %d has no timestamp", i)
			}
			res.Timestamp = metav1.Timestamp{}
			got[i] = res
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", "  ")
			w, _ := json.MarshalIndent(want, "", "  ")
			return fmt.Errorf("results:\n%s\nwant:\n%s", g, w)
		}
		if s := (wgpolicy.PolicyReportSummary{Fail: len(want)}); r.Summary != s {
			return fmt.Errorf("summary %+v, want %+v", r.Summary, s)
		}
		if r.Labels["app.kubernetes.io/managed-by"] != "sctpguard" {
			return fmt.Errorf("labels %v", r.Labels)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("report of %s: %v", namespace, err)
	}
}

// violationEvents counts the occurrences of PolicyViolation Events on an object.
func violationEvents(t *testing.T, namespace, name string) int {
	t.Helper()
	out, stderr, code := cl.Kubectl("", "get", "events.events.k8s.io", "-n", namespace, "-o", "json")
	if code != 0 {
		t.Fatalf("kubectl get events: %s", stderr)
	}
	var list struct {
		Items []struct {
			Reason    string `json:"reason"`
			Type      string `json:"type"`
			Note      string `json:"note"`
			Regarding struct {
				Name string `json:"name"`
			} `json:"regarding"`
			// Series counts an Event recorded again within minutes (the recorder's
			// deduplication): each is one occurrence.
			Series *struct {
				Count int `json:"count"`
			} `json:"series"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Reason == "PolicyViolation" && e.Regarding.Name == name {
			if e.Type != "Warning" || !strings.Contains(e.Note, "[sctp-nodeportlocal]") {
				t.Errorf("Event on %s/%s: %+v", namespace, name, e)
			}
			if e.Series != nil {
				n += e.Series.Count
			} else {
				n++
			}
		}
	}
	return n
}

// waitMetric waits until the replica's metric sample (name{labels}) has the value.
func waitMetric(t *testing.T, r *replica, sample, value string) {
	t.Helper()
	err := cluster.Poll(t.Context(), time.Minute, func() error {
		resp, err := http.Get(r.MetricsURL + "/metrics")
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, sample+" "); ok {
				if rest == value {
					return nil
				}
				return fmt.Errorf("%s is %s", sample, rest)
			}
		}
		return fmt.Errorf("no sample %s", sample)
	})
	if err != nil {
		t.Fatalf("metric %s=%s: %v", sample, value, err)
	}
}
