package avisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FailNext answers the next n requests that match with status and body instead of serving
// them. An empty body becomes {"error":"<status text>"}. Faults are checked before
// authentication, in the order they were added.
func (s *Server) FailNext(match Match, n, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{match: match, left: n, status: status, body: body})
}

// DropNext closes the connection of the next n requests that match, without an answer.
// Go's transport silently retries an idempotent request (GET, PUT, DELETE) whose reused
// connection closes, so a client may need n ≥ 2 to see the drop; a POST is never retried.
func (s *Server) DropNext(match Match, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{match: match, left: n, drop: true})
}

// ExpireSessions ends every session, as an idle timeout or a controller restart would: the
// next request with an old cookie gets 401.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// Answer419Once makes the next authenticated /api/ request get 419 (session expired). The
// session itself stays valid (inferred: clients log in again either way).
func (s *Server) Answer419Once() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer419 = true
}

// SetDelay delays every request by d before it is served (0 for none).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetClusterStatus sets the status of /api/cluster/status: 200 (up) or, say, 503.
func (s *Server) SetClusterStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusterStatus = code
}

// SetUpgradeMode makes every write under /api/ get 403 "Configuration is disallowed during
// upgrade" while on.
func (s *Server) SetUpgradeMode(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upgrade = on
}

// SetVersion sets the controller version reported at login and by /api/initial-data, and the
// highest X-Avi-Version accepted.
func (s *Server) SetVersion(v string) error {
	if _, err := parseVersion(v); err != nil {
		return fmt.Errorf("set version %q: %w", v, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
	return nil
}

// SetLicense sets the licence tier: ENTERPRISE, ENTERPRISE_WITH_CLOUD_SERVICES, ESSENTIALS or
// BASIC. The last two refuse the SCTP items, match.protocol, match.client_ip and
// SELECT_POOLGROUP.
func (s *Server) SetLicense(tier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.license = tier
}

// SetVIPRange replaces the IPv4 or IPv6 allocation range (by the family of r.First).
// Addresses already allocated stay with their VsVips.
func (s *Server) SetVIPRange(r AddrRange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.First.Is4() {
		s.vip4.set(r)
	} else {
		s.vip6.set(r)
	}
}

// SetBasicAuth turns Basic authentication on or off
// (portal_configuration.allow_basic_authentication).
func (s *Server) SetBasicAuth(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.basicAuth = on
}

// Journal returns a copy of every request served so far, in order.
func (s *Server) Journal() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.journal...)
}

// Writes returns the journal entries that are writes under /api/ (Request.IsWrite).
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Journal() {
		if r.IsWrite() {
			out = append(out, r)
		}
	}
	return out
}

// ResetJournal empties the journal.
func (s *Server) ResetJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = nil
}

// Logins returns the number of successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Sessions returns the number of sessions open now: logged in, neither logged out nor lapsed
// (idle for api_idle_timeout, or older than api_force_timeout) at the server's clock. A real
// controller caps them, so a client must reuse its session and log out when it is done.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock()
	n := 0
	for _, sess := range s.sessions {
		if !sess.lapsed(now) {
			n++
		}
	}
	return n
}

// AddTenant creates a tenant and returns its uuid ("tenant-<uuid4>").
func (s *Server) AddTenant(name string) (string, error) {
	return s.Preload(adminTenant, "tenant", map[string]any{"name": name})
}

// Preload stores an object in a tenant (by name) as a POST would, without HTTP and without the
// version and licence gates: validation, defaults, refs and uniqueness apply. A "uuid" in obj
// is kept. It returns the uuid. Use it for objects owned by others, for example a
// VirtualService with created_by "ako-cluster".
func (s *Server) Preload(tenantName, typ string, obj map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.st.named("tenant", adminTenant, tenantName)
	if len(found) != 1 {
		return "", fmt.Errorf("preload %s: tenant %q does not exist", typ, tenantName)
	}
	o, err := s.preload(found[0], typ, obj, false)
	if err != nil {
		return "", fmt.Errorf("preload %s: %w", typ, err)
	}
	return o.uuid, nil
}

// Objects returns the objects of a type stored in a tenant (by name; admin objects are not
// added), in creation order, as a plain GET renders them: refs and url canonical
// https://<host>/api/<type>/<uuid>, host being the StartTLS address.
func (s *Server) Objects(tenantName, typ string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, t := range s.st.named("tenant", adminTenant, tenantName) {
		if ti := s.st.index(typ, t.uuid, false); ti != nil {
			for _, o := range s.tenantsInOrder(ti) {
				out = append(out, s.view(o, s.host, false, nil, version{}))
			}
		}
	}
	return out
}

// Object returns the object of a type named name in a tenant (by name), rendered as Objects.
func (s *Server) Object(tenantName, typ, name string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.named("tenant", adminTenant, tenantName) {
		if found := s.st.named(typ, t.uuid, name); len(found) > 0 {
			return s.view(found[0], s.host, false, nil, version{}), true
		}
	}
	return nil, false
}

// VIP returns the first address allocated to the VsVip named name in a tenant, or "".
func (s *Server) VIP(tenantName, name string) string {
	v, _ := s.Object(tenantName, "vsvip", name)
	vips, _ := v["vip"].([]any)
	if len(vips) == 0 {
		return ""
	}
	addr, _ := vips[0].(map[string]any)["ip_address"].(map[string]any)
	ip, _ := addr["addr"].(string)
	return ip
}

// takeFault returns the first fault matching the request and uses it up. It runs under s.mu.
func (s *Server) takeFault(c *call) *fault {
	if len(s.faults) == 0 {
		return nil
	}
	typ, name := s.faultSubject(c)
	for i, f := range s.faults {
		m := f.match
		if (m.Method != "" && !strings.EqualFold(m.Method, c.r.Method)) || (m.Type != "" && m.Type != typ) ||
			(m.Name != "" && m.Name != name) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// faultSubject names a request's type and object for Match.
func (s *Server) faultSubject(c *call) (typ, name string) {
	p := strings.TrimPrefix(c.path, "/")
	if rest, ok := strings.CutPrefix(p, "api/"); ok {
		p = rest
	}
	segs := strings.Split(p, "/")
	typ = segs[0]
	switch {
	case c.r.Method == http.MethodPost && len(segs) == 1:
		var body struct{ Name string }
		_ = json.Unmarshal(c.body, &body)
		name = body.Name
	case len(segs) == 2:
		if o := s.st.byKey["/api/"+typ+"/"+segs[1]]; o != nil {
			name = o.name
		}
	default:
		name = c.r.URL.Query().Get("name")
	}
	return typ, name
}

func (s *Server) faultResponse(c *call, f *fault) *response {
	resp := &response{status: f.status, header: http.Header{}, body: []byte(f.body)}
	if f.body == "" {
		resp = (&apiError{status: f.status, msg: http.StatusText(f.status)}).response()
	}
	resp.header.Set("Content-Type", "application/json")
	s.stampVersion(c, resp)
	return resp
}
