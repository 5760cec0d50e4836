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

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
	"github.com/sctpguard/sctpguard/test/userpolicies"
)

type staticEnv policy.Env

func (e staticEnv) Env() policy.Env { return policy.Env(e) }

// failingInventory answers every lookup with an error.
type failingInventory struct{ *policy.MemoryInventory }

func (failingInventory) SharedVIPServices(string, string) ([]*corev1.Service, error) {
	return nil, errors.New("cache is gone")
}

func handler(t *testing.T, mode Mode, cfg policy.Config, env policy.Env, user ...policy.Evaluator) *Handler {
	t.Helper()
	e, err := policy.NewEngine(cfg, user...)
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{Mode: mode, Policy: func() Policy { return e }, Env: staticEnv(env), Scheme: policy.Scheme(),
		Self: "system:serviceaccount:sctpguard:sctpguard", Log: logr.Discard()}
}

// request builds an AdmissionReview by hand, so objects may be missing or malformed.
func request(op admissionv1.Operation, ns, user string, obj, old string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1",`+
		`"kind":{"group":"","version":"v1","kind":"Service"},"resource":{"group":"","version":"v1","resource":"services"},`+
		`"namespace":%q,"name":"amf","operation":%q,"userInfo":{"username":%q}`, ns, op, user)
	if obj != "" {
		b.WriteString(`,"object":` + obj)
	}
	if old != "" {
		b.WriteString(`,"oldObject":` + old)
	}
	b.WriteString("}}")
	return b.Bytes()
}

// serve posts body to the handler and returns its response, which must be an AdmissionReview
// answered with HTTP 200 for the request uid-1, whatever the body.
func serve(t testing.TB, h *Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("HTTP status %d, want 200: the API server takes any other for a failed call", w.Code)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("not an AdmissionReview: %v\n%s", err, w.Body.String())
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response.UID != "uid-1" {
		t.Errorf("response envelope %s %s uid %q", out.APIVersion, out.Kind, out.Response.UID)
	}
	return out.Response
}

const amf = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},
"spec":{"type":"LoadBalancer","ports":[{"port":38412,"protocol":"SCTP"},{"name":"b","port":3868,"protocol":"SCTP"}]}}`

var npl = policy.Env{Context: policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal, DefaultLBController: true}}, Inventory: policy.NewMemoryInventory()}

func TestValidate(t *testing.T) {
	const consequence = "AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; AKO would log a warning and skip the whole virtual service, " +
		"its TCP and UDP ports too, and leave an existing one stale. Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP"
	for _, tt := range []struct {
		name string
		cfg  policy.Config
		env  policy.Env
		body []byte
		want *admissionv1.AdmissionResponse
	}{
		{
			name: "every denial at once, one per line, and the warnings too", env: npl,
			body: request(admissionv1.Create, "telco", "alice", amf, ""),
			want: &admissionv1.AdmissionResponse{
				UID: "uid-1", Allowed: false,
				Warnings: []string{"spec.ports[0].name: unnamed SCTP port gets no DNS SRV record [sctp-port-unnamed]"},
				Result: &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
					Message: "[sctp-nodeportlocal] spec.ports[0].protocol: port 38412/SCTP: " + consequence + "\n" +
						"[sctp-nodeportlocal] spec.ports[1].protocol: port 3868/SCTP: " + consequence},
			},
		},
		{
			name: "demoted: allowed with warnings", env: npl, cfg: policy.Config{Warn: []string{"sctp-nodeportlocal"}, Disabled: []string{"sctp-port-unnamed"}},
			body: request(admissionv1.Create, "telco", "alice", amf, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Warnings: []string{
				"spec.ports[0].protocol: SCTP is not supported in AKO NodePortLocal mode [sctp-nodeportlocal]",
				"spec.ports[1].protocol: SCTP is not supported in AKO NodePortLocal mode [sctp-nodeportlocal]",
			}},
		},
		{
			name: "DELETE is allowed", env: npl, body: request(admissionv1.Delete, "telco", "alice", "", amf),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: 200, Message: "sctpguard judges CREATE and UPDATE, not DELETE"}},
		},
		{
			name: "its own service account is allowed", env: npl, body: request(admissionv1.Create, "telco", "system:serviceaccount:sctpguard:sctpguard", amf, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: 200, Message: "request from sctpguard's own service account"}},
		},
		{
			name: "an exempt namespace is allowed", env: npl, cfg: policy.Config{ExemptNamespaces: []string{"tel*"}},
			body: request(admissionv1.Create, "telco", "alice", amf, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: 200, Message: "namespace telco is exempt from sctpguard"}},
		},
		{
			name: "a malformed old object is denied, with the reason", env: npl,
			body: request(admissionv1.Update, "telco", "alice", amf, `{"apiVersion":"v1","kind":"Service","spec":{"ports":"none"}}`),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Result: &metav1.Status{Status: metav1.StatusFailure, Code: 400, Reason: metav1.StatusReasonBadRequest,
				Message: "request.oldObject is not a Service: json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort"}},
		},
		{
			name: "an UPDATE without its old object is denied", env: npl,
			body: request(admissionv1.Update, "telco", "alice", amf, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Result: &metav1.Status{Status: metav1.StatusFailure, Code: 400, Reason: metav1.StatusReasonBadRequest,
				Message: "request.oldObject is missing"}},
		},
		{
			name: "a malformed object is denied, with the reason", env: npl,
			body: request(admissionv1.Create, "telco", "alice", `{"apiVersion":"v1","kind":"Service","spec":{"ports":[{"port":"80"}]}}`, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Result: &metav1.Status{Status: metav1.StatusFailure, Code: 400, Reason: metav1.StatusReasonBadRequest,
				Message: "request.object is not a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"}},
		},
		{
			name: "the inventory failing is sctpguard's error, not the user's",
			env:  policy.Env{Context: npl.Context, Inventory: failingInventory{policy.NewMemoryInventory()}},
			body: request(admissionv1.Create, "telco", "alice",
				`{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco","annotations":{"ako.vmware.com/enable-shared-vip":"k"}},"spec":{"type":"LoadBalancer","ports":[{"port":1}]}}`, ""),
			want: &admissionv1.AdmissionResponse{UID: "uid-1", Result: &metav1.Status{Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonInternalError,
				Message: `sctpguard could not judge the object, so it is denied: list Services sharing VIP "k" in namespace telco: cache is gone`}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(t, handler(t, Validate, tt.cfg, tt.env), tt.body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMutate: the patch is fitted to the object as the request carries it, so applied by the
// API server's JSON patch library it gives the defaulted object; a field sctpguard's types do
// not know survives.
func TestMutate(t *testing.T) {
	env := policy.Env{Context: policy.Context{AKO: policy.DefaultAKOSettings()}, Inventory: policy.NewMemoryInventory()}
	obj := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},
"spec":{"type":"LoadBalancer","futureField":{"a":1},"ports":[{"port":38412,"protocol":"SCTP","futurePortField":true},{"name":"b","port":3868,"protocol":"SCTP"}]}}`
	got := serve(t, handler(t, Mutate, policy.Config{}, env), request(admissionv1.Create, "telco", "alice", obj, ""))
	pt := admissionv1.PatchTypeJSONPatch
	want := &admissionv1.AdmissionResponse{
		UID: "uid-1", Allowed: true, PatchType: &pt,
		Patch: []byte(`[{"op":"add","path":"/metadata/labels","value":{"sctpguard.io/sctp":"true"}},` +
			`{"op":"add","path":"/spec/allocateLoadBalancerNodePorts","value":false},{"op":"add","path":"/spec/ports/0/name","value":"sctp-38412"}]`),
		AuditAnnotations: map[string]string{"mutations": "default-sctp-port-name,default-no-lb-nodeports,label-sctp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	p, err := jsonpatch.DecodePatch(got.Patch)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := p.Apply([]byte(obj))
	if err != nil {
		t.Fatalf("the patch does not apply to the request's object: %v", err)
	}
	wantObj := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco","labels":{"sctpguard.io/sctp":"true"}},
"spec":{"type":"LoadBalancer","futureField":{"a":1},"allocateLoadBalancerNodePorts":false,
"ports":[{"name":"sctp-38412","port":38412,"protocol":"SCTP","futurePortField":true},{"name":"b","port":3868,"protocol":"SCTP"}]}}`
	var gotV, wantV any
	if err := json.Unmarshal(patched, &gotV); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(wantObj), &wantV); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantV, gotV); diff != "" {
		t.Errorf("patched object (-want +got):\n%s", diff)
	}
}

// BenchmarkValidate measures the handler alone, without network or TLS: decoding the
// review, the rules with their inventory lookups, and writing the response; "builtin" with
// sctpguard's rules only (the baseline), "20-user-policies" with userpolicies.Mixed too, 20
// user policies of which 5 judge the Service.
func BenchmarkValidate(b *testing.B) {
	set, err := rego.Load(b.Context(), userpolicies.Mixed(false), rego.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		user []policy.Evaluator
		// The 5 user policies that judge the Service all find something, or the
		// benchmark measures a broken set.
		want []string
	}{{"builtin", nil, nil}, {"20-user-policies", []policy.Evaluator{set}, []string{"mixed-3", "mixed-4", "mixed-9", "mixed8/deny", "mixed9/deny"}}} {
		b.Run(tt.name, func(b *testing.B) {
			inv := policy.NewMemoryInventory()
			h := handler(&testing.T{}, Validate, policy.Config{}, policy.Env{Context: npl.Context, Inventory: inv}, tt.user...)
			body := request(admissionv1.Create, "telco", "alice", amf, "")
			post := func() *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(w, r)
				return w
			}
			w := post()
			for _, rule := range tt.want {
				if !strings.Contains(w.Body.String(), "["+rule+"]") {
					b.Fatalf("no finding of %s in %s", rule, w.Body.String())
				}
			}
			b.ReportAllocs()
			report := userpolicies.ReportCPU(b)
			for b.Loop() {
				if w := post(); w.Code != http.StatusOK {
					b.Fatal(w.Body.String())
				}
			}
			report()
		})
	}
}

// namespacePolicy is the engine, recording the namespace of each object it is asked to judge
// or default: the object's, then the old object's.
type namespacePolicy struct {
	Policy
	judged *[]string
}

func (p namespacePolicy) record(r *policy.Review) {
	for _, obj := range []policy.Object{r.Object, r.OldObject} {
		if obj != nil {
			*p.judged = append(*p.judged, obj.GetNamespace())
		}
	}
}

func (p namespacePolicy) Validate(ctx context.Context, r *policy.Review, env policy.Env) ([]policy.Finding, error) {
	p.record(r)
	return p.Policy.Validate(ctx, r, env)
}

func (p namespacePolicy) Mutate(ctx context.Context, r *policy.Review, env policy.Env) (policy.Object, []policy.RuleID, error) {
	p.record(r)
	return p.Policy.Mutate(ctx, r, env)
}

// TestRequestNamespace: an object is judged in the namespace of its request. One without a
// namespace takes the request's; one in another namespace is denied as a request sctpguard
// cannot judge, in both webhooks. The API server refuses such a request before admission
// ("the namespace of the provided object does not match the namespace sent on the request"),
// so only a client that posts to sctpguard directly reaches this. A DELETE is not judged,
// whatever its old object says; a cluster-scoped request (no namespace) is judged as sent.
func TestRequestNamespace(t *testing.T) {
	svc := func(namespace string) string {
		meta := `"name":"amf"`
		if namespace != "" {
			meta += fmt.Sprintf(`,"namespace":%q`, namespace)
		}
		return `{"apiVersion":"v1","kind":"Service","metadata":{` + meta + `},"spec":{"type":"ClusterIP","ports":[{"name":"diameter","port":3868}]}}`
	}
	mismatch := func(field, own string) *admissionv1.AdmissionResponse {
		return deniedWith("uid-1", http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("request.%s is in namespace %q, but the request is for namespace \"telco\"; "+
			"sctpguard judges an object only in its request's namespace, as the API server does, which refuses such a request before admission", field, own))
	}
	judged := map[Mode]*admissionv1.AdmissionResponse{
		Validate: {UID: "uid-1", Allowed: true},
		Mutate:   {UID: "uid-1", Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: "no defaults to apply"}},
	}
	deleted := &admissionv1.AdmissionResponse{UID: "uid-1", Allowed: true,
		Result: &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: "sctpguard judges CREATE and UPDATE, not DELETE"}}
	for _, tt := range []struct {
		name      string
		op        admissionv1.Operation
		namespace string
		object    string
		old       string
		// want is the response of either webhook, or nil for judged.
		want    *admissionv1.AdmissionResponse
		outcome string
		// namespaces are those the engine judged the object and old object in.
		namespaces []string
	}{
		{
			name: "CREATE of an object in another namespace", op: admissionv1.Create, namespace: "telco", object: svc("core"),
			want: mismatch("object", "core"), outcome: outcomeBadRequest,
		},
		{
			name: "UPDATE of an object moved to another namespace", op: admissionv1.Update, namespace: "telco", object: svc("core"), old: svc("telco"),
			want: mismatch("object", "core"), outcome: outcomeBadRequest,
		},
		{
			name: "UPDATE of an old object in another namespace", op: admissionv1.Update, namespace: "telco", object: svc("telco"), old: svc("core"),
			want: mismatch("oldObject", "core"), outcome: outcomeBadRequest,
		},
		{
			name: "DELETE of an old object in another namespace: not judged", op: admissionv1.Delete, namespace: "telco", old: svc("core"),
			want: deleted, outcome: outcomeSkipped,
		},
		{
			name: "CREATE of an object without a namespace: judged in the request's", op: admissionv1.Create, namespace: "telco", object: svc(""),
			outcome: outcomeAllowed, namespaces: []string{"telco"},
		},
		{
			name: "UPDATE in the request's namespace", op: admissionv1.Update, namespace: "telco", object: svc("telco"), old: svc(""),
			outcome: outcomeAllowed, namespaces: []string{"telco", "telco"},
		},
		{
			name: "a request without a namespace: judged as sent", op: admissionv1.Create, namespace: "", object: svc("telco"),
			outcome: outcomeAllowed, namespaces: []string{"telco"},
		},
	} {
		for _, mode := range []Mode{Validate, Mutate} {
			t.Run(string(mode)+"/"+tt.name, func(t *testing.T) {
				h := handler(t, mode, policy.Config{}, policy.Env{Context: policy.Context{AKO: policy.DefaultAKOSettings()}, Inventory: policy.NewMemoryInventory()})
				var namespaces []string
				engine := h.Policy()
				h.Policy = func() Policy { return namespacePolicy{engine, &namespaces} }
				metrics, reg := testMetrics(t)
				h.Metrics = metrics
				logs := captureLog(h)
				got := serve(t, h, request(tt.op, tt.namespace, "alice", tt.object, tt.old))
				want := tt.want
				if want == nil {
					want = judged[mode]
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.namespaces, namespaces); diff != "" {
					t.Errorf("namespaces judged in (-want +got):\n%s", diff)
				}
				if got := counted(t, reg, "sctpguard_admission_requests_total", "outcome"); !cmp.Equal(got, []string{tt.outcome}) {
					t.Errorf("outcomes counted %v, want [%s]", got, tt.outcome)
				}
				var wantLog []string
				if tt.outcome == outcomeBadRequest {
					wantLog = []string{fmt.Sprintf(`"level"=0 "msg"="bad admission request" "uid"="uid-1" "kind"="Service" "namespace"="telco" "name"="amf" "operation"=%q "code"=400 "error"=%q`,
						tt.op, want.Result.Message)}
				}
				if diff := cmp.Diff(wantLog, logs()); diff != "" {
					t.Errorf("log (-want +got):\n%s", diff)
				}
			})
		}
	}
}
