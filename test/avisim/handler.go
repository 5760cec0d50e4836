package avisim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// call is one request being served.
type call struct {
	allow string // the Allow set of the endpoint, sent on every answer of its view
	r     *http.Request
	path  string // normalised
	body  []byte
	host  string
	query url.Values
	ver   version
	sess  *session // nil under Basic auth
	tnt   *object  // request tenant
	cooks []*http.Cookie
}

// Allow sets (avi-rest.md §3.1).
const (
	allowCollection = "HEAD, POST, GET, OPTIONS"
	allowObject     = "HEAD, GET, PUT, PATCH, OPTIONS, DELETE"
	allowLogin      = "POST, OPTIONS"
	allowGet        = "GET, HEAD, OPTIONS"
	allowUserToken  = "GET, POST, HEAD, OPTIONS" //nolint:gosec // G101: an Allow header, not a credential
)

// route dispatches a request. It runs under s.mu. Every answer carries the endpoint's Allow
// set, as the controller's views send it, except the CSRF 401, which comes before the view
// (alb-sdk's recordings).
func (s *Server) route(c *call) *response {
	resp := s.dispatch(c)
	if resp.header == nil {
		resp.header = http.Header{}
	}
	if c.allow != "" && resp.header.Get("Allow") == "" && !resp.beforeView {
		resp.header.Set("Allow", c.allow)
	}
	for _, ck := range c.cooks {
		resp.header.Add("Set-Cookie", ck.String())
	}
	s.stampVersion(c, resp)
	return resp
}

// stampVersion puts AVI_API_VERSION on a response: the request's X-Avi-Version, "16_4_2"
// without one (avi-rest.md §2.1), the controller version when it is invalid (inferred).
func (s *Server) stampVersion(c *call, resp *response) {
	if resp.header == nil {
		resp.header = http.Header{}
	}
	v := c.r.Header.Get("X-Avi-Version")
	switch _, err := parseVersion(v); {
	case v == "":
		v = "16_4_2"
	case err != nil || mustVersion(s.version).less(mustParse(v)):
		v = s.version
	}
	// Set the key as written: Go would canonicalise it to Avi_api_version.
	resp.header["AVI_API_VERSION"] = []string{v}
}

func (s *Server) dispatch(c *call) *response {
	switch c.path {
	case "/login":
		c.allow = allowLogin
		return s.login(c)
	case "/logout":
		c.allow = allowLogin
		return s.logout(c)
	case "/api/initial-data":
		c.allow = allowGet
		// Served without auth (inferred, §10.3).
		if resp := methodCheck(c, allowGet); resp != nil {
			return resp
		}
		return jsonResponse(http.StatusOK, map[string]any{"version": s.versionInfo(), "user_initialized": true})
	case "/api/cluster/status":
		c.allow = allowGet
		if resp := methodCheck(c, allowGet); resp != nil {
			return resp
		}
		return s.clusterStatusResponse()
	}
	if !strings.HasPrefix(c.path, "/api/") {
		return (&apiError{status: http.StatusNotFound, msg: "Not found"}).response() // inferred wording
	}
	segs := strings.Split(c.path[len("/api/"):], "/")
	typ := segs[0]
	m := models[typ]
	known := m != nil || typ == "systemconfiguration" || typ == "user-token"
	if !known || len(segs) > 2 || (typ == "user-token" && len(segs) > 1) {
		return notFound(typ).response()
	}
	c.query = c.r.URL.Query()
	allow := allowObject
	switch {
	case typ == "user-token":
		allow = allowUserToken
	case typ == "systemconfiguration":
		// Only reads are served; the knobs change it (inferred: PUT/PATCH answer 405 here).
		allow = allowGet
	case len(segs) == 1:
		allow = allowCollection
	}
	c.allow = allow
	if err := s.authenticate(c); err != nil {
		return err.response()
	}
	if err := s.checkVersion(c); err != nil {
		return err.response()
	}
	if err := s.requestTenant(c); err != nil {
		return err.response()
	}
	if resp := methodCheck(c, allow); resp != nil {
		return resp
	}
	write := c.r.Method != http.MethodGet && c.r.Method != http.MethodHead
	if write && s.upgrade {
		return (&apiError{status: http.StatusForbidden, msg: "Configuration is disallowed during upgrade"}).response()
	}
	switch {
	case typ == "user-token":
		return s.userToken(c)
	case typ == "systemconfiguration":
		if len(segs) == 2 && segs[1] != "default" {
			return notFound(typ).response()
		}
		sc := s.systemConfiguration(c.host)
		s.prune(s.pub.Root(typ), sc, c.ver)
		return jsonResponse(http.StatusOK, sc)
	case len(segs) == 1 && c.r.Method == http.MethodPost:
		return s.create(c, m)
	case len(segs) == 1:
		return s.list(c, m)
	}
	o := s.st.byKey["/api/"+typ+"/"+segs[1]]
	// Reads see the request tenant and admin; writes only the request tenant (inferred).
	if o == nil || !o.visible(c.tnt.uuid) || (write && o.tenant != c.tnt.uuid) {
		return notFound(typ).response()
	}
	switch c.r.Method {
	case http.MethodPut:
		return s.replace(c, o)
	case http.MethodPatch:
		return s.patch(c, o)
	case http.MethodDelete:
		return s.remove(o)
	}
	return jsonResponse(http.StatusOK, s.view(o, c.host, includeName(c.query), fieldSet(c.query), c.ver))
}

// methodCheck answers OPTIONS with the Allow set and a method outside it with 405 (inferred).
func methodCheck(c *call, allow string) *response {
	m := c.r.Method
	if m == http.MethodOptions {
		h := http.Header{}
		h.Set("Allow", allow)
		return &response{status: http.StatusOK, header: h}
	}
	for _, a := range strings.Split(allow, ", ") {
		if a == m {
			return nil
		}
	}
	resp := (&apiError{status: http.StatusMethodNotAllowed, msg: `Method "` + m + `" not allowed.`}).response()
	resp.header.Set("Allow", allow)
	return resp
}

// requestTenant resolves X-Avi-Tenant (a name) or X-Avi-Tenant-UUID, default admin.
func (s *Server) requestTenant(c *call) *apiError {
	name, id := c.r.Header.Get("X-Avi-Tenant"), c.r.Header.Get("X-Avi-Tenant-UUID")
	switch {
	case name != "":
		if found := s.st.named("tenant", adminTenant, name); len(found) == 1 {
			c.tnt = found[0]
			return nil
		}
		return tenantMissing(name)
	case id != "":
		if o := s.st.byKey["/api/tenant/"+id]; o != nil {
			c.tnt = o
			return nil
		}
		return tenantMissing(id)
	}
	c.tnt = s.st.byKey["/api/tenant/"+adminTenant]
	return nil
}

func tenantMissing(t string) *apiError {
	return &apiError{status: http.StatusForbidden, msg: "Tenant '" + t + "' does not exist!"}
}

// decodeObject parses a JSON object body.
func decodeObject(b []byte) (map[string]any, *apiError) {
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil || body == nil {
		// inferred wording
		return nil, badRequest("JSON parse error - the body must be a JSON object")
	}
	return body, nil
}

func includeName(q url.Values) bool {
	v, ok := q["include_name"]
	return ok && (len(v) == 0 || v[0] == "" || strings.EqualFold(v[0], "true"))
}

// fieldSet returns the fields= projection, or nil for all fields.
func fieldSet(q url.Values) map[string]bool {
	v := q.Get("fields")
	if v == "" {
		return nil
	}
	set := map[string]bool{"name": true, "url": true, "uuid": true}
	for _, f := range strings.Split(v, ",") {
		set[strings.TrimSpace(f)] = true
	}
	return set
}

// view renders a stored object for a response at an API version (no version: every field).
func (s *Server) view(o *object, host string, names bool, only map[string]bool, ver version) map[string]any {
	out := s.render(o.m.schema, o.data, host, names).(map[string]any)
	s.prune(s.pub.Root(o.m.typ), out, ver)
	out["url"] = "https://" + host + o.relURL()
	if names {
		out["url"] = out["url"].(string) + "#" + o.name
	}
	if only != nil {
		for k := range out {
			if !only[k] {
				delete(out, k)
			}
		}
	}
	return out
}
