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
