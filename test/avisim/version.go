package avisim

import (
	"errors"
	"strconv"
	"strings"
)

// version is a dotted numeric version; a build suffix is ignored (avi-rest.md §2.1).
type version struct {
	parts []int
	text  string
}

var errVersion = errors.New("invalid version")

// parseVersion reads "22.1.3", "22.1.3-9096" or "30.2.1_2p1": dotted numbers, then
// optionally "-", "_" or "+" and anything.
func parseVersion(s string) (version, error) {
	num := s
	if i := strings.IndexAny(s, "-_+ "); i >= 0 {
		num = s[:i]
	}
	if num == "" {
		return version{}, errVersion
	}
	var v version
	for _, p := range strings.Split(num, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return version{}, errVersion
		}
		v.parts = append(v.parts, n)
	}
	v.text = s
	return v, nil
}

func mustVersion(s string) version {
	v, err := parseVersion(s)
	if err != nil {
		panic("avisim: bad version " + s)
	}
	return v
}

// mustParse parses a version already known to be valid.
func mustParse(s string) version { v, _ := parseVersion(s); return v }

func (v version) String() string { return v.text }

// less compares by dotted numeric parts, missing parts counting as 0.
func (v version) less(o version) bool {
	n := max(len(v.parts), len(o.parts))
	for i := range n {
		a, b := part(v.parts, i), part(o.parts, i)
		if a != b {
			return a < b
		}
	}
	return false
}

func part(p []int, i int) int {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// defaultAPIVersion is what a request without X-Avi-Version is answered as (avi-rest.md §2.1).
var defaultAPIVersion = mustVersion("16.4.2")

// checkVersion sets c.ver from X-Avi-Version. An unparsable version, or one above the
// controller's, gets 400 "Invalid version" (inferred, §10.9).
func (s *Server) checkVersion(c *call) *apiError {
	h := c.r.Header.Get("X-Avi-Version")
	if h == "" {
		c.ver = defaultAPIVersion
		return nil
	}
	v, err := parseVersion(h)
	if err != nil || mustVersion(s.version).less(v) {
		return badRequest("Invalid version %s", h)
	}
	c.ver = v
	return nil
}

// isEnterprise reports whether the licence tier allows the Enterprise-only items (§9).
func (s *Server) isEnterprise() bool {
	return s.license != "ESSENTIALS" && s.license != "BASIC"
}
