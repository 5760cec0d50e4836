package check_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/check"
)

// FuzzCheck feeds arbitrary bytes through the whole offline path: decoding, defaults,
// mutation, every rule with the input set as inventory, and each report format. It must
// never panic, and what it reports must point inside the input.
func FuzzCheck(f *testing.F) {
	check.AddManifestSeeds(f)
	f.Add([]byte(sctpLB))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80,"protocol":"SCTP"}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Lines as YAML counts them: LF, CRLF and a lone CR each end a line.
		lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) +
			bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) + 1
		for _, format := range []string{check.OutputText, check.OutputSARIF} {
			o := check.NewOptions()
			o.Files = []string{"-"}
			o.Output = format
			o.Mutate = format == check.OutputText
			o.AKOServiceType = "NodePortLocal"
			o.Platform = "openshift"
			o.CNI = "cilium"
			res, err := check.Check(t.Context(), o, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("check failed on a valid configuration: %v", err)
			}
			for _, it := range res.Items {
				for _, f := range it.Findings {
					if f.Rule == "" || (f.Action != policy.ActionDeny && f.Action != policy.ActionWarn) || f.Message == "" {
						t.Fatalf("malformed finding %+v", f)
					}
					if l := it.Doc.LineOf(f.Path); l < 1 || l > lines {
						t.Fatalf("finding %s points at line %d of a %d-line input", f, l, lines)
					}
				}
			}
			for _, e := range res.Errors {
				if e.Line < 0 || e.Line > lines || !strings.HasPrefix(e.Error(), "-") {
					t.Fatalf("malformed error %q (line %d of %d)", e.Error(), e.Line, lines)
				}
			}
			var out bytes.Buffer
			if err := check.Report(&out, &out, o, res); err != nil {
				t.Fatalf("report: %v", err)
			}
		}
	})
}
