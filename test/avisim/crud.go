package avisim

import (
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// write is one object write in progress: POST, PUT, PATCH, Preload.
type write struct {
	m      *model
	tenant *object // the tenant the object lives in
	old    *object // nil on create
	uuid   string
	walk   walker
	cloud  *object
	vips   []netip.Addr
	system bool
}

// prepare validates and normalises body into the stored form, and checks name uniqueness. It
// changes nothing: commit does.
func (s *Server) prepare(wr *write, body map[string]any) (map[string]any, *apiError) {
	if !wr.m.tenantless {
		if body["tenant_ref"] == nil {
			body["tenant_ref"] = wr.tenant.relURL()
		}
	}
	out, err := wr.walk.walkObject(wr.m.schema, body, "", s.pub.Root(wr.m.typ))
	if err != nil {
		return nil, err
	}
	obj := out.(map[string]any)
	delete(obj, "url")
	if !wr.m.tenantless && obj["tenant_ref"] != wr.tenant.relURL() {
		// inferred: a body tenant other than the request's is refused (§10.16)
		named := s.st.byKey[obj["tenant_ref"].(string)]
		return nil, badRequest("tenant_ref: tenant '%s' does not match the request tenant '%s'", named.name, wr.tenant.name)
	}
	if wr.m.cloudScoped {
		wr.cloud = s.st.byKey[obj["cloud_ref"].(string)]
	}
	if wr.m.post != nil {
		if err := wr.m.post(wr, obj); err != nil {
			return nil, err
		}
	}
	name := obj["name"].(string)
	for _, x := range s.st.named(wr.m.typ, wr.tenant.uuid, name) {
		if x == wr.old || (wr.m.cloudScoped && x.cloud != wr.cloud) {
			continue
		}
		scope := "Name and Tenant ref"
		switch {
		case wr.m.cloudScoped:
			scope = "Name, Tenant ref and Cloud ref"
		case wr.m.tenantless:
			scope = "Name"
		}
		return nil, &apiError{status: http.StatusConflict, msg: wr.m.verbose + " with this " + scope + " already exists."}
	}
	return obj, nil
}

// commit stores a prepared object: stamps uuid and _last_modified, updates the name, ref and
// VIP indexes.
func (s *Server) commit(wr *write, obj map[string]any) *object {
	if wr.uuid == "" {
		// Drawn only for a write that succeeds, so refused writes leave the sequence alone.
		wr.uuid = wr.m.typ + "-" + s.opts.NewUUID()
	}
	obj["uuid"] = wr.uuid
	obj["_last_modified"] = s.nextLastModified()
	name := obj["name"].(string)
	o := wr.old
	if o == nil {
		o = &object{m: wr.m, uuid: wr.uuid, tenant: wr.tenant.uuid, name: name, cloud: wr.cloud, data: obj,
			system: wr.system, refs: dedupe(wr.walk.refs)}
		s.st.add(o)
	} else {
		s.st.rename(o, name)
		o.cloud, o.data = wr.cloud, obj
		s.st.setRefs(o, wr.walk.refs)
	}
	if wr.m == vsVip {
		s.claimVIPs(o, wr.vips)
	}
	return o
}

// nextLastModified is the clock in microseconds as a string (avi-rest.md §3.2), kept strictly
// increasing so that every write changes it even under a frozen test clock.
func (s *Server) nextLastModified() string {
	now := s.opts.Clock().UnixMicro()
	if now <= s.lastModified {
		now = s.lastModified + 1
	}
	s.lastModified = now
	return strconv.FormatInt(now, 10)
}

func (s *Server) newWrite(c *call, m *model, old *object, uuid string) *write {
	t := c.tnt
	if m.tenantless {
		t = s.st.byKey["/api/tenant/"+adminTenant]
	}
	return &write{m: m, tenant: t, old: old, uuid: uuid,
		walk: walker{s: s, version: c.ver, gated: true, tenant: c.tnt}}
}

// create serves POST /api/<type>: 201, Location and the stored object with #name refs.
func (s *Server) create(c *call, m *model) *response {
	body, err := decodeObject(c.body)
	if err != nil {
		return err.response()
	}
	uuid := c.r.Header.Get("Slug")
	if uuid != "" && s.st.byKey["/api/"+m.typ+"/"+uuid] != nil {
		// inferred wording
		return (&apiError{status: http.StatusConflict, msg: m.verbose + " with this Uuid already exists."}).response()
	}
	wr := s.newWrite(c, m, nil, uuid)
	obj, err := s.prepare(wr, body)
	if err != nil {
		return err.response()
	}
	o := s.commit(wr, obj)
	resp := jsonResponse(http.StatusCreated, s.view(o, c.host, true, nil, c.ver))
	resp.header.Set("Location", "https://"+c.host+o.relURL()+"#"+o.name)
	return resp
}

// replace serves PUT /api/<type>/<uuid>: a full replace; 412 on a stale _last_modified.
func (s *Server) replace(c *call, o *object) *response {
	body, err := decodeObject(c.body)
	if err != nil {
		return err.response()
	}
	return s.update(c, o, body)
}

func (s *Server) update(c *call, o *object, body map[string]any) *response {
	if lm, ok := body["_last_modified"]; ok && lm != o.data["_last_modified"] {
		// The trigger is inferred (avi-rest.md §3.3); the substring is observed.
		return (&apiError{status: http.StatusPreconditionFailed, msg: "Need to reload object data " + o.m.name}).response()
	}
	wr := s.newWrite(c, o.m, o, o.uuid)
	obj, err := s.prepare(wr, body)
	if err != nil {
		return err.response()
	}
	s.commit(wr, obj)
	return jsonResponse(http.StatusOK, s.view(o, c.host, true, nil, c.ver))
}

// patch serves PATCH with {"replace":{…}} (overwrite fields), {"add":{…}} (append list items,
// merge objects) and {"delete":{…}} (remove matching list items, or the field). Given
// together they apply in that order (inferred). json_patch is not served.
func (s *Server) patch(c *call, o *object) *response {
	body, err := decodeObject(c.body)
	if err != nil {
		return err.response()
	}
	for k := range body {
		if k != "add" && k != "replace" && k != "delete" {
			return badRequest("PATCH: unsupported operation %q (avisim serves add, replace and delete)", k).response()
		}
	}
	cur := deepCopy(o.data).(map[string]any)
	if rep, ok := body["replace"].(map[string]any); ok {
		for k, v := range rep {
			cur[k] = v
		}
	}
	if add, ok := body["add"].(map[string]any); ok {
		mergeAdd(cur, add)
	}
	if del, ok := body["delete"].(map[string]any); ok {
		for k, v := range del {
			pattern, isList := v.([]any)
			have, hasList := cur[k].([]any)
			f := o.m.schema.fields[k]
			if !isList || !hasList || f == nil || f.kind != kList {
				delete(cur, k)
				continue
			}
			w := walker{s: s, partial: true, tenant: c.tnt}
			norm, err := w.walk(f, pattern, k, s.pub.Child(s.pub.Root(o.m.typ), k))
			if err != nil {
				return err.response()
			}
			kept := []any{}
			for _, it := range have {
				if !matchesAny(norm.([]any), it) {
					kept = append(kept, it)
				}
			}
			cur[k] = kept
		}
	}
	return s.update(c, o, cur)
}

func mergeAdd(cur, add map[string]any) {
	for k, v := range add {
		switch nv := v.(type) {
		case []any:
			if have, ok := cur[k].([]any); ok {
				cur[k] = append(have, nv...)
				continue
			}
		case map[string]any:
			if have, ok := cur[k].(map[string]any); ok {
				mergeAdd(have, nv)
				continue
			}
		}
		cur[k] = v
	}
}

func matchesAny(patterns []any, item any) bool {
	for _, p := range patterns {
		if subsetMatch(p, item) {
			return true
		}
	}
	return false
}

// subsetMatch reports whether every field given in pattern equals the item's.
func subsetMatch(pattern, item any) bool {
	pm, ok := pattern.(map[string]any)
	if !ok {
		return reflect.DeepEqual(pattern, item)
	}
	im, ok := item.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range pm {
		if !subsetMatch(v, im[k]) {
			return false
		}
	}
	return true
}

// remove serves DELETE: 204; 403 for a system object or one still referenced (400 for a
// Cloud), with the referrers in Python-list repr (avi-rest.md §3.3).
func (s *Server) remove(o *object) *response {
	if o.system {
		// inferred status
		return (&apiError{status: http.StatusForbidden, msg: "Cannot delete system default object"}).response()
	}
	if refs := s.st.referrers[o]; len(refs) > 0 {
		names := make([]string, 0, len(refs))
		for r := range refs {
			names = append(names, pyRepr(r.m.name+" "+r.name))
		}
		sort.Strings(names) // inferred order
		status := http.StatusForbidden
		if o.m == cloud {
			status = http.StatusBadRequest
		}
		return (&apiError{status: status, msg: "Cannot delete, object is referred by: [" + strings.Join(names, ", ") + "]",
			objName: o.name}).response()
	}
	s.releaseVIPs(o)
	s.st.remove(o)
	// An empty body labelled JSON, as the controller sends it (alb-sdk's recordings).
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &response{status: http.StatusNoContent, header: h}
}

// pyRepr quotes a string as Python's repr does.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
