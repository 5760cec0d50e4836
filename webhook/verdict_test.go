package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sctpguard/sctpguard/policy"
)

// panickingPolicy fails the way a bug would.
type panickingPolicy struct{ Policy }

func (panickingPolicy) Exempt(string) bool { return false }

func (panickingPolicy) Validate(_ context.Context, r *policy.Review, _ policy.Env) ([]policy.Finding, error) {
	_ = r.Object.GetOwnerReferences()[0].Name // none: an index out of range, a runtime panic
	return nil, nil
}

// post sends a raw HTTP request to the handler and returns the status and the decoded response.
func post(t *testing.T, h *Handler, method, contentType string, body []byte) (int, *admissionv1.AdmissionResponse) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, "/validate", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	h.ServeHTTP(w, r)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("not an AdmissionReview: %v\n%s", err, w.Body.String())
	}
	return w.Code, out.Response
}

// captureLog makes the handler log to lines it returns (the review runs in a goroutine of
// its own, hence the lock).
func captureLog(h *Handler) func() []string {
	var mu sync.Mutex
	var lines []string
	h.Log = funcr.New(func(_, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
}

func deniedWith(uid string, code int32, reason metav1.StatusReason, message string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{UID: "uid-1", Result: &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: message}}
}

// TestEveryAnswerAVerdict: whatever arrives, the answer is HTTP 200 with an AdmissionReview
// that denies what cannot be judged, with the reason and its code inside, and carries the
// request's uid whenever the body names one, so the API server takes it as the verdict
// instead of a failed call that failurePolicy would decide.
func TestEveryAnswerAVerdict(t *testing.T) {
	huge := request(admissionv1.Create, "telco", "alice",
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","annotations":{"x":"`+strings.Repeat("a", MaxRequestBytes)+`"}}}`, "")
	noUID := func(r *admissionv1.AdmissionResponse) *admissionv1.AdmissionResponse { r.UID = ""; return r }
	for _, tt := range []struct {
		name        string
		method      string
		contentType string
		body        []byte
		policy      Policy
		want        *admissionv1.AdmissionResponse
	}{
		{
			name: "a body over 7 MiB: denied with the uid its first bytes name", method: http.MethodPost, contentType: "application/json", body: huge,
			want: deniedWith("uid-1", 413, metav1.StatusReasonRequestEntityTooLarge,
				"request body is over 7340032 bytes, more than the API server sends for an object and its old version; sctpguard cannot judge it"),
		},
		{
			name: "an envelope that does not decode: denied with its uid", method: http.MethodPost, contentType: "application/json",
			body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1","kind":"Service"}}`),
			want: deniedWith("uid-1", 400, metav1.StatusReasonBadRequest,
				"request body is not an AdmissionReview: json: cannot unmarshal string into Go struct field AdmissionRequest.request.kind of type v1.GroupVersionKind"),
		},
		{
			name: "a kind sctpguard does not know: denied, not waved through", method: http.MethodPost, contentType: "application/json",
			body: bytes.Replace(request(admissionv1.Create, "telco", "alice", `{"metadata":{"name":"amf"}}`, ""),
				[]byte(`"kind":{"group":"","version":"v1","kind":"Service"}`), []byte(`"kind":{"group":"example.com","version":"v9","kind":"Widget"}`), 1),
			want: deniedWith("uid-1", 400, metav1.StatusReasonBadRequest,
				"request.kind example.com/v9, Kind=Widget is not a kind sctpguard judges; upgrade sctpguard or remove it from sctpguard's webhook configurations"),
		},
		{
			name: "a panic: recovered into a denial", method: http.MethodPost, contentType: "application/json",
			body: request(admissionv1.Create, "telco", "alice", amf, ""), policy: panickingPolicy{},
			want: deniedWith("uid-1", 500, metav1.StatusReasonInternalError,
				`sctpguard could not judge the object, so it is denied: internal error (sctpguard's log has the details under request uid "uid-1")`),
		},
		{
			name: "GET", method: http.MethodGet,
			want: noUID(deniedWith("", 405, metav1.StatusReasonMethodNotAllowed, "method GET: admission reviews are POSTed")),
		},
		{
			name: "not JSON content", method: http.MethodPost, contentType: "text/plain", body: []byte("hello"),
			want: noUID(deniedWith("", 415, metav1.StatusReasonUnsupportedMediaType, `content type "text/plain": an AdmissionReview is application/json`)),
		},
		{
			name: "empty body", method: http.MethodPost, contentType: "application/json",
			want: noUID(deniedWith("", 400, metav1.StatusReasonBadRequest, "request body is empty; expected an admission.k8s.io/v1 AdmissionReview")),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := handler(t, Validate, policy.Config{}, npl)
			if tt.policy != nil {
				h.Policy = func() Policy { return tt.policy }
			}
			metrics, reg := testMetrics(t)
			h.Metrics = metrics
			logs := captureLog(h)
			status, got := post(t, h, tt.method, tt.contentType, tt.body)
			if status != http.StatusOK {
				t.Errorf("HTTP status %d, want 200", status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			outcome, logged := outcomeBadRequest, `"msg"="bad admission request"`
			if tt.policy != nil {
				outcome, logged = outcomePanic, `"msg"="review panicked; the object is denied"`
			}
			if got := counted(t, reg, "sctpguard_admission_requests_total", "outcome"); !cmp.Equal(got, []string{outcome}) {
				t.Errorf("outcomes counted %v, want [%s]", got, outcome)
			}
			if got := logs(); len(got) != 1 || !strings.Contains(got[0], logged) {
				t.Errorf("logged %q, want one line with %s", got, logged)
			}
		})
	}
}

// TestResponseCaps: a Service with 20,000 unnamed SCTP ports under NodePortLocal has 20,000
// denying findings and 20,000 warnings; the answer lists the first ones and counts the rest,
// within what the API server passes on.
func TestResponseCaps(t *testing.T) {
	var ports []string
	for i := range 20000 {
		ports = append(ports, fmt.Sprintf(`{"port":%d,"protocol":"SCTP"}`, i+1))
	}
	svc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},"spec":{"type":"LoadBalancer","ports":[` + strings.Join(ports, ",") + `]}}`
	got := serve(t, handler(t, Validate, policy.Config{}, npl), request(admissionv1.Update, "telco", "alice", svc, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},"spec":{"type":"LoadBalancer","ports":[{"port":1,"protocol":"TCP"}]}}`))
	var lines []string
	for i := range MaxDenials {
		lines = append(lines, fmt.Sprintf("[sctp-nodeportlocal] spec.ports[%d].protocol: port %d/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; "+
			"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. "+
			"Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP", i, i+1))
	}
	lines = append(lines, "… and 19980 more findings deny this object; sctpguard check lists them all")
	var warnings []string
	for i := range MaxWarnings - 1 {
		warnings = append(warnings, fmt.Sprintf("spec.ports[%d].name: unnamed SCTP port gets no DNS SRV record [sctp-port-unnamed]", i))
	}
	warnings = append(warnings, "… and 19986 more warnings; sctpguard check lists them all")
	want := &admissionv1.AdmissionResponse{UID: "uid-1", Warnings: warnings, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: strings.Join(lines, "\n"),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	total := 0
	for _, w := range got.Warnings {
		total += len([]rune(w))
	}
	if total > 2048 {
		t.Errorf("warnings take %d characters; the API server keeps 4,096 for every webhook of a request together", total)
	}
}

// TestWarningsHeaderSafe: the API server drops a warning with control characters or invalid
// UTF-8 without a word, so a user policy's message is made safe.
func TestWarningsHeaderSafe(t *testing.T) {
	got := capWarnings([]string{"line one\nline two\t[x]", "bad \xff byte", strings.Repeat("é", 200)})
	want := []string{"line one line two [x]", "bad \uFFFD byte", strings.Repeat("é", policy.MaxWarningLength-1) + "…"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func testMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// counted returns the values of label over the samples of a metric, sorted.
func counted(t *testing.T, reg *prometheus.Registry, name, label string) []string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// slowEnv is an environment that takes its time, as a huge object's review on a busy node.
type slowEnv struct {
	env   policy.Env
	delay time.Duration
}

func (e slowEnv) Env() policy.Env { time.Sleep(e.delay); return e.env }

// TestAnswerInTime: a review still running when the server's deadline comes is answered
// with a denial that says so, before the write timeout would cut the connection (which the
// API server would leave to failurePolicy); one that finishes in time is judged.
func TestAnswerInTime(t *testing.T) {
	body := request(admissionv1.Create, "telco", "alice", amf, "")
	post := func(h *Handler, deadline time.Duration) *admissionv1.AdmissionResponse {
		t.Helper()
		srv := NewServer(ServerOptions{WriteTimeout: deadline + handlerMargin}, logr.Discard())
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		start := time.Now()
		srv.deadline(h).ServeHTTP(w, r)
		if took := time.Since(start); took > deadline+time.Second {
			t.Errorf("answered after %v, the deadline was %v", took, deadline)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(w.Body.Bytes(), &out); w.Code != http.StatusOK || err != nil || out.Response == nil {
			t.Fatalf("HTTP %d, %v: %s", w.Code, err, w.Body.String())
		}
		return out.Response
	}
	h := handler(t, Validate, policy.Config{}, npl)
	h.Env = slowEnv{env: npl, delay: 2 * time.Second}
	want := deniedWith("uid-1", http.StatusGatewayTimeout, metav1.StatusReasonTimeout,
		"sctpguard could not judge the object in time, so it is denied: context deadline exceeded; try again, or check it with sctpguard check")
	if diff := cmp.Diff(want, post(h, 200*time.Millisecond)); diff != "" {
		t.Errorf("slow review (-want +got):\n%s", diff)
	}
	// A handler of its own: the slow review above still runs in the background.
	h = handler(t, Validate, policy.Config{}, npl)
	h.Env = slowEnv{env: npl, delay: 10 * time.Millisecond}
	if got := post(h, 2*time.Second); got.Allowed || got.Result == nil || got.Result.Code != http.StatusForbidden {
		t.Errorf("a review in time: want the rules' denial, got %+v", got.Result)
	}
}
