package avisim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// cookieAttrs is a Set-Cookie with the value reduced to its length.
type cookieAttrs struct {
	Name     string
	ValueLen int
	Path     string
	MaxAge   int
	Secure   bool
	HTTPOnly bool
}

func setCookies(r reply) ([]cookieAttrs, map[string]string) {
	resp := http.Response{Header: r.header}
	var out []cookieAttrs
	values := map[string]string{}
	for _, c := range resp.Cookies() {
		out = append(out, cookieAttrs{c.Name, len(c.Value), c.Path, c.MaxAge, c.Secure, c.HttpOnly})
		values[c.Name] = c.Value
	}
	return out, values
}

const loginBody = `{"user_initialized":true,
 "version":{"Version":"22.1.3","build":9096,"Tag":"22.1.3-9096-20230131.001625","ProductName":"Avi Cloud Controller","Product":"controller",
            "min_version":15.2,"Date":"2023-01-31T00:16:25+00:00"},
 "user":{"username":"admin","name":"admin","uuid":"user-1","default_tenant_ref":"https://{H}/api/tenant/admin#admin","is_superuser":true,"local":true},
 "tenants":[{"url":"https://{H}/api/tenant/admin#admin","uuid":"admin","name":"admin","local":true}],
 "system_config":{"url":"https://{H}/api/systemconfiguration/default","uuid":"default","default_license_tier":"ENTERPRISE",
                  "portal_configuration":{"allow_basic_authentication":false,"api_force_timeout":24}},
 "controller":{"api_idle_timeout":15},
 "session_cookie_name":"avi-sessionid"}`

// §10.6, §1.2: login by JSON or form, password or token; the exact cookies and body.
func TestLogin(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	tok := e.do(http.MethodPost, "/api/user-token", `{"hours":"2"}`).json(t)["token"].(string)
	form := header("Content-Type", "application/x-www-form-urlencoded")
	cases := []struct {
		name string
		body string
		opts []reqOpt
	}{
		{"json password", `{"username":"admin","password":"admin"}`, nil},
		{"form password", "username=admin&password=admin", []reqOpt{form}},
		{"json token", `{"username":"admin","token":"` + tok + `"}`, nil},
		{"form token", "username=admin&token=" + url.QueryEscape(tok), []reqOpt{form}},
	}
	wantCookies := []cookieAttrs{
		{"csrftoken", 32, "/", 31449600, true, false},
		{"avi-sessionid", 32, "/", 86400, true, true},
		{"sessionid", 32, "/", 86400, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(http.MethodPost, "/login", c.body, c.opts...)
			e.want(r, http.StatusOK, loginBody, false)
			if got := r.header.Get("Allow"); got != "POST, OPTIONS" {
				t.Errorf("Allow %q", got)
			}
			got, values := setCookies(r)
			if diff := cmp.Diff(wantCookies, got); diff != "" {
				t.Errorf("cookies (-want +got):\n%s", diff)
			}
			if values["avi-sessionid"] != values["sessionid"] {
				t.Errorf("avi-sessionid %q and sessionid %q differ", values["avi-sessionid"], values["sessionid"])
			}
		})
	}
	if got := e.s.Logins(); got != 5 {
		t.Errorf("Logins() = %d, want 5", got)
	}
}

// §10.6: bad credentials get 401 Invalid credentials.
func TestLoginInvalidCredentials(t *testing.T) {
	e := newEnv(t, Options{Username: "ops", Password: "s3cret"})
	e.ver = ""
	cases := map[string]string{
		"wrong password":   `{"username":"ops","password":"admin"}`,
		"wrong user":       `{"username":"admin","password":"s3cret"}`,
		"no password":      `{"username":"ops"}`,
		"unknown token":    `{"username":"ops","token":"deadbeef"}`,
		"not json at all":  `username=ops&password=s3cret`,
		"empty body":       ``,
		"password as null": `{"username":"ops","password":null}`,
	}
	for name, body := range cases {
		r := e.do(http.MethodPost, "/login", body)
		e.t = t
		if r.status != http.StatusUnauthorized || string(r.body) != errBody("Invalid credentials") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
		if got, _ := setCookies(r); len(got) != 0 {
			t.Errorf("%s: cookies %v", name, got)
		}
	}
	if e.s.Logins() != 0 {
		t.Errorf("Logins() = %d", e.s.Logins())
	}
	e.want(e.do(http.MethodPost, "/login", `{"username":"ops","password":"s3cret"}`), http.StatusOK,
		strings.ReplaceAll(loginBody, `"username":"admin","name":"admin"`, `"username":"ops","name":"ops"`), false)
}

// §10.7, §1.5: sessions, the sliding cookie refresh, idle and hard expiry, logout.
func TestSessions(t *testing.T) {
	e := newEnv(t, Options{})
	noAuth := errBody("Authentication credentials were not provided.")
	e.want(e.do(http.MethodGet, "/api/tenant?fields=name", nil), http.StatusUnauthorized, noAuth, false)
	e.login()
	_, login := setCookies(e.do(http.MethodPost, "/login", `{"username":"admin","password":"admin"}`))
	e.csrf = login["csrftoken"]

	// Every authenticated response refreshes both session cookies, same id, Max-Age 86400.
	for i := range 3 {
		e.advance(14 * time.Minute)
		r := e.do(http.MethodGet, "/api/tenant?fields=name", nil)
		e.want(r, http.StatusOK, `{"count":1,"results":[{"name":"admin","url":"https://{H}/api/tenant/admin","uuid":"admin"}]}`, false)
		got, values := setCookies(r)
		want := []cookieAttrs{{"avi-sessionid", 32, "/", 86400, true, true}, {"sessionid", 32, "/", 86400, true, true}}
		if diff := cmp.Diff(want, got); diff != "" || values["sessionid"] != login["sessionid"] {
			t.Errorf("request %d: refresh cookies (-want +got):\n%s", i, diff)
		}
	}
	// 15 minutes idle is the limit (api_idle_timeout).
	e.advance(15*time.Minute + time.Second)
	r := e.do(http.MethodGet, "/api/tenant", nil)
	e.want(r, http.StatusUnauthorized, noAuth, false)
	if got, _ := setCookies(r); len(got) != 0 {
		t.Errorf("expired: cookies %v", got)
	}

	// The hard limit is 24 h, however busy the session.
	e.login()
	for range 24 * 6 {
		e.advance(10 * time.Minute)
		if r := e.do(http.MethodGet, "/api/tenant?fields=name", nil); r.status != http.StatusOK {
			t.Fatalf("within 24h: %d", r.status)
		}
	}
	e.advance(10 * time.Minute)
	e.want(e.do(http.MethodGet, "/api/tenant", nil), http.StatusUnauthorized, noAuth, false)

	// ExpireSessions ends every session.
	e.login()
	e.s.ExpireSessions()
	e.want(e.do(http.MethodGet, "/api/tenant", nil), http.StatusUnauthorized, noAuth, false)

	// Logout ends the session and clears the cookies.
	e.login()
	r = e.do(http.MethodPost, "/logout", nil)
	e.want(r, http.StatusOK, `{}`, false)
	got, _ := setCookies(r)
	if diff := cmp.Diff([]cookieAttrs{{"avi-sessionid", 0, "/", -1, true, true}, {"sessionid", 0, "/", -1, true, true}}, got); diff != "" {
		t.Errorf("logout cookies (-want +got):\n%s", diff)
	}
	e.want(e.do(http.MethodGet, "/api/tenant", nil), http.StatusUnauthorized, noAuth, false)
	if got := e.s.Logins(); got != 5 {
		t.Errorf("Logins() = %d, want 5", got)
	}
}

// §10.8, §1.4: CSRF on unsafe methods under session auth; a plain-text 401 labelled JSON.
func TestCSRF(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	good := e.csrf
	uuid, err := e.s.Preload("admin", "healthmonitor", map[string]any{"name": "hm", "type": "HEALTH_MONITOR_TCP"})
	if err != nil {
		t.Fatal(err)
	}
	obj := "/api/healthmonitor/" + uuid
	cases := []struct {
		name, method, path, token, body string
	}{
		{"POST without token", http.MethodPost, "/api/healthmonitor", "", `{"name":"x","type":"HEALTH_MONITOR_TCP"}`},
		{"POST with a wrong token", http.MethodPost, "/api/healthmonitor", "wrong", `{"name":"x","type":"HEALTH_MONITOR_TCP"}`},
		{"PUT without token", http.MethodPut, obj, "", `{"name":"hm","type":"HEALTH_MONITOR_TCP"}`},
		{"PATCH without token", http.MethodPatch, obj, "", `{"replace":{"send_interval":20}}`},
		{"DELETE without token", http.MethodDelete, obj, "", ""},
	}
	for _, c := range cases {
		e.csrf = ""
		r := e.do(c.method, c.path, c.body, header("X-CSRFToken", c.token))
		if r.status != http.StatusUnauthorized || string(r.body) != "CSRF token missing or incorrect." ||
			r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q %q", c.name, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	var names []string
	for _, hm := range e.s.Objects("admin", "healthmonitor") {
		names = append(names, hm["name"].(string))
	}
	slices.Sort(names)
	if want := []string{"System-SCTP", "System-TCP", "System-UDP", "hm"}; !slices.Equal(names, want) {
		t.Errorf("health monitors after refused writes: %q, want %q (the system ones and hm)", names, want)
	}
	// GET is not checked (inferred).
	if r := e.do(http.MethodGet, obj, nil); r.status != http.StatusOK {
		t.Errorf("GET without token: %d", r.status)
	}
	// The same token works; after a new login the old session's token still belongs to it.
	e.csrf = good
	e.want(e.do(http.MethodPost, "/api/healthmonitor", `{"name":"x","type":"HEALTH_MONITOR_TCP","send_interval":5}`), http.StatusCreated,
		`{"name":"x","uuid":"healthmonitor-{U:16}","url":"https://{H}/api/healthmonitor/healthmonitor-{U:16}#x","_last_modified":"{LM:16}",
		  "tenant_ref":"https://{H}/api/tenant/admin#admin","type":"HEALTH_MONITOR_TCP","send_interval":5,"receive_timeout":4,
		  "successful_checks":2,"failed_checks":2}`, false)
}

// §10.8: the Referer knob (off by default).
func TestRequireReferer(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := newEnv(t, Options{RequireReferer: on})
		e.login()
		r := e.do(http.MethodPost, "/api/analyticsprofile", `{"name":"a"}`, func(r *http.Request) { r.Header.Del("Referer") })
		want := http.StatusCreated
		if on {
			want = http.StatusUnauthorized
			if string(r.body) != "CSRF Failed: Referer checking failed - no Referer." {
				t.Errorf("body %q", r.body)
			}
		}
		if r.status != want {
			t.Errorf("RequireReferer=%v: %d %s", on, r.status, r.body)
		}
	}
}

// §10.7, §1.6: Basic auth behind its knob: no cookies, no CSRF.
func TestBasicAuth(t *testing.T) {
	e := newEnv(t, Options{})
	basic := func(user, pass string) reqOpt { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }
	noAuth := errBody("Authentication credentials were not provided.")

	e.want(e.do(http.MethodGet, "/api/analyticsprofile?fields=name", nil, basic("admin", "admin")), http.StatusUnauthorized, noAuth, false)
	e.s.SetBasicAuth(true)
	r := e.do(http.MethodGet, "/api/systemconfiguration", nil, basic("admin", "admin"))
	e.want(r, http.StatusOK, `{"url":"https://{H}/api/systemconfiguration/default","uuid":"default","default_license_tier":"ENTERPRISE",
		"portal_configuration":{"allow_basic_authentication":true,"api_force_timeout":24}}`, false)
	if got, _ := setCookies(r); len(got) != 0 {
		t.Errorf("Basic auth response set cookies %v", got)
	}
	e.want(e.do(http.MethodPost, "/api/analyticsprofile", `{"name":"a"}`, basic("admin", "admin")), http.StatusCreated,
		`{"name":"a","uuid":"analyticsprofile-{U:15}","url":"https://{H}/api/analyticsprofile/analyticsprofile-{U:15}#a",
		  "_last_modified":"{LM:15}","tenant_ref":"https://{H}/api/tenant/admin#admin"}`, false)
	e.want(e.do(http.MethodGet, "/api/analyticsprofile", nil, basic("admin", "nope")), http.StatusUnauthorized,
		errBody("Invalid credentials"), false)
	e.s.SetBasicAuth(false)
	e.want(e.do(http.MethodGet, "/api/analyticsprofile", nil, basic("admin", "admin")), http.StatusUnauthorized, noAuth, false)
}

// /api/user-token mints tokens that log in until they expire.
func TestUserToken(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	tok := e.do(http.MethodPost, "/api/user-token", map[string]any{"hours": 2}).json(t)["token"].(string)
	e.want(e.do(http.MethodGet, "/api/user-token", nil), http.StatusOK,
		`{"count":1,"results":[{"token":"`+tok+`","username":"admin","expires_at":"2024-05-06T09:08:09Z"}]}`, false)
	e.want(e.do(http.MethodPost, "/api/user-token", `{"hours":"zero"}`), http.StatusBadRequest,
		errBody("hours: a positive number is required"), false)
	if r := e.do(http.MethodPost, "/login", `{"username":"admin","token":"`+tok+`"}`); r.status != http.StatusOK {
		t.Errorf("token login: %d", r.status)
	}
	e.advance(2*time.Hour + time.Second)
	e.want(e.do(http.MethodPost, "/login", `{"username":"admin","token":"`+tok+`"}`), http.StatusUnauthorized,
		errBody("Invalid credentials"), false)
}
