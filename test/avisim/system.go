package avisim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// systemObjects are pre-created in tenant admin (avi-rest.md §8), in an order in which every
// ref resolves. There is no System-SCTP-Fast-Path.
var systemObjects = []struct {
	typ  string
	body map[string]any
}{
	{"cloud", map[string]any{"name": "Default-Cloud"}},
	{"serviceenginegroup", map[string]any{"name": "Default-Group"}},
	{"vrfcontext", map[string]any{"name": "global", "system_default": true}},
	{"vrfcontext", map[string]any{"name": "management", "system_default": true}},
	{"networkprofile", map[string]any{"name": "System-TCP-Proxy", "profile": map[string]any{"type": "PROTOCOL_TYPE_TCP_PROXY"}}},
	{"networkprofile", map[string]any{"name": "System-TCP-Fast-Path", "profile": map[string]any{"type": "PROTOCOL_TYPE_TCP_FAST_PATH"}}},
	{"networkprofile", map[string]any{"name": "System-UDP-Fast-Path", "profile": map[string]any{"type": "PROTOCOL_TYPE_UDP_FAST_PATH"}}},
	{"networkprofile", map[string]any{"name": "System-SCTP-Proxy", "profile": map[string]any{"type": "PROTOCOL_TYPE_SCTP_PROXY"}}},
	{"healthmonitor", map[string]any{"name": "System-TCP", "type": "HEALTH_MONITOR_TCP"}},
	{"healthmonitor", map[string]any{"name": "System-UDP", "type": "HEALTH_MONITOR_UDP"}},
	{"healthmonitor", map[string]any{"name": "System-SCTP", "type": "HEALTH_MONITOR_SCTP"}},
	{"applicationprofile", map[string]any{"name": "System-L4-Application", "type": "APPLICATION_PROFILE_TYPE_L4"}},
	{"applicationprofile", map[string]any{"name": "System-HTTP", "type": "APPLICATION_PROFILE_TYPE_HTTP"}},
	{"analyticsprofile", map[string]any{"name": "System-Analytics-Profile"}},
}

func (s *Server) loadSystemObjects() {
	admin := &object{m: tenant, uuid: adminTenant, tenant: adminTenant, name: adminTenant, system: true,
		data: map[string]any{"name": adminTenant, "uuid": adminTenant, "local": true,
			"_last_modified": s.nextLastModified()}}
	s.st.add(admin)
	for _, so := range systemObjects {
		if _, err := s.preload(admin, so.typ, so.body, true); err != nil {
			panic("avisim: system object " + so.typ + ": " + err.Error())
		}
	}
}

// preload writes an object without HTTP: no version or licence gate. A "uuid" in body is
// honoured like a Slug header. It runs under s.mu.
func (s *Server) preload(t *object, typ string, body map[string]any, system bool) (*object, error) {
	m := models[typ]
	if m == nil {
		return nil, fmt.Errorf("unknown type %q", typ)
	}
	// Bring Go values (ints, typed slices) to the form encoding/json decodes to.
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	var norm map[string]any
	if err := json.Unmarshal(raw, &norm); err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	uuid, _ := norm["uuid"].(string)
	if uuid != "" && s.st.byKey["/api/"+typ+"/"+uuid] != nil {
		return nil, fmt.Errorf("%s %s already exists", typ, uuid)
	}
	if m.tenantless {
		t = s.st.byKey["/api/tenant/"+adminTenant]
	}
	wr := &write{m: m, tenant: t, uuid: uuid, system: system,
		walk: walker{s: s, version: mustVersion(s.version), tenant: t}}
	obj, aerr := s.prepare(wr, norm)
	if aerr != nil {
		return nil, fmt.Errorf("%d %s", aerr.status, aerr.msg)
	}
	return s.commit(wr, obj), nil
}

// versionInfo is the version block of the login body and /api/initial-data.
func (s *Server) versionInfo() map[string]any {
	return map[string]any{
		"Version":     s.version,
		"build":       9096,
		"Tag":         s.version + "-9096-20230131.001625",
		"ProductName": "Avi Cloud Controller",
		"Product":     "controller",
		"min_version": 15.2,
		"Date":        "2023-01-31T00:16:25+00:00",
	}
}

// systemConfiguration is the singleton /api/systemconfiguration (uuid "default").
func (s *Server) systemConfiguration(host string) map[string]any {
	return map[string]any{
		"url":                  "https://" + host + "/api/systemconfiguration/default",
		"uuid":                 "default",
		"default_license_tier": s.license,
		"portal_configuration": map[string]any{
			"allow_basic_authentication": s.basicAuth,
			"api_force_timeout":          int(forceTimeout.Hours()),
		},
	}
}

// loginBody is the JSON body of a successful login (avi-rest.md §1.2).
func (s *Server) loginBody(host string) map[string]any {
	tenants := []any{}
	ti := s.st.index("tenant", adminTenant, false)
	for _, o := range s.tenantsInOrder(ti) {
		tenants = append(tenants, map[string]any{"url": "https://" + host + o.relURL() + "#" + o.name,
			"uuid": o.uuid, "name": o.name, "local": true})
	}
	return map[string]any{
		"user_initialized": true,
		"version":          s.versionInfo(),
		"user": map[string]any{
			"username":           s.opts.Username,
			"name":               s.opts.Username,
			"uuid":               "user-1",
			"default_tenant_ref": "https://" + host + "/api/tenant/admin#admin",
			"is_superuser":       true,
			"local":              true,
		},
		"tenants":             tenants,
		"system_config":       s.systemConfiguration(host),
		"controller":          map[string]any{"api_idle_timeout": int(idleTimeout.Minutes())},
		"session_cookie_name": "avi-sessionid",
	}
}

func (s *Server) tenantsInOrder(ti *tenantIndex) []*object {
	out := make([]*object, 0, len(ti.byUUID))
	for _, o := range ti.byUUID {
		out = append(out, o)
	}
	bySeq(out)
	return out
}

// clusterStatusResponse answers /api/cluster/status: up, or the SetClusterStatus code.
func (s *Server) clusterStatusResponse() *response {
	if s.clusterStatus != http.StatusOK {
		return (&apiError{status: s.clusterStatus, msg: http.StatusText(s.clusterStatus)}).response()
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"cluster_state": map[string]any{"state": "CLUSTER_UP_NO_HA", "progress": 100},
		"node_states":   []any{map[string]any{"name": "node1", "role": "CLUSTER_LEADER", "state": "CLUSTER_ACTIVE"}},
	})
}
