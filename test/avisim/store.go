package avisim

import (
	"net/netip"
	"net/url"
	"sort"
	"strings"
)

// adminTenant is the uuid (and name) of the admin tenant (avi-rest.md §2.2).
const adminTenant = "admin"

// object is one stored Avi object. data holds the stored form: defaults filled, refs as
// "/api/<type>/<uuid>" (rendered absolute per request host), no url.
type object struct {
	m      *model
	uuid   string
	tenant string // tenant uuid
	name   string
	cloud  *object // the cloud of a cloud-scoped object
	seq    uint64  // creation order: lists are returned in it
	system bool    // a §8 system object: cannot be deleted
	data   map[string]any
	refs   []*object    // objects this one references (deduplicated)
	vips   []netip.Addr // addresses this VsVip holds
}

func (o *object) relURL() string { return "/api/" + o.m.typ + "/" + o.uuid }

// tenantIndex holds one (type, tenant) store, keyed by uuid and indexed by name.
type tenantIndex struct {
	byUUID map[string]*object
	byName map[string][]*object
}

// store is the whole object database. It is guarded by Server.mu.
type store struct {
	byKey     map[string]*object                 // "/api/<type>/<uuid>"
	byType    map[string]map[string]*tenantIndex // type → tenant uuid → index
	referrers map[*object]map[*object]bool       // target → objects that reference it
	seq       uint64
}

func newStore() store {
	return store{
		byKey:     map[string]*object{},
		byType:    map[string]map[string]*tenantIndex{},
		referrers: map[*object]map[*object]bool{},
	}
}

func (st *store) index(typ, tenant string, create bool) *tenantIndex {
	byTenant := st.byType[typ]
	if byTenant == nil {
		if !create {
			return nil
		}
		byTenant = map[string]*tenantIndex{}
		st.byType[typ] = byTenant
	}
	ti := byTenant[tenant]
	if ti == nil && create {
		ti = &tenantIndex{byUUID: map[string]*object{}, byName: map[string][]*object{}}
		byTenant[tenant] = ti
	}
	return ti
}

// named returns the objects of typ named name in one tenant.
func (st *store) named(typ, tenant, name string) []*object {
	ti := st.index(typ, tenant, false)
	if ti == nil {
		return nil
	}
	return ti.byName[name]
}

// visibleTenants lists the tenants whose objects a request in tenant t sees: its own, then
// admin (avi-rest.md §2.2; that lists and name queries also return admin objects is inferred).
func visibleTenants(t string) []string {
	if t == adminTenant {
		return []string{adminTenant}
	}
	return []string{t, adminTenant}
}

// visible reports whether an object may be read from tenant t.
func (o *object) visible(t string) bool { return o.tenant == t || o.tenant == adminTenant }

func (st *store) add(o *object) {
	st.seq++
	o.seq = st.seq
	st.byKey[o.relURL()] = o
	ti := st.index(o.m.typ, o.tenant, true)
	ti.byUUID[o.uuid] = o
	ti.byName[o.name] = append(ti.byName[o.name], o)
	st.link(o)
}

func (st *store) unname(o *object) {
	ti := st.index(o.m.typ, o.tenant, false)
	list := ti.byName[o.name]
	for i, x := range list {
		if x == o {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(ti.byName, o.name)
	} else {
		ti.byName[o.name] = list
	}
}

// rename moves o in the name index.
func (st *store) rename(o *object, name string) {
	if o.name == name {
		return
	}
	st.unname(o)
	o.name = name
	ti := st.index(o.m.typ, o.tenant, false)
	ti.byName[name] = append(ti.byName[name], o)
}

func (st *store) remove(o *object) {
	st.unlink(o)
	st.unname(o)
	delete(st.index(o.m.typ, o.tenant, false).byUUID, o.uuid)
	delete(st.byKey, o.relURL())
	delete(st.referrers, o)
}

// link records o in the reverse ref index of every object it references.
func (st *store) link(o *object) {
	for _, t := range o.refs {
		set := st.referrers[t]
		if set == nil {
			set = map[*object]bool{}
			st.referrers[t] = set
		}
		set[o] = true
	}
}

func (st *store) unlink(o *object) {
	for _, t := range o.refs {
		delete(st.referrers[t], o)
	}
}

// setRefs replaces the refs of o, keeping the reverse index in step.
func (st *store) setRefs(o *object, refs []*object) {
	st.unlink(o)
	o.refs = dedupe(refs)
	st.link(o)
}

func dedupe(refs []*object) []*object {
	seen := make(map[*object]bool, len(refs))
	out := refs[:0:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func bySeq(list []*object) {
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
}

// resolveRef resolves a ref in any accepted format (avi-rest.md §4) to a visible object of
// type want. path names the field in error messages.
func (s *Server) resolveRef(raw, want string, t *object, path string) (*object, *apiError) {
	typ, uuid, name, ok := parseRef(raw)
	if !ok {
		// A bare uuid (format 4) is unverified on a real controller; accepted here (inferred).
		if raw != "" && !strings.ContainsAny(raw, "/?#") {
			typ, uuid, ok = want, raw, true
		}
	}
	if !ok {
		return nil, badRequest("%s: %q is not a valid reference", path, raw)
	}
	if typ != want {
		// inferred wording
		return nil, badRequest("%s: %q refers to %s, not %s", path, raw, modelName(typ), modelName(want))
	}
	if uuid != "" {
		if o := s.st.byKey["/api/"+typ+"/"+uuid]; o != nil && o.visible(t.uuid) {
			return o, nil
		}
		return nil, s.danglingRef(want)
	}
	for _, tn := range visibleTenants(t.uuid) {
		found := s.st.named(want, tn, name)
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			// inferred: the real status and wording for an ambiguous name are unknown.
			return nil, badRequest("%s: more than one %s object is named %q", path, modelName(want), name)
		}
	}
	return nil, s.danglingRef(want)
}

// danglingRef is the error for a ref that resolves to nothing: 400 by default, 404 with the
// DanglingRefStatus knob (both are seen on real controllers, avi-rest.md §4).
func (s *Server) danglingRef(typ string) *apiError {
	return &apiError{status: s.opts.DanglingRefStatus, msg: modelName(typ) + " object not found!"}
}

// parseRef splits a ref into type and either uuid or name. It accepts absolute URLs on any
// host with or without "#name", relative paths, and name lookups with or without "/" before
// "?"; extra query parameters are ignored (inferred).
func parseRef(raw string) (typ, uuid, name string, ok bool) {
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		j := strings.Index(rest, "/")
		if j < 0 {
			return "", "", "", false
		}
		s = rest[j:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	query := ""
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, query = s[:i], s[i+1:]
	}
	if !strings.HasPrefix(s, "/api/") {
		return "", "", "", false
	}
	segs := strings.Split(strings.TrimSuffix(s[len("/api/"):], "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] != "" && query != "":
		q, err := url.ParseQuery(query)
		if err != nil || q.Get("name") == "" {
			return "", "", "", false
		}
		return segs[0], "", q.Get("name"), true
	case len(segs) == 2 && segs[0] != "" && segs[1] != "" && query == "":
		return segs[0], segs[1], "", true
	}
	return "", "", "", false
}
