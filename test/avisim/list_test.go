package avisim

import (
	"net/http"
	"strings"
	"testing"
)

// brief renders list results projected on fields=name: name, url, uuid.
func brief(names ...string) string {
	var items []string
	for _, n := range names {
		typ, rest, _ := strings.Cut(n, ":")
		name, id, _ := strings.Cut(rest, "=")
		items = append(items, `{"name":"`+name+`","url":"https://{H}/api/`+typ+`/`+id+`{#`+name+`}","uuid":"`+id+`"}`)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// §10.24: counts, pages, next and the cap.
func TestListPaging(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	for i := range 230 {
		if _, err := e.s.Preload("admin", "analyticsprofile", map[string]any{"name": sprintf("ap-%03d", i), "uuid": sprintf("ap-%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	page := func(from, to int) string {
		var names []string
		for i := from; i < to; i++ {
			names = append(names, sprintf("analyticsprofile:ap-%03d=ap-%03d", i, i))
		}
		return brief(names...)
	}
	system := brief("analyticsprofile:System-Analytics-Profile=analyticsprofile-" + uuid4(14))
	first := strings.TrimSuffix(system, "]") + "," + strings.TrimPrefix(page(0, 24), "[")
	cases := []struct {
		query, body string
	}{
		{"fields=name", `{"count":231,"results":` + first + `,"next":"https://{H}/api/analyticsprofile?fields=name&page=2"}`},
		{"fields=name&page=2&page_size=100", `{"count":231,"results":` + page(99, 199) +
			`,"next":"https://{H}/api/analyticsprofile?fields=name&page_size=100&page=3"}`},
		{"page=3&fields=name&page_size=100", `{"count":231,"results":` + page(199, 230) + `}`},
		{"page_size=500&fields=name&page=2", `{"count":231,"results":` + page(199, 230) + `}`},
		{"page_size=1&name.contains=ap-00&fields=name&skip_default=true&label_key=x&bogus=1", `{"count":10,"results":` +
			page(0, 1) + `,"next":"https://{H}/api/analyticsprofile?page_size=1&name.contains=ap-00&fields=name&skip_default=true&label_key=x&bogus=1&page=2"}`},
		{"page=9&fields=name&page_size=100", `{"count":231,"results":[]}`},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			e.t = t
			e.want(e.do(http.MethodGet, "/api/analyticsprofile?"+c.query, nil), http.StatusOK, c.body, false)
		})
	}
	e.t = t
	// page_size is capped at 200.
	e.want(e.do(http.MethodGet, "/api/analyticsprofile?page_size=500&fields=name", nil), http.StatusOK,
		`{"count":231,"results":`+strings.TrimSuffix(system, "]")+","+strings.TrimPrefix(page(0, 199), "[")+`,"next":"https://{H}/api/analyticsprofile?page_size=500&fields=name&page=2"}`, false)
}

// §10.24, §5: the list filters, fields and include_name.
func TestListFilters(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	preload := func(typ string, body map[string]any) {
		t.Helper()
		if _, err := e.s.Preload("admin", typ, body); err != nil {
			t.Fatal(err)
		}
	}
	preload("cloud", map[string]any{"name": "c2", "uuid": "cloud-c2"})
	preload("pool", map[string]any{"name": "cluster--a", "uuid": "pool-a", "created_by": "sctpguard-cluster"})
	preload("pool", map[string]any{"name": "cluster--b", "uuid": "pool-b", "created_by": "ako-cluster"})
	preload("pool", map[string]any{"name": "other c", "uuid": "pool-c", "cloud_ref": "/api/cloud/cloud-c2", "created_by": "sctpguard-cluster"})
	preload("l4policyset", map[string]any{"name": "l4", "uuid": "l4policyset-l4", "l4_connection_policy": map[string]any{"rules": []any{
		map[string]any{"name": "r", "index": 0, "action": map[string]any{"select_pool": map[string]any{"action_type": "L4_RULE_ACTION_SELECT_POOL", "pool_ref": "/api/pool/pool-b"}}}}}})
	a, b, c := "pool:cluster--a=pool-a", "pool:cluster--b=pool-b", "pool:other c=pool-c"
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c}},
		{"name=cluster--a", []string{a}},
		{"name=other%20c", []string{c}},
		{"name=nope", nil},
		{"name.in=other%20c,cluster--a,nope", []string{a, c}},
		{"name.contains=cluster--", []string{a, b}},
		{"created_by=sctpguard-cluster", []string{a, c}},
		{"created_by=sctpguard-cluster&cloud_ref.name=Default-Cloud", []string{a}},
		{"cloud=c2", []string{c}},
		{"cloud_ref.uuid=cloud-c2", []string{c}},
		{"refers_to=l4policyset:l4policyset-l4", nil},
		{"referred_by=l4policyset:l4policyset-l4", []string{b}},
		{"referred_by=l4policyset:nope", nil},
		{"name.contains=cluster&created_by=ako-cluster&label_value=x", []string{b}},
	}
	for _, inc := range []bool{false, true} {
		for _, c := range cases {
			q := c.query + "&fields=name"
			if inc {
				q += "&include_name"
			}
			t.Run(q, func(t *testing.T) {
				e.t = t
				e.want(e.do(http.MethodGet, "/api/pool?"+q, nil), http.StatusOK,
					sprintf(`{"count":%d,"results":%s}`, len(c.want), brief(c.want...)), inc)
			})
		}
	}
	e.t = t
	e.want(e.do(http.MethodGet, "/api/l4policyset?refers_to=pool:pool-b&fields=name", nil), http.StatusOK,
		`{"count":1,"results":`+brief("l4policyset:l4=l4policyset-l4")+`}`, false)
	e.want(e.do(http.MethodGet, "/api/pool/pool-c?fields=created_by,cloud_ref&include_name", nil), http.StatusOK,
		`{"name":"other c","url":"https://{H}/api/pool/pool-c#other c","uuid":"pool-c","created_by":"sctpguard-cluster",
		"cloud_ref":"https://{H}/api/cloud/cloud-c2#c2"}`, false)
}

// §10.26: the system objects of §8, defaults filled; systemconfiguration is a bare object.
func TestSystemObjects(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	want := map[string][]string{
		"tenant":             {"tenant:admin=admin"},
		"cloud":              {"cloud:Default-Cloud=cloud-{U:1}"},
		"serviceenginegroup": {"serviceenginegroup:Default-Group=serviceenginegroup-{U:2}"},
		"vrfcontext":         {"vrfcontext:global=vrfcontext-{U:3}", "vrfcontext:management=vrfcontext-{U:4}"},
		"networkprofile": {"networkprofile:System-TCP-Proxy=networkprofile-{U:5}", "networkprofile:System-TCP-Fast-Path=networkprofile-{U:6}",
			"networkprofile:System-UDP-Fast-Path=networkprofile-{U:7}", "networkprofile:System-SCTP-Proxy=networkprofile-{U:8}"},
		"healthmonitor": {"healthmonitor:System-TCP=healthmonitor-{U:9}", "healthmonitor:System-UDP=healthmonitor-{U:10}",
			"healthmonitor:System-SCTP=healthmonitor-{U:11}"},
		"applicationprofile": {"applicationprofile:System-L4-Application=applicationprofile-{U:12}", "applicationprofile:System-HTTP=applicationprofile-{U:13}"},
		"analyticsprofile":   {"analyticsprofile:System-Analytics-Profile=analyticsprofile-{U:14}"},
		"pool":               nil,
	}
	for typ, names := range want {
		e.want(e.do(http.MethodGet, "/api/"+typ+"?fields=name", nil), http.StatusOK, sprintf(`{"count":%d,"results":%s}`, len(names), brief(names...)), false)
	}
	e.want(e.do(http.MethodGet, "/api/networkprofile/networkprofile-"+uuid4(8), nil), http.StatusOK,
		`{"name":"System-SCTP-Proxy","uuid":"networkprofile-{U:8}","url":"https://{H}/api/networkprofile/networkprofile-{U:8}",
		"_last_modified":"{LM:8}","tenant_ref":"https://{H}/api/tenant/admin",
		"profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY","sctp_proxy_profile":{"cookie_expiration_timeout":60,"heartbeat_interval":30,
		"idle_timeout":0,"max_retransmissions_association":10,"max_retransmissions_init_chunks":8,"number_of_streams":10,
		"receive_window":256,"reset_timeout":0}}}`, false)
	e.want(e.do(http.MethodGet, "/api/healthmonitor/healthmonitor-"+uuid4(11), nil), http.StatusOK,
		`{"name":"System-SCTP","uuid":"healthmonitor-{U:11}","url":"https://{H}/api/healthmonitor/healthmonitor-{U:11}",
		"_last_modified":"{LM:11}","tenant_ref":"https://{H}/api/tenant/admin","type":"HEALTH_MONITOR_SCTP",
		"send_interval":10,"receive_timeout":4,"successful_checks":2,"failed_checks":2}`, false)
	e.want(e.do(http.MethodGet, "/api/networkprofile?name=System-SCTP-Fast-Path", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
	sc := `{"url":"https://{H}/api/systemconfiguration/default","uuid":"default","default_license_tier":"ENTERPRISE",
		"portal_configuration":{"allow_basic_authentication":false,"api_force_timeout":24}}`
	e.want(e.do(http.MethodGet, "/api/systemconfiguration", nil), http.StatusOK, sc, false)
	e.want(e.do(http.MethodGet, "/api/systemconfiguration/default/", nil), http.StatusOK, sc, false)
	e.want(e.do(http.MethodGet, "/api/systemconfiguration/other", nil), http.StatusNotFound, errBody("SystemConfiguration object not found!"), false)
}
