package manifest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// decoded is what a test compares of one Document.
type decoded struct {
	Ref     string
	Line    int
	Typed   bool
	Unknown []string
}

func decode(src string) ([]decoded, []string) {
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("in.yaml", []byte(src))
	var got []decoded
	for _, d := range docs {
		got = append(got, decoded{Ref: d.Ref().String(), Line: d.Line, Typed: d.Typed != nil, Unknown: d.UnknownFields})
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return got, msgs
}

// checkDecode decodes src and compares the whole result.
func checkDecode(t *testing.T, src string, want []decoded, wantErrs []string) {
	t.Helper()
	got, errs := decode(src)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErrs, errs, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

const svc = `apiVersion: v1
kind: Service
metadata:
  name: a
spec:
  ports:
  - port: 80
    protocol: SCTP
`

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     []decoded
		wantErrs []string
	}{
		{
			name: "multi-document YAML with comments, empty documents and the default namespace",
			src:  "# header\n---\n" + svc + "---\n---\n# only a comment\n---\napiVersion: ako.vmware.com/v1alpha1\nkind: AviInfraSetting\nmetadata: {name: infra}\n",
			want: []decoded{
				{Ref: "Service default/a", Line: 3, Typed: true},
				{Ref: "AviInfraSetting infra", Line: 15, Typed: true},
			},
		},
		{
			name: "List kinds become their items, at the items' lines",
			src: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a, namespace: x}
  spec: {ports: [{port: 80}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec: {selector: {}, template: {spec: {containers: []}}}
`,
			want: []decoded{
				{Ref: "Service x/a", Line: 4, Typed: true},
				{Ref: "Deployment default/d", Line: 8, Typed: true},
			},
		},
		{
			name: "a JSON stream of two objects",
			src:  "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\n \"metadata\":{\"name\":\"c\"}}\n",
			want: []decoded{
				{Ref: "Service default/a", Line: 1, Typed: true},
				{Ref: "ConfigMap default/c", Line: 3, Typed: true},
			},
		},
		{
			name: "unknown fields are listed, the object still decodes",
			src:  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ClusterIP: None\n  ports: [{port: 80, portt: 1}]\n",
			want: []decoded{{Ref: "Service default/a", Line: 1, Typed: true, Unknown: []string{"spec.ClusterIP", "spec.ports[0].portt"}}},
		},
		{
			name:     "not YAML at all; the next document still decodes",
			src:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n---\n" + svc,
			want:     []decoded{{Ref: "Service default/a", Line: 6, Typed: true}},
			wantErrs: []string{"in.yaml:4: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name:     "a document without kind",
			src:      "apiVersion: v1\nmetadata: {name: a}\n",
			wantErrs: []string{"in.yaml:1: object has no kind; every manifest needs apiVersion and kind"},
		},
		{
			name:     "a document without apiVersion",
			src:      "kind: Service\nmetadata: {name: a}\n",
			wantErrs: []string{"in.yaml:1: Service has no apiVersion; every manifest needs apiVersion and kind"},
		},
		{
			name:     "a port that is a string names the field and its line",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - name: x\n    port: \"eighty\"\n",
			wantErrs: []string{`in.yaml:7: Service default/a: spec.ports[0].port: expected an integer, got string "eighty"`},
		},
		{
			name:     "a number too large for its field",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: 99999999999\n",
			wantErrs: []string{`in.yaml:6: Service default/a: spec.ports[0].port: 99999999999 does not fit in int32`},
		},
		{
			name:     "a list where an object belongs",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: [1, 2]\n",
			wantErrs: []string{`in.yaml:4: Service default/a: spec: expected an object, got a list`},
		},
		{
			name:     "a scalar document",
			src:      "just text\n",
			wantErrs: []string{"in.yaml:1: document is a scalar, not a Kubernetes object"},
		},
		{
			name:     "a key written twice",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  type: NodePort\n",
			wantErrs: []string{`in.yaml:6: key "type" is set twice in one mapping (first at line 5)`},
		},
		{
			name:     "a key written twice in a large mapping, found without comparing every pair",
			src:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + manyKeys(40) + "  key-17: again\n",
			wantErrs: []string{`in.yaml:45: key "key-17" is set twice in one mapping (first at line 22)`},
		},
		{
			name:     "a key written twice in a large mapping with a merge key",
			src:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\nbase: &b {x: y}\ndata:\n  <<: *b\n" + manyKeys(40) + "  key-39: again\n",
			wantErrs: []string{`in.yaml:47: key "key-39" is set twice in one mapping (first at line 46)`},
		},
		{
			name:     "binary content",
			src:      "\x7fELF\x02\x01\x01\x00\x00",
			wantErrs: []string{"in.yaml: binary content (NUL byte at offset 7), not a YAML or JSON manifest"},
		},
		{
			name:     "invalid UTF-8",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: \xff}\n",
			wantErrs: []string{"in.yaml:3: invalid UTF-8 at offset 46; manifests must be UTF-8 text"},
		},
		{
			// A stream that starts with '{' but is not JSON is YAML to kubectl (a flow
			// mapping), and so to sctpguard.
			name:     "JSON that is not JSON is YAML",
			src:      "{\"apiVersion\": \"v1\",\n \"kind\": }",
			wantErrs: []string{"in.yaml:1: object has no kind; every manifest needs apiVersion and kind"},
		},
		{
			name:     "an alias bomb is stopped",
			src:      aliasBomb(),
			wantErrs: []string{"in.yaml:1: document expands to more than 1048576 values through aliases"},
		},
		{
			name:     "an alias inside its own anchor is refused, not followed forever",
			src:      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\ndata: &a {b: *a}\n",
			wantErrs: []string{"in.yaml:4: alias *a refers to the anchor it is inside of"},
		},
		{
			name:     "a mapping merging itself is refused",
			src:      "apiVersion: example.com/v1\nkind: Widget\nmetadata: &m {name: x, <<: *m}\n",
			wantErrs: []string{"in.yaml:3: alias *m refers to the anchor it is inside of"},
		},
		{
			name:     "hostile nesting is refused before it exhausts the stack",
			src:      "apiVersion: example.com/v1\nkind: Widget\nx: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n",
			wantErrs: []string{"in.yaml:3: nesting deeper than 500 levels"},
		},
		{
			name:     "in a known kind, a value of the wrong shape stops an alias bomb before it expands",
			src:      strings.Replace(aliasBomb(), "apiVersion: example.com/v1\nkind: Widget", "apiVersion: v1\nkind: ConfigMap", 1),
			wantErrs: []string{"in.yaml:5: ConfigMap default/bomb: data[a0]: expected a string, got a list"},
		},
		{
			name: "timestamps, quantities and int-or-string values decode as the API server decodes them",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, creationTimestamp: 2026-01-01T00:00:00Z}
spec:
  selector: {}
  template:
    spec:
      containers:
      - name: c
        resources: {requests: {cpu: 0.5, memory: 1Gi}, limits: {cpu: 2}}
        readinessProbe: {tcpSocket: {port: diameter}}
        livenessProbe: {tcpSocket: {port: 3868}}
`,
			want: []decoded{{Ref: "Deployment default/d", Line: 1, Typed: true}},
		},
		{
			name:     "a fractional port",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80, targetPort: 80.5}]\n",
			wantErrs: []string{`in.yaml:5: Service default/a: spec.ports[0].targetPort: expected an integer, got number 80.5`},
		},
		{
			name:     "a number where a string belongs",
			src:      "apiVersion: v1\nkind: Service\nmetadata: {name: a, labels: {tier: 1}}\n",
			wantErrs: []string{`in.yaml:3: Service default/a: metadata.labels[tier]: expected a string, got number 1`},
		},
		{
			// kubectl reads YAML 1.1 (sigs.k8s.io/yaml on yaml.v2): yes is true.
			name: "yes is a boolean, as kubectl reads it",
			src:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: yes\n  containers: []\n",
			want: []decoded{{Ref: "Pod default/p", Line: 1, Typed: true}},
		},
		{
			name:     "a string that is not a boolean",
			src:      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: \"yes\"\n  containers: []\n",
			wantErrs: []string{`in.yaml:5: Pod default/p: spec.hostNetwork: expected a boolean, got string "yes"`},
		},
		{
			name:     "a quantity that is not one",
			src:      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: lots}}\n",
			wantErrs: []string{`in.yaml:7: Pod default/p: spec.containers[0].resources.limits[cpu]: "lots" is not a quantity: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		},
		{
			name: "merge keys and anchors resolve",
			src:  "apiVersion: v1\nkind: Service\nmetadata: &m {name: a, labels: {x: z}}\nspec:\n  ports:\n  - &p {name: p, port: 80, protocol: SCTP}\n  - <<: *p\n    name: q\n    port: 81\n",
			want: []decoded{{Ref: "Service default/a", Line: 1, Typed: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDecode(t, tt.src, tt.want, tt.wantErrs) })
	}
}

// manyKeys returns n lines "  key-i: v".
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  key-%d: v\n", i)
	}
	return b.String()
}

// aliasBomb is the "billion laughs" attack in YAML.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bomb}\ndata:\n")
	b.WriteString("  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("  a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestYAMLErrorLines pins the line of each kind of YAML error to where the problem is.
func TestYAMLErrorLines(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"0: {", "in.yaml:1: invalid YAML: did not find expected node content"},
		{"a: 1\nb: {\n", "in.yaml:2: invalid YAML: did not find expected node content"},
		{"a: 1\nb: {x: 1\n", "in.yaml:2: invalid YAML: did not find expected ',' or '}'"},
		{"a: 1\nb: [1,\nc: 2\n", "in.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		{"a:\n  - b\n c: d\n", "in.yaml:3: invalid YAML: did not find expected key"},
		{"- a\nb: c\n", "in.yaml:2: invalid YAML: did not find expected '-' indicator"},
		{"a: b\n  c: d\n", "in.yaml:2: invalid YAML: mapping values are not allowed in this context"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\na: b\n  c: d\n", "in.yaml:6: invalid YAML: mapping values are not allowed in this context"},
		// Read by yaml.v3 (as nothing, or as an object), refused by kubectl's parser
		// (FuzzSplit's finds).
		{"#0000000000\n\t#", "in.yaml:2: invalid YAML: found character that cannot start any token; yaml.v3 reads this document, but kubectl's older YAML parser refuses it"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# c\n\t#", "in.yaml:6: invalid YAML: found character that cannot start any token; yaml.v3 reads this document, but kubectl's older YAML parser refuses it"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n#\n\t#", "in.yaml:5: invalid YAML: found character that cannot start any token; yaml.v3 reads this document, but kubectl's older YAML parser refuses it"},
	} {
		_, errs := decode(tt.src)
		if len(errs) != 1 || errs[0] != tt.want {
			t.Errorf("%q: got %q, want %q", tt.src, errs, tt.want)
		}
	}
}

func TestLineOf(t *testing.T) {
	src := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n    labels:\n      ako.vmware.com/gateway-name: gw\n  spec:\n    ports:\n    - port: 80\n    - name: b\n      port: 81\n      protocol: SCTP\n"
	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("in.yaml", []byte(src))
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("decode: %v %d", errs, len(docs))
	}
	for path, want := range map[string]int{
		"":                       4,
		"spec.ports[1].protocol": 15,
		"spec.ports[1].name":     13,
		"spec.ports[0].protocol": 12, // defaulted: the line of its port
		"metadata.labels[ako.vmware.com/gateway-name]": 9,
		"spec.ports[7]": 11, // missing index: the list
	} {
		if got := docs[0].LineOf(path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}
