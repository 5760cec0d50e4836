package avisim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// List paging (avi-rest.md §5, §10.24): the default page size is inferred.
const (
	defaultPageSize = 25
	maxPageSize     = 200
)

// list serves GET /api/<type>?…: {"count","results","next"}. Filters: name, name.in,
// name.contains, created_by, cloud_ref.name, cloud, cloud_ref.uuid, refers_to, referred_by;
// fields and include_name shape the results; skip_default, label_key, label_value and unknown
// parameters are ignored.
func (s *Server) list(c *call, m *model) *response {
	q := c.query
	tenants := visibleTenants(c.tnt.uuid)
	var cands []*object
	switch {
	case q.Has("name"):
		for _, t := range tenants {
			cands = append(cands, s.st.named(m.typ, t, q.Get("name"))...)
		}
	case q.Has("name.in"):
		seen := map[string]bool{}
		for _, n := range strings.Split(q.Get("name.in"), ",") {
			if seen[n] {
				continue
			}
			seen[n] = true
			for _, t := range tenants {
				cands = append(cands, s.st.named(m.typ, t, n)...)
			}
		}
	default:
		for _, t := range tenants {
			if ti := s.st.index(m.typ, t, false); ti != nil {
				for _, o := range ti.byUUID {
					cands = append(cands, o)
				}
			}
		}
	}
	preds := s.listFilters(q)
	matched := cands[:0:0]
	for _, o := range cands {
		ok := true
		for _, p := range preds {
			if !p(o) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, o)
		}
	}
	bySeq(matched)

	size := atoiOr(q.Get("page_size"), defaultPageSize)
	if size > maxPageSize {
		size = maxPageSize
	}
	page := atoiOr(q.Get("page"), 1)
	start := min((page-1)*size, len(matched))
	end := min(start+size, len(matched))
	// A page past the end is answered with no results (inferred).
	names, only := includeName(q), fieldSet(q)
	results := make([]any, 0, end-start)
	for _, o := range matched[start:end] {
		results = append(results, s.view(o, c.host, names, only, c.ver))
	}
	body := map[string]any{"count": len(matched), "results": results}
	if end < len(matched) {
		body["next"] = "https://" + c.host + "/api/" + m.typ + "?" + withPage(c.r.URL.RawQuery, page+1)
	}
	return jsonResponse(http.StatusOK, body)
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// withPage returns the raw query with its page parameter replaced, other parameters kept in
// their order and encoding.
func withPage(raw string, page int) string {
	var parts []string
	for _, p := range strings.Split(raw, "&") {
		if p == "" || p == "page" || strings.HasPrefix(p, "page=") {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, "page="+strconv.Itoa(page)), "&")
}

func (s *Server) listFilters(q url.Values) []func(*object) bool {
	var preds []func(*object) bool
	if q.Has("name") {
		n := q.Get("name")
		preds = append(preds, func(o *object) bool { return o.name == n })
	}
	if q.Has("name.in") {
		set := map[string]bool{}
		for _, n := range strings.Split(q.Get("name.in"), ",") {
			set[n] = true
		}
		preds = append(preds, func(o *object) bool { return set[o.name] })
	}
	if v := q.Get("name.contains"); v != "" {
		preds = append(preds, func(o *object) bool { return strings.Contains(o.name, v) })
	}
	if q.Has("created_by") {
		v := q.Get("created_by")
		preds = append(preds, func(o *object) bool { return o.data["created_by"] == v })
	}
	for _, key := range []string{"cloud_ref.name", "cloud"} {
		if q.Has(key) {
			v := q.Get(key)
			preds = append(preds, func(o *object) bool { return o.cloud != nil && o.cloud.name == v })
		}
	}
	if q.Has("cloud_ref.uuid") {
		v := q.Get("cloud_ref.uuid")
		preds = append(preds, func(o *object) bool { return o.cloud != nil && o.cloud.uuid == v })
	}
	if q.Has("refers_to") {
		target := s.st.byKey[typedRef(q.Get("refers_to"))]
		preds = append(preds, func(o *object) bool { return target != nil && s.st.referrers[target][o] })
	}
	if q.Has("referred_by") {
		src := s.st.byKey[typedRef(q.Get("referred_by"))]
		preds = append(preds, func(o *object) bool {
			if src == nil {
				return false
			}
			for _, r := range src.refs {
				if r == o {
					return true
				}
			}
			return false
		})
	}
	return preds
}

// typedRef turns "<type>:<uuid>" into the store key "/api/<type>/<uuid>".
func typedRef(v string) string {
	typ, uuid, _ := strings.Cut(v, ":")
	return "/api/" + typ + "/" + uuid
}
