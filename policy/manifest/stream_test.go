package manifest_test

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// stream is a reader of n documents made as they are read, so that the test holds none of
// them; every 500 documents it notes the live heap.
type stream struct {
	n, i    int
	doc     func(i int) string
	pending string
	base    uint64
	peak    uint64
}

func (s *stream) Read(p []byte) (int, error) {
	if s.pending == "" {
		if s.i == s.n {
			return 0, io.EOF
		}
		if s.i%500 == 0 {
			if live := liveHeap(); live > s.base && live-s.base > s.peak {
				s.peak = live - s.base
			}
		}
		s.pending = s.doc(s.i) + "---\n"
		s.i++
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestDecodeHoldsADocument: reading a stream holds the document being read, not the
// stream: 3 MB of documents without objects pass through in under 1 MiB, and a set of
// objects costs the objects, not the text around them (here, comments four times their
// size). A 10 MB file of 100,000 Services took 325 MB when the stream was held whole.
func TestDecodeHoldsADocument(t *testing.T) {
	padding := strings.Repeat("# a comment that kubectl drops, as sctpguard does\n", 20)
	for _, tt := range []struct {
		name     string
		n        int
		doc      func(i int) string
		wantDocs int
		maxPeak  uint64
	}{
		{"documents without objects", 3000, func(i int) string { return fmt.Sprintf("# document %d\n", i) + padding }, 0, 1 << 20},
		{"objects among comments", 3000, func(i int) string {
			return padding + fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-%d}\n", i)
		}, 3000, 3 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &stream{n: tt.n, doc: tt.doc, base: liveHeap()}
			docs, errs := manifest.NewDecoder(policy.Scheme(), "default").DecodeReader("stream.yaml", s)
			if len(docs) != tt.wantDocs || len(errs) != 0 {
				t.Fatalf("%d documents, errors %v; want %d and none", len(docs), errs, tt.wantDocs)
			}
			if s.peak > tt.maxPeak {
				t.Errorf("the live heap grew by %.1f MiB reading %d documents; want under %.1f MiB", float64(s.peak)/(1<<20), tt.n, float64(tt.maxPeak)/(1<<20))
			}
			runtime.KeepAlive(docs)
		})
	}
}
