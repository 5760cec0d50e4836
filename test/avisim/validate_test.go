package avisim

import (
	"net/http"
	"testing"
)

// §10.13: the server defaults of §9, filled on POST (and PUT), shown whole.
func TestDefaults(t *testing.T) {
	common := `"uuid":"%[1]s-{U:15}","url":"https://{H}/api/%[1]s/%[1]s-{U:15}#x","_last_modified":"{LM:%[2]d}","tenant_ref":"https://{H}/api/tenant/admin#admin"`
	cloudRef := `"cloud_ref":"https://{H}/api/cloud/cloud-{U:1}#Default-Cloud"`
	cases := []struct {
		typ, body, want string
	}{
		{"virtualservice", `{"name":"x","services":[{"port":80},{"port":81,"port_range_end":90}]}`, `{"name":"x",` + common + `,` + cloudRef + `,
			"type":"VS_TYPE_NORMAL","cloud_type":"CLOUD_NONE","enabled":true,"traffic_enabled":true,"east_west_placement":false,
			"se_group_ref":"https://{H}/api/serviceenginegroup/serviceenginegroup-{U:2}#Default-Group",
			"vrf_context_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
			"network_profile_ref":"https://{H}/api/networkprofile/networkprofile-{U:5}#System-TCP-Proxy",
			"application_profile_ref":"https://{H}/api/applicationprofile/applicationprofile-{U:13}#System-HTTP",
			"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
			"services":[{"port":80,"port_range_end":80,"enable_ssl":false},{"port":81,"port_range_end":90,"enable_ssl":false}],
			"flow_dist":"LOAD_AWARE","weight":1,"enable_autogw":true,"active_standby_se_tag":"ACTIVE_STANDBY_SE_1"}`},
		{"vsvip", `{"name":"x","vip":[{}],"dns_info":[{"fqdn":"a.example"}]}`, `{"name":"x",` + common + `,` + cloudRef + `,
			"vrf_context_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
			"vip":[{"vip_id":"0","auto_allocate_ip_type":"V4_ONLY","enabled":true,"prefix_length":32}],
			"dns_info":[{"fqdn":"a.example","type":"DNS_RECORD_A","algorithm":"DNS_RECORD_RESPONSE_CONSISTENT_HASH"}]}`},
		{"pool", `{"name":"x","servers":[{"ip":{"addr":"fd00::5","type":"V6"}},{"ip":{"addr":"10.0.0.1","type":"V4"},"hostname":"h","ratio":3,"port":0}]}`,
			`{"name":"x",` + common + `,` + cloudRef + `,
			"vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}#global",
			"analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}#System-Analytics-Profile",
			"servers":[{"ip":{"addr":"fd00::5","type":"V6"},"enabled":true,"ratio":1,"hostname":"fd00::5"},
			           {"ip":{"addr":"10.0.0.1","type":"V4"},"enabled":true,"ratio":3,"hostname":"h","port":0}],
			"default_server_port":80,"lb_algorithm":"LB_ALGORITHM_LEAST_CONNECTIONS","inline_health_monitor":true,
			"graceful_disable_timeout":1,"enabled":true}`},
		{"l4policyset", `{"name":"x","l4_connection_policy":{"rules":[{"name":"r","index":7,"match":{"port":{"match_criteria":"IS_NOT_IN","port_ranges":[{"start":1,"end":9}]}}}]}}`,
			`{"name":"x",` + common + `,"l4_connection_policy":{"rules":[{"name":"r","index":7,"enable":true,
			"match":{"port":{"match_criteria":"IS_NOT_IN","port_ranges":[{"start":1,"end":9}]}}}]}}`},
		{"healthmonitor", `{"name":"x","type":"HEALTH_MONITOR_SCTP","sctp_monitor":{}}`, `{"name":"x",` + common + `,
			"type":"HEALTH_MONITOR_SCTP","sctp_monitor":{},"send_interval":10,"receive_timeout":4,"successful_checks":2,"failed_checks":2}`},
		{"networkprofile", `{"name":"x","profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY"}}`, `{"name":"x",` + common + `,
			"profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY","sctp_proxy_profile":{"cookie_expiration_timeout":60,"heartbeat_interval":30,
			"idle_timeout":0,"max_retransmissions_association":10,"max_retransmissions_init_chunks":8,"number_of_streams":10,
			"receive_window":256,"reset_timeout":0}}}`},
		{"networkprofile", `{"name":"x","profile":{}}`, `{"name":"x",` + common + `,"profile":{"type":"PROTOCOL_TYPE_TCP_PROXY"}}`},
		{"poolgroup", `{"name":"x","members":[{"pool_ref":"/api/pool/?name=p"}]}`, `{"name":"x",` + common + `,` + cloudRef + `,
			"members":[{"pool_ref":"https://{H}/api/pool/pool-{U:99}#p","ratio":1}]}`},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.body, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.login()
			lmN := 15
			if c.typ == "poolgroup" {
				if _, err := e.s.Preload("admin", "pool", map[string]any{"name": "p", "uuid": "pool-" + uuid4(99)}); err != nil {
					t.Fatal(err)
				}
				lmN++
			}
			e.want(e.do(http.MethodPost, "/api/"+c.typ, c.body), http.StatusCreated, sprintf(c.want, c.typ, lmN), true)
		})
	}
}

// §10.14: validation answers 400 {"error":…} for the first problem found.
func TestValidation(t *testing.T) {
	cases := []struct {
		name, typ, body, err string
	}{
		{"VS name required", "virtualservice", `{"services":[{"port":80}]}`, "name: this field is required"},
		{"VS port required", "virtualservice", `{"name":"v","services":[{"enable_ssl":false}]}`, "services[0].port: this field is required"},
		{"VS port range", "virtualservice", `{"name":"v","services":[{"port":70000}]}`, "services[0].port: 70000 is out of range [0, 65535]"},
		{"VS l4 index required", "virtualservice", `{"name":"v","l4_policies":[{"l4_policy_set_ref":"/api/l4policyset/?name=x"}]}`,
			"l4_policies[0].index: this field is required"},
		{"VS type enum", "virtualservice", `{"name":"v","type":"VS_TYPE_BOGUS"}`, `type: "VS_TYPE_BOGUS" is not a valid choice`},
		{"VS bool type", "virtualservice", `{"name":"v","enabled":"yes"}`, "enabled: a boolean is required"},
		{"VS list type", "virtualservice", `{"name":"v","services":{"port":80}}`, "services: a list is required"},
		{"VS string type", "virtualservice", `{"name":"v","service_metadata":{"a":1}}`, "service_metadata: a string is required"},
		{"VS ref type", "virtualservice", `{"name":"v","vsvip_ref":7}`, "vsvip_ref: a reference string is required"},
		{"VsVip address family", "vsvip", `{"name":"v","vip":[{"ip_address":{"addr":"fd00::1","type":"V4"}}]}`,
			`vip[0].ip_address: "fd00::1" is not a V4 address`},
		{"VsVip address type", "vsvip", `{"name":"v","vip":[{"ip_address":{"addr":"10.0.0.1","type":"IPV4"}}]}`,
			`vip[0].ip_address.type: "IPV4" is not a valid choice`},
		{"Pool server ip required", "pool", `{"name":"p","servers":[{"port":80}]}`, "servers[0].ip: this field is required"},
		{"Pool server port integer", "pool", `{"name":"p","servers":[{"ip":{"addr":"10.0.0.1","type":"V4"},"port":80.5}]}`,
			"servers[0].port: a valid integer is required"},
		{"Pool bad address", "pool", `{"name":"p","servers":[{"ip":{"addr":"10.0.0.300","type":"V4"}}]}`,
			`servers[0].ip: "10.0.0.300" is not a valid IP address`},
		{"Pool placement subnet", "pool", `{"name":"p","placement_networks":[{"network_ref":"/api/network/?name=n"}]}`,
			"placement_networks[0].subnet: this field is required"},
		{"Pool null server", "pool", `{"name":"p","servers":[null]}`, "servers[0]: null is not allowed"},
		{"L4 rule name", "l4policyset", `{"name":"l","l4_connection_policy":{"rules":[{"index":0}]}}`,
			"l4_connection_policy.rules[0].name: this field is required"},
		{"L4 duplicate index", "l4policyset", `{"name":"l","l4_connection_policy":{"rules":[{"name":"a","index":0},{"name":"b","index":0}]}}`,
			"Duplicate rule index 0 in l4_connection_policy"},
		{"L4 duplicate name", "l4policyset", `{"name":"l","l4_connection_policy":{"rules":[{"name":"a","index":0},{"name":"a","index":1}]}}`,
			"Duplicate rule name a in l4_connection_policy"},
		{"L4 port zero", "l4policyset",
			`{"name":"l","l4_connection_policy":{"rules":[{"name":"a","index":0,"match":{"port":{"match_criteria":"IS_IN","ports":[0]}}}]}}`,
			"l4_connection_policy.rules[0].match.port.ports[0]: 0 is out of range [1, 65535]"},
		{"L4 protocol criteria", "l4policyset",
			`{"name":"l","l4_connection_policy":{"rules":[{"name":"a","index":0,"match":{"protocol":{"protocol":"PROTOCOL_SCTP"}}}]}}`,
			"l4_connection_policy.rules[0].match.protocol.match_criteria: this field is required"},
		{"L4 action type", "l4policyset",
			`{"name":"l","l4_connection_policy":{"rules":[{"name":"a","index":0,"action":{"select_pool":{"action_type":"SELECT_POOL"}}}]}}`,
			`l4_connection_policy.rules[0].action.select_pool.action_type: "SELECT_POOL" is not a valid choice`},
		{"HM type required", "healthmonitor", `{"name":"h"}`, "type: this field is required"},
		{"HM timeout below interval", "healthmonitor", `{"name":"h","type":"HEALTH_MONITOR_TCP","send_interval":4}`,
			"Health monitor receive timeout (4) must be less than the send interval (4)"},
		{"HM interval range", "healthmonitor", `{"name":"h","type":"HEALTH_MONITOR_TCP","send_interval":0}`,
			"send_interval: 0 is out of range [1, 3600]"},
		{"HM checks range", "healthmonitor", `{"name":"h","type":"HEALTH_MONITOR_TCP","failed_checks":51}`,
			"failed_checks: 51 is out of range [1, 50]"},
		{"NP profile required", "networkprofile", `{"name":"n"}`, "profile: this field is required"},
		{"NP cookie timeout range", "networkprofile",
			`{"name":"n","profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY","sctp_proxy_profile":{"cookie_expiration_timeout":30}}}`,
			"profile.sctp_proxy_profile.cookie_expiration_timeout: 30 is out of range [60, 3600]"},
		{"NP receive window range", "networkprofile",
			`{"name":"n","profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY","sctp_proxy_profile":{"receive_window":1}}}`,
			"profile.sctp_proxy_profile.receive_window: 1 is out of range [2, 65536]"},
		{"not an object", "pool", `[{"name":"p"}]`, "JSON parse error - the body must be a JSON object"},
		{"not JSON", "pool", `name=p`, "JSON parse error - the body must be a JSON object"},
	}
	e := newEnv(t, Options{})
	e.login()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.want(e.do(http.MethodPost, "/api/"+c.typ, c.body), http.StatusBadRequest, errBody(c.err), false)
		})
	}
	e.t = t
	if got := len(e.s.Writes()); got != len(cases) {
		t.Errorf("%d writes journalled, want %d", got, len(cases))
	}
	if got := e.s.Objects("admin", "pool"); len(got) != 0 {
		t.Errorf("refused writes stored %d pools", len(got))
	}
}

// §10.14: every field the fake returns is accepted back: GET (include_name) → PUT passes for
// the worked example and the system objects, and changes nothing but _last_modified.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	e.postExample1()
	for _, typ := range []string{"pool", "l4policyset", "vsvip", "virtualservice", "healthmonitor", "networkprofile",
		"applicationprofile", "analyticsprofile", "cloud", "serviceenginegroup", "vrfcontext", "tenant"} {
		list := e.do(http.MethodGet, "/api/"+typ+"?include_name&page_size=100", nil).json(t)["results"].([]any)
		if len(list) == 0 {
			t.Fatalf("no %s objects", typ)
		}
		for _, it := range list {
			obj := it.(map[string]any)
			r := e.do(http.MethodPut, "/api/"+typ+"/"+obj["uuid"].(string), obj)
			if r.status != http.StatusOK {
				t.Errorf("PUT %s %s: %d %s", typ, obj["name"], r.status, r.body)
				continue
			}
			back := r.json(t)
			delete(back, "_last_modified")
			delete(obj, "_last_modified")
			e.wantObj(back, mustJSON(t, obj), true)
		}
	}
}
