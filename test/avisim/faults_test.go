package avisim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// §10.28: FailNext matches (method, type, name) and answers n times.
func TestFailNext(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.s.FailNext(Match{Method: "POST", Type: "pool", Name: "p1"}, 2, http.StatusServiceUnavailable, "")
	e.s.FailNext(Match{Type: "vsvip"}, 1, http.StatusInternalServerError, `{"error":"record not found"}`)
	e.s.FailNext(Match{Method: "POST", Type: "login"}, 1, http.StatusBadGateway, "")
	steps := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/pool", `{"name":"p2"}`, 201, ""},
		{"POST", "/api/pool", `{"name":"p1"}`, 503, errBody("Service Unavailable")},
		{"GET", "/api/pool?name=p1", "", 200, `{"count":0,"results":[]}`},
		{"POST", "/api/pool", `{"name":"p1"}`, 503, errBody("Service Unavailable")},
		{"POST", "/api/pool", `{"name":"p1"}`, 201, ""},
		{"GET", "/api/vsvip", "", 500, `{"error":"record not found"}`},
		{"GET", "/api/vsvip", "", 200, `{"count":0,"results":[]}`},
		{"POST", "/login", `{"username":"admin","password":"admin"}`, 502, errBody("Bad Gateway")},
	}
	for i, s := range steps {
		r := e.do(s.method, s.path, s.body)
		if s.want == "" {
			if r.status != s.status {
				t.Errorf("step %d: %d %s", i, r.status, r.body)
			}
			continue
		}
		e.want(r, s.status, s.want, false)
	}
	// Name matching on an object path uses the stored name.
	e.s.FailNext(Match{Method: "DELETE", Name: "p1"}, 1, http.StatusConflict, "")
	e.want(e.do(http.MethodDelete, "/api/pool/pool-"+uuid4(16), nil), http.StatusConflict, errBody("Conflict"), false)
	e.want(e.do(http.MethodDelete, "/api/pool/pool-"+uuid4(16), nil), http.StatusNoContent, "", false)
}

// §10.28: DropNext closes the connection without an answer. (Go's transport silently
// retries an idempotent request whose reused connection closes, so a dropped GET may
// need n ≥ 2 to be seen by the client; a POST is never retried.)
func TestDropNext(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.s.DropNext(Match{Method: "POST", Type: "pool"}, 1)
	if err := rawPost(e, "pool", `{"name":"p"}`); err == nil || errors.As(err, new(statusError)) {
		t.Fatalf("dropped POST: %v, want a transport error", err)
	}
	j := e.s.Journal()
	if got := j[len(j)-1]; got.Path != "/api/pool" || got.Status != 0 {
		t.Errorf("dropped request journalled as %+v", got)
	}
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
	if err := rawPost(e, "pool", `{"name":"p"}`); err != nil {
		t.Errorf("POST after the drop: %v", err)
	}
}

// §10.28, §1.5: 419 once, then the session goes on.
func TestAnswer419Once(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.s.Answer419Once()
	e.want(e.do(http.MethodGet, "/api/pool", nil), 419, errBody("Session expired"), false)
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
}

// §10.28: delay, cluster status and upgrade mode.
func TestDelayClusterUpgrade(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.s.SetDelay(150 * time.Millisecond)
	start := time.Now()
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("delayed request took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/api/pool", nil)
	if resp, err := e.client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			t.Errorf("client timeout: answered %d %s", resp.StatusCode, b)
		}
		t.Errorf("client timeout: %v", err)
	}
	e.s.SetDelay(0)

	e.s.SetClusterStatus(http.StatusServiceUnavailable)
	e.want(e.do(http.MethodGet, "/api/cluster/status", nil), http.StatusServiceUnavailable, errBody("Service Unavailable"), false)
	e.s.SetClusterStatus(http.StatusOK)

	e.s.SetUpgradeMode(true)
	upgrade := errBody("Configuration is disallowed during upgrade")
	e.want(e.do(http.MethodPost, "/api/pool", `{"name":"p"}`), http.StatusForbidden, upgrade, false)
	e.want(e.do(http.MethodPut, "/api/healthmonitor/healthmonitor-"+uuid4(9), `{"name":"x","type":"HEALTH_MONITOR_TCP"}`), http.StatusForbidden, upgrade, false)
	e.want(e.do(http.MethodDelete, "/api/healthmonitor/healthmonitor-"+uuid4(9), nil), http.StatusForbidden, upgrade, false)
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
	e.s.SetUpgradeMode(false)
	if r := e.do(http.MethodPost, "/api/pool", `{"name":"p"}`); r.status != http.StatusCreated {
		t.Errorf("after upgrade: %d", r.status)
	}
}

// §10.29: the journal records method, normalised path, query, X-Avi-* headers, body and
// status; Logins counts logins.
func TestJournal(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.tenant = "admin"
	e.do(http.MethodPost, "//api/analyticsprofile/", `{"name":"a"}`, header("X-Avi-UserAgent", "sctpguard"))
	e.do(http.MethodGet, "/api/analyticsprofile?name=a&include_name", nil)
	e.ver = ""
	e.do(http.MethodDelete, "/api/analyticsprofile/analyticsprofile-"+uuid4(15), nil, func(r *http.Request) { r.Header.Del("X-Avi-Tenant") })
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	want := []Request{
		{Method: "POST", Path: "/login", Header: hdr("X-Avi-Version", "22.1.3"), Body: `{"password":"admin","username":"admin"}`, Status: 200},
		{Method: "POST", Path: "/api/analyticsprofile", Header: hdr("X-Avi-Version", "22.1.3", "X-Avi-Tenant", "admin", "X-Avi-Useragent", "sctpguard"),
			Body: `{"name":"a"}`, Status: 201},
		{Method: "GET", Path: "/api/analyticsprofile", Query: "name=a&include_name", Header: hdr("X-Avi-Version", "22.1.3", "X-Avi-Tenant", "admin"), Status: 200},
		{Method: "DELETE", Path: "/api/analyticsprofile/analyticsprofile-" + uuid4(15), Header: hdr(), Status: 204},
	}
	if diff := cmp.Diff(want, e.s.Journal()); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Request{want[1], want[3]}, e.s.Writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if e.s.Logins() != 1 {
		t.Errorf("Logins() = %d", e.s.Logins())
	}
	e.s.ResetJournal()
	if got := e.s.Journal(); len(got) != 0 {
		t.Errorf("journal after reset: %v", got)
	}
}

// §10.30: parallel writers on one store, as AKO's nine sessions would be; run with -race.
func TestConcurrency(t *testing.T) {
	e := newEnv(t, Options{NewUUID: randomUUID})
	e.login()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := sprintf("w%d-%d", w, i)
				for _, b := range []struct{ typ, body string }{
					{"pool", `{"name":"` + name + `","health_monitor_refs":["/api/healthmonitor/?name=System-SCTP"]}`},
					{"vsvip", `{"name":"` + name + `","vip":[{"auto_allocate_ip":true}]}`},
					{"pool", `{"name":"` + name + `"}`}, // a duplicate: 409
				} {
					if err := rawPost(e, b.typ, b.body); err != nil {
						errs <- err
					}
				}
				resp, err := e.client.Get(e.ts.URL + "/api/pool?page_size=5&name.contains=w")
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	var n409 int
	for err := range errs {
		var se statusError
		if errors.As(err, &se) && se.status == http.StatusConflict {
			n409++
			continue
		}
		t.Error(err)
	}
	if n409 != workers*each {
		t.Errorf("%d conflicts, want %d", n409, workers*each)
	}
	seen := map[string]bool{}
	vips := e.s.Objects("admin", "vsvip")
	for _, v := range vips {
		addr := v["vip"].([]any)[0].(map[string]any)["ip_address"].(map[string]any)["addr"].(string)
		if seen[addr] {
			t.Errorf("VIP %s allocated twice", addr)
		}
		seen[addr] = true
	}
	if len(vips) != workers*each || len(e.s.Objects("admin", "pool")) != workers*each {
		t.Errorf("%d VsVips, %d pools; want %d each", len(vips), len(e.s.Objects("admin", "pool")), workers*each)
	}
	if len(seen) != workers*each || !seen["10.250.250.1"] || !seen[sprintf("10.250.250.%d", workers*each)] {
		t.Errorf("VIPs are not 10.250.250.1-%d: %d distinct", workers*each, len(seen))
	}
}

type statusError struct {
	status int
	body   string
}

func (e statusError) Error() string { return sprintf("%d %s", e.status, e.body) }

// rawPost is a POST safe to call from any goroutine (it does not touch testing.T).
func rawPost(e *env, typ, body string) error {
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/api/"+typ, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Avi-Version", "22.1.3")
	req.Header.Set("X-CSRFToken", e.csrf)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return statusError{resp.StatusCode, string(raw)}
	}
	return nil
}
