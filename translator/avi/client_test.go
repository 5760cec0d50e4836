package avi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests pin the client's own rules with a scripted server; the behaviour against a
// controller-like server (sessions, CSRF, refs, paging) is tested with test/avisim in the
// translator's tests.

type exchange struct {
	Method, Path, Query, CSRF, Cookie, Version, Tenant string
}

type script struct {
	mu    sync.Mutex
	seen  []exchange
	reply func(n int, r *http.Request) (int, string)
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.seen)
	s.seen = append(s.seen, exchange{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get(headerCSRF), r.Header.Get("Cookie"), r.Header.Get(headerAPIVersion), r.Header.Get(headerTenant)})
	s.mu.Unlock()
	if r.URL.Path == "/login" {
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: fmt.Sprintf("csrf%d", n), Path: "/", Secure: true, MaxAge: 31449600})
		http.SetCookie(w, &http.Cookie{Name: "avi-sessionid", Value: fmt.Sprintf("sess%d", n), Path: "/", Secure: true, HttpOnly: true, MaxAge: 86400})
		_, _ = io.WriteString(w, `{"version":{"Version":"22.1.4"}}`)
		return
	}
	code, body := s.reply(n, r)
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func newScripted(t *testing.T, reply func(n int, r *http.Request) (int, string), mod func(*Config)) (*Client, *script) {
	t.Helper()
	s := &script{reply: reply}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	cfg := Config{
		Host:          srv.URL,
		Credentials:   func() (Credentials, error) { return Credentials{Username: "admin", Password: "secret"}, nil },
		Tenant:        "telco",
		RetryInterval: time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.http.Transport = srv.Client().Transport
	return c, s
}

func TestSessionHeadersAndRelogin(t *testing.T) {
	calls := 0
	c, s := newScripted(t, func(n int, r *http.Request) (int, string) {
		calls++
		if calls == 2 {
			return http.StatusUnauthorized, `{"error":"Authentication credentials were not provided."}`
		}
		return http.StatusOK, `{"uuid":"pool-1","name":"p"}`
	}, nil)
	ctx := context.Background()
	if _, err := c.Get(ctx, TypePool, "pool-1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, TypePool, "pool-1", nil); err != nil {
		t.Fatalf("the client should log in again after a 401 and repeat: %v", err)
	}
	want := []exchange{
		{Method: "POST", Path: "/login", Version: "22.1.3", Tenant: "telco"},
		{Method: "GET", Path: "/api/pool/pool-1", CSRF: "csrf0", Cookie: "csrftoken=csrf0; avi-sessionid=sess0; sessionid=sess0", Version: "22.1.3", Tenant: "telco"},
		{Method: "GET", Path: "/api/pool/pool-1", CSRF: "csrf0", Cookie: "csrftoken=csrf0; avi-sessionid=sess0; sessionid=sess0", Version: "22.1.3", Tenant: "telco"},
		{Method: "POST", Path: "/login", Version: "22.1.3", Tenant: "telco"},
		{Method: "GET", Path: "/api/pool/pool-1", CSRF: "csrf3", Cookie: "csrftoken=csrf3; avi-sessionid=sess3; sessionid=sess3", Version: "22.1.3", Tenant: "telco"},
	}
	if diff := cmp.Diff(want, s.seen); diff != "" {
		t.Errorf("exchanges (-want +got):\n%s", diff)
	}
	if v, _ := c.ControllerVersion(ctx); v != "22.1.4" {
		t.Errorf("controller version %q", v)
	}
}

func TestReloginOnlyOnce(t *testing.T) {
	c, s := newScripted(t, func(int, *http.Request) (int, string) {
		return 419, ""
	}, nil)
	_, err := c.Get(context.Background(), TypePool, "pool-1", nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 419 {
		t.Fatalf("error %v, want the 419 after one re-login", err)
	}
	var logins int
	for _, e := range s.seen {
		if e.Path == "/login" {
			logins++
		}
	}
	if logins != 2 || len(s.seen) != 4 {
		t.Errorf("logins %d of %d exchanges, want 2 of 4: %+v", logins, len(s.seen), s.seen)
	}
}

func TestRetries(t *testing.T) {
	for _, tt := range []struct {
		name     string
		statuses []int
		want     string
		attempts int
	}{
		{"503 twice then ok", []int{503, 503, 200}, "", 3},
		{"502 three times", []int{502, 502, 502}, "GET /api/pool/pool-1: 502: bad gateway", 3},
		{"500 is not retried", []int{500}, "GET /api/pool/pool-1: 500: record not found", 1},
		{"400 is not retried", []int{400}, "GET /api/pool/pool-1: 400: Invalid version", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			c, s := newScripted(t, func(int, *http.Request) (int, string) {
				code := tt.statuses[min(i, len(tt.statuses)-1)]
				i++
				switch code {
				case 200:
					return 200, `{"uuid":"pool-1"}`
				case 500:
					return 500, `{"error":"record not found"}`
				case 400:
					return 400, `{"error":"Invalid version"}`
				}
				return code, "bad gateway"
			}, nil)
			_, err := c.Get(context.Background(), TypePool, "pool-1", nil)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
			if n := len(s.seen) - 1; n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
		})
	}
}

func TestTransportErrorRetriedThenReported(t *testing.T) {
	cfg := Config{Host: "127.0.0.1:1", Credentials: func() (Credentials, error) { return Credentials{}, nil }, RetryInterval: time.Millisecond, Timeout: time.Second}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), TypePool, "x", nil)
	if err == nil || !strings.Contains(err.Error(), "avi: login: ") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v", err)
	}
	if Classify(err) != ClassSlow {
		t.Errorf("class %s, want slow", Classify(err))
	}
}

func TestCSRFPlainTextError(t *testing.T) {
	c, _ := newScripted(t, func(n int, r *http.Request) (int, string) {
		return 401, "CSRF token missing or incorrect."
	}, nil)
	_, err := c.Create(context.Background(), TypePool, Pool{Name: "p"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "CSRF token missing or incorrect." || ae.Status != 401 {
		t.Fatalf("error %#v", err)
	}
}

func TestListFollowsNextOnOwnHost(t *testing.T) {
	c, s := newScripted(t, func(n int, r *http.Request) (int, string) {
		if r.URL.Query().Get("page") == "2" {
			return 200, `{"count":3,"results":[{"name":"c"}]}`
		}
		// next names another host: the client re-issues it against its own.
		return 200, `{"count":3,"results":[{"name":"a"},{"name":"b"}],"next":"https://10.9.9.9/api/pool?created_by=x&page_size=100&page=2"}`
	}, nil)
	objs, err := c.List(context.Background(), TypePool, url.Values{"created_by": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name())
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Error(diff)
	}
	if got := s.seen[1].Query + " | " + s.seen[2].Query; got != "created_by=x&page_size=100 | created_by=x&page=2&page_size=100" {
		t.Errorf("queries %s", got)
	}
}

func TestBoundedResponse(t *testing.T) {
	c, _ := newScripted(t, func(int, *http.Request) (int, string) {
		return 200, `{"name":"` + strings.Repeat("x", 2048) + `"}`
	}, func(cfg *Config) { cfg.MaxResponseBytes = 1024 })
	_, err := c.Get(context.Background(), TypePool, "pool-1", nil)
	if err == nil || !strings.Contains(err.Error(), "answer is larger than 1024 bytes") {
		t.Fatalf("error %v", err)
	}
}

func TestBadCredentials(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "Invalid credentials"})
	}))
	defer srv.Close()
	c, err := NewClient(Config{Host: srv.URL, Credentials: func() (Credentials, error) { return Credentials{Username: "u", Password: "wrong"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	c.http.Transport = srv.Client().Transport
	_, err = c.Login(context.Background())
	if err == nil || err.Error() != "avi: login as u: POST /login: 401: Invalid credentials" || !IsInvalidCredentials(err) {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Error("the password leaked into the error")
	}
}

func TestNewClientValidation(t *testing.T) {
	creds := func() (Credentials, error) { return Credentials{}, nil }
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Credentials: creds}, "avi: controller host is required"},
		{Config{Host: "h"}, "avi: credentials are required"},
		{Config{Host: "http://h", Credentials: creds}, `avi: controller host "http://h": only https is supported`},
		{Config{Host: "h/api", Credentials: creds}, `avi: controller host "h/api": want host[:port]`},
		{Config{Host: "h", Credentials: creds, APIVersion: "22.1.2"}, "avi: API version 22.1.2 is below 22.1.3, the first with SCTP"},
		{Config{Host: "h", Credentials: creds, CAData: []byte("nope")}, "avi: the CA bundle holds no PEM certificate"},
	} {
		if _, err := NewClient(tt.cfg); err == nil || err.Error() != tt.want {
			t.Errorf("NewClient(%+v) = %v, want %q", tt.cfg.Host, err, tt.want)
		}
	}
	for host, want := range map[string]string{
		"avi.example.com":           "https://avi.example.com",
		"10.0.0.1:8443":             "https://10.0.0.1:8443",
		"2001:db8::1":               "https://[2001:db8::1]",
		"https://[2001:db8::1]:443": "https://[2001:db8::1]:443",
	} {
		c, err := NewClient(Config{Host: host, Credentials: creds})
		if err != nil || c.base.String() != want {
			t.Errorf("host %q: base %v, %v; want %s", host, c, err, want)
		}
	}
}
