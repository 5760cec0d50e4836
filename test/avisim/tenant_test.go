package avisim

import (
	"net/http"
	"regexp"
	"testing"
)

// §10.16, §2.2: request tenants, the 403 for a missing one, body tenant_ref checks and
// visibility with the admin fallback.
func TestTenants(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	id, err := e.s.AddTenant("test-tenant")
	if err != nil || id != "tenant-"+uuid4(15) {
		t.Fatalf("AddTenant: %q, %v", id, err)
	}
	e.tenant = "test-tenant"
	pool := `{"name":"p","tenant_ref":"/api/tenant/?name=test-tenant","health_monitor_refs":["/api/healthmonitor/?name=System-SCTP"]}`
	e.want(e.do(http.MethodPost, "/api/pool", pool), http.StatusCreated, `{"name":"p","uuid":"pool-{U:16}",
		"url":"https://{H}/api/pool/pool-{U:16}#p","_last_modified":"{LM:16}",
		"tenant_ref":"https://{H}/api/tenant/tenant-{U:15}#test-tenant","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}#Default-Cloud",
		"health_monitor_refs":["https://{H}/api/healthmonitor/healthmonitor-{U:11}#System-SCTP"],
		"vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
		"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
		"default_server_port":80,"lb_algorithm":"LB_ALGORITHM_LEAST_CONNECTIONS","inline_health_monitor":true,
		"graceful_disable_timeout":1,"enabled":true}`, true)
	found := `{"count":1,"results":[{"name":"p","url":"https://{H}/api/pool/pool-{U:16}","uuid":"pool-{U:16}"}]}`
	cases := []struct {
		name   string
		opts   []reqOpt
		path   string
		status int
		body   string
	}{
		{"by tenant name", nil, "/api/pool?name=p&fields=name", 200, found},
		{"by tenant uuid", []reqOpt{header("X-Avi-Tenant", ""), header("X-Avi-Tenant-UUID", id)}, "/api/pool?name=p&fields=name", 200, found},
		{"admin does not see it", []reqOpt{header("X-Avi-Tenant", "admin")}, "/api/pool?name=p&fields=name", 200, `{"count":0,"results":[]}`},
		{"no tenant header means admin", []reqOpt{header("X-Avi-Tenant", "")}, "/api/pool?name=p", 200, `{"count":0,"results":[]}`},
		{"admin cannot GET it", []reqOpt{header("X-Avi-Tenant", "admin")}, "/api/pool/pool-" + uuid4(16), 404, errBody("Pool object not found!")},
		{"tenant sees admin objects", nil, "/api/healthmonitor?name=System-SCTP&fields=type", 200,
			`{"count":1,"results":[{"name":"System-SCTP","url":"https://{H}/api/healthmonitor/healthmonitor-{U:11}","uuid":"healthmonitor-{U:11}","type":"HEALTH_MONITOR_SCTP"}]}`},
		{"missing tenant name", []reqOpt{header("X-Avi-Tenant", "nope")}, "/api/pool", 403, errBody("Tenant 'nope' does not exist!")},
		{"missing tenant uuid", []reqOpt{header("X-Avi-Tenant", ""), header("X-Avi-Tenant-UUID", "tenant-x")}, "/api/pool", 403,
			errBody("Tenant 'tenant-x' does not exist!")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.want(e.do(http.MethodGet, c.path, nil, c.opts...), c.status, c.body, false)
		})
	}
	e.t = t

	// A body tenant other than the header's is refused (inferred).
	e.want(e.do(http.MethodPost, "/api/pool", `{"name":"q","tenant_ref":"/api/tenant/?name=admin"}`), http.StatusBadRequest,
		errBody("tenant_ref: tenant 'admin' does not match the request tenant 'test-tenant'"), false)
	// The same name in another tenant is no conflict; name refs prefer the request tenant.
	e.tenant = ""
	if r := e.do(http.MethodPost, "/api/pool", `{"name":"p"}`); r.status != http.StatusCreated {
		t.Fatalf("admin pool p: %d %s", r.status, r.body)
	}
	e.tenant = "test-tenant"
	r := e.do(http.MethodPost, "/api/l4policyset", `{"name":"l4","l4_connection_policy":{"rules":[{"name":"r","index":0,
		"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=p"}}}]}}`)
	e.want(r, http.StatusCreated, `{"name":"l4","uuid":"l4policyset-{U:18}","url":"https://{H}/api/l4policyset/l4policyset-{U:18}#l4",
		"_last_modified":"{LM:18}","tenant_ref":"https://{H}/api/tenant/tenant-{U:15}#test-tenant",
		"l4_connection_policy":{"rules":[{"name":"r","index":0,"enable":true,
		"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"https://{H}/api/pool/pool-{U:16}#p"}}}]}}`, true)
	// A tenant's own objects cannot reference another tenant's.
	e.tenant = ""
	e.want(e.do(http.MethodPut, "/api/l4policyset/l4policyset-"+uuid4(18), `{"name":"l4"}`), http.StatusNotFound,
		errBody("L4PolicySet object not found!"), false)
	e.want(e.do(http.MethodPost, "/api/virtualservice", `{"name":"vs","l4_policies":[{"l4_policy_set_ref":"/api/l4policyset/l4policyset-`+uuid4(18)+`","index":0}]}`),
		http.StatusBadRequest, errBody("L4PolicySet object not found!"), false)
	// Tenants are listed in the login body.
	tenants := e.do(http.MethodPost, "/login", `{"username":"admin","password":"admin"}`).json(t)["tenants"]
	e.wantObj(tenants, `[{"url":"https://{H}/api/tenant/admin#admin","uuid":"admin","name":"admin","local":true},
		{"url":"https://{H}/api/tenant/tenant-{U:15}#test-tenant","uuid":"tenant-{U:15}","name":"test-tenant","local":true}]`, false)
}

// §10.12: uuids are <type>-<uuid4> from the generator, or the Slug header.
func TestUUIDs(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	r := e.do(http.MethodPost, "/api/analyticsprofile", `{"name":"a","uuid":"ignored"}`)
	e.want(r, http.StatusCreated, `{"name":"a","uuid":"analyticsprofile-{U:15}","url":"https://{H}/api/analyticsprofile/analyticsprofile-{U:15}#a",
		"_last_modified":"{LM:15}","tenant_ref":"https://{H}/api/tenant/admin#admin"}`, false)
	r = e.do(http.MethodPost, "/api/analyticsprofile", `{"name":"b"}`, header("Slug", "analyticsprofile-mine"))
	e.want(r, http.StatusCreated, `{"name":"b","uuid":"analyticsprofile-mine","url":"https://{H}/api/analyticsprofile/analyticsprofile-mine#b",
		"_last_modified":"{LM:16}","tenant_ref":"https://{H}/api/tenant/admin#admin"}`, false)
	e.want(e.do(http.MethodPost, "/api/analyticsprofile", `{"name":"c"}`, header("Slug", "analyticsprofile-mine")), http.StatusConflict,
		errBody("Analytics profile with this Uuid already exists."), false)

	// The default generator gives random version 4 uuids.
	real := New(Options{})
	obj, _ := real.Object("admin", "cloud", "Default-Cloud")
	if id := obj["uuid"].(string); !uuidPattern.MatchString(id) {
		t.Errorf("cloud uuid %q is not cloud-<uuid4>", id)
	}
}

var uuidPattern = regexp.MustCompile(`^cloud-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
