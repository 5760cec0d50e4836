package manifest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// splitCase is a stream kubectl splits in a surprising place (line endings, comments at
// document ends, "---" inside block scalars, JSON that turns into YAML), what sctpguard
// reads from it, and, through the reference, that kubectl reads as many objects or also
// refuses the stream.
type splitCase struct {
	name     string
	src      string
	want     []decoded
	wantErrs []string
	// byServer: kubectl sends the object and the API server refuses it, as sctpguard does.
	byServer bool
}

const (
	cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	cmB = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
	// secondDoc is the error of a document kubectl would drop.
	secondDoc = `a second YAML document starts here without a "---" line: kubectl reads only the first document between two "---" lines and drops the rest`
)

var splitCases = []splitCase{
	{
		name: "LF",
		src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "Service default/s", Line: 8, Typed: true}},
	},
	{
		// The same file saved on Windows was "document is a scalar": every CRLF line moved
		// the cut one byte.
		name: "CRLF",
		src:  "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\ndata:\r\n  x: \"1\"\r\n---\r\napiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: s\r\nspec:\r\n  ports:\r\n  - port: 80\r\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "Service default/s", Line: 8, Typed: true}},
	},
	{
		name: "mixed line endings",
		src:  "apiVersion: v1\r\nkind: ConfigMap\nmetadata:\r\n  name: a\n---\r\n" + cmB + "---\napiVersion: v1\r\nkind: ConfigMap\nmetadata: {name: c}\r\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "ConfigMap default/b", Line: 6, Typed: true}, {Ref: "ConfigMap default/c", Line: 10, Typed: true}},
	},
	{
		// A comment padding the end of the first document shifted the cut past the
		// separator: check read one object, kubectl applied both, the hidden one denied.
		name: "a comment padding the end of a CRLF document",
		src: "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: a}\r\n" + strings.Repeat("# padding\r\n", 40) +
			"---\r\napiVersion: v1\r\nkind: Service\r\nmetadata: {name: hidden}\r\nspec: {ports: [{port: 38412, protocol: SCTP}]}\r\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "Service default/hidden", Line: 45, Typed: true}},
	},
	{
		name:     "a lone carriage return ends no line for kubectl",
		src:      "apiVersion: v1\rkind: ConfigMap\rmetadata: {name: a}\r---\rapiVersion: v1\rkind: ConfigMap\rmetadata: {name: b}\r",
		wantErrs: []string{"in.yaml:4: " + secondDoc},
	},
	{
		name: "comments on the separator lines",
		src:  "--- # first\n" + cmA + "---\t# second\n" + cmB + "---#third\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 2, Typed: true}, {Ref: "ConfigMap default/b", Line: 6, Typed: true}},
	},
	{
		name: "--- inside a block scalar",
		src:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  doc: |\n    one\n    ---\n    two\n  folded: >-\n    x\n---\n" + cmB,
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "ConfigMap default/b", Line: 12, Typed: true}},
	},
	{
		name:     "--- at the start of a line ends a block scalar",
		src:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  doc: |\n    one\n---\n    two\n",
		want:     []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}},
		wantErrs: []string{"in.yaml:8: document is a scalar, not a Kubernetes object"},
	},
	{
		name:     "text after --- is refused, as kubectl refuses it",
		src:      cmA + "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
		wantErrs: []string{`in.yaml:4: "--- {apiVersion: v1, kind: ConfigMap, me..." is not a document separator: only a comment may follow --- on its line, and kubectl refuses the stream`},
	},
	{
		name:     "---- is refused",
		src:      cmA + "----\n",
		wantErrs: []string{`in.yaml:4: "----" is not a document separator: only a comment may follow --- on its line, and kubectl refuses the stream`},
	},
	{
		name:     "---# starting a stream is a scalar",
		src:      "---#",
		wantErrs: []string{"in.yaml:1: document is a scalar, not a Kubernetes object"},
	},
	{
		name:     "a document end marker",
		src:      cmA + "...\n" + cmB,
		wantErrs: []string{"in.yaml:4: " + secondDoc},
	},
	{
		name:     "text after a document end marker",
		src:      cmA + "... 000:",
		wantErrs: []string{"in.yaml:4: " + secondDoc},
	},
	{
		name: "empty and comment documents",
		src:  "---\n---\n# nothing\n---\n\n---\n" + cmA + "---\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 7, Typed: true}},
	},
	{
		name: "JSON stream",
		src:  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n" + `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}` + "\r\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "ConfigMap default/b", Line: 2, Typed: true}},
	},
	{
		name: "JSON then YAML",
		src:  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n---\n" + cmB,
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "ConfigMap default/b", Line: 3, Typed: true}},
	},
	{
		// kubectl turns to YAML after one JSON value only with four bytes to look at.
		name:     "JSON then a short tail",
		src:      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n#c",
		wantErrs: []string{"in.yaml:2: invalid JSON: invalid character '#' looking for beginning of value"},
	},
	{
		name: "a YAML flow mapping is not JSON",
		src:  "{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}},
	},
	{
		name:     "broken JSON after two values",
		src:      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n" + `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}` + "\n{\"kind\": }\n",
		wantErrs: []string{"in.yaml:3: invalid JSON: invalid character '}' looking for beginning of value"},
	},
	{
		name:     "a top-level JSON array is YAML to kubectl",
		src:      `[{"kind": "Service"}]`,
		wantErrs: []string{"in.yaml:1: document is a list, not a Kubernetes object"},
	},
	{
		name: "a List",
		src:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 4, Typed: true}, {Ref: "ConfigMap default/b", Line: 7, Typed: true}},
	},
	{
		name: "items without kind take the list's",
		src:  "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: a}\n  data: {x: z}\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 4, Typed: true}},
	},
	{
		// kubectl reads any object with items as a list, and applies the items.
		name: "items make a Service a list",
		src:  "apiVersion: v1\nkind: Service\nmetadata: {name: decoy}\nspec: {ports: [{port: 80}]}\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n  spec: {ports: [{port: 38412, protocol: SCTP}]}\n",
		want: []decoded{{Ref: "Service default/s", Line: 6, Typed: true}},
	},
	{
		name: "items: null is a list of none",
		src:  cmA + "items: null\n",
	},
	{
		name:     "an empty list item",
		src:      "apiVersion: v1\nkind: List\nitems:\n-\n",
		wantErrs: []string{"in.yaml:4: list item is empty (null), not an object"},
	},
	{
		name:     "a list of none beside what JSON cannot carry",
		src:      cmA + "data: {[]: x}\nitems:\n",
		wantErrs: []string{"in.yaml:4: mapping key is not a scalar"},
	},
	{
		name:     "a field the schema does not know, with what JSON cannot carry",
		src:      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n  unknown: {a: .nan}\n",
		wantErrs: []string{"in.yaml:6: .nan: NaN is not a number JSON can carry, and kubectl refuses it"},
	},
	{
		// kubectl reads an item without items as an object and sends it; the API server
		// serves no v1 List resource.
		name:     "a List without items, as an item",
		src:      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n",
		wantErrs: []string{"in.yaml:4: v1 List is not a kind the API server serves: kubectl sends it, and the server answers that it could not find the requested resource"},
		byServer: true,
	},
	{
		name:     "a list inside a list",
		src:      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}]\n",
		wantErrs: []string{"in.yaml:4: a list inside a list: kubectl refuses it; move its items up"},
	},
	{
		// kubectl's YAML is 1.1: yes is true, which no string field takes.
		name:     "yes is a boolean to kubectl",
		src:      cmA + "data:\n  enabled: yes\n",
		wantErrs: []string{"in.yaml:5: ConfigMap default/a: data[enabled]: expected a string, got boolean yes"},
		byServer: true,
	},
	{
		name:     "keys that kubectl reads alike",
		src:      "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nspec: {yes: a, 0x10: b, 1.0: c, 1.5: d, true: e}\n",
		wantErrs: []string{`in.yaml:4: key "true" is set twice in one mapping (first at line 4, as "yes"; kubectl reads "yes" and "true" alike)`},
	},
	{
		name: "YAML 1.1 scalars and keys",
		src:  "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nspec: {a: yes, b: off, c: y, d: 0x10, e: 0o17, f: 1_000, g: 1e3, h: .5, i: 2001-12-14, j: ~, k: !!str 5, l: !!float 1, m: \"yes\", n: ! 5, 0x10: b, 1.0: c, on: d}\n",
		want: []decoded{{Ref: "Thing default/a", Line: 1}},
	},
	{
		name:     "a number JSON cannot carry",
		src:      "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nspec: {a: .inf}\n",
		wantErrs: []string{"in.yaml:4: .inf: +Inf is not a number JSON can carry, and kubectl refuses it"},
	},
	{
		name: "a merge key, then the keys it overrides",
		src:  "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nbase: &b {x: 1, z: 2}\nspec:\n  <<: *b\n  z: 3\n",
		want: []decoded{{Ref: "Thing default/a", Line: 1}},
	},
	{
		name:     "a key before the merge key that sets it too",
		src:      "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nbase: &b {x: 1, z: 2}\nspec:\n  z: 3\n  <<: *b\n",
		wantErrs: []string{`in.yaml:6: key "z" is set before the merge key (<<) on line 7, which sets it too: kubectl takes the merged value, YAML the one written here; write the key after the merge key`},
	},
	{
		name:     "two merge keys",
		src:      "apiVersion: v1\nkind: Thing\nmetadata: {name: a}\nbase: &b {x: 1}\nspec:\n  <<: *b\n  <<: *b\n",
		wantErrs: []string{`in.yaml:7: a second merge key (<<) in one mapping (first at line 6); merge several mappings with one: <<: [*a, *b]`},
	},
	{
		name: "a byte order mark on each document",
		src:  "\ufeff" + cmA + "---\n\ufeff" + cmB,
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}, {Ref: "ConfigMap default/b", Line: 5, Typed: true}},
	},
	{
		name: "a byte order mark before JSON",
		src:  "\ufeff" + `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n",
		want: []decoded{{Ref: "ConfigMap default/a", Line: 1, Typed: true}},
	},
	{
		name: "an object of a kind sctpguard does not know, without a name",
		src:  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
		want: []decoded{{Ref: "Kustomization ", Line: 1}},
	},
	{
		name:     "an object of a kind sctpguard knows, without a name",
		src:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
		wantErrs: []string{"in.yaml:1: metadata.name is missing; kubectl apply needs a name for every object"},
		byServer: true,
	},
	{
		name:     "metadata that is not object metadata",
		src:      "apiVersion: v1\nkind: Thing\nmetadata: {name: a, labels: [x]}\n",
		wantErrs: []string{"in.yaml:1: metadata is not object metadata: json: cannot unmarshal array into Go struct field ObjectMeta.labels of type map[string]string"},
	},
}

// TestSplit: each case reads as expected, and kubectl (the reference) reads as many
// objects, or refuses the stream too.
func TestSplit(t *testing.T) {
	for _, tt := range splitCases {
		t.Run(tt.name, func(t *testing.T) {
			checkDecode(t, tt.src, tt.want, tt.wantErrs)
			objs, err := kubectlObjects([]byte(tt.src))
			switch {
			case len(tt.wantErrs) == 0 && err != nil:
				t.Errorf("kubectl refuses the stream: %v", err)
			case len(tt.wantErrs) == 0 && len(objs) != len(tt.want):
				t.Errorf("kubectl reads %d objects, sctpguard %d", len(objs), len(tt.want))
			case len(tt.wantErrs) > 0 && err == nil && !isStricter(tt.wantErrs[0]) && !tt.byServer:
				t.Errorf("kubectl reads %d objects where sctpguard refuses the stream", len(objs))
			}
		})
	}
}

// FuzzSplit holds sctpguard's splitter and decoder to kubectl's: for any bytes, both read
// the same objects, or both refuse the stream (sctpguard may refuse more, for the reasons in
// stricter). The reference is kubectl's own code (kubectlObjects).
func FuzzSplit(f *testing.F) {
	for _, c := range splitCases {
		f.Add([]byte(c.src))
	}
	dec := manifest.NewDecoder(runtime.NewScheme(), "")
	typed := manifest.NewDecoder(policy.Scheme(), "")
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := kubectlObjects(data)
		docs, errs := dec.Decode("in", data)
		if len(errs) > 0 {
			if wantErr == nil {
				for _, e := range errs {
					if !isStricter(e.Error()) {
						t.Fatalf("sctpguard refuses %q with %v; kubectl reads %d objects", data, e, len(want))
					}
				}
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("sctpguard reads %d objects from %q; kubectl refuses it: %v", len(docs), data, wantErr)
		}
		var got, wantObjs []any
		for _, d := range docs {
			o, err := comparable(d.Object)
			if err != nil {
				t.Fatalf("object %v: %v", d.Object, err)
			}
			got = append(got, o)
		}
		for _, w := range want {
			o, err := comparable(w)
			if err != nil {
				t.Fatalf("kubectl's object %v: %v", w, err)
			}
			wantObjs = append(wantObjs, o)
		}
		if diff := cmp.Diff(wantObjs, got); diff != "" {
			t.Fatalf("objects of %q (-kubectl +sctpguard):\n%s", data, diff)
		}

		// Decoded into the Go types of the kinds sctpguard knows, the same objects, or
		// errors in fields of them, where the API server refuses what kubectl sends.
		docs, errs = typed.Decode("in", data)
		for _, e := range errs {
			if e.Object == "" && !isStricter(e.Error()) {
				t.Fatalf("sctpguard refuses %q with %v once typed; kubectl reads %d objects", data, e, len(want))
			}
		}
		if len(errs) > 0 {
			return
		}
		var refs, wantRefs []string
		for _, d := range docs {
			refs = append(refs, d.Ref().Kind+"/"+d.Ref().Name)
		}
		for _, w := range want {
			u := unstructured.Unstructured{Object: w}
			wantRefs = append(wantRefs, u.GetKind()+"/"+u.GetName())
		}
		if diff := cmp.Diff(wantRefs, refs); diff != "" {
			t.Fatalf("typed objects of %q (-kubectl +sctpguard):\n%s", data, diff)
		}
	})
}

// TestJSONStringsAsKubectl: characters JSON allows unescaped in a string but YAML refuses
// or takes for line breaks are read from a JSON stream as
// kubectl's JSON decoder reads them (FuzzSplit found "\x7f" in a key refused).
func TestJSONStringsAsKubectl(t *testing.T) {
	dec := manifest.NewDecoder(runtime.NewScheme(), "")
	for _, s := range []string{"\x7f", "\u0085", "\u0080\u009f", "\u2028", "\u2029", "\ufffe\uffff", "\ufffd", "é\u00a0€𝄞", `\"\u0085\\`} {
		data := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k` + s + `":"v` + s + `"}}` + "\n" +
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`)
		want, err := kubectlObjects(data)
		if err != nil {
			t.Fatalf("%q: kubectl refuses it: %v", s, err)
		}
		docs, errs := dec.Decode("in", data)
		if len(errs) > 0 {
			t.Errorf("%q: sctpguard refuses it: %v", s, errs)
			continue
		}
		var got, wantObjs []any
		for _, d := range docs {
			o, err := comparable(d.Object)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o)
		}
		for _, w := range want {
			o, err := comparable(w)
			if err != nil {
				t.Fatal(err)
			}
			wantObjs = append(wantObjs, o)
		}
		if diff := cmp.Diff(wantObjs, got); diff != "" {
			t.Errorf("%q (-kubectl +sctpguard):\n%s", s, diff)
		}
		if len(docs) == 2 && docs[1].Line != 2 {
			t.Errorf("%q: the second object is on line %d, want 2", s, docs[1].Line)
		}
	}
}
