package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sctpguard/sctpguard/test/bench/manifests"
)

// The fast path is held to yaml.v3, its reference: whatever it reads, it reads as yaml.v3
// does, node for node; what it does not read, yaml.v3 reads as before.

// yamlV3Root returns the root node of data as decodeChunk's yaml.v3 path reads it: one
// document, and nothing after it; an error where that path gets no root node.
func yamlV3Root(data []byte) (root *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("after the document: %w", err)
		}
		return nil, errors.New("a second document")
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("no node")
	}
	return doc.Content[0], nil
}

// sameTree returns how two node trees differ, field by field, or "".
func sameTree(want, got *yaml.Node, path string) string {
	switch {
	case want.Kind != got.Kind:
		return fmt.Sprintf("%s: Kind %v, fast path %v", path, want.Kind, got.Kind)
	case want.Style != got.Style:
		return fmt.Sprintf("%s: Style %v, fast path %v", path, want.Style, got.Style)
	case want.Tag != got.Tag:
		return fmt.Sprintf("%s: Tag %q, fast path %q", path, want.Tag, got.Tag)
	case want.Value != got.Value:
		return fmt.Sprintf("%s: Value %q, fast path %q", path, want.Value, got.Value)
	case want.Anchor != got.Anchor:
		return fmt.Sprintf("%s: Anchor %q, fast path %q", path, want.Anchor, got.Anchor)
	case want.Alias != nil || got.Alias != nil:
		return fmt.Sprintf("%s: an alias", path)
	case want.Line != got.Line || want.Column != got.Column:
		return fmt.Sprintf("%s: at %d:%d, fast path %d:%d", path, want.Line, want.Column, got.Line, got.Column)
	case len(want.Content) != len(got.Content):
		return fmt.Sprintf("%s: %d children, fast path %d", path, len(want.Content), len(got.Content))
	}
	for i := range want.Content {
		if d := sameTree(want.Content[i], got.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// checkFast parses data with the fast path and, if it handles it, compares its tree with
// yaml.v3's. It returns whether the fast path handled data.
func checkFast(t *testing.T, p *fastParser, data []byte) bool {
	t.Helper()
	got, ok := p.parse(data)
	if !ok {
		return false
	}
	want, err := yamlV3Root(data)
	if err != nil {
		t.Fatalf("the fast path reads %q; yaml.v3 refuses it: %v", data, err)
	}
	if d := sameTree(want, got, ""); d != "" {
		t.Fatalf("the fast path reads %q unlike yaml.v3: %s", data, d)
	}
	return true
}

// fastCases are documents written by hand at the edges of what the fast path reads; handled
// says whether it reads them (else yaml.v3 does).
var fastCases = []struct {
	name, src string
	handled   bool
}{
	{"mapping", "a: 1\nb: x\n", true},
	{"no final line break", "a: 1\nb: x", true},
	{"document start", "---\na: 1\n", true},
	{"document start with a comment", "--- # first\na: 1\n", true},
	{"document start with content", "--- a\n", false},
	{"document start then a comment", "---#x\na: 1\n", false},
	{"document end", "a: 1\n...\n", false},
	{"second document", "a: 1\n---\nb: 2\n", false},
	{"directive", "%YAML 1.2\n---\na: 1\n", false},
	{"empty values", "a:\nb:\nc: \n", true},
	{"empty value then comment", "a: # c\nb: 1\n", true},
	{"key at the end", "a: 1\nb:", true},
	{"nested", "a:\n  b:\n    c: d\n  e: f\ng: h\n", true},
	{"sequence under its key", "a:\n- x\n- y\nb: 1\n", true},
	{"indented sequence", "a:\n  - x\n  - y\nb: 1\n", true},
	{"compact mappings", "a:\n- b: 1\n  c: 2\n-   d: 3\n    e:\n- f\n", true},
	{"empty items", "a:\n-\n- \n- # c\n-\n  b: 1\n", true},
	{"nested sequence on the line", "- - a\n", false},
	{"root sequence", "- a\n- b: c\n", true},
	{"indented root", "  a: 1\n  b: 2\n", true},
	{"comments and blank lines", "# head\n\na: 1 # one\n  # inside\n\nb:   x   # two\n# foot\n", true},
	{"trailing spaces", "a: 1   \nb:   \n", true},
	{"single quotes", "a: 'x''y'\n'b c': ''\n", true},
	{"double quotes", "a: \"x y\"\n\"b\": \"\"\n", true},
	{"double quotes with escapes", "a: \"x\\ty\"\n", false},
	{"quoted over two lines", "a: 'x\n  y'\n", false},
	{"quoted then text", "a: 'x' y\n", false},
	{"quoted then comment", "a: 'x' # y\n", true},
	{"quoted then comment without space", "a: 'x'# y\n", false},
	{"plain over two lines", "a: x\n  y\n", false},
	{"scalar on the next line", "a:\n  x\n", false},
	{"colon in a value", "a: b: c\n", false},
	{"colon inside words", "a: b:c\nd:e: f\nurl: http://x:80/y\n", true},
	{"hash inside words", "a: b#c\n", true},
	{"flow mapping", "a: {b: c, d: 'e'}\nf: {}\n", true},
	{"nested flow", "a: {b: [c, {d: e}], f: {}}\n- [[a], {b: c}]\n", false},
	{"nested flows", "a: {b: [c, {d: e}], f: {}}\ng:\n- [[a], {b: c}]\n", true},
	{"flow key in flow", "a: {[b]: c}\n", false},
	{"flow with a trailing comma", "a: [b, ]\n", false},
	{"flow over two lines", "a: [b,\n  c]\n", false},
	{"flow key", "[a]: b\n", false},
	{"flow colon", "a: [b:c]\nd: {e:f}\n", false},
	{"flow sequence", "a: [b, \"c\" ,  1 ]\nd: []\n- [x]\n", false},
	{"flow sequences", "a: [b, \"c\" ,  1 ]\nd: []\ne:\n- [x]\n", true},
	{"brackets inside words", "a: b[0]\n", true},
	{"anchor and alias", "a: &x 1\nb: *x\n", false},
	{"tag", "a: !!str 1\n", false},
	{"bang inside words", "a: hello!\n", true},
	{"literal block", "a: |\n  x\n", false},
	{"folded block", "a: >\n  x\n", false},
	{"complex key", "? a\n: b\n", false},
	{"merge key", "a: 1\n<<: {b: 2}\n", false},
	{"merge value", "a: <<\n", false},
	{"duplicate key", "a: 1\na: 2\n", false},
	{"duplicate key in a large mapping", strings.Repeat("k: v\n", 40), false},
	{"tab", "a:\tb\n", false},
	{"carriage return", "a: 1\r\nb: 2\r\n", false},
	{"non-ASCII", "a: é\n", false},
	{"entry as a value", "a: - b\n", false},
	{"dash value", "a: -\n", false},
	{"negative number", "a: -1\nb: -x\n", true},
	{"dedent to no level", "a:\n    b: 1\n  c: 2\n", false},
	{"item then deeper text", "- a\n  b\n", false},
	{"sequence then a key at its level", "- a\nb: 1\n", false},
	{"key after a deeper sequence", "a:\n  - x\nb: 1\n", true},
	{"scalar document", "hello\n", false},
	{"only comments", "# nothing\n", false},
	{"empty", "", false},
	{"key with spaces before its colon", "a  : 1\n", true},
	{"long key", strings.Repeat("k", 1100) + ": v\n", false},
	{"resolved scalars", "a: true\nb: False\nc: ~\nd: null\ne: .5\nf: .inf\ng: -.Inf\nh: 0x1F\ni: 0o17\nj: 0b101\nk: 1_000\nl: 1e3\nm: 3.\nn: 18446744073709551615\no: 99999999999999999999\np: 2001-12-14\nq: 2001-12-14t21:59:43.10Z\nr: yes\ns: 0b+1\nt: -0o7\nu: 1.2.3\nv: +\nw: .\nx: 10.0.0.1/8\ny: 128Mi\nz: 0777\n", true},
	{"resolved keys", "1: a\ntrue: b\n~: c\n1.5: d\n", true},
	{"flow on the next line", "a:\n  [b]\nc:\n- d\n-\n  {e: f}\n", true},
	{"flow root", "{a: b}\n", true},
	{"flow then deeper text", "a:\n  [b]\n  c\n", false},
	{"deep", strings.Repeat(" ", 0) + nested(120), false},
}

// nested returns a mapping nested n deep.
func nested(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sk:\n", strings.Repeat(" ", i))
	}
	return b.String()
}

func TestFastYAMLCases(t *testing.T) {
	var p fastParser
	for _, c := range fastCases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkFast(t, &p, []byte(c.src)); got != c.handled {
				t.Errorf("handled %v, want %v", got, c.handled)
			}
		})
	}
}

// TestFastYAMLHandles checks that the fast path reads the documents of the benchmarks and of
// the examples, so that its speed cannot vanish without a test failing, and that it reads
// them as yaml.v3 does.
func TestFastYAMLHandles(t *testing.T) {
	dir := t.TempDir()
	files, err := manifests.Write(dir, 4, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []func(string, int) error{manifests.WriteConfigMap, manifests.WriteServices} {
		path := filepath.Join(dir, fmt.Sprintf("large-%d.yaml", len(files)))
		if err := write(path, 100); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	examples, err := filepath.Glob("../../examples/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	// The examples the fast path leaves to yaml.v3, and why.
	notHandled := map[string]string{
		"gateway-listener-duplicate.yaml": "anchors and aliases",
		"gateway-listener-port.yaml":      "anchors and aliases",
	}
	var p fastParser
	for _, f := range append(files, examples...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range chunksOf(data) {
			if !checkFast(t, &p, c) {
				name := filepath.Base(f)
				if _, ok := notHandled[name]; !ok {
					t.Errorf("%s, document %d: the fast path leaves it to yaml.v3:\n%s", f, i+1, c)
				}
			}
		}
	}
}

// chunksOf splits a stream as the decoder does and returns its YAML documents, up to an
// error that ends the stream.
func chunksOf(data []byte) [][]byte {
	var out [][]byte
	s := newSplitter(bytes.NewReader(data), nil)
	for {
		c, err := s.next()
		if err != nil {
			return out
		}
		if !c.json && len(bytes.TrimSpace(c.data)) > 0 {
			out = append(out, c.data)
		}
	}
}

// FuzzFastYAML holds the fast path to yaml.v3: for any input, it either leaves the input to
// yaml.v3 or reads it as yaml.v3 does, field by field, and yaml.v3 reads it as one document.
// The seeds are the cases above and every YAML file of the repository's testdata and
// examples, whole and split into documents.
func FuzzFastYAML(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c.src))
	}
	seen := 0
	for _, root := range []string{"../..", "../../examples"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "bin" || d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			ext := filepath.Ext(path)
			if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
				return nil
			}
			if root == "../.." && !strings.Contains(filepath.ToSlash(path), "/testdata/") {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			seen++
			f.Add(data)
			for _, c := range chunksOf(data) {
				f.Add(c)
			}
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	if seen == 0 {
		f.Fatal("no YAML files found for the seed corpus")
	}
	var p fastParser
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, &p, data)
	})
}
