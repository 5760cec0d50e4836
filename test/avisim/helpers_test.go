package avisim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is the test clock's start. The 15 writes that load the system objects stamp
// _last_modified t0+0µs … t0+14µs, so the first write of a test gets lm(15).
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// uuid4 is the n-th uuid of the tests' generator; the system objects take 1…14 (system.go order).
func uuid4(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func lm(n int) string { return strconv.FormatInt(t0.UnixMicro()+int64(n), 10) }

// env is a started fake and a client that talks to it as sctpguard's would: TLS verified
// against the fake's certificate, a cookie jar, the §1.3 headers.
type env struct {
	t      testing.TB
	s      *Server
	ts     *httptest.Server
	client *http.Client
	jar    *cookiejar.Jar
	host   string
	now    atomic.Int64 // test clock, µs
	csrf   string
	ver    string // X-Avi-Version to send; "" sends none
	tenant string // X-Avi-Tenant to send; "" sends none
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	e := &env{t: t, ver: "22.1.3"}
	e.now.Store(t0.UnixMicro())
	if opts.Clock == nil {
		opts.Clock = func() time.Time { return time.UnixMicro(e.now.Load()).UTC() }
	}
	if opts.NewUUID == nil {
		var n atomic.Int64
		opts.NewUUID = func() string { return uuid4(int(n.Add(1))) }
	}
	e.s = New(opts)
	e.ts = e.s.StartTLS()
	t.Cleanup(e.ts.Close)
	e.host = strings.TrimPrefix(e.ts.URL, "https://")
	e.client = e.newClient()
	return e
}

// newClient returns a client that trusts only the fake's certificate, given as PEM the way
// a controller Secret's certificateAuthorityData is.
func (e *env) newClient() *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(CertPEM(e.ts)) {
		e.t.Fatal("CertPEM: no certificate")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.jar = jar
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) advance(d time.Duration) { e.now.Add(d.Microseconds()) }

// reply is a whole response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

type reqOpt func(*http.Request)

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func (e *env) do(method, path string, body any, opts ...reqOpt) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Referer", e.ts.URL+"/")
	if e.ver != "" {
		req.Header.Set("X-Avi-Version", e.ver)
	}
	if e.tenant != "" {
		req.Header.Set("X-Avi-Tenant", e.tenant)
	}
	if e.csrf != "" && path != "/login" {
		req.Header.Set("X-CSRFToken", e.csrf)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// login logs in with the default credentials and keeps the CSRF token.
func (e *env) login() {
	e.t.Helper()
	r := e.do(http.MethodPost, "/login", map[string]string{"username": "admin", "password": "admin"})
	if r.status != http.StatusOK {
		e.t.Fatalf("login: %d %s", r.status, r.body)
	}
	u, _ := url.Parse(e.ts.URL)
	for _, c := range e.jar.Cookies(u) {
		if c.Name == "csrftoken" {
			e.csrf = c.Value
		}
	}
}

var placeholder = regexp.MustCompile(`\{(H|U:\d+|LM:\d+|#[^}]*)\}`)

// expand fills a JSON template: {H} the host, {U:n} uuid4(n), {LM:n} lm(n), and {#name}
// "#name" when names is set (POST/PUT responses, include_name) or nothing (plain GET).
func (e *env) expand(tmpl string, names bool) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(p string) string {
		p = p[1 : len(p)-1]
		switch {
		case p == "H":
			return e.host
		case strings.HasPrefix(p, "U:"):
			n, _ := strconv.Atoi(p[2:])
			return uuid4(n)
		case strings.HasPrefix(p, "LM:"):
			n, _ := strconv.Atoi(p[3:])
			return lm(n)
		case names:
			return p
		}
		return ""
	})
}

func (e *env) decode(tmpl string, names bool) any {
	e.t.Helper()
	var v any
	if err := json.Unmarshal([]byte(e.expand(tmpl, names)), &v); err != nil {
		e.t.Fatalf("template %s: %v", tmpl, err)
	}
	return v
}

// want compares a whole reply: the status and the full JSON body (want "" for an empty body).
func (e *env) want(r reply, status int, tmpl string, names bool) {
	e.t.Helper()
	if r.status != status {
		e.t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if tmpl == "" {
		if len(r.body) != 0 {
			e.t.Errorf("body %q, want none", r.body)
		}
		return
	}
	var got any
	if err := json.Unmarshal(r.body, &got); err != nil {
		e.t.Fatalf("body %q: %v", r.body, err)
	}
	if diff := cmp.Diff(e.decode(tmpl, names), got); diff != "" {
		e.t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

// wantObj compares a value (for example from Objects) with a template.
func (e *env) wantObj(got any, tmpl string, names bool) {
	e.t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		e.t.Fatal(err)
	}
	var norm any
	_ = json.Unmarshal(raw, &norm)
	if diff := cmp.Diff(e.decode(tmpl, names), norm); diff != "" {
		e.t.Errorf("object mismatch (-want +got):\n%s", diff)
	}
}

// errBody is the JSON error body for msg.
func errBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
