package avisim

import (
	"net/netip"
	"strconv"
)

// allocator hands out VIPs from one range, lowest free address first (inferred, §10.15).
// holders (in Server) says who holds an address; hint is an address below which every
// address of the range is held, so that allocation does not rescan from the start.
type allocator struct {
	r    AddrRange
	hint netip.Addr
}

func (a *allocator) set(r AddrRange) {
	a.r, a.hint = r, r.First
}

// next returns the first address from the hint on that is neither held nor taken.
func (a *allocator) next(holders map[netip.Addr]*object, taken map[netip.Addr]bool) (netip.Addr, bool) {
	start := a.hint
	if !a.r.First.IsValid() || start.Less(a.r.First) || a.r.Last.Less(start) {
		start = a.r.First
	}
	moved := false
	for ip := start; ip.IsValid() && !a.r.Last.Less(ip); ip = ip.Next() {
		if holders[ip] != nil {
			continue
		}
		if !moved {
			a.hint, moved = ip, true
		}
		if !taken[ip] {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func (s *Server) allocatorFor(ip netip.Addr) *allocator {
	if ip.Is4() {
		return &s.vip4
	}
	return &s.vip6
}

// vsVipPost completes a VsVip's vip[]: vip_id defaults, no vip_id change on PUT, the
// allocation kept across a PUT (merged by vip_id), static addresses reserved, free addresses
// allocated where auto_allocate_ip asks for them (avi-rest.md §9, §10.15).
func vsVipPost(w *write, o map[string]any) *apiError {
	vips := items(o["vip"])
	used := map[string]bool{}
	for _, v := range vips {
		if id, ok := v["vip_id"].(string); ok {
			if used[id] {
				return badRequest("Duplicate vip_id %s", id) // inferred wording
			}
			used[id] = true
		}
	}
	next := 0
	for _, v := range vips {
		if _, ok := v["vip_id"]; ok {
			continue
		}
		// The server assigns "0" to a lone VIP; further ones get the next free number (inferred).
		for used[strconv.Itoa(next)] {
			next++
		}
		v["vip_id"] = strconv.Itoa(next)
		used[strconv.Itoa(next)] = true
	}
	if w.old != nil {
		oldVips := items(w.old.data["vip"])
		byID := map[any]map[string]any{}
		for i, ov := range oldVips {
			byID[ov["vip_id"]] = ov
			if i < len(vips) && vips[i]["vip_id"] != ov["vip_id"] {
				return badRequest("Changing an existing VIP's vip_id is not supported")
			}
		}
		for _, v := range vips {
			ov := byID[v["vip_id"]]
			if ov == nil || v["auto_allocate_ip"] != true {
				continue
			}
			for _, k := range []string{"ip_address", "ip6_address"} {
				if _, ok := v[k]; !ok && ov[k] != nil {
					v[k] = deepCopy(ov[k])
				}
			}
		}
	}
	return w.walk.s.assignVIPs(w, vips)
}

func (s *Server) assignVIPs(w *write, vips []map[string]any) *apiError {
	taken := map[netip.Addr]bool{}
	for _, v := range vips {
		for _, k := range []string{"ip_address", "ip6_address"} {
			m, ok := v[k].(map[string]any)
			if !ok || m["type"] == "DNS" {
				continue
			}
			ip := netip.MustParseAddr(m["addr"].(string)) // checked by checkIPAddr
			if h := s.holders[ip]; (h != nil && h != w.old) || taken[ip] {
				// inferred wording
				return badRequest("IP address %s is already in use", ip)
			}
			taken[ip] = true
		}
	}
	for _, v := range vips {
		if v["auto_allocate_ip"] != true {
			continue
		}
		typ := v["auto_allocate_ip_type"]
		for _, fam := range []struct {
			key, typ, subnet string
			want             bool
		}{
			{"ip_address", "V4", "subnet", typ == "V4_ONLY" || typ == "V4_V6"},
			{"ip6_address", "V6", "subnet6", typ == "V6_ONLY" || typ == "V4_V6"},
		} {
			if _, ok := v[fam.key]; ok || !fam.want {
				continue
			}
			pools, err := s.vipPools(v, fam.typ, fam.subnet)
			if err != nil {
				return err
			}
			ip, ok := netip.Addr{}, false
			for _, a := range pools {
				if ip, ok = a.next(s.holders, taken); ok {
					break
				}
			}
			if !ok {
				return badRequest("No available free IPs")
			}
			taken[ip] = true
			v[fam.key] = map[string]any{"addr": ip.String(), "type": fam.typ}
		}
	}
	w.vips = w.vips[:0]
	for ip := range taken {
		w.vips = append(w.vips, ip)
	}
	return nil
}

// vipPools returns where a VIP of one family ("V4" or "V6") is allocated from, as the
// controller's Avi IPAM does (inferred, avi-rest.md §10.15):
//   - the network of vip[].ipam_network_subnet when it has configured_subnets: the static
//     VIP ranges (or the whole prefix) of its subnets of that family, narrowed to the
//     requested subnet or subnet6; none of that family means nothing to allocate from;
//   - else the requested subnet or subnet6 itself;
//   - else the server's default range of the family (Options.VIPRange, VIP6Range).
func (s *Server) vipPools(v map[string]any, typ, subnetKey string) ([]*allocator, *apiError) {
	sub, _ := v["ipam_network_subnet"].(map[string]any)
	want, hasWant := prefixOf(sub[subnetKey])
	var configured []AddrRange
	netRef, _ := sub["network_ref"].(string)
	if n := s.st.byKey[netRef]; n != nil {
		subnets := items(n.data["configured_subnets"])
		for _, cs := range subnets {
			p, ok := prefixOf(cs["prefix"])
			if !ok || p.Addr().Is4() != (typ == "V4") || (hasWant && p != want) {
				continue
			}
			ranges := staticVIPRanges(cs, p)
			if len(ranges) == 0 {
				ranges = []AddrRange{hostRange(p)}
			}
			configured = append(configured, ranges...)
		}
		if len(subnets) > 0 {
			if len(configured) == 0 {
				// The network has no subnet of this family (or not the one asked for): the
				// controller cannot allocate, as for a V4 VIP on an IPv6-only network.
				return nil, badRequest("No available free IPs")
			}
			return s.allocators(configured), nil
		}
	}
	if hasWant {
		return s.allocators([]AddrRange{hostRange(want)}), nil
	}
	if typ == "V4" {
		return []*allocator{&s.vip4}, nil
	}
	return []*allocator{&s.vip6}, nil
}

// allocators returns the allocator of each range, kept across requests so that their hints
// survive.
func (s *Server) allocators(ranges []AddrRange) []*allocator {
	out := make([]*allocator, 0, len(ranges))
	for _, r := range ranges {
		a := s.subnetAllocs[r]
		if a == nil {
			a = &allocator{}
			a.set(r)
			s.subnetAllocs[r] = a
		}
		out = append(out, a)
	}
	return out
}

// prefixOf reads an IpAddrPrefix {ip_addr: {addr, type}, mask}.
func prefixOf(v any) (netip.Prefix, bool) {
	m, _ := v.(map[string]any)
	ipAddr, _ := m["ip_addr"].(map[string]any)
	addr, _ := ipAddr["addr"].(string)
	mask, ok := m["mask"].(float64)
	ip, err := netip.ParseAddr(addr)
	if !ok || err != nil {
		return netip.Prefix{}, false
	}
	p, err := ip.Prefix(int(mask))
	return p, err == nil
}

// staticVIPRanges returns the static_ip_ranges of a configured subnet usable for VIPs.
func staticVIPRanges(subnet map[string]any, p netip.Prefix) []AddrRange {
	var out []AddrRange
	for _, r := range items(subnet["static_ip_ranges"]) {
		if t, _ := r["type"].(string); t != "" && t != "STATIC_IPS_FOR_VIP" && t != "STATIC_IPS_FOR_VIP_AND_SE" {
			continue
		}
		rng, _ := r["range"].(map[string]any)
		begin, errB := netip.ParseAddr(addrOf(rng["begin"]))
		end, errE := netip.ParseAddr(addrOf(rng["end"]))
		if errB == nil && errE == nil && p.Contains(begin) && p.Contains(end) && !end.Less(begin) {
			out = append(out, AddrRange{First: begin, Last: end})
		}
	}
	return out
}

func addrOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["addr"].(string)
	return s
}

// hostRange is the usable addresses of a prefix: without the network address, and for IPv4
// without the broadcast address (a /31 or /32 keeps what it has).
func hostRange(p netip.Prefix) AddrRange {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	last, _ := netip.AddrFromSlice(b)
	first := p.Addr()
	if p.Bits() < p.Addr().BitLen()-1 {
		first = first.Next()
		if last.Is4() {
			last = last.Prev()
		}
	}
	return AddrRange{First: first, Last: last}
}

// claimVIPs makes o hold exactly ips.
func (s *Server) claimVIPs(o *object, ips []netip.Addr) {
	s.releaseVIPs(o)
	for _, ip := range ips {
		s.holders[ip] = o
	}
	o.vips = ips
}

// releaseVIPs frees o's addresses, moving back the hint of every allocator they are in.
func (s *Server) releaseVIPs(o *object) {
	for _, ip := range o.vips {
		if s.holders[ip] != o {
			continue
		}
		delete(s.holders, ip)
		for _, a := range append([]*allocator{s.allocatorFor(ip)}, s.subnetList()...) {
			if a.r.First.IsValid() && !ip.Less(a.r.First) && !a.r.Last.Less(ip) && ip.Less(a.hint) {
				a.hint = ip
			}
		}
	}
	o.vips = nil
}

func (s *Server) subnetList() []*allocator {
	out := make([]*allocator, 0, len(s.subnetAllocs))
	for _, a := range s.subnetAllocs {
		out = append(out, a)
	}
	return out
}
