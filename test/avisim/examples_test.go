package avisim

import (
	"net/http"
	"strconv"
	"testing"
)

// The POST bodies of avi-translation.md §7 (worked example 1, LoadBalancer Service
// default/server), byte for byte, in the order the translator sends them.
const (
	example1Pool = `{"name":"cluster--default-server-SCTP-80","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "created_by":"sctpguard-cluster","health_monitor_refs":["/api/healthmonitor/?name=System-SCTP"],
 "servers":[{"ip":{"addr":"10.244.1.5","type":"V4"},"port":9090,"enabled":true},{"ip":{"addr":"10.244.2.7","type":"V4"},"port":9090,"enabled":true}],
 "sni_enabled":false,"graceful_disable_timeout":1,"service_metadata":"{\"namespace_svc_name\":[\"default/server\"]}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]},{"key":"Port","values":["80"]},{"key":"Protocol","values":["SCTP"]}]}`
	example1L4 = `{"name":"cluster--default-server","tenant_ref":"/api/tenant/?name=admin","created_by":"sctpguard-cluster",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]},{"key":"Protocol","values":["SCTP"]}],
 "l4_connection_policy":{"rules":[{"name":"SCTP-80","index":0,"enable":true,
   "match":{"port":{"match_criteria":"IS_IN","ports":[80]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},
   "action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=cluster--default-server-SCTP-80"}}}]}}`
	example1VsVip = `{"name":"cluster--default-server","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "east_west_placement":false,"vip":[{"vip_id":"0","auto_allocate_ip":true}],
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]}]}`
	example1VS = `{"name":"cluster--default-server","type":"VS_TYPE_NORMAL","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "created_by":"sctpguard-cluster","enabled":true,"traffic_enabled":true,"east_west_placement":false,
 "se_group_ref":"/api/serviceenginegroup/?name=Default-Group","vsvip_ref":"/api/vsvip/?name=cluster--default-server",
 "application_profile_ref":"/api/applicationprofile/?name=System-L4-Application","network_profile_ref":"/api/networkprofile/?name=System-SCTP-Proxy",
 "services":[{"port":80,"port_range_end":80,"enable_ssl":false,"enable_http2":false}],
 "l4_policies":[{"l4_policy_set_ref":"/api/l4policyset/?name=cluster--default-server","index":0}],
 "remove_listening_port_on_vs_down":true,"service_metadata":"{\"namespace_svc_name\":[\"default/server\"]}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]}]}`
)

// The stored objects of worked example 1, as templates (see env.expand). uuids 15-18 and
// _last_modified 15-18 are the four writes after the 14 system objects.
const (
	example1PoolStored = `{"name":"cluster--default-server-SCTP-80","uuid":"pool-{U:15}","url":"https://{H}/api/pool/pool-{U:15}{#cluster--default-server-SCTP-80}",
 "_last_modified":"{LM:15}","tenant_ref":"https://{H}/api/tenant/admin{#admin}","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}{#Default-Cloud}",
 "created_by":"sctpguard-cluster","health_monitor_refs":["https://{H}/api/healthmonitor/healthmonitor-{U:11}{#System-SCTP}"],
 "servers":[{"ip":{"addr":"10.244.1.5","type":"V4"},"port":9090,"enabled":true,"ratio":1,"hostname":"10.244.1.5"},
            {"ip":{"addr":"10.244.2.7","type":"V4"},"port":9090,"enabled":true,"ratio":1,"hostname":"10.244.2.7"}],
 "sni_enabled":false,"graceful_disable_timeout":1,"service_metadata":"{\"namespace_svc_name\":[\"default/server\"]}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]},{"key":"Port","values":["80"]},{"key":"Protocol","values":["SCTP"]}],
 "vrf_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}{#global}",
 "analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}{#System-Analytics-Profile}",
 "default_server_port":80,"lb_algorithm":"LB_ALGORITHM_LEAST_CONNECTIONS","inline_health_monitor":true,"enabled":true}`
	example1L4Stored = `{"name":"cluster--default-server","uuid":"l4policyset-{U:16}","url":"https://{H}/api/l4policyset/l4policyset-{U:16}{#cluster--default-server}",
 "_last_modified":"{LM:16}","tenant_ref":"https://{H}/api/tenant/admin{#admin}","created_by":"sctpguard-cluster",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]},{"key":"Protocol","values":["SCTP"]}],
 "l4_connection_policy":{"rules":[{"name":"SCTP-80","index":0,"enable":true,
   "match":{"port":{"match_criteria":"IS_IN","ports":[80]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},
   "action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"https://{H}/api/pool/pool-{U:15}{#cluster--default-server-SCTP-80}"}}}]}}`
	example1VsVipStored = `{"name":"cluster--default-server","uuid":"vsvip-{U:17}","url":"https://{H}/api/vsvip/vsvip-{U:17}{#cluster--default-server}",
 "_last_modified":"{LM:17}","tenant_ref":"https://{H}/api/tenant/admin{#admin}","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}{#Default-Cloud}",
 "east_west_placement":false,
 "vip":[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_ONLY","ip_address":{"addr":"10.250.250.1","type":"V4"},"enabled":true,"prefix_length":32}],
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]}],
 "vrf_context_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}{#global}"}`
	example1VSStored = `{"name":"cluster--default-server","uuid":"virtualservice-{U:18}","url":"https://{H}/api/virtualservice/virtualservice-{U:18}{#cluster--default-server}",
 "_last_modified":"{LM:18}","type":"VS_TYPE_NORMAL","tenant_ref":"https://{H}/api/tenant/admin{#admin}","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}{#Default-Cloud}",
 "created_by":"sctpguard-cluster","enabled":true,"traffic_enabled":true,"east_west_placement":false,
 "se_group_ref":"https://{H}/api/serviceenginegroup/serviceenginegroup-{U:2}{#Default-Group}",
 "vsvip_ref":"https://{H}/api/vsvip/vsvip-{U:17}{#cluster--default-server}",
 "application_profile_ref":"https://{H}/api/applicationprofile/applicationprofile-{U:12}{#System-L4-Application}",
 "network_profile_ref":"https://{H}/api/networkprofile/networkprofile-{U:8}{#System-SCTP-Proxy}",
 "services":[{"port":80,"port_range_end":80,"enable_ssl":false,"enable_http2":false}],
 "l4_policies":[{"l4_policy_set_ref":"https://{H}/api/l4policyset/l4policyset-{U:16}{#cluster--default-server}","index":0}],
 "remove_listening_port_on_vs_down":true,"service_metadata":"{\"namespace_svc_name\":[\"default/server\"]}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["default"]},
            {"key":"ServiceName","values":["server"]}],
 "vrf_context_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}{#global}",
 "analytics_profile_ref":"https://{H}/api/analyticsprofile/analyticsprofile-{U:14}{#System-Analytics-Profile}",
 "cloud_type":"CLOUD_NONE","flow_dist":"LOAD_AWARE","weight":1,"enable_autogw":true,"active_standby_se_tag":"ACTIVE_STANDBY_SE_1"}`
)

func TestWorkedExample1DefaultServer(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	steps := []struct {
		typ, body, stored string
		uuid              int
	}{
		{"pool", example1Pool, example1PoolStored, 15},
		{"l4policyset", example1L4, example1L4Stored, 16},
		{"vsvip", example1VsVip, example1VsVipStored, 17},
		{"virtualservice", example1VS, example1VSStored, 18},
	}
	for _, st := range steps {
		r := e.do(http.MethodPost, "/api/"+st.typ, st.body)
		e.want(r, http.StatusCreated, st.stored, true)
		loc := e.expand("https://{H}/api/"+st.typ+"/"+st.typ+"-{U:"+strconv.Itoa(st.uuid)+"}#", true) + name(t, st.body)
		if got := r.header.Get("Location"); got != loc {
			t.Errorf("%s Location %q, want %q", st.typ, got, loc)
		}
	}
	// Read back: a plain GET has canonical refs without #name; include_name adds them.
	for _, st := range steps {
		path := "/api/" + st.typ + "/" + st.typ + "-" + uuid4(st.uuid)
		e.want(e.do(http.MethodGet, path, nil), http.StatusOK, st.stored, false)
		e.want(e.do(http.MethodGet, path+"?include_name", nil), http.StatusOK, st.stored, true)
		e.want(e.do(http.MethodGet, "/api/"+st.typ+"?name="+name(t, st.body)+"&include_name&page_size=100", nil), http.StatusOK,
			`{"count":1,"results":[`+st.stored+`]}`, true)
		got := e.s.Objects("admin", st.typ)
		if len(got) != 1 {
			t.Fatalf("Objects(admin, %s): %d objects", st.typ, len(got))
		}
		e.wantObj(got[0], st.stored, false)
	}
}

// The Gateway example of avi-translation.md §9: the second VIP of the range.
func TestWorkedExample2Gateway(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	// Another VsVip holds 10.250.250.1 first, so the Gateway gets 10.250.250.2 as in §9.
	if _, err := e.s.Preload("admin", "vsvip", map[string]any{"name": "other", "vip": []any{map[string]any{"auto_allocate_ip": true}}}); err != nil {
		t.Fatal(err)
	}
	bodies := []struct{ typ, body string }{
		{"pool", `{"name":"cluster--svcapi-avisvc-svcapi-my-gateway-SCTP-6060","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "created_by":"sctpguard-cluster","health_monitor_refs":["/api/healthmonitor/?name=System-SCTP"],
 "servers":[{"ip":{"addr":"10.244.1.8","type":"V4"},"port":9090,"enabled":true}],"sni_enabled":false,"graceful_disable_timeout":1,
 "service_metadata":"{\"gateway\":\"svcapi/my-gateway\",\"namespace_svc_name\":[\"svcapi/avisvc-svcapi\"]}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["svcapi"]},
            {"key":"ServiceName","values":["avisvc-svcapi"]},{"key":"GatewayName","values":["my-gateway"]},{"key":"Port","values":["6060"]},
            {"key":"Protocol","values":["SCTP"]}]}`},
		{"l4policyset", `{"name":"cluster--svcapi-my-gateway","tenant_ref":"/api/tenant/?name=admin","created_by":"sctpguard-cluster",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["svcapi"]},
            {"key":"GatewayName","values":["my-gateway"]},{"key":"Protocol","values":["SCTP"]}],
 "l4_connection_policy":{"rules":[{"name":"SCTP-6060","index":0,"enable":true,
   "match":{"port":{"match_criteria":"IS_IN","ports":[6060]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},
   "action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=cluster--svcapi-avisvc-svcapi-my-gateway-SCTP-6060"}}}]}}`},
		{"vsvip", `{"name":"cluster--svcapi-my-gateway","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "east_west_placement":false,"vip":[{"vip_id":"0","auto_allocate_ip":true}],
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["svcapi"]},
            {"key":"GatewayName","values":["my-gateway"]}]}`},
		{"virtualservice", `{"name":"cluster--svcapi-my-gateway","type":"VS_TYPE_NORMAL","tenant_ref":"/api/tenant/?name=admin","cloud_ref":"/api/cloud/?name=Default-Cloud",
 "created_by":"sctpguard-cluster","enabled":true,"traffic_enabled":true,"east_west_placement":false,
 "se_group_ref":"/api/serviceenginegroup/?name=Default-Group","vsvip_ref":"/api/vsvip/?name=cluster--svcapi-my-gateway",
 "application_profile_ref":"/api/applicationprofile/?name=System-L4-Application","network_profile_ref":"/api/networkprofile/?name=System-SCTP-Proxy",
 "services":[{"port":6060,"port_range_end":6060,"enable_ssl":false,"enable_http2":false}],
 "l4_policies":[{"l4_policy_set_ref":"/api/l4policyset/?name=cluster--svcapi-my-gateway","index":0}],
 "remove_listening_port_on_vs_down":true,"service_metadata":"{\"gateway\":\"svcapi/my-gateway\"}",
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["svcapi"]},
            {"key":"GatewayName","values":["my-gateway"]}]}`},
	}
	for _, b := range bodies {
		if r := e.do(http.MethodPost, "/api/"+b.typ, b.body); r.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", b.typ, r.status, r.body)
		}
	}
	vip, _ := e.s.Object("admin", "vsvip", "cluster--svcapi-my-gateway")
	e.wantObj(vip, `{"name":"cluster--svcapi-my-gateway","uuid":"vsvip-{U:18}","url":"https://{H}/api/vsvip/vsvip-{U:18}",
 "_last_modified":"{LM:18}","tenant_ref":"https://{H}/api/tenant/admin","cloud_ref":"https://{H}/api/cloud/cloud-{U:1}",
 "east_west_placement":false,
 "vip":[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_ONLY","ip_address":{"addr":"10.250.250.2","type":"V4"},"enabled":true,"prefix_length":32}],
 "markers":[{"key":"clustername","values":["cluster"]},{"key":"managed_by","values":["sctpguard-cluster"]},{"key":"Namespace","values":["svcapi"]},
            {"key":"GatewayName","values":["my-gateway"]}],
 "vrf_context_ref":"https://{H}/api/vrfcontext/vrfcontext-{U:3}"}`, false)
	l4, _ := e.s.Object("admin", "l4policyset", "cluster--svcapi-my-gateway")
	rules := l4["l4_connection_policy"].(map[string]any)["rules"].([]any)
	e.wantObj(rules[0].(map[string]any)["action"], `{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"https://{H}/api/pool/pool-{U:16}"}}`, false)
	vs, _ := e.s.Object("admin", "virtualservice", "cluster--svcapi-my-gateway")
	e.wantObj(map[string]any{"vsvip_ref": vs["vsvip_ref"], "network_profile_ref": vs["network_profile_ref"], "services": vs["services"]},
		`{"vsvip_ref":"https://{H}/api/vsvip/vsvip-{U:18}","network_profile_ref":"https://{H}/api/networkprofile/networkprofile-{U:8}",
		  "services":[{"port":6060,"port_range_end":6060,"enable_ssl":false,"enable_http2":false}]}`, false)
}

// name reads the "name" of a JSON body.
func name(t *testing.T, body string) string {
	t.Helper()
	return reply{body: []byte(body)}.json(t)["name"].(string)
}

// postExample1 creates the four objects of worked example 1 (uuids and _last_modified 15-18).
func (e *env) postExample1() {
	e.t.Helper()
	for _, b := range []struct{ typ, body string }{
		{"pool", example1Pool}, {"l4policyset", example1L4}, {"vsvip", example1VsVip}, {"virtualservice", example1VS},
	} {
		if r := e.do(http.MethodPost, "/api/"+b.typ, b.body); r.status != http.StatusCreated {
			e.t.Fatalf("POST %s: %d %s", b.typ, r.status, r.body)
		}
	}
}
