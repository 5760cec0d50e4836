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
			key, typ string
			want     bool
			a        *allocator
		}{
			{"ip_address", "V4", typ == "V4_ONLY" || typ == "V4_V6", &s.vip4},
			{"ip6_address", "V6", typ == "V6_ONLY" || typ == "V4_V6", &s.vip6},
		} {
			if _, ok := v[fam.key]; ok || !fam.want {
				continue
			}
			ip, ok := fam.a.next(s.holders, taken)
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

// claimVIPs makes o hold exactly ips.
func (s *Server) claimVIPs(o *object, ips []netip.Addr) {
	s.releaseVIPs(o)
	for _, ip := range ips {
		s.holders[ip] = o
	}
	o.vips = ips
}

func (s *Server) releaseVIPs(o *object) {
	for _, ip := range o.vips {
		if s.holders[ip] == o {
			delete(s.holders, ip)
			if a := s.allocatorFor(ip); ip.Less(a.hint) {
				a.hint = ip
			}
		}
	}
	o.vips = nil
}
