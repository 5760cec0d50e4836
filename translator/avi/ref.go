package avi

import (
	"fmt"
	"net/url"
	"strings"
)

// Ref is a parsed object reference. The controller accepts refs as absolute or relative URLs
// (with or without "#name") and as name lookups; it answers with canonical absolute URLs,
// suffixed with "#name" when asked for names. Refs are compared by their parts, never as
// strings.
type Ref struct {
	// Type is the lower-case object type, e.g. "pool".
	Type string
	// UUID is set for URL refs.
	UUID string
	// Name is set for name lookups and for URL refs that carry "#name".
	Name string
}

// NameRef returns the name lookup ref sctpguard sends: "/api/<type>/?name=<escaped name>".
func NameRef(typ, name string) string {
	return "/api/" + typ + "/?name=" + url.QueryEscape(name)
}

// ParseRef parses a ref in any of the forms the controller accepts or returns:
// https://host/api/<type>/<uuid>[#name], /api/<type>/<uuid>[#name] and
// /api/<type>[/]?name=<name>[&...].
func ParseRef(s string) (Ref, error) {
	rest := s
	if i := strings.Index(rest, "/api/"); i >= 0 {
		rest = rest[i+len("/api/"):]
	} else {
		return Ref{}, fmt.Errorf("ref %q: no /api/ path", s)
	}
	var r Ref
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		name, err := url.PathUnescape(rest[i+1:])
		if err != nil {
			return Ref{}, fmt.Errorf("ref %q: name: %w", s, err)
		}
		r.Name = name
		rest = rest[:i]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	path = strings.Trim(path, "/")
	typ, uuid, _ := strings.Cut(path, "/")
	if typ == "" || strings.Contains(uuid, "/") {
		return Ref{}, fmt.Errorf("ref %q: want /api/<type>/<uuid> or /api/<type>?name=<name>", s)
	}
	r.Type = typ
	r.UUID = uuid
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return Ref{}, fmt.Errorf("ref %q: %w", s, err)
		}
		if n := q.Get("name"); n != "" {
			r.Name = n
		}
	}
	if r.UUID == "" && r.Name == "" {
		return Ref{}, fmt.Errorf("ref %q: neither a uuid nor a name", s)
	}
	return r, nil
}

// String renders the ref as "<type>/<name>" when the name is known, else "<type>/<uuid>".
func (r Ref) String() string {
	if r.Name != "" {
		return r.Type + "/" + r.Name
	}
	return r.Type + "/" + r.UUID
}
