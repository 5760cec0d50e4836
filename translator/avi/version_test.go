package avi

import "testing"

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"22.1.3", "22.1.3", 0},
		{"22.1.2", "22.1.3", -1},
		{"22.1.10", "22.1.3", 1},
		{"30.2.1", "22.1.3", 1},
		{"22.1.3-9096-20230213.103030", "22.1.3", 0},
		{"22.1", "22.1.3", -1},
	} {
		got, err := CompareVersions(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
	if _, err := CompareVersions("latest", "22.1.3"); err == nil || err.Error() != `controller version "latest": could not parse "latest" as version` {
		t.Errorf("bad version: %v", err)
	}
}
