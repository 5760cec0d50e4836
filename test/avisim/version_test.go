package avisim

import (
	"net/http"
	"testing"
)

const (
	sctpMonitor = `{"name":"hm","type":"HEALTH_MONITOR_SCTP"}`
	sctpProfile = `{"name":"np","profile":{"type":"PROTOCOL_TYPE_SCTP_PROXY"}}`
	tcpMonitor  = `{"name":"hm","type":"HEALTH_MONITOR_TCP","sctp_monitor":{"sctp_request":"ping"}}`
	// An L4 rule with a protocol match, as the translator sends it.
	l4Protocol = `{"name":"l4","l4_connection_policy":{"rules":[{"name":"r","index":0,
		"match":{"protocol":{"match_criteria":"IS_IN","protocol":"%s"}}}]}}`
	l4PoolGroup = `{"name":"l4","l4_connection_policy":{"rules":[{"name":"r","index":0,
		"action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOLGROUP"}}}]}}`
	l4PortOnly = `{"name":"l4","l4_connection_policy":{"rules":[{"name":"r","index":0,
		"match":{"port":{"match_criteria":"IS_IN","ports":[80]}}}]}}`
)

// §10.9, §10.10: X-Avi-Version: missing means 16.4.2, invalid or too new gets 400, and SCTP
// needs 22.1.3.
func TestAPIVersion(t *testing.T) {
	cases := []struct {
		name, ver, typ, body string
		status               int
		err                  string
	}{
		{"missing header: SCTP monitor", "", "healthmonitor", sctpMonitor, 400, `type: "HEALTH_MONITOR_SCTP" is not a valid choice in API version 16.4.2`},
		{"22.1.2: SCTP monitor", "22.1.2", "healthmonitor", sctpMonitor, 400, `type: "HEALTH_MONITOR_SCTP" is not a valid choice in API version 22.1.2`},
		{"22.1.2: SCTP profile", "22.1.2", "networkprofile", sctpProfile, 400, `profile.type: "PROTOCOL_TYPE_SCTP_PROXY" is not a valid choice in API version 22.1.2`},
		{"22.1.2: sctp_monitor field", "22.1.2", "healthmonitor", tcpMonitor, 400, "sctp_monitor is not supported in API version 22.1.2"},
		{"22.1.2: PROTOCOL_SCTP", "22.1.2", "l4policyset", sprintf(l4Protocol, "PROTOCOL_SCTP"), 400,
			`l4_connection_policy.rules[0].match.protocol.protocol: "PROTOCOL_SCTP" is not a valid choice in API version 22.1.2`},
		{"22.1.2: TCP is fine", "22.1.2", "l4policyset", sprintf(l4Protocol, "PROTOCOL_TCP"), 201, ""},
		{"22.1.3: SCTP monitor", "22.1.3", "healthmonitor", sctpMonitor, 201, ""},
		{"build suffix ignored", "22.1.3-9096", "networkprofile", sctpProfile, 201, ""},
		{"above the controller", "22.1.4", "healthmonitor", sctpMonitor, 400, "Invalid version 22.1.4"},
		{"unparsable", "latest", "healthmonitor", sctpMonitor, 400, "Invalid version latest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.login()
			e.ver = c.ver
			r := e.do(http.MethodPost, "/api/"+c.typ, c.body)
			if c.err != "" {
				e.want(r, c.status, errBody(c.err), false)
				return
			}
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
		})
	}
}

// §2.1: the controller version is reported by login and /api/initial-data (no auth), and caps
// X-Avi-Version.
func TestControllerVersion(t *testing.T) {
	e := newEnv(t, Options{Version: "22.1.2"})
	e.ver = ""
	initial := `{"user_initialized":true,"version":{"Version":"%s","build":9096,"Tag":"%s-9096-20230131.001625",
		"ProductName":"Avi Cloud Controller","Product":"controller","min_version":15.2,"Date":"2023-01-31T00:16:25+00:00"}}`
	e.want(e.do(http.MethodGet, "/api/initial-data", nil), http.StatusOK, sprintf(initial, "22.1.2", "22.1.2"), false)
	e.login()
	e.ver = "22.1.3"
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusBadRequest, errBody("Invalid version 22.1.3"), false)
	if err := e.s.SetVersion("30.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetVersion("next"); err == nil {
		t.Error("SetVersion(next) accepted")
	}
	e.want(e.do(http.MethodGet, "/api/initial-data", nil), http.StatusOK, sprintf(initial, "30.2.1", "30.2.1"), false)
	e.want(e.do(http.MethodGet, "/api/pool", nil), http.StatusOK, `{"count":0,"results":[]}`, false)
	r := e.do(http.MethodPost, "/login", `{"username":"admin","password":"admin"}`)
	if got := r.json(t)["version"].(map[string]any)["Version"]; got != "30.2.1" {
		t.Errorf("login version.Version %v", got)
	}
}

// §10.11: the Essentials and Basic tiers refuse the SCTP items, match.protocol and
// SELECT_POOLGROUP.
func TestLicence(t *testing.T) {
	cases := []struct {
		name, typ, body string
		err             string // "" for 201
	}{
		{"SCTP monitor", "healthmonitor", sctpMonitor, `type: "HEALTH_MONITOR_SCTP" is not supported in the %s license tier`},
		{"SCTP profile", "networkprofile", sctpProfile, `profile.type: "PROTOCOL_TYPE_SCTP_PROXY" is not supported in the %s license tier`},
		{"protocol match", "l4policyset", sprintf(l4Protocol, "PROTOCOL_TCP"), "l4_connection_policy.rules[0].match.protocol is not supported in the %s license tier"},
		{"select pool group", "l4policyset", l4PoolGroup,
			`l4_connection_policy.rules[0].action.select_pool.action_type: "L4_RULE_ACTION_SELECT_POOLGROUP" is not supported in the %s license tier`},
		{"port match", "l4policyset", l4PortOnly, ""},
	}
	for _, tier := range []string{"ESSENTIALS", "BASIC", "ENTERPRISE", "ENTERPRISE_WITH_CLOUD_SERVICES"} {
		for _, c := range cases {
			t.Run(tier+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, Options{License: tier})
				e.login()
				r := e.do(http.MethodPost, "/api/"+c.typ, c.body)
				if c.err == "" || tier == "ENTERPRISE" || tier == "ENTERPRISE_WITH_CLOUD_SERVICES" {
					if r.status != http.StatusCreated {
						t.Errorf("status %d: %s", r.status, r.body)
					}
					return
				}
				e.want(r, http.StatusBadRequest, errBody(sprintf(c.err, tier)), false)
			})
		}
	}
	e := newEnv(t, Options{})
	e.login()
	e.s.SetLicense("ESSENTIALS")
	e.want(e.do(http.MethodGet, "/api/systemconfiguration/default", nil), http.StatusOK, `{"url":"https://{H}/api/systemconfiguration/default",
		"uuid":"default","default_license_tier":"ESSENTIALS","portal_configuration":{"allow_basic_authentication":false,"api_force_timeout":24}}`, false)
	e.want(e.do(http.MethodPost, "/api/healthmonitor", sctpMonitor), http.StatusBadRequest,
		errBody(`type: "HEALTH_MONITOR_SCTP" is not supported in the ESSENTIALS license tier`), false)
}
