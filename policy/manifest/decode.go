package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	line := c.offset + root.Line
	if root.Kind != yaml.MappingNode {
		return nil, []*Error{{Source: source, Line: line, Err: fmt.Errorf("document is a %s, not a Kubernetes object", nodeKind(root))}}
	}
	conv := converter{offset: c.offset}
	v, err := conv.value(root)
	if err != nil {
		at := line
		var le *lineError
		if errors.As(err, &le) && le.line > 0 {
			at = le.line
		}
		return nil, []*Error{{Source: source, Line: at, Err: err}}
	}
	return d.object(source, v.(map[string]any), root, c, nil)
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

// object turns one decoded object into a Document, or its items into Documents for Lists.
func (d *Decoder) object(source string, obj map[string]any, node *yaml.Node, c chunk, prefix []string) ([]*Document, []*Error) {
	line := c.offset + node.Line
	fail := func(format string, args ...any) ([]*Document, []*Error) {
		return nil, []*Error{{Source: source, Line: line, Err: fmt.Errorf(format, args...)}}
	}
	apiVersion, okV := obj["apiVersion"].(string)
	kind, okK := obj["kind"].(string)
	switch {
	case !okK || kind == "":
		return fail("object has no kind; every manifest needs apiVersion and kind")
	case !okV || apiVersion == "":
		return fail("%s has no apiVersion; every manifest needs apiVersion and kind", kind)
	}
	if items, isList := obj["items"].([]any); isList && strings.HasSuffix(kind, "List") {
		itemsNode := child(node, "items")
		var docs []*Document
		var errs []*Error
		for i, item := range items {
			p := append(append([]string{}, prefix...), "items", strconv.Itoa(i))
			itemNode := node
			if itemsNode != nil && i < len(itemsNode.Content) {
				itemNode = itemsNode.Content[i]
			}
			m, ok := item.(map[string]any)
			if !ok {
				errs = append(errs, &Error{Source: source, Line: c.offset + itemNode.Line, Path: fmt.Sprintf("items[%d]", i),
					Err: fmt.Errorf("list item is not an object")})
				continue
			}
			ds, es := d.object(source, m, itemNode, c, p)
			docs, errs = append(docs, ds...), append(errs, es...)
		}
		if _, has := obj["items"]; has && len(items) == 0 {
			return nil, nil
		}
		return docs, errs
	}
	doc := &Document{Source: source, Line: line, Object: obj, raw: c.data, prefix: prefix, offset: c.offset}
	if err := d.typed(doc, schema.FromAPIVersionAndKind(apiVersion, kind)); err != nil {
		return nil, []*Error{err}
	}
	return []*Document{doc}, nil
}

// typed decodes a known kind into its Go type, records unknown fields, sets the default
// namespace and applies the API server's defaults.
func (d *Decoder) typed(doc *Document, gvk schema.GroupVersionKind) *Error {
	md, _ := doc.Object["metadata"].(map[string]any)
	if md == nil && doc.Object["metadata"] != nil {
		return &Error{Source: doc.Source, Line: doc.LineOf("metadata"), Object: gvk.Kind, Path: "metadata",
			Err: fmt.Errorf("expected an object, got %T", doc.Object["metadata"])}
	}
	known := d.scheme.Recognizes(gvk)
	if name, _ := md["name"].(string); name == "" && known {
		return &Error{Source: doc.Source, Line: doc.Line, Object: gvk.Kind,
			Err: fmt.Errorf("metadata.name is missing; kubectl apply needs a name for every object")}
	}
	if !clusterScoped.Has(gvk.Kind) {
		if md == nil {
			md = map[string]any{}
			doc.Object["metadata"] = md
		}
		if ns, _ := md["namespace"].(string); ns == "" {
			md["namespace"] = d.namespace
		}
	}
	if !known {
		return nil
	}
	rt, err := d.scheme.New(gvk)
	if err != nil {
		return nil
	}
	obj, ok := rt.(policy.Object)
	if !ok {
		return nil
	}
	// The unstructured converter narrows integers silently (99999999999 into an int32 port
	// wraps), where the API server's JSON decoding rejects them; look for such values first.
	if hasWideNumbers(doc.Object) {
		if mm := findTypeMismatch(doc.Object, reflect.TypeOf(obj), ""); mm != nil {
			return &Error{Source: doc.Source, Line: doc.LineOf(mm.path), Object: doc.Ref().String(), Path: mm.path, Err: errors.New(mm.msg)}
		}
	}
	err = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(doc.Object, obj, true)
	if strict, isStrict := runtime.AsStrictDecodingError(err); isStrict {
		for _, e := range strict.Errors() {
			if p, ok := unknownFieldPath(e.Error()); ok {
				doc.UnknownFields = append(doc.UnknownFields, p)
			}
		}
		err = nil
	}
	if err != nil {
		ref := doc.Ref().String()
		if mm := findTypeMismatch(doc.Object, reflect.TypeOf(obj), ""); mm != nil {
			return &Error{Source: doc.Source, Line: doc.LineOf(mm.path), Object: ref, Path: mm.path, Err: errors.New(mm.msg)}
		}
		return &Error{Source: doc.Source, Line: doc.Line, Object: ref, Err: fmt.Errorf("cannot decode as %s: %w", gvk.Kind, err)}
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	policy.ApplyDefaults(obj)
	doc.Typed = obj
	return nil
}

// hasWideNumbers reports whether any number in v is outside the int32 range or not an
// integer: the values a narrowing conversion could corrupt.
func hasWideNumbers(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for _, x := range t {
			if hasWideNumbers(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if hasWideNumbers(x) {
				return true
			}
		}
	case int64:
		return t > math.MaxInt32 || t < math.MinInt32
	case float64:
		return true
	}
	return false
}

// unknownFieldPath extracts the path from the converter's `unknown field "spec.x"` error.
func unknownFieldPath(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "unknown field ")
	if !ok {
		return "", false
	}
	p, err := strconv.Unquote(rest)
	return p, err == nil
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
