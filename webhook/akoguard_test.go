package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// staticStored is a fixed set of stored objects.
type staticStored struct {
	objs []policy.Object
	err  error
}

func (s staticStored) Stored(context.Context) ([]policy.Object, error) { return s.objs, s.err }

// guardObjects are SCTP LoadBalancer Services in ran and core, a Gateway of AKO's in ran with
// its backend, a TCP Service, and an SCTP Service in the opted-out namespace lab.
const guardObjects = `apiVersion: v1
kind: Namespace
metadata: {name: lab, labels: {sctpguard.io/ignore: "true"}}
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata: {name: avi-lb}
spec: {controller: ako.vmware.com/avi-lb}
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: Gateway
metadata: {name: gw, namespace: ran}
spec:
  gatewayClassName: avi-lb
  listeners:
  - port: 3868
    protocol: SCTP
    routes:
      group: v1
      kind: services
      selector: {matchLabels: {ako.vmware.com/gateway-name: gw, ako.vmware.com/gateway-namespace: ran}}
---
apiVersion: v1
kind: Service
metadata:
  name: diameter
  namespace: ran
  labels: {ako.vmware.com/gateway-name: gw, ako.vmware.com/gateway-namespace: ran}
spec:
  ports: [{name: diameter, port: 3868, protocol: SCTP}]
`

func lbService(ns, name string, port int, protocol string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec:
  type: LoadBalancer
  ports: [{name: p, port: %d, protocol: %s}]
`, name, ns, port, protocol)
}

func decodeObjects(t testing.TB, text string) []policy.Object {
	t.Helper()
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("objects.yaml", []byte(text))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	objs := make([]policy.Object, len(docs))
	for i, d := range docs {
		objs[i] = d.Typed
	}
	return objs
}

func guard(t testing.TB, cfg policy.Config, objs []policy.Object) *AKOGuard {
	t.Helper()
	e, err := policy.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stored []policy.Object
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Namespace:
		default:
			if o.GetObjectKind().GroupVersionKind().Kind != "GatewayClass" {
				stored = append(stored, o)
			}
		}
	}
	inv := policy.NewMemoryInventory(objs...)
	return &AKOGuard{
		Namespace: "avi-system", Name: "avi-k8s-config", Policy: func() Policy { return e },
		Inventory: inv, Stored: staticStored{objs: stored}, Skip: (&Options{OptOutLabel: OptOutLabel}).skipped(inv),
		Read: func(cm *corev1.ConfigMap) (policy.Context, []policy.SettingProblem) {
			if cm == nil {
				return policy.Context{}, nil
			}
			return policy.ReadAKOConfigMap(cm.Data)
		},
		Log: logr.Discard(),
	}
}

func akoConfigMap(ns, name string, data map[string]string) string {
	b, _ := json.Marshal(corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data,
	})
	return string(b)
}

var (
	guardClusterIP = map[string]string{"serviceType": "ClusterIP", "servicesAPI": "true", "defaultLBController": "true", "cniPlugin": "antrea"}
	guardNPL       = map[string]string{"serviceType": "NodePortLocal", "servicesAPI": "true", "defaultLBController": "true", "cniPlugin": "antrea"}
)

func guardReview(op admissionv1.Operation, ns, name string, obj, old map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1",`+
		`"kind":{"group":"","version":"v1","kind":"ConfigMap"},"resource":{"group":"","version":"v1","resource":"configmaps"},`+
		`"namespace":%q,"name":%q,"operation":%q,"userInfo":{"username":"admin"}`, ns, name, op)
	if obj != nil {
		b.WriteString(`,"object":` + akoConfigMap(ns, name, obj))
	}
	if old != nil {
		b.WriteString(`,"oldObject":` + akoConfigMap(ns, name, old))
	}
	b.WriteString("}}")
	return b.Bytes()
}

func postGuard(t testing.TB, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, AKOGuardPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil || w.Code != http.StatusOK {
		t.Fatalf("HTTP %d, not an AdmissionReview: %v\n%s", w.Code, err, w.Body.String())
	}
	if out.Response.UID != "uid-1" {
		t.Errorf("uid %q", out.Response.UID)
	}
	return out.Response
}

// TestAKOGuardWarns: a switch from ClusterIP to NodePortLocal warns, per rule and kind, with
// every object it would break, and allows the change; the opted-out namespace, the TCP
// Service and what is already broken are not named.
func TestAKOGuardWarns(t *testing.T) {
	objs := decodeObjects(t, guardObjects+lbService("ran", "s1ap", 36412, "SCTP")+lbService("ran", "ngap", 38412, "SCTP")+
		lbService("core", "diameter", 3868, "SCTP")+lbService("core", "web", 443, "TCP")+lbService("lab", "test", 3868, "SCTP"))
	g := guard(t, policy.Config{}, objs)
	want := &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Warnings: []string{
		"1 SCTP Gateway would be skipped by AKO in NodePortLocal mode: ran/gw",
		"4 SCTP Services would be skipped by AKO in NodePortLocal mode: ran/diameter, ran/s1ap, ran/ngap, core/diameter",
	}}
	got := postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	// Back to ClusterIP breaks nothing; neither does a change of a key that does not matter.
	for _, tc := range []struct{ obj, old map[string]string }{
		{guardClusterIP, guardNPL},
		{map[string]string{"serviceType": "ClusterIP", "servicesAPI": "true", "defaultLBController": "true", "cniPlugin": "antrea", "logLevel": "DEBUG"}, guardClusterIP},
	} {
		got := postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", tc.obj, tc.old))
		if diff := cmp.Diff(&admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true}, got); diff != "" {
			t.Errorf("%v -> %v (-want +got):\n%s", tc.old, tc.obj, diff)
		}
	}

	// Created in NodePortLocal mode where there was no ConfigMap: the same objects break.
	got = postGuard(t, g, guardReview(admissionv1.Create, "avi-system", "avi-k8s-config", guardNPL, nil))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
}

// TestAKOGuardDeny: with Deny, a change that breaks objects a denying rule would refuse is
// refused, with the warnings as the message; the rule configuration applies (a rule demoted
// to warn only warns).
func TestAKOGuardDeny(t *testing.T) {
	objs := decodeObjects(t, lbService("ran", "s1ap", 36412, "SCTP"))
	g := guard(t, policy.Config{}, objs)
	g.Deny = true
	got := postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP))
	want := &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: false,
		Warnings: []string{"1 SCTP Service would be skipped by AKO in NodePortLocal mode: ran/s1ap"},
		Result: &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
			Message: "sctpguard refuses this change of AKO's settings: it would break stored objects:\n" +
				"1 SCTP Service would be skipped by AKO in NodePortLocal mode: ran/s1ap\n" +
				"(the guard's deny is set: akoGuard.deny in the chart, --ako-guard-deny; fix the objects first, or unset it to make the change anyway)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	g = guard(t, policy.Config{Warn: []string{string(policy.RuleSCTPNodePortLocal)}}, objs)
	g.Deny = true
	got = postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP))
	if !got.Allowed || len(got.Warnings) != 1 {
		t.Errorf("demoted rule: %+v", got)
	}
}

// TestAKOGuardNeverBlocks: what the guard cannot judge is allowed, with a warning that says
// so: a listing that fails, a deadline that passes, an unreadable key; other objects pass.
func TestAKOGuardNeverBlocks(t *testing.T) {
	objs := decodeObjects(t, lbService("ran", "s1ap", 36412, "SCTP")+lbService("ran", "ngap", 38412, "SCTP"))
	for _, tc := range []struct {
		name  string
		setup func(g *AKOGuard)
		body  []byte
		want  []string
	}{
		{"listing fails", func(g *AKOGuard) { g.Stored = staticStored{err: errors.New("cache is gone")} },
			guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP),
			[]string{"sctpguard could not judge the stored objects under the new settings: cache is gone; run sctpguard check --cluster -A --ako-configmap <the new ConfigMap> to see what it would break"}},
		{"deadline", func(g *AKOGuard) { g.Deadline = 1 },
			guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP),
			[]string{"sctpguard judged 0 of 2 stored objects before its deadline (1ns): the list may be incomplete; run sctpguard check --cluster -A --ako-configmap <the new ConfigMap> for all"}},
		{"unreadable key", func(*AKOGuard) {},
			guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", map[string]string{"serviceType": "ClusterIP", "servicesAPI": "yes"}, map[string]string{"serviceType": "ClusterIP"}),
			[]string{`avi-k8s-config: servicesAPI: "yes" is not a boolean (true or false); AKO reads it as false, and so does sctpguard`}},
		{"another ConfigMap", func(*AKOGuard) {},
			guardReview(admissionv1.Update, "avi-system", "other", guardNPL, guardClusterIP), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := guard(t, policy.Config{}, objs)
			g.Deny = true
			tc.setup(g)
			got := postGuard(t, g, tc.body)
			if !got.Allowed {
				t.Errorf("denied: %+v", got.Result)
			}
			if diff := cmp.Diff(tc.want, got.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAKOGuardCapsWarnings: a warning lists as many objects as fit the API server's limit of
// one warning, then how many more.
func TestAKOGuardCapsWarnings(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		b.WriteString(lbService("ran", fmt.Sprintf("svc-%03d", i), 36412, "SCTP"))
	}
	g := guard(t, policy.Config{}, decodeObjects(t, b.String()))
	got := postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP))
	want := "300 SCTP Services would be skipped by AKO in NodePortLocal mode: ran/svc-000, ran/svc-001, ran/svc-002, ran/svc-003, " +
		"ran/svc-004, ran/svc-005, ran/svc-006, ran/svc-007, ran/svc-008, ran/svc-009, ran/svc-010, ran/svc-011, ran/svc-012, " +
		"and 287 more"
	if diff := cmp.Diff([]string{want}, got.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if len(want) > maxGuardWarning {
		t.Errorf("warning of %d bytes, over %d", len(want), maxGuardWarning)
	}
}

// BenchmarkAKOGuard measures the guard's answer to a switch to NodePortLocal over 10,000
// stored SCTP Services (all of them broken by it), beside the baseline of one pass of the
// engine over the same Services: the guard judges each twice, under both settings.
func BenchmarkAKOGuard(b *testing.B) {
	var text strings.Builder
	for i := range 10000 {
		text.WriteString(lbService(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("svc-%05d", i), 36412, "SCTP"))
	}
	objs := decodeObjects(b, text.String())
	g := guard(b, policy.Config{}, objs)
	g.Deadline = time.Minute
	body := guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", guardNPL, guardClusterIP)
	b.Run("guard", func(b *testing.B) {
		for b.Loop() {
			if resp := postGuard(b, g, body); len(resp.Warnings) != 1 {
				b.Fatalf("warnings: %q", resp.Warnings)
			}
		}
	})
	b.Run("baseline-one-pass", func(b *testing.B) {
		pol := g.Policy()
		settings, _ := policy.ReadAKOConfigMap(guardNPL)
		env := policy.Env{Context: settings, Inventory: g.Inventory}
		for b.Loop() {
			for _, o := range objs {
				if _, err := judgeStored(b.Context(), pol, o, env); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestAKOGuardNetworkPolicies: a change of AKO's cniPlugin to kube-router, which does not
// enforce NetworkPolicies for SCTP, names the stored NetworkPolicies with SCTP ports; the TCP
// one is not named.
func TestAKOGuardNetworkPolicies(t *testing.T) {
	allow := func(name string, port int, protocol string) string {
		return fmt.Sprintf("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: ran}\n"+
			"spec: {podSelector: {}, ingress: [{ports: [{port: %d, protocol: %s}]}]}\n", name, port, protocol)
	}
	g := guard(t, policy.Config{}, decodeObjects(t, allow("allow-s1ap", 36412, "SCTP")+allow("allow-web", 443, "TCP")))
	kubeRouter := map[string]string{"serviceType": "ClusterIP", "servicesAPI": "true", "defaultLBController": "true", "cniPlugin": "kube-router"}
	got := postGuard(t, g, guardReview(admissionv1.Update, "avi-system", "avi-k8s-config", kubeRouter, guardClusterIP))
	want := &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Warnings: []string{
		"1 SCTP NetworkPolicy would get a warning from [sctp-networkpolicy-cni] (kube-router does not enforce NetworkPolicy for SCTP): ran/allow-s1ap",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}
