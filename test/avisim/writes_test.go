package avisim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// §10.17: name uniqueness scopes and the exact 409 texts, on POST and on a renaming PUT.
func TestNameUniqueness(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	if _, err := e.s.Preload("admin", "cloud", map[string]any{"name": "c2"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		typ, body, msg string
	}{
		{"virtualservice", `{"name":"n"}`, "Virtual service with this Name, Tenant ref and Cloud ref already exists."},
		{"vsvip", `{"name":"n"}`, "Vs vip with this Name, Tenant ref and Cloud ref already exists."},
		{"pool", `{"name":"n"}`, "Pool with this Name, Tenant ref and Cloud ref already exists."},
		{"poolgroup", `{"name":"n"}`, "Pool group with this Name, Tenant ref and Cloud ref already exists."},
		{"l4policyset", `{"name":"n"}`, "L4 policy set with this Name and Tenant ref already exists."},
		{"healthmonitor", `{"name":"n","type":"HEALTH_MONITOR_TCP"}`, "Health monitor with this Name and Tenant ref already exists."},
		{"networkprofile", `{"name":"n","profile":{}}`, "Network profile with this Name and Tenant ref already exists."},
		{"applicationprofile", `{"name":"n","type":"APPLICATION_PROFILE_TYPE_L4"}`, "Application profile with this Name and Tenant ref already exists."},
		{"tenant", `{"name":"n"}`, "Tenant with this Name already exists."},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			e.t = t
			if r := e.do(http.MethodPost, "/api/"+c.typ, c.body); r.status != http.StatusCreated {
				t.Fatalf("first POST: %d %s", r.status, r.body)
			}
			e.want(e.do(http.MethodPost, "/api/"+c.typ, c.body), http.StatusConflict, errBody(c.msg), false)
			// A second object under another name, renamed onto the first by PUT.
			other := e.do(http.MethodPost, "/api/"+c.typ, c.body[:len(c.body)-1]+`,"description":"x","name":"m"}`).json(t)
			other["name"] = "n"
			e.want(e.do(http.MethodPut, "/api/"+c.typ+"/"+other["uuid"].(string), other), http.StatusConflict, errBody(c.msg), false)
			// PUT keeping its own name is no conflict.
			other["name"] = "m"
			if r := e.do(http.MethodPut, "/api/"+c.typ+"/"+other["uuid"].(string), other); r.status != http.StatusOK {
				t.Errorf("PUT own name: %d %s", r.status, r.body)
			}
		})
	}
	e.t = t
	// Cloud-scoped names may repeat in another cloud.
	if r := e.do(http.MethodPost, "/api/pool", `{"name":"n","cloud_ref":"/api/cloud/?name=c2"}`); r.status != http.StatusCreated {
		t.Errorf("same pool name in cloud c2: %d %s", r.status, r.body)
	}
}

// §10.20, §10.21: PUT is a full replace (omitted fields revert to defaults), may rename, and
// answers 412 to a stale _last_modified.
func TestPut(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	r := e.do(http.MethodPost, "/api/pool", `{"name":"p","lb_algorithm":"LB_ALGORITHM_ROUND_ROBIN","enabled":false,
		"servers":[{"ip":{"addr":"10.0.0.1","type":"V4"},"port":80}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	path := "/api/pool/pool-" + uuid4(15)
	stale := r.json(t)["_last_modified"]
	e.want(e.do(http.MethodPut, path, map[string]any{"name": "p2", "uuid": "ignored", "_last_modified": stale,
		"servers": []any{map[string]any{"ip": map[string]any{"addr": "10.0.0.2", "type": "V4"}}}}), http.StatusOK,
		`{"name":"p2","uuid":"pool-{U:15}","url":"https://{H}/api/pool/pool-{U:15}#p2","_last_modified":"{LM:16}",
		"tenant_ref":"https://{H}/api/tenant/admin#admin","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}#Default-Cloud",
		"vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
		"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
		"servers":[{"ip":{"addr":"10.0.0.2","type":"V4"},"enabled":true,"ratio":1,"hostname":"10.0.0.2"}],
		"default_server_port":80,"lb_algorithm":"LB_ALGORITHM_LEAST_CONNECTIONS","inline_health_monitor":true,
		"graceful_disable_timeout":1,"enabled":true}`, true)
	// The old _last_modified is stale now.
	e.want(e.do(http.MethodPut, path, map[string]any{"name": "p3", "_last_modified": stale}), http.StatusPreconditionFailed,
		errBody("Need to reload object data Pool"), false)
	e.want(e.do(http.MethodPut, path, map[string]any{"name": "p3", "_last_modified": lm(16)}), http.StatusOK,
		`{"name":"p3","uuid":"pool-{U:15}","url":"https://{H}/api/pool/pool-{U:15}#p3","_last_modified":"{LM:17}",
		"tenant_ref":"https://{H}/api/tenant/admin#admin","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}#Default-Cloud",
		"vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
		"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
		"default_server_port":80,"lb_algorithm":"LB_ALGORITHM_LEAST_CONNECTIONS","inline_health_monitor":true,
		"graceful_disable_timeout":1,"enabled":true}`, true)
	// Without _last_modified nothing is checked; the clock drives it.
	e.advance(3000 * time.Second)
	e.login() // 50 minutes idle ended the session
	r = e.do(http.MethodPut, path, `{"name":"p3"}`)
	if got := r.json(t)["_last_modified"]; got != sprintf("%d", t0.Add(3000*time.Second).UnixMicro()) {
		t.Errorf("_last_modified %v", got)
	}
	e.want(e.do(http.MethodPut, "/api/pool/pool-missing", `{"name":"x"}`), http.StatusNotFound, errBody("Pool object not found!"), false)
}

// §10.22: PATCH add, replace and delete.
func TestPatch(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	if r := e.do(http.MethodPost, "/api/pool", `{"name":"p","health_monitor_refs":["/api/healthmonitor/?name=System-TCP"],
		"servers":[{"ip":{"addr":"10.0.0.1","type":"V4"}},{"ip":{"addr":"10.0.0.2","type":"V4"}}]}`); r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	path := "/api/pool/pool-" + uuid4(15)
	want := func(n int, servers, monitors, algo string) string {
		return sprintf(`{"name":"p","uuid":"pool-{U:15}","url":"https://{H}/api/pool/pool-{U:15}#p","_last_modified":"{LM:%d}",
		"tenant_ref":"https://{H}/api/tenant/admin#admin","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}#Default-Cloud",
		"vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
		"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
		"servers":%s,"health_monitor_refs":%s,
		"default_server_port":80,"lb_algorithm":"%s","inline_health_monitor":true,"graceful_disable_timeout":1,"enabled":true}`,
			n, servers, monitors, algo)
	}
	srv := func(ip string) string {
		return `{"ip":{"addr":"` + ip + `","type":"V4"},"enabled":true,"ratio":1,"hostname":"` + ip + `"}`
	}
	tcp := `"https://{H}/api/healthmonitor/healthmonitor-{U:9}#System-TCP"`
	sctp := `"https://{H}/api/healthmonitor/healthmonitor-{U:11}#System-SCTP"`
	e.want(e.do(http.MethodPatch, path, `{"add":{"servers":[{"ip":{"addr":"10.0.0.3","type":"V4"}}],
		"health_monitor_refs":["/api/healthmonitor/?name=System-SCTP"]}}`), http.StatusOK,
		want(16, "["+srv("10.0.0.1")+","+srv("10.0.0.2")+","+srv("10.0.0.3")+"]", "["+tcp+","+sctp+"]", "LB_ALGORITHM_LEAST_CONNECTIONS"), true)
	e.want(e.do(http.MethodPatch, path, `{"replace":{"lb_algorithm":"LB_ALGORITHM_ROUND_ROBIN"}}`), http.StatusOK,
		want(17, "["+srv("10.0.0.1")+","+srv("10.0.0.2")+","+srv("10.0.0.3")+"]", "["+tcp+","+sctp+"]", "LB_ALGORITHM_ROUND_ROBIN"), true)
	e.want(e.do(http.MethodPatch, path, `{"delete":{"servers":[{"ip":{"addr":"10.0.0.2","type":"V4"}}],
		"health_monitor_refs":["/api/healthmonitor/?name=System-TCP"]}}`), http.StatusOK,
		want(18, "["+srv("10.0.0.1")+","+srv("10.0.0.3")+"]", "["+sctp+"]", "LB_ALGORITHM_ROUND_ROBIN"), true)
	e.want(e.do(http.MethodPatch, path, `{"replace":{"lb_algorithm":"NOPE"}}`), http.StatusBadRequest,
		errBody(`lb_algorithm: "NOPE" is not a valid choice`), false)
	e.want(e.do(http.MethodPatch, path, `{"json_patch":[]}`), http.StatusBadRequest,
		errBody(`PATCH: unsupported operation "json_patch" (avisim serves add, replace and delete)`), false)
}

// §10.23: DELETE answers 204, then 404; refuses objects still referenced (Cloud: 400) and
// system objects.
func TestDelete(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.postExample1()
	if _, err := e.s.Preload("admin", "l4policyset", map[string]any{"name": "custom-l4", "l4_connection_policy": map[string]any{"rules": []any{
		map[string]any{"name": "x", "index": 0, "action": map[string]any{"select_pool": map[string]any{
			"action_type": "L4_RULE_ACTION_SELECT_POOL", "pool_ref": "/api/pool/?name=cluster--default-server-SCTP-80"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Preload("admin", "cloud", map[string]any{"name": "c2", "uuid": "cloud-c2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Preload("admin", "pool", map[string]any{"name": "in-c2", "cloud_ref": "/api/cloud/?name=c2"}); err != nil {
		t.Fatal(err)
	}
	pool, l4, vsvip, vs := "/api/pool/pool-"+uuid4(15), "/api/l4policyset/l4policyset-"+uuid4(16), "/api/vsvip/vsvip-"+uuid4(17),
		"/api/virtualservice/virtualservice-"+uuid4(18)
	referred := func(obj string, by ...string) string {
		return mustJSON(t, map[string]string{"error": "Cannot delete, object is referred by: [" + strings.Join(by, ", ") + "]", "obj_name": obj})
	}
	steps := []struct {
		path   string
		status int
		body   string
	}{
		{pool, 403, referred("cluster--default-server-SCTP-80", "'L4PolicySet cluster--default-server'", "'L4PolicySet custom-l4'")},
		{vsvip, 403, referred("cluster--default-server", "'VirtualService cluster--default-server'")},
		{l4, 403, referred("cluster--default-server", "'VirtualService cluster--default-server'")},
		{"/api/healthmonitor/healthmonitor-" + uuid4(11), 403, errBody("Cannot delete system default object")},
		{"/api/tenant/admin", 403, errBody("Cannot delete system default object")},
		{"/api/cloud/cloud-c2", 400, referred("c2", "'Pool in-c2'")},
		{vs, 204, ""},
		{vs, 404, errBody("VirtualService object not found!")},
		{vsvip, 204, ""},
		{l4, 204, ""},
		{pool, 403, referred("cluster--default-server-SCTP-80", "'L4PolicySet custom-l4'")},
	}
	for i, s := range steps {
		r := e.do(http.MethodDelete, s.path, nil)
		e.want(r, s.status, s.body, false)
		if t.Failed() {
			t.Fatalf("step %d: DELETE %s", i, s.path)
		}
	}
	// The VIP is free again.
	r := e.do(http.MethodPost, "/api/vsvip", `{"name":"again","vip":[{"auto_allocate_ip":true}]}`)
	e.wantObj(r.json(t)["vip"], `[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_ONLY",
		"ip_address":{"addr":"10.250.250.1","type":"V4"},"enabled":true,"prefix_length":32}]`, false)
}

// §10.27: a preloaded object owned by someone else holds its name.
func TestPreloadForeignOwner(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	id, err := e.s.Preload("admin", "virtualservice", map[string]any{"name": "cluster--default-server", "created_by": "ako-cluster"})
	if err != nil || id != "virtualservice-"+uuid4(15) {
		t.Fatalf("Preload: %q, %v", id, err)
	}
	e.want(e.do(http.MethodPost, "/api/virtualservice", `{"name":"cluster--default-server","created_by":"sctpguard-cluster"}`),
		http.StatusConflict, errBody("Virtual service with this Name, Tenant ref and Cloud ref already exists."), false)
	e.want(e.do(http.MethodGet, "/api/virtualservice?name=cluster--default-server&fields=created_by", nil), http.StatusOK,
		`{"count":1,"results":[{"name":"cluster--default-server","url":"https://{H}/api/virtualservice/virtualservice-{U:15}",
		"uuid":"virtualservice-{U:15}","created_by":"ako-cluster"}]}`, false)
	if _, err := e.s.Preload("nope", "pool", map[string]any{"name": "p"}); err == nil || err.Error() != `preload pool: tenant "nope" does not exist` {
		t.Errorf("Preload in a missing tenant: %v", err)
	}
	if _, err := e.s.Preload("admin", "pool", map[string]any{"name": "p", "servers": []any{map[string]any{}}}); err == nil ||
		err.Error() != "preload pool: 400 servers[0].ip: this field is required" {
		t.Errorf("Preload of an invalid pool: %v", err)
	}
}

// TestRemove: Remove deletes as another client's DELETE would: a referenced object is
// refused with the controller's text, and a VsVip's static address is free again once it
// is gone. Nothing enters the journal.
func TestRemove(t *testing.T) {
	s := New(Options{})
	vsvip := func() map[string]any {
		return map[string]any{"name": "ako--ns-svc", "vip": []any{map[string]any{"vip_id": "0", "ip_address": map[string]any{"addr": "10.250.250.9", "type": "V4"}}}}
	}
	if _, err := s.Preload("admin", "vsvip", vsvip()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Preload("admin", "virtualservice", map[string]any{"name": "ako--ns-svc", "created_by": "ako-c", "vsvip_ref": "/api/vsvip/?name=ako--ns-svc",
		"services": []any{map[string]any{"port": 80}}}); err != nil {
		t.Fatal(err)
	}
	errs := func(errs ...error) []string {
		var out []string
		for _, e := range errs {
			if e == nil {
				out = append(out, "")
			} else {
				out = append(out, e.Error())
			}
		}
		return out
	}
	got := errs(s.Remove("admin", "vsvip", "ako--ns-svc"), s.Remove("admin", "virtualservice", "ako--ns-svc"), s.Remove("admin", "vsvip", "ako--ns-svc"),
		s.Remove("admin", "pool", "none"))
	want := []string{
		`remove vsvip ako--ns-svc: 403 {"error":"Cannot delete, object is referred by: ['VirtualService ako--ns-svc']","obj_name":"ako--ns-svc"}`,
		"", "", "remove pool none: not found in tenant admin",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Remove (-want +got):\n%s", diff)
	}
	if _, err := s.Preload("admin", "vsvip", vsvip()); err != nil {
		t.Errorf("the removed VsVip's address is still held: %v", err)
	}
	if j := s.Journal(); len(j) != 0 {
		t.Errorf("journal: %v", j)
	}
}
