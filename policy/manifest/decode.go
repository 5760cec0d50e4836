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
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/sets"
	sigsyaml "sigs.k8s.io/yaml"

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

	// KeepText keeps the text of each document, which Document.YAML and Document.Patched
	// need (check --mutate). Without it a decoded set holds its objects, not its input.
	KeepText bool

	// scratches holds the *scratch of the streams decoded before, for the next: a check
	// reads hundreds of files on every core through one decoder.
	scratches sync.Pool
}

// NewDecoder returns a decoder for the kinds of scheme; namespaced objects without a
// namespace get namespace.
func NewDecoder(scheme *runtime.Scheme, namespace string) *Decoder {
	return &Decoder{scheme: scheme, namespace: namespace}
}

// Decode reads every object of a stream held in memory; see DecodeReader.
func (d *Decoder) Decode(source string, data []byte) ([]*Document, []*Error) {
	return d.DecodeReader(source, bytes.NewReader(data))
}

// DecodeReader reads every object of a stream, one document at a time: what it holds of
// the stream is the document being read, not the stream. Documents are split where
// `kubectl apply -f` splits them (see splitter). It never stops at the first broken
// document: each is decoded on its own, so one costs only itself. A stream that kubectl
// would refuse whole (binary or non-UTF-8 content, a malformed separator line, a read
// error such as a size limit) is refused whole: its error alone is returned.
func (d *Decoder) DecodeReader(source string, r io.Reader) ([]*Document, []*Error) {
	var docs []*Document
	var errs []*Error
	if err := d.Each(source, r, func(ds []*Document, es []*Error) {
		docs = append(docs, ds...)
		errs = append(errs, es...)
	}); err != nil {
		return nil, []*Error{err}
	}
	return docs, errs
}

// Each reads a stream as DecodeReader does, but hands the objects and errors of each
// document to f as soon as it is decoded, and keeps none: a caller that drops them holds
// one document at a time. A stream refused whole is known only when the reading reaches
// the cause: Each then returns that error, after handing on the documents before it,
// which the caller must discard as DecodeReader does.
func (d *Decoder) Each(source string, r io.Reader, f func([]*Document, []*Error)) *Error {
	sc, _ := d.scratches.Get().(*scratch)
	if sc == nil {
		sc = &scratch{lines: bufio.NewReaderSize(nil, lineBuffer)}
	}
	defer func() {
		sc.lines.Reset(nil) // holds no reader in the pool
		d.scratches.Put(sc)
	}()
	s := newSplitter(r, sc.lines)
	// Without the text kept, nothing decoded holds a document's bytes.
	s.reuse = !d.KeepText
	for {
		c, err := s.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			e := &Error{Source: source, Err: err}
			var le *lineError
			if errors.As(err, &le) {
				e.Line, e.Err = le.line, errors.New(le.msg)
			}
			return e
		}
		if ds, es := d.decodeChunk(source, c, sc); len(ds) > 0 || len(es) > 0 {
			f(ds, es)
		}
	}
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

// scratch is what decoding a stream may reuse from the one before: the buffer its lines are
// read through, the converter's path, line table and source, and the fast path's node
// storage. Nothing decoded refers to it.
type scratch struct {
	lines *bufio.Reader
	conv  converter
	src   source
	fast  fastParser
}

// decodeChunk decodes one document of a stream, reusing scratch.
func (d *Decoder) decodeChunk(source string, c chunk, scratch *scratch) ([]*Document, []*Error) {
	// Plain block YAML, which most manifests are, takes the fast path; the rest (and JSON,
	// whose strings yamlSafeJSON rewrites) goes through yaml.v3, which reports its errors.
	root, ok := (*yaml.Node)(nil), false
	if c.json {
		c.data = yamlSafeJSON(c.data)
	} else {
		root, ok = scratch.fast.parse(c.data)
	}
	if !ok {
		var errs []*Error
		if root, errs = parseYAML(source, c); root == nil {
			return nil, errs
		}
	}
	// The converter's path and line table are reused from one document to the next.
	conv := &scratch.conv
	scratch.src = newSource(c.data)
	*conv = converter{offset: c.offset, src: &scratch.src, segs: conv.segs[:0], lines: conv.lines[:0]}
	if conv.tag(root) == tagNull {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, []*Error{{Source: source, Line: c.offset + root.Line, Err: fmt.Errorf("document is a %s, not a Kubernetes object", nodeKind(root))}}
	}
	docs, errs := d.object(source, root, c, conv, rootHash, nil, nil)
	if len(docs) == 0 {
		return docs, errs
	}
	// Every object of the chunk shares its line table, which stays as long as they do: a
	// copy of its size, out of the converter's.
	table := append([]lineEntry(nil), conv.lines...)
	for _, doc := range docs {
		doc.lines = table
	}
	return docs, errs
}

// parseYAML parses a document (a JSON one made yamlSafeJSON) with yaml.v3 and returns its
// root node, or nil and the errors that refuse it (none for a document with no node).
func parseYAML(source string, c chunk) (*yaml.Node, []*Error) {
	// kubectl converts the first YAML document of each section and ignores the rest: a
	// second one (after a "..." line, or after a line break kubectl does not split at,
	// such as a lone carriage return) would be judged by nobody and applied by nobody.
	second := func(line int) []*Error {
		return []*Error{{Source: source, Line: line, Err: errors.New(`a second YAML document starts here without a "---" line: ` +
			`kubectl reads only the first document between two "---" lines and drops the rest`)}}
	}
	// The lines of the document, for clamping error lines; a YAML document's last line
	// ends with a line break (which kubectl adds when the stream has none). Counted only
	// for an error.
	lines := func() int {
		n := lineBreaks(c.data, false)
		if !bytes.HasSuffix(c.data, []byte("\n")) {
			n++
		}
		return n
	}
	// yaml.v3 reads some text with tabs that kubectl's parser (yaml.v2) refuses, such as a
	// tab before a comment after a comment line: a document with a tab that yaml.v3 reads
	// is read again as kubectl reads it, so that check does not pass what kubectl apply
	// refuses. (Tabs are rare in manifests; the fast path leaves them all to yaml.v3.)
	refusedByKubectl := func() []*Error {
		if bytes.IndexByte(c.data, '\t') < 0 {
			return nil
		}
		_, err := sigsyaml.YAMLToJSON(c.data)
		if err == nil {
			return nil
		}
		msg, line := yamlError(err, c.offset, lines())
		if line == 0 {
			line = c.offset + 1
		}
		return []*Error{{Source: source, Line: line, Err: errors.New(msg + "; yaml.v3 reads this document, but kubectl's older YAML parser refuses it")}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	var n yaml.Node
	if err := dec.Decode(&n); errors.Is(err, io.EOF) {
		return nil, refusedByKubectl() // blank
	} else if err != nil {
		msg, line := yamlError(err, c.offset, lines())
		// yaml.v3 reads ahead past the end of the first document; kubectl does not look.
		if end := documentEnd(c.data); end > 0 && line >= c.offset+end {
			return nil, second(c.offset + end)
		}
		if _, err := sigsyaml.YAMLToJSON(c.data); err == nil {
			// kubectl's parser (yaml.v2) is laxer on malformed YAML, such as text after a
			// flow collection that ends the document. Refuse rather than guess.
			msg += "; kubectl's older YAML parser reads this document anyway, but what it makes of it is not certain: fix the YAML"
		}
		return nil, []*Error{{Source: source, Line: line, Err: errors.New(msg)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := c.offset + extra.Line
		if err != nil {
			_, line = yamlError(err, c.offset, lines())
		}
		if end := documentEnd(c.data); end > 0 {
			line = c.offset + end
		}
		return nil, second(line)
	}
	if errs := refusedByKubectl(); errs != nil {
		return nil, errs
	}
	if len(n.Content) == 0 {
		return nil, nil // only comments
	}
	return n.Content[0], nil
}

// documentEnd returns the line of the first marker that ends a document inside a section
// ("..." or, after a line break kubectl does not split at, "---", once the document has
// content), or 0.
func documentEnd(data []byte) int {
	content := false
	line := 1
	for len(data) > 0 {
		end := len(data)
		next := end
		for i, b := range data {
			if b == '\n' || b == '\r' {
				end, next = i, i+1
				if b == '\r' && i+1 < len(data) && data[i+1] == '\n' {
					next++
				}
				break
			}
		}
		text := data[:end]
		if len(text) >= 3 && (len(text) == 3 || text[3] == ' ' || text[3] == '\t') {
			if string(text[:3]) == "..." || (string(text[:3]) == "---" && content) {
				return line
			}
		}
		if t := bytes.TrimLeft(text, " \t"); len(t) > 0 && t[0] != '#' && !bytes.HasPrefix(text, []byte("---")) {
			content = true
		}
		data = data[next:]
		line++
	}
	return 0
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

// topLevel is the top-level members of an object, as kubectl reads them: merge keys
// applied, keys converted (a key written twice is an error).
type topLevel []pair

func (t topLevel) get(key string) *pair {
	for i := range t {
		if t[i].key == key {
			return &t[i]
		}
	}
	return nil
}

// text returns the text of a member that is a string, or "".
func (t topLevel) text(c *converter, key string) string {
	if p := t.get(key); p != nil && resolve(p.v).Kind == yaml.ScalarNode {
		if r, err := resolve11(resolve(p.v), c.src); err == nil && r.tag == tagStr {
			return r.text
		}
	}
	return ""
}

// object decodes the object at node n (path hash h, path prefix inside its document), or
// the items of a list. A list item without kind and apiVersion gets them from its list
// (inherit), as kubectl gives them.
func (d *Decoder) object(source string, n *yaml.Node, c chunk, conv *converter, h uint64, prefix []string, inherit *schema.GroupVersionKind) ([]*Document, []*Error) {
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
		if conv.tag(n) == tagNull {
			// kubectl would make it an object of the list's kind and nothing else.
			return fail(fmt.Errorf("list item is empty (null), not an object"))
		}
		return fail(fmt.Errorf("list item is not an object"))
	}
	top, err := conv.pairs(n)
	if err != nil {
		return fail(err)
	}
	apiVersion, kind := topLevel(top).text(conv, "apiVersion"), topLevel(top).text(conv, "kind")
	inherited := inherit != nil && apiVersion == "" && kind == ""
	if inherited {
		apiVersion, kind = inherit.GroupVersion().String(), inherit.Kind
	}
	var keyNode, items *yaml.Node
	if p := topLevel(top).get("items"); p != nil {
		keyNode, items = p.k, p.v
	}
	if items != nil && inherit != nil && resolve(items).Kind == yaml.SequenceNode {
		return fail(fmt.Errorf("a list inside a list: kubectl refuses it; move its items up"))
	}
	switch {
	case kind == "":
		return fail(fmt.Errorf("object has no kind; every manifest needs apiVersion and kind"))
	case apiVersion == "":
		return fail(fmt.Errorf("%s has no apiVersion; every manifest needs apiVersion and kind", kind))
	}
	if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
		// kubectl's reader takes no kind from such an apiVersion, and refuses the object.
		return fail(fmt.Errorf("%s has apiVersion %q, which is not group/version or version; kubectl refuses it", kind, apiVersion))
	}
	if items != nil && inherit == nil {
		// kubectl reads any object with an items member as a list of them, whatever its
		// kind (unstructured.UnstructuredJSONScheme), and applies the items, not the list:
		// a ConfigMap with items is not a ConfigMap. Items: null is a list of none.
		// kubectl converts the whole document to JSON first: what does not convert fails
		// it, items or not.
		for _, p := range top {
			if p.key == "items" {
				continue
			}
			v, err := conv.value(p.v, pathHash(h, p.key), p.k.Line)
			if err != nil {
				return fail(err)
			}
			if p.key == "metadata" {
				if err := validMetadata(v); err != nil {
					return fail(err)
				}
			}
		}
		list := resolve(items)
		if conv.tag(list) == tagNull {
			return nil, nil
		}
		if list.Kind != yaml.SequenceNode {
			line = c.offset + keyNode.Line
			return fail(fmt.Errorf("%s: items is not a list of objects; kubectl reads any object with items as a list", kind))
		}
		ih := pathHash(h, []byte("items"))
		conv.lines = append(conv.lines, lineEntry{hash: ih, line: int32(c.offset + keyNode.Line)}) //nolint:gosec // lines fit in int32
		itemGVK := schema.FromAPIVersionAndKind(apiVersion, strings.TrimSuffix(kind, "List"))
		var docs []*Document
		var errs []*Error
		for i, item := range list.Content {
			p := append(append([]string{}, prefix...), "items", strconv.Itoa(i))
			ds, es := d.object(source, item, c, conv, pathHash(ih, []byte(strconv.Itoa(i))), p, &itemGVK)
			for _, e := range es {
				if e.Path != "" {
					e.Path = fmt.Sprintf("items[%d].%s", i, e.Path)
				}
			}
			docs, errs = append(docs, ds...), append(errs, es...)
		}
		return docs, errs
	}
	doc := &Document{Source: source, Line: line, prefix: prefix}
	if d.KeepText {
		doc.raw = c.data
	}
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	if !d.scheme.Recognizes(gvk) {
		v, err := conv.value(n, h, 0)
		if err != nil {
			return fail(err)
		}
		doc.Object = v.(map[string]any)
		if inherited {
			doc.Object["apiVersion"], doc.Object["kind"] = apiVersion, kind
		}
		if err := validMetadata(doc.Object["metadata"]); err != nil {
			return fail(err)
		}
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
		// v1 List without items, Status, the options kinds: the scheme knows them, but
		// the API server serves no resource of them (kubectl sends a v1 List item and
		// the server answers NotFound).
		return fail(fmt.Errorf("%s %s is not a kind the API server serves: kubectl sends it, and the server answers that it could not find the requested resource", apiVersion, kind))
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

// validMetadata checks that metadata is object metadata, as kubectl checks it of the
// objects it does not know the schema of (cli-runtime's metadataValidatingDecoder).
func validMetadata(md any) error {
	if md == nil {
		return nil
	}
	data, err := json.Marshal(md)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	var meta metav1.ObjectMeta
	if err := utiljson.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("metadata is not object metadata: %w", err)
	}
	return nil
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
