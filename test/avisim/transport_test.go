package avisim

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"testing"
)

// §10.1: the fake serves HTTPS only, with a certificate a client verifies through CertPEM.
func TestTLS(t *testing.T) {
	e := newEnv(t, Options{})
	e.ver = ""

	resp, err := http.Get("http://" + e.host + "/api/cluster/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || string(body) != "Client sent an HTTP request to an HTTPS server.\n" {
		t.Errorf("plain HTTP: %d %q, want the TLS server's 400", resp.StatusCode, body)
	}

	// Without the fake's certificate, verification fails.
	resp, err = (&http.Client{Transport: &http.Transport{}}).Get(e.ts.URL + "/api/cluster/status")
	if err == nil {
		_ = resp.Body.Close()
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("unverified client: err %v, want x509.UnknownAuthorityError", err)
	}

	// With it, the cluster status answers (no auth needed).
	e.want(e.do(http.MethodGet, "/api/cluster/status", nil), http.StatusOK,
		`{"cluster_state":{"state":"CLUSTER_UP_NO_HA","progress":100},"node_states":[{"name":"node1","role":"CLUSTER_LEADER","state":"CLUSTER_ACTIVE"}]}`, false)
}

// §10.2: repeated and trailing "/" are normalised; a POST to "//api/x/" is not redirected.
func TestPathNormalisation(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	hm := `{"name":"hm-%s","type":"HEALTH_MONITOR_TCP"}`
	stored := `{"name":"hm-%s","uuid":"healthmonitor-{U:%d}","url":"https://{H}/api/healthmonitor/healthmonitor-{U:%d}#hm-%s",
		"_last_modified":"{LM:%d}","tenant_ref":"https://{H}/api/tenant/admin#admin","type":"HEALTH_MONITOR_TCP",
		"send_interval":10,"receive_timeout":4,"successful_checks":2,"failed_checks":2}`
	for i, path := range []string{"//api/healthmonitor", "/api/healthmonitor/", "//api//healthmonitor//", "/api/healthmonitor"} {
		n := 15 + i
		id := string(rune('a' + i))
		r := e.do(http.MethodPost, path, sprintf(hm, id))
		e.want(r, http.StatusCreated, sprintf(stored, id, n, n, id, n), true)
		if got := e.s.Journal()[len(e.s.Journal())-1].Path; got != "/api/healthmonitor" {
			t.Errorf("%s: journal path %q", path, got)
		}
	}
	e.want(e.do(http.MethodGet, "//api/healthmonitor/healthmonitor-"+uuid4(15)+"/?fields=type", nil), http.StatusOK,
		`{"name":"hm-a","uuid":"healthmonitor-{U:15}","url":"https://{H}/api/healthmonitor/healthmonitor-{U:15}","type":"HEALTH_MONITOR_TCP"}`, false)
}

// §10.3, §10.4: routing and the 404/405 answers; every answer of a known endpoint carries its
// Allow set.
func TestRouting(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	cases := []struct {
		name, method, path string
		status             int
		body, allow        string
	}{
		{"unknown type", http.MethodGet, "/api/nosuchtype", 404, errBody("Nosuchtype object not found!"), ""},
		{"unknown uuid", http.MethodGet, "/api/pool/pool-nope", 404, errBody("Pool object not found!"), allowObject},
		{"unknown uuid delete", http.MethodDelete, "/api/vsvip/vsvip-nope", 404, errBody("VsVip object not found!"), allowObject},
		{"too deep", http.MethodGet, "/api/pool/a/b", 404, errBody("Pool object not found!"), ""},
		{"outside api", http.MethodGet, "/nope", 404, errBody("Not found"), ""},
		{"PUT on a collection", http.MethodPut, "/api/pool", 405, errBody(`Method "PUT" not allowed.`), allowCollection},
		{"DELETE on a collection", http.MethodDelete, "/api/pool", 405, errBody(`Method "DELETE" not allowed.`), allowCollection},
		{"POST on an object", http.MethodPost, "/api/tenant/admin", 405, errBody(`Method "POST" not allowed.`), allowObject},
		{"GET login", http.MethodGet, "/login", 405, errBody(`Method "GET" not allowed.`), "POST, OPTIONS"},
		{"PUT systemconfiguration", http.MethodPut, "/api/systemconfiguration", 405, errBody(`Method "PUT" not allowed.`), allowGet},
		{"OPTIONS collection", http.MethodOptions, "/api/pool", 200, "", allowCollection},
		{"HEAD collection", http.MethodHead, "/api/pool", 200, "", allowCollection},
		{"OPTIONS object", http.MethodOptions, "/api/tenant/admin", 200, "", allowObject},
		{"user-token", http.MethodGet, "/api/user-token", 200, `{"count":0,"results":[]}`, allowUserToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(c.method, c.path, nil)
			e.want(r, c.status, c.body, false)
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
		})
	}
}

// §10.5, §2.1: AVI_API_VERSION on every response.
func TestAviAPIVersionHeader(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	cases := []struct {
		name, sent, path string
		want             string
	}{
		{"negotiated", "22.1.3", "/api/pool", "22.1.3"},
		{"older", "21.1.1", "/api/pool", "21.1.1"},
		{"missing", "", "/api/pool", "16_4_2"},
		{"missing, no auth", "", "/api/cluster/status", "16_4_2"},
		{"invalid", "bogus", "/api/pool", "22.1.3"},
		{"unknown path", "22.1.3", "/api/nosuchtype", "22.1.3"},
	}
	for _, c := range cases {
		e.ver = c.sent
		r := e.do(http.MethodGet, c.path, nil)
		if got := r.header.Values("Avi_api_version"); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: AVI_API_VERSION %q, want %q", c.name, got, c.want)
		}
	}
}
