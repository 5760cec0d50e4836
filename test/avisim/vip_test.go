package avisim

import (
	"net/http"
	"net/netip"
	"testing"
)

// vipOf returns the vip[] of a VsVip response.
func vipOf(t *testing.T, r reply) any {
	t.Helper()
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r.json(t)["vip"]
}

const autoV4 = `"auto_allocate_ip":true,"auto_allocate_ip_type":"V4_ONLY","enabled":true,"prefix_length":32`

// §10.15: allocation from the range, static reservations, exhaustion, PUT keeps the
// allocation, vip_id is fixed, and a DELETE frees the address.
func TestVIPAllocation(t *testing.T) {
	e := newEnv(t, Options{VIPRange: AddrRange{netip.MustParseAddr("10.250.250.1"), netip.MustParseAddr("10.250.250.4")}})
	e.login()
	post := func(body string) reply { return e.do(http.MethodPost, "/api/vsvip", body) }

	e.wantObj(vipOf(t, post(`{"name":"a","vip":[{"auto_allocate_ip":true}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.1","type":"V4"}}]`, false)
	// A static address (as AKO sends it, auto_allocate_ip stays true) is reserved.
	e.wantObj(vipOf(t, post(`{"name":"b","vip":[{"auto_allocate_ip":true,"ip_address":{"addr":"10.250.250.2","type":"V4"}}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.2","type":"V4"}}]`, false)
	e.want(post(`{"name":"c","vip":[{"ip_address":{"addr":"10.250.250.2","type":"V4"}}]}`), http.StatusBadRequest,
		errBody("IP address 10.250.250.2 is already in use"), false)
	// Two VIPs: ids 0 and 1, dual stack from both ranges.
	e.wantObj(vipOf(t, post(`{"name":"d","vip":[{"auto_allocate_ip":true},{"auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6"}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.3","type":"V4"}},
		  {"vip_id":"1","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6","enabled":true,"prefix_length":32,
		   "ip_address":{"addr":"10.250.250.4","type":"V4"},"ip6_address":{"addr":"fd00:10:250::1","type":"V6"}}]`, false)
	e.want(post(`{"name":"e","vip":[{"auto_allocate_ip":true}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)
	// A refused write allocates nothing; V6_ONLY still works.
	e.wantObj(vipOf(t, post(`{"name":"f","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY"}]}`)),
		`[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY","enabled":true,"prefix_length":32,
		   "ip6_address":{"addr":"fd00:10:250::2","type":"V6"}}]`, false)

	// PUT without the address keeps it (merge by vip_id); a vip_id change is refused.
	a := "/api/vsvip/vsvip-" + uuid4(15)
	e.wantObj(vipOf(t, e.do(http.MethodPut, a, `{"name":"a","vip":[{"vip_id":"0","auto_allocate_ip":true}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.1","type":"V4"}}]`, false)
	e.want(e.do(http.MethodPut, a, `{"name":"a","vip":[{"vip_id":"1","auto_allocate_ip":true}]}`), http.StatusBadRequest,
		errBody("Changing an existing VIP's vip_id is not supported"), false)
	e.want(e.do(http.MethodPut, a, `{"name":"a","vip":[{"vip_id":"0"},{"vip_id":"0"}]}`), http.StatusBadRequest,
		errBody("Duplicate vip_id 0"), false)
	// Moving a to a static address frees .1, which the next allocation takes.
	if r := e.do(http.MethodPut, "/api/vsvip/vsvip-"+uuid4(17), `{"name":"d","vip":[{"vip_id":"0","auto_allocate_ip":true}]}`); r.status != http.StatusOK {
		t.Fatalf("PUT d: %d %s", r.status, r.body)
	}
	e.wantObj(vipOf(t, e.do(http.MethodPut, a, `{"name":"a","vip":[{"vip_id":"0","ip_address":{"addr":"192.0.2.10","type":"V4"}}]}`)),
		`[{"vip_id":"0","auto_allocate_ip_type":"V4_ONLY","enabled":true,"prefix_length":32,"ip_address":{"addr":"192.0.2.10","type":"V4"}}]`, false)
	e.wantObj(vipOf(t, post(`{"name":"g","vip":[{"auto_allocate_ip":true}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.1","type":"V4"}}]`, false)
	// .4 was freed when d dropped its second VIP.
	e.wantObj(vipOf(t, post(`{"name":"h","vip":[{"auto_allocate_ip":true}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.250.250.4","type":"V4"}}]`, false)
	// A new range applies to later allocations.
	e.s.SetVIPRange(AddrRange{netip.MustParseAddr("10.9.0.7"), netip.MustParseAddr("10.9.0.7")})
	e.wantObj(vipOf(t, post(`{"name":"i","vip":[{"auto_allocate_ip":true}]}`)),
		`[{"vip_id":"0",`+autoV4+`,"ip_address":{"addr":"10.9.0.7","type":"V4"}}]`, false)
	e.want(post(`{"name":"j","vip":[{"auto_allocate_ip":true}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)
}

// §10.15: a VIP is allocated from the ipam_network_subnet asked for (subnet, subnet6), and a
// network with configured_subnets allocates only from those, so an IPv6-only network gives no
// IPv4 address: V4_ONLY there fails as on the real controller, V6_ONLY succeeds.
func TestVIPAllocationFromSubnet(t *testing.T) {
	e := newEnv(t, Options{})
	e.login()
	if _, err := e.s.Preload("admin", "network", map[string]any{"name": "v6-net", "configured_subnets": []any{
		map[string]any{"prefix": map[string]any{"ip_addr": map[string]any{"addr": "2001:db8:10::", "type": "V6"}, "mask": 64},
			"static_ip_ranges": []any{map[string]any{"type": "STATIC_IPS_FOR_VIP", "range": map[string]any{
				"begin": map[string]any{"addr": "2001:db8:10::100", "type": "V6"}, "end": map[string]any{"addr": "2001:db8:10::101", "type": "V6"}}}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Preload("admin", "network", map[string]any{"name": "plain-net"}); err != nil {
		t.Fatal(err)
	}
	post := func(body string) reply { return e.do(http.MethodPost, "/api/vsvip", body) }
	v6net := `"ipam_network_subnet":{"network_ref":"/api/network/?name=v6-net","subnet6":{"ip_addr":{"addr":"2001:db8:10::","type":"V6"},"mask":64}}`
	v6netOut := `"ipam_network_subnet":{"network_ref":"https://{H}/api/network/network-{U:15}{#v6-net}","subnet6":{"ip_addr":{"addr":"2001:db8:10::","type":"V6"},"mask":64}}`

	e.want(post(`{"name":"v4-on-v6","vip":[{"auto_allocate_ip":true,`+v6net+`}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)
	e.want(post(`{"name":"dual-on-v6","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6",`+v6net+`}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)
	e.wantObj(vipOf(t, post(`{"name":"v6","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY",`+v6net+`}]}`)),
		`[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY","enabled":true,"prefix_length":32,`+v6netOut+`,
		   "ip6_address":{"addr":"2001:db8:10::100","type":"V6"}}]`, true)
	// The network's configured range, not the server's default, bounds the allocation.
	e.wantObj(vipOf(t, post(`{"name":"v6b","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY",`+v6net+`}]}`)),
		`[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY","enabled":true,"prefix_length":32,`+v6netOut+`,
		   "ip6_address":{"addr":"2001:db8:10::101","type":"V6"}}]`, true)
	e.want(post(`{"name":"v6c","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V6_ONLY",`+v6net+`}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)

	// A network without configured subnets: the requested subnet and subnet6 are used, their
	// network address (and the IPv4 broadcast address) left out.
	plain := `"ipam_network_subnet":{"network_ref":"/api/network/?name=plain-net","subnet":{"ip_addr":{"addr":"192.0.2.0","type":"V4"},"mask":30},` +
		`"subnet6":{"ip_addr":{"addr":"2001:db8:20::","type":"V6"},"mask":120}}`
	plainOut := `"ipam_network_subnet":{"network_ref":"https://{H}/api/network/network-{U:16}{#plain-net}","subnet":{"ip_addr":{"addr":"192.0.2.0","type":"V4"},"mask":30},` +
		`"subnet6":{"ip_addr":{"addr":"2001:db8:20::","type":"V6"},"mask":120}}`
	e.wantObj(vipOf(t, post(`{"name":"d1","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6",`+plain+`}]}`)),
		`[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6","enabled":true,"prefix_length":32,`+plainOut+`,
		   "ip_address":{"addr":"192.0.2.1","type":"V4"},"ip6_address":{"addr":"2001:db8:20::1","type":"V6"}}]`, true)
	e.wantObj(vipOf(t, post(`{"name":"d2","vip":[{"auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6",`+plain+`}]}`)),
		`[{"vip_id":"0","auto_allocate_ip":true,"auto_allocate_ip_type":"V4_V6","enabled":true,"prefix_length":32,`+plainOut+`,
		   "ip_address":{"addr":"192.0.2.2","type":"V4"},"ip6_address":{"addr":"2001:db8:20::2","type":"V6"}}]`, true)
	e.want(post(`{"name":"d3","vip":[{"auto_allocate_ip":true,`+plain+`}]}`), http.StatusBadRequest, errBody("No available free IPs"), false)
	// Deleting d1 gives its addresses back to the subnet.
	if r := e.do(http.MethodDelete, "/api/vsvip/vsvip-"+uuid4(19), nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE d1: %d %s", r.status, r.body)
	}
	e.wantObj(vipOf(t, post(`{"name":"d4","vip":[{"auto_allocate_ip":true,`+plain+`}]}`)),
		`[{"vip_id":"0",`+autoV4+`,`+plainOut+`,"ip_address":{"addr":"192.0.2.1","type":"V4"}}]`, true)
}
