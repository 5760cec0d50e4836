package avisim

import (
	"net/http"
	"strings"
	"testing"
)

// BenchmarkConverge1000 creates 1,000 units of worked example 1 (4,000 objects) over HTTPS,
// then reads them back the way the translator's garbage collection does: every page of
// created_by lists, and one name lookup per unit.
func BenchmarkConverge1000(b *testing.B) {
	for b.Loop() {
		e := newEnv(b, Options{NewUUID: randomUUID})
		e.login()
		for i := range 1000 {
			suffix := sprintf("-%04d", i)
			for _, p := range []struct{ typ, body string }{
				{"pool", example1Pool}, {"l4policyset", example1L4}, {"vsvip", example1VsVip}, {"virtualservice", example1VS},
			} {
				body := strings.ReplaceAll(p.body, "cluster--default-server", "cluster--default-server"+suffix)
				if r := e.do(http.MethodPost, "/api/"+p.typ, body); r.status != http.StatusCreated {
					b.Fatalf("POST %s: %d %s", p.typ, r.status, r.body)
				}
			}
		}
		for _, typ := range []string{"virtualservice", "pool", "l4policyset"} {
			next := "/api/" + typ + "?created_by=sctpguard-cluster&include_name&page_size=100"
			pages := 0
			for next != "" {
				body := e.do(http.MethodGet, next, nil).json(b)
				pages++
				next, _ = body["next"].(string)
				next = strings.TrimPrefix(next, e.ts.URL)
			}
			if pages != 10 {
				b.Fatalf("%s: %d pages", typ, pages)
			}
		}
		for i := range 1000 {
			if r := e.do(http.MethodGet, sprintf("/api/vsvip?name=cluster--default-server-%04d&include_name", i), nil); r.status != http.StatusOK {
				b.Fatalf("GET vsvip: %d", r.status)
			}
		}
		e.ts.Close()
	}
}
