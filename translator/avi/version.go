package avi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
)

// MinSCTPVersion is the first controller release and API version with SCTP: PROTOCOL_SCTP,
// HEALTH_MONITOR_SCTP and the SCTP network profiles all appeared in 22.1.3.
const MinSCTPVersion = "22.1.3"

// CompareVersions compares two controller versions by their dotted numbers, ignoring a build
// suffix such as "22.1.3-9096": -1 when a < b, 0 when equal, 1 when a > b.
func CompareVersions(a, b string) (int, error) {
	va, err := version.ParseGeneric(a)
	if err != nil {
		return 0, fmt.Errorf("controller version %q: %w", a, err)
	}
	vb, err := version.ParseGeneric(b)
	if err != nil {
		return 0, fmt.Errorf("controller version %q: %w", b, err)
	}
	// ParseGeneric keeps the suffix as pre-release data; compare the numbers only.
	return version.MustParseGeneric(numbers(va)).Compare(numbers(vb))
}

func numbers(v *version.Version) string {
	c := v.Components()
	s := ""
	for i, n := range c {
		if i > 0 {
			s += "."
		}
		s += fmt.Sprint(n)
	}
	return s
}
