package avisim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tests of this file hold avisim to the traffic alb-sdk recorded with a real controller
// (python/avi/sdk/test/fixtures/cassettes of github.com/vmware/alb-sdk).

// Unknown fields are accepted (201) and left out of the stored object (test_basic_vs POSTs a
// virtual service with application_profile_name, test_clone_vs a VsVip with vs_refs); a
// string "true" is taken for a boolean (test_retry_unauth_api creates a tenant with "local":
// "true"). A field the controller knows but avisim does not model is stored as sent.
func TestRecordedUnknownFieldsAndStringBooleans(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.want(e.do(http.MethodPost, "/api/l4policyset", `{"name":"x","future_field":{"a":[1]},"is_internal_policy":"false","l4_connection_policy":{"rules":[
		{"name":"r","index":0,"enable":"True","match":{"port":{"match_criteria":"IS_IN","ranges":[{"start":1,"end":2}]}}}]}}`), http.StatusCreated,
		`{"name":"x","uuid":"l4policyset-{U:15}","url":"https://{H}/api/l4policyset/l4policyset-{U:15}#x","_last_modified":"{LM:15}",
		"tenant_ref":"https://{H}/api/tenant/admin#admin","is_internal_policy":false,"l4_connection_policy":{"rules":[
		{"name":"r","index":0,"enable":true,"match":{"port":{"match_criteria":"IS_IN"}}}]}}`, true)
	// enable_rhi and min_servers_up are not in avisim's own schema; the controller's has them.
	r := e.do(http.MethodPost, "/api/pool", `{"name":"p","min_servers_up":2,"application_profile_name":"x","analytics_policy":{"enable_realtime_metrics":"true","bogus":1}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST pool: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["min_servers_up"] != float64(2) || got["application_profile_name"] != nil ||
		!cmp.Equal(got["analytics_policy"], map[string]any{"enable_realtime_metrics": true}) {
		t.Errorf("pool: %v", got)
	}
	e.want(e.do(http.MethodPost, "/api/pool", `{"name":"q","min_servers_up":"two"}`), http.StatusBadRequest,
		errBody("min_servers_up: a valid integer is required"), false)
}

// The CSRF 401 refreshes the session cookies like every authenticated answer, has no Allow
// header (it comes before the view), and a retry after logging in again succeeds
// (test_retry_unauth_api).
func TestRecordedCSRFRefreshesCookies(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	good := e.csrf
	e.csrf = "invalid"
	r := e.do(http.MethodPost, "/api/tenant", `{"name":"tenant1","local":"true"}`)
	if r.status != http.StatusUnauthorized || string(r.body) != "CSRF token missing or incorrect." ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Allow") != "" {
		t.Errorf("CSRF answer: %d %q %v", r.status, r.body, r.header)
	}
	var names []string
	for _, c := range r.header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(c, "=")
		names = append(names, name)
		if !strings.Contains(c, "Max-Age=86400") {
			t.Errorf("cookie %q is not refreshed", c)
		}
	}
	if diff := cmp.Diff([]string{"avi-sessionid", "sessionid"}, names); diff != "" {
		t.Errorf("cookies (-want +got):\n%s", diff)
	}
	e.csrf = good
	e.login()
	r = e.do(http.MethodPost, "/api/tenant", `{"name":"tenant1","local":"true"}`)
	if r.status != http.StatusCreated || r.json(t)["local"] != true {
		t.Errorf("retry: %d %s", r.status, r.body)
	}
}

// Every answer of a view carries the endpoint's Allow set, successes and errors alike, and a
// DELETE's 204 is labelled application/json (test_basic_vs, test_user_login).
func TestRecordedHeaders(t *testing.T) {
	e := newEnv(t, Options{})
	login := e.do(http.MethodPost, "/login", map[string]string{"username": "admin", "password": "admin"})
	e.login()
	created := e.do(http.MethodPost, "/api/pool", `{"name":"p"}`)
	obj := "/api/pool/pool-" + uuid4(15)
	got := map[string]string{}
	for name, r := range map[string]reply{
		"login":            login,
		"POST collection":  created,
		"GET collection":   e.do(http.MethodGet, "/api/pool?name=p", nil),
		"400 collection":   e.do(http.MethodPost, "/api/pool", `{}`),
		"409 collection":   e.do(http.MethodPost, "/api/pool", `{"name":"p"}`),
		"GET object":       e.do(http.MethodGet, obj, nil),
		"PUT object":       e.do(http.MethodPut, obj, `{"name":"p"}`),
		"404 object":       e.do(http.MethodGet, "/api/pool/pool-missing", nil),
		"systemconfig":     e.do(http.MethodGet, "/api/systemconfiguration", nil),
		"initial-data":     e.do(http.MethodGet, "/api/initial-data", nil),
		"DELETE object":    e.do(http.MethodDelete, obj, nil),
		"DELETE 404":       e.do(http.MethodDelete, obj, nil),
		"401 no session":   e.do(http.MethodGet, "/api/pool", nil, header("Cookie", "")),
		"unknown endpoint": e.do(http.MethodGet, "/api/nosuchtype", nil),
	} {
		got[name] = r.header.Get("Allow")
		if name == "DELETE object" && (r.status != http.StatusNoContent || r.header.Get("Content-Type") != "application/json" || len(r.body) != 0) {
			t.Errorf("DELETE: %d %q %v", r.status, r.body, r.header)
		}
	}
	want := map[string]string{
		"login": allowLogin, "POST collection": allowCollection, "GET collection": allowCollection, "400 collection": allowCollection,
		"409 collection": allowCollection, "GET object": allowObject, "PUT object": allowObject, "404 object": allowObject,
		"systemconfig": allowGet, "initial-data": allowGet, "DELETE object": allowObject, "DELETE 404": allowObject,
		"401 no session": allowCollection, "unknown endpoint": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Allow (-want +got):\n%s", diff)
	}
}

// Fields newer than the request's X-Avi-Version are left out of answers: a GET of
// systemconfiguration without X-Avi-Version (16.4.2) has no default_license_tier, introduced
// in 17.2.5 (test_user_login); and a write that sends one is refused.
func TestRecordedFieldsNewerThanVersion(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.ver = ""
	if sc := e.do(http.MethodGet, "/api/systemconfiguration", nil).json(t); sc["default_license_tier"] != nil {
		t.Errorf("at 16.4.2: %v", sc)
	}
	e.ver = "22.1.3"
	if sc := e.do(http.MethodGet, "/api/systemconfiguration", nil).json(t); sc["default_license_tier"] != "ENTERPRISE" {
		t.Errorf("at 22.1.3: %v", sc)
	}
	// markers came in 20.1.5, l4_policies in 17.2.7, traffic_enabled in 17.2.8.
	r := e.do(http.MethodPost, "/api/virtualservice", `{"name":"v","markers":[{"key":"k","values":["v"]}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	e.ver = "17.2.7"
	got := e.do(http.MethodGet, "/api/virtualservice/virtualservice-"+uuid4(15), nil).json(t)
	for _, k := range []string{"markers", "traffic_enabled"} {
		if _, ok := got[k]; ok {
			t.Errorf("at 17.2.7 the answer has %s", k)
		}
	}
	if got["enabled"] != true {
		t.Errorf("at 17.2.7 the answer lacks enabled: %v", got)
	}
	e.want(e.do(http.MethodPost, "/api/virtualservice", `{"name":"w","markers":[{"key":"k","values":["v"]}]}`), http.StatusBadRequest,
		errBody("markers is not supported in API version 17.2.7"), false)
}
