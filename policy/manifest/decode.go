package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/sctpguard/sctpguard/policy"
)

// clusterScoped lists the kinds sctpguard knows that have no namespace; every other known
// kind gets the default namespace when it names none, as `kubectl apply` would give it.
var clusterScoped = sets.New(
	"Namespace", "Node", "PersistentVolume", "ComponentStatus", "ClusterRole", "ClusterRoleBinding",
	"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass", "PriorityClass",
	"RuntimeClass", "IngressClass", "IPAddress", "ServiceCIDR", "APIService", "CustomResourceDefinition",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
	"ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
	"CertificateSigningRequest", "ClusterTrustBundle", "FlowSchema", "PriorityLevelConfiguration",
	"DeviceClass", "ResourceSlice", "StorageVersion", "StorageVersionMigration", "TokenReview",
	"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview",
	"GatewayClass", "MachineConfig", "AviInfraSetting",
)

// Decoder decodes manifests into Documents.
type Decoder struct {
	scheme    *runtime.Scheme
	namespace string
}

// NewDecoder returns a decoder for the kinds of scheme; namespaced objects without a
// namespace get namespace.
func NewDecoder(scheme *runtime.Scheme, namespace string) *Decoder {
	return &Decoder{scheme: scheme, namespace: namespace}
}

// Decode reads every object of one stream. It never stops at the first problem: each
// document is decoded on its own, so one broken document costs only itself.
func (d *Decoder) Decode(source string, data []byte) ([]*Document, []*Error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, []*Error{{Source: source, Err: fmt.Errorf("binary content (NUL byte at offset %d), not a YAML or JSON manifest", i)}}
	}
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		return nil, []*Error{{Source: source, Line: 1 + bytes.Count(data[:off], []byte("\n")),
			Err: fmt.Errorf("invalid UTF-8 at offset %d; manifests must be UTF-8 text", off)}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	chunks, err := split(data)
	if err != nil {
		return nil, []*Error{{Source: source, Err: err}}
	}
	var docs []*Document
	var errs []*Error
	for _, c := range chunks {
		ds, es := d.decodeChunk(source, c)
		docs = append(docs, ds...)
		errs = append(errs, es...)
	}
	return docs, errs
}

// chunk is one YAML document or JSON value of a stream and the line before it.
type chunk struct {
	data   []byte
	offset int
}

// split cuts a stream into documents: JSON streams (first character '{') value by value,
// YAML at "---" separator lines.
func split(data []byte) ([]chunk, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return splitJSON(data)
	}
	return splitYAML(data), nil
}

func splitJSON(data []byte) ([]chunk, error) {
	var out []chunk
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		start := dec.InputOffset()
		if err := dec.Decode(&raw); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, jsonError(data, start, err)
		}
		// InputOffset is before any whitespace preceding the value; skip it.
		for start < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[start])) {
			start++
		}
		if raw[0] == '[' {
			return nil, fmt.Errorf("line %d: a top-level JSON array is not a manifest; wrap the objects in a List", 1+bytes.Count(data[:start], []byte("\n")))
		}
		out = append(out, chunk{data: raw, offset: bytes.Count(data[:start], []byte("\n"))})
	}
}

func jsonError(data []byte, start int64, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: invalid JSON: %w", 1+bytes.Count(data[:se.Offset], []byte("\n")), err)
	}
	return fmt.Errorf("line %d: invalid JSON: %w", 1+bytes.Count(data[:start], []byte("\n")), err)
}

// splitYAML cuts at lines starting with "---" followed by nothing, a space or a tab, as
// the API machinery's YAML reader does; text after the marker stays with the new document.
func splitYAML(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	pos := 0
	for sc.Scan() {
		l := sc.Bytes()
		next := pos + len(l) + 1
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			out = append(out, chunk{data: data[start:pos], offset: startLine})
			start, startLine = pos+3, line
		}
		pos, line = min(next, len(data)), line+1
	}
	return append(out, chunk{data: data[start:], offset: startLine})
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns a YAML error into a message and the stream line it points at.
//
// yaml.v3 reports most parser errors ("did not find expected key", "... ',' or ']'") with the
// 0-based line of the collection being parsed, but "did not find expected node content" and
// scanner errors with 1-based lines; the 0-based ones are moved here, and the line is kept
// inside the document (lines is its line count).
func yamlError(err error, offset, lines int) (string, int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return "invalid YAML: " + msg, 0
	}
	n, _ := strconv.Atoi(m[1])
	if strings.HasPrefix(m[2], "did not find expected") && !strings.HasPrefix(m[2], "did not find expected node content") {
		n++
	}
	n = max(1, min(n, lines))
	return "invalid YAML: " + strings.ReplaceAll(m[2], "\n ", ""), n + offset
}

func (d *Decoder) decodeChunk(source string, c chunk) ([]*Document, []*Error) {
	var n yaml.Node
	if err := yaml.Unmarshal(c.data, &n); err != nil {
		msg, line := yamlError(err, c.offset, bytes.Count(c.data, []byte("\n"))+1)
		return nil, []*Error{{Source: source, Line: line, Err: errors.New(msg)}}
	}
	if len(n.Content) == 0 {
		return nil, nil // only comments or blank
	}
	root := n.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, []*Error{{Source: source, Line: c.offset + root.Line, Err: fmt.Errorf("document is a %s, not a Kubernetes object", nodeKind(root))}}
	}
	// About two values a line: size the line table once.
	conv := &converter{offset: c.offset, lines: make([]lineEntry, 0, 2*bytes.Count(c.data, []byte("\n"))+8)}
	docs, errs := d.object(source, root, c, conv, rootHash, nil)
	// Every object of the chunk shares its line table.
	for _, doc := range docs {
		doc.lines = conv.lines
	}
	return docs, errs
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

// scalarField returns the text of a top-level scalar key of a mapping.
func scalarField(n *yaml.Node, key string) string {
	if v := child(n, key); v != nil {
		if v = resolve(v); v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
			return v.Value
		}
	}
	return ""
}

// object decodes the object at node n (path hash h, path prefix inside its document), or
// the items of a List.
func (d *Decoder) object(source string, n *yaml.Node, c chunk, conv *converter, h uint64, prefix []string) ([]*Document, []*Error) {
	line := c.offset + n.Line
	fail := func(err error) ([]*Document, []*Error) {
		e := &Error{Source: source, Line: line, Err: err}
		var le *lineError
		if errors.As(err, &le) {
			e.Err = errors.New(le.msg)
			if le.line > 0 {
				e.Line = le.line
			}
			e.Path = le.path
		}
		return nil, []*Error{e}
	}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return fail(fmt.Errorf("list item is not an object"))
	}
	apiVersion, kind := scalarField(n, "apiVersion"), scalarField(n, "kind")
	switch {
	case kind == "":
		return fail(fmt.Errorf("object has no kind; every manifest needs apiVersion and kind"))
	case apiVersion == "":
		return fail(fmt.Errorf("%s has no apiVersion; every manifest needs apiVersion and kind", kind))
	}
	if items := child(n, "items"); items != nil && strings.HasSuffix(kind, "List") && resolve(items).Kind == yaml.SequenceNode {
		keyLine, _ := lookup(n, "items")
		ih := pathHash(h, []byte("items"))
		conv.lines = append(conv.lines, lineEntry{hash: ih, line: int32(c.offset + keyLine.Line)}) //nolint:gosec // lines fit in int32
		var docs []*Document
		var errs []*Error
		for i, item := range resolve(items).Content {
			p := append(append([]string{}, prefix...), "items", strconv.Itoa(i))
			ds, es := d.object(source, item, c, conv, pathHash(ih, []byte(strconv.Itoa(i))), p)
			for _, e := range es {
				if e.Path != "" {
					e.Path = fmt.Sprintf("items[%d].%s", i, e.Path)
				}
			}
			docs, errs = append(docs, ds...), append(errs, es...)
		}
		return docs, errs
	}
	doc := &Document{Source: source, Line: line, raw: c.data, prefix: prefix}
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	if !d.scheme.Recognizes(gvk) {
		v, err := conv.value(n, h, 0)
		if err != nil {
			return fail(err)
		}
		doc.Object = v.(map[string]any)
		// Its scope is unknown: like kubectl, give it the namespace unless it is a
		// cluster-scoped kind sctpguard knows of.
		if md, ok := doc.Object["metadata"].(map[string]any); ok && !clusterScoped.Has(kind) {
			if ns, _ := md["namespace"].(string); ns == "" {
				md["namespace"] = d.namespace
			}
		}
		return []*Document{doc}, nil
	}
	rt, err := d.scheme.New(gvk)
	if err != nil {
		return fail(err)
	}
	obj, ok := rt.(policy.Object)
	if !ok {
		return fail(fmt.Errorf("%s is not an object with metadata", gvk.Kind))
	}
	conv.unknown, conv.segs = nil, conv.segs[:0]
	if err := conv.typed(n, reflect.ValueOf(obj).Elem(), h, 0); err != nil {
		var le *lineError
		if errors.As(err, &le) && le.path != "" {
			ref := policy.ObjectRef{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
			if ref.Namespace == "" && !clusterScoped.Has(kind) {
				ref.Namespace = d.namespace
			}
			return nil, []*Error{{Source: source, Line: le.line, Object: ref.String(), Path: le.path, Err: errors.New(le.msg)}}
		}
		return fail(err)
	}
	if obj.GetName() == "" {
		return fail(fmt.Errorf("metadata.name is missing; kubectl apply needs a name for every object"))
	}
	if obj.GetNamespace() == "" && !clusterScoped.Has(kind) {
		obj.SetNamespace(d.namespace)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	policy.ApplyDefaults(obj)
	doc.Typed, doc.UnknownFields = obj, conv.unknown
	return []*Document{doc}, nil
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
