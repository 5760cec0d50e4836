package avisim

import (
	"net/http"
	"testing"
)

// §10.18: every accepted ref format resolves to the same stored canonical URL.
func TestRefFormats(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	sctp := "healthmonitor-" + uuid4(11)
	formats := []string{
		"https://" + "{H}" + "/api/healthmonitor/" + sctp,
		"https://other.example:8443/api/healthmonitor/" + sctp + "#System-SCTP",
		"https://[fd00::1]/api/healthmonitor/" + sctp + "#whatever",
		"/api/healthmonitor/" + sctp,
		"/api/healthmonitor/" + sctp + "#System-SCTP",
		"/api/healthmonitor?name=System-SCTP",
		"/api/healthmonitor/?name=System-SCTP",
		"/api/healthmonitor/?name=System%2DSCTP",
		"/api/healthmonitor/?name=System-SCTP&cloud=Default-Cloud",
		"/api/healthmonitor?cloud_ref.name=Default-Cloud&name=System-SCTP",
		"https://elsewhere/api/healthmonitor/?name=System-SCTP",
		sctp, // a bare uuid: unverified on a real controller, accepted here
	}
	for i, f := range formats {
		name := sprintf("p%d", i)
		body := `{"name":"` + name + `","health_monitor_refs":["` + e.expand(f, true) + `"]}`
		r := e.do(http.MethodPost, "/api/pool", body)
		if r.status != http.StatusCreated {
			t.Errorf("%s: %d %s", f, r.status, r.body)
			continue
		}
		obj, _ := e.s.Object("admin", "pool", name)
		e.wantObj(obj["health_monitor_refs"], `["https://{H}/api/healthmonitor/`+sctp+`"]`, false)
		e.wantObj(r.json(t)["health_monitor_refs"], `["https://{H}/api/healthmonitor/`+sctp+`#System-SCTP"]`, false)
	}
}

// §10.18: refs that do not resolve, name another type, or are ambiguous.
func TestRefErrors(t *testing.T) {
	for _, status := range []int{0, http.StatusNotFound} {
		e := newEnv(t, Options{DanglingRefStatus: status})
		e.login()
		if _, err := e.s.Preload("admin", "cloud", map[string]any{"name": "c2"}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []string{"Default-Cloud", "c2"} {
			if _, err := e.s.Preload("admin", "pool", map[string]any{"name": "dup", "cloud_ref": "/api/cloud/?name=" + cl}); err != nil {
				t.Fatal(err)
			}
		}
		dangling := http.StatusBadRequest
		if status != 0 {
			dangling = status
		}
		cases := []struct {
			name, typ, body string
			status          int
			err             string
		}{
			{"unknown name", "pool", `{"name":"p","health_monitor_refs":["/api/healthmonitor/?name=Nope"]}`, dangling, "HealthMonitor object not found!"},
			{"unknown uuid", "pool", `{"name":"p","health_monitor_refs":["/api/healthmonitor/healthmonitor-nope"]}`, dangling, "HealthMonitor object not found!"},
			{"missing cloud", "pool", `{"name":"p","cloud_ref":"/api/cloud/?name=Other-Cloud"}`, dangling, "Cloud object not found!"},
			{"missing vrf", "vsvip", `{"name":"v","vrf_context_ref":"/api/vrfcontext/?name=blue"}`, dangling, "VrfContext object not found!"},
			{"missing network", "vsvip", `{"name":"v","vip":[{"ipam_network_subnet":{"network_ref":"/api/network/?name=n"}}]}`, dangling, "Network object not found!"},
			{"missing pool in a rule", "l4policyset", `{"name":"l","l4_connection_policy":{"rules":[{"name":"r","index":0,
				"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=gone"}}}]}}`, dangling, "Pool object not found!"},
			{"wrong type", "pool", `{"name":"p","health_monitor_refs":["/api/pool/?name=dup"]}`, 400,
				`health_monitor_refs[0]: "/api/pool/?name=dup" refers to Pool, not HealthMonitor`},
			{"unknown type", "virtualservice", `{"name":"v","vsvip_ref":"/api/vip/?name=x"}`, 400,
				`vsvip_ref: "/api/vip/?name=x" refers to Vip, not VsVip`},
			{"not a ref", "virtualservice", `{"name":"v","vsvip_ref":"vsvip/x"}`, 400, `vsvip_ref: "vsvip/x" is not a valid reference`},
			{"no name", "virtualservice", `{"name":"v","vsvip_ref":"/api/vsvip/?cloud=Default-Cloud"}`, 400,
				`vsvip_ref: "/api/vsvip/?cloud=Default-Cloud" is not a valid reference`},
			{"ambiguous name", "l4policyset", `{"name":"l","l4_connection_policy":{"rules":[{"name":"r","index":0,
				"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=dup"}}}]}}`, 400,
				`l4_connection_policy.rules[0].action.select_pool.pool_ref: more than one Pool object is named "dup"`},
		}
		for _, c := range cases {
			t.Run(sprintf("%d/%s", status, c.name), func(t *testing.T) {
				e.t = t
				e.want(e.do(http.MethodPost, "/api/"+c.typ, c.body), c.status, errBody(c.err), false)
			})
		}
	}
}

// §10.18, §10.19: every ref field of the §4 table, nested ones included, is resolved, stored
// canonical, and rendered with #name on POST and include_name only.
func TestNestedRefs(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	pre := []struct {
		typ  string
		body map[string]any
	}{
		{"network", map[string]any{"name": "net 1", "uuid": "network-n1"}},
		{"pool", map[string]any{"name": "p1", "uuid": "pool-p1", "placement_networks": []any{map[string]any{"network_ref": "/api/network/?name=net%201",
			"subnet": map[string]any{"ip_addr": map[string]any{"addr": "10.1.0.0", "type": "V4"}, "mask": 16}}}}},
		{"poolgroup", map[string]any{"name": "pg", "uuid": "poolgroup-pg", "members": []any{map[string]any{"pool_ref": "/api/pool/?name=p1"}}}},
		{"l4policyset", map[string]any{"name": "l4", "uuid": "l4policyset-l4", "l4_connection_policy": map[string]any{"rules": []any{
			map[string]any{"name": "a", "index": 0, "action": map[string]any{"select_pool": map[string]any{"action_type": "L4_RULE_ACTION_SELECT_POOL", "pool_ref": "/api/pool/?name=p1"}}},
			map[string]any{"name": "b", "index": 1, "action": map[string]any{"select_pool": map[string]any{"action_type": "L4_RULE_ACTION_SELECT_POOLGROUP", "pool_group_ref": "/api/poolgroup/poolgroup-pg"}}},
		}}}},
		{"vsvip", map[string]any{"name": "vip", "uuid": "vsvip-v", "vip": []any{map[string]any{
			"ipam_network_subnet": map[string]any{"network_ref": "/api/network/network-n1"},
			"placement_networks":  []any{map[string]any{"network_ref": "/api/network/?name=net 1"}}}}}},
	}
	for _, p := range pre {
		if _, err := e.s.Preload("admin", p.typ, p.body); err != nil {
			t.Fatalf("%s: %v", p.typ, err)
		}
	}
	vs := `{"name":"vs","vsvip_ref":"/api/vsvip/vsvip-v","pool_ref":"/api/pool?name=p1","pool_group_ref":"/api/poolgroup/?name=pg",
		"server_network_profile_ref":"/api/networkprofile/?name=System-TCP-Proxy",
		"services":[{"port":80,"override_network_profile_ref":"/api/networkprofile/?name=System-SCTP-Proxy",
		             "override_application_profile_ref":"/api/applicationprofile/?name=System-L4-Application"}],
		"l4_policies":[{"l4_policy_set_ref":"/api/l4policyset/?name=l4","index":0}],
		"service_pool_select":[{"service_port":80,"service_pool_ref":"/api/pool/?name=p1","service_pool_group_ref":"/api/poolgroup/?name=pg"}]}`
	r := e.do(http.MethodPost, "/api/virtualservice", vs)
	refs := `{"vsvip_ref":"https://{H}/api/vsvip/vsvip-v{#vip}","pool_ref":"https://{H}/api/pool/pool-p1{#p1}",
		"pool_group_ref":"https://{H}/api/poolgroup/poolgroup-pg{#pg}",
		"server_network_profile_ref":"https://{H}/api/networkprofile/networkprofile-{U:5}{#System-TCP-Proxy}",
		"services":[{"port":80,"port_range_end":80,"enable_ssl":false,
		  "override_network_profile_ref":"https://{H}/api/networkprofile/networkprofile-{U:8}{#System-SCTP-Proxy}",
		  "override_application_profile_ref":"https://{H}/api/applicationprofile/applicationprofile-{U:12}{#System-L4-Application}"}],
		"l4_policies":[{"l4_policy_set_ref":"https://{H}/api/l4policyset/l4policyset-l4{#l4}","index":0}],
		"service_pool_select":[{"service_port":80,"service_pool_ref":"https://{H}/api/pool/pool-p1{#p1}",
		  "service_pool_group_ref":"https://{H}/api/poolgroup/poolgroup-pg{#pg}"}]}`
	pick := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for _, k := range []string{"vsvip_ref", "pool_ref", "pool_group_ref", "server_network_profile_ref", "services", "l4_policies", "service_pool_select"} {
			out[k] = m[k]
		}
		return out
	}
	if r.status != http.StatusCreated {
		t.Fatalf("POST vs: %d %s", r.status, r.body)
	}
	e.wantObj(pick(r.json(t)), refs, true)
	vsPath := "/api/virtualservice/virtualservice-" + uuid4(15)
	e.wantObj(pick(e.do(http.MethodGet, vsPath, nil).json(t)), refs, false)
	e.wantObj(pick(e.do(http.MethodGet, vsPath+"?include_name", nil).json(t)), refs, true)
	e.wantObj(pick(e.do(http.MethodGet, vsPath+"?include_name=true", nil).json(t)), refs, true)

	// The nested refs of the other types, as stored.
	for _, c := range []struct{ typ, name, field, want string }{
		{"pool", "p1", "placement_networks", `[{"network_ref":"https://{H}/api/network/network-n1","subnet":{"ip_addr":{"addr":"10.1.0.0","type":"V4"},"mask":16}}]`},
		{"poolgroup", "pg", "members", `[{"pool_ref":"https://{H}/api/pool/pool-p1","ratio":1}]`},
		{"l4policyset", "l4", "l4_connection_policy", `{"rules":[
			{"name":"a","index":0,"enable":true,"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"https://{H}/api/pool/pool-p1"}}},
			{"name":"b","index":1,"enable":true,"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOLGROUP","pool_group_ref":"https://{H}/api/poolgroup/poolgroup-pg"}}}]}`},
		{"vsvip", "vip", "vip", `[{"vip_id":"0","auto_allocate_ip_type":"V4_ONLY","enabled":true,"prefix_length":32,
			"ipam_network_subnet":{"network_ref":"https://{H}/api/network/network-n1"},
			"placement_networks":[{"network_ref":"https://{H}/api/network/network-n1"}]}]`},
	} {
		obj, _ := e.s.Object("admin", c.typ, c.name)
		e.wantObj(obj[c.field], c.want, false)
	}
}
