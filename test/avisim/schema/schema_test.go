package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sctpguard/sctpguard/test/avisim/schema"
)

// TestCheck shows that every kind of mismatch is found, with its path, and that a body the
// controller accepts passes.
func TestCheck(t *testing.T) {
	s, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, typ, body, version string
		want                     []string
	}{
		{"a well-formed L4 policy set", "l4policyset", `{"name":"p","tenant_ref":"/api/tenant/?name=admin","l4_connection_policy":{"rules":[
			{"name":"r","index":0,"enable":true,"match":{"port":{"match_criteria":"IS_IN","ports":[80]},"protocol":{"match_criteria":"IS_IN","protocol":"PROTOCOL_SCTP"}},
			 "action":{"select_pool":{"action_type":"L4_RULE_ACTION_SELECT_POOL","pool_ref":"/api/pool/?name=x"}}}]}}`, "22.1.3", nil},
		{"misspelt, mistyped, out of range, not an enum value, the wrong ref, missing", "l4policyset", `{"tenant_ref":"/api/cloud/?name=x","l4_connection_policy":{"rules":[
			{"name":"r","index":2147483648,"enable":"yes","match":{"port":{"match_criteria":"IN","ranges":[{"start":1,"end":2}],"ports":[1.5]}}}]}}`, "22.1.3", []string{
			"l4_connection_policy.rules[0].enable: a boolean is required, got a string",
			"l4_connection_policy.rules[0].index: 2147483648 is out of the int32 range",
			"l4_connection_policy.rules[0].match.port.match_criteria: \"IN\" is not one of IS_IN, IS_NOT_IN",
			"l4_connection_policy.rules[0].match.port.ports[0]: an integer is required, got 1.5",
			"l4_connection_policy.rules[0].match.port.ranges: L4RulePortMatch has no such field",
			"name: required by L4PolicySet",
			"tenant_ref: refers to a cloud, but the field points to a Tenant",
		}},
		{"a field newer than the API version", "vsvip", `{"name":"v","bgp_peer_labels":["a"]}`, "18.2.6", []string{
			"bgp_peer_labels: introduced in 20.1.5, after API version 18.2.6",
		}},
		{"a port range and its special value", "virtualservice", `{"name":"v","services":[{"port":70000,"port_range_end":0}]}`, "22.1.3", []string{
			"services[0].port: 70000 is not within 0-65535",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if err := json.Unmarshal([]byte(tt.body), &body); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range s.Check(tt.typ, body, tt.version) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"22.1.3", "22.1.2", true}, {"22.1.3", "22.1.3", false}, {"20.1.5", "22.1.3", false}, {"30.2.1-9096", "30.2", true}, {"17.2", "17.2.0", false}} {
		if got := schema.Newer(tt.a, tt.b); got != tt.want {
			t.Errorf("Newer(%q, %q) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}
