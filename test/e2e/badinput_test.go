package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// TestWebhookBadInput sends malformed requests straight to the webhook endpoint: each gets
// HTTP 200 with a denial whose code and message say what is wrong (the API server would take
// any other status for a failed call), with the request's uid whenever the body names one,
// and the server stays up.
func TestWebhookBadInput(t *testing.T) {
	requireCluster(t)
	review := func(apiVersion, object string) string {
		return `{"apiVersion":"` + apiVersion + `","kind":"AdmissionReview","request":{"uid":"42",` +
			`"kind":{"group":"","version":"v1","kind":"Service"},"resource":{"group":"","version":"v1","resource":"services"},` +
			`"namespace":"default","name":"s","operation":"CREATE","userInfo":{"username":"admin"}` + object + `}}`
	}
	for _, tt := range []struct {
		name        string
		method      string
		contentType string
		body        string
		wantCode    int
		wantUID     string
		wantMessage string
	}{
		{"not JSON", http.MethodPost, "application/json", "this is not JSON", http.StatusBadRequest, "",
			"request body is not an AdmissionReview: invalid character 'h' in literal true (expecting 'r')"},
		{"empty body", http.MethodPost, "application/json", "", http.StatusBadRequest, "",
			"request body is empty; expected an admission.k8s.io/v1 AdmissionReview"},
		{"wrong kind: a Service instead of an AdmissionReview", http.MethodPost, "application/json",
			`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`, http.StatusBadRequest, "",
			`got apiVersion "v1" kind "Service"; sctpguard answers admission.k8s.io/v1 AdmissionReview`},
		{"unknown AdmissionReview version", http.MethodPost, "application/json", review("admission.k8s.io/v2", `,"object":{}`), http.StatusBadRequest, "42",
			`got apiVersion "admission.k8s.io/v2" kind "AdmissionReview"; sctpguard answers admission.k8s.io/v1 AdmissionReview`},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest, "",
			"AdmissionReview has no request"},
		{"no object", http.MethodPost, "application/json", review("admission.k8s.io/v1", ""), http.StatusBadRequest, "42",
			"request.object is missing"},
		{"object of the wrong kind", http.MethodPost, "application/json",
			review("admission.k8s.io/v1", `,"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"}}`), http.StatusBadRequest, "42",
			"request.object is a /v1, Kind=ConfigMap, but request.kind says /v1, Kind=Service"},
		{"an object in another namespace than the request's (the API server refuses it: see TestNamespaceMismatch)", http.MethodPost, "application/json",
			review("admission.k8s.io/v1", `,"object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"telco"},"spec":{"ports":[{"port":38412,"protocol":"SCTP"}]}}`),
			http.StatusBadRequest, "42", `request.object is in namespace "telco", but the request is for namespace "default"; ` +
				"sctpguard judges an object only in its request's namespace, as the API server does, which refuses such a request before admission"},
		{"an 8 MB body", http.MethodPost, "application/json", review("admission.k8s.io/v1", `,"object":{"metadata":{"annotations":{"x":"`+strings.Repeat("a", 8<<20)+`"}}}`),
			http.StatusRequestEntityTooLarge, "42", "request body is over 7340032 bytes, more than the API server sends for an object and its old version; sctpguard cannot judge it"},
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed, "", "method GET: admission reviews are POSTed"},
		{"not JSON content", http.MethodPost, "text/plain", "hello", http.StatusUnsupportedMediaType, "",
			`content type "text/plain": an AdmissionReview is application/json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, cl.WebhookURL+"/validate", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := cl.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP status %d, want 200", resp.StatusCode)
			}
			var out admissionv1.AdmissionReview
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&out); err != nil || out.Response == nil || out.Response.Result == nil {
				t.Fatalf("response is not an AdmissionReview with a status: %v\n%s", err, body)
			}
			if out.Response.Allowed || out.Response.Result.Message != tt.wantMessage || out.Response.Result.Code != int32(tt.wantCode) || string(out.Response.UID) != tt.wantUID {
				t.Errorf("response allowed=%t code=%d uid %q message %q, want code %d uid %q message %q", out.Response.Allowed,
					out.Response.Result.Code, out.Response.UID, out.Response.Result.Message, tt.wantCode, tt.wantUID, tt.wantMessage)
			}
		})
	}
	// Still serving, and counting.
	resp, err := http.Get(cl.HealthURL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("not ready after bad input: %v", err)
	}
	_ = resp.Body.Close()
	metrics := get(t, cl.MetricsURL+"/metrics")
	for _, want := range []string{
		`sctpguard_admission_requests_total{kind="",operation="",outcome="bad_request",webhook="validate"}`,
		`sctpguard_admission_requests_total{kind="Service",operation="CREATE",outcome="bad_request",webhook="validate"}`,
		`sctpguard_admission_findings_total{action="deny",rule="sctp-npl-annotation"}`,
		`sctpguard_admission_duration_seconds_bucket{webhook="validate",le="0.001"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestNamespaceMismatch: the API server refuses an object whose namespace is not the one its
// request names before admission, so the webhook's denial of such a request
// (TestWebhookBadInput) is reached only by clients that post to sctpguard directly.
// kubectl create --raw posts the object as it is, past kubectl's own check of the namespace.
func TestNamespaceMismatch(t *testing.T) {
	requireCluster(t)
	const svc = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"elsewhere","namespace":"telco"},"spec":{"ports":[{"port":38412,"protocol":"SCTP"}]}}`
	out, errOut, code := cl.kubectl(svc, "create", "--raw", "/api/v1/namespaces/voice/services", "-f", "-")
	check(t, code, out, errOut, 1, "", "Error from server (BadRequest): the namespace of the provided object does not match the namespace sent on the request\n")
}
