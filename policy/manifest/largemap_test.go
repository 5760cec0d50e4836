package manifest_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// TestLargeMapping: a key set twice at the end of a mapping of 300,000 keys (the 3.8 MB
// ConfigMap of the report) is found, with its lines, by the typed decoder (a ConfigMap's
// data) and by the generic one (a kind sctpguard does not know). When every key was
// compared with every other this took over 21 minutes of CPU, past go test's default
// timeout of 10 minutes, so this test fails if the search turns quadratic again; the cost
// itself is measured by make bench (checkbench), against kubectl's reader.
func TestLargeMapping(t *testing.T) {
	const n = 300000
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + manyKeys(n) + "  key-0: again\n"
	want := []string{fmt.Sprintf(`in.yaml:%d: key "key-0" is set twice in one mapping (first at line 5)`, n+5)}
	for _, tt := range []struct {
		name   string
		scheme *runtime.Scheme
	}{
		{"typed", policy.Scheme()},
		{"generic", runtime.NewScheme()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			docs, errs := manifest.NewDecoder(tt.scheme, "default").Decode("in.yaml", []byte(src))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(docs) != 0 {
				t.Errorf("%d documents read, want none", len(docs))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
