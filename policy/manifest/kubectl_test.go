package manifest_test

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// kubectlObjects reads a stream as `kubectl apply -f` does before it talks to the API
// server, with kubectl's own libraries, and returns the objects it would send: the
// reference sctpguard's decoder is held to.
//
// The steps are cli-runtime's (k8s.io/cli-runtime/pkg/resource), for the builder kubectl
// apply uses (Unstructured, Flatten):
//   - StreamVisitor.Visit: apimachinery's yaml.NewYAMLOrJSONDecoder with a 4096-byte JSON
//     guess; each document into a runtime.RawExtension (YAML through sigs.k8s.io/yaml);
//     empty and null documents skipped; any error ends the stream.
//   - mapper.infoForData with metadataValidatingDecoder: unstructured.UnstructuredJSONScheme
//     (an object with an items member is a list; kind is required), and the object must
//     decode into TypeMeta and ObjectMeta.
//   - FlattenListVisitor: a list becomes its items, recursively; each item needs a kind
//     and an apiVersion (unstructuredObjectTyper.ObjectKinds).
//
// Past the client, the API server refuses an object without apiVersion; so does the
// reference, as sctpguard does.
func kubectlObjects(data []byte) ([]map[string]any, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for {
		var ext runtime.RawExtension
		if err := d.Decode(&ext); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		raw := bytes.TrimSpace(ext.Raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, nil)
		if err != nil {
			return nil, err
		}
		var m struct {
			metav1.TypeMeta   `json:""`
			metav1.ObjectMeta `json:"metadata,omitempty"`
		}
		if err := utiljson.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		items, err := flatten(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
}

// flatten is FlattenListVisitor: the objects of a list, or the object.
func flatten(obj runtime.Object) ([]map[string]any, error) {
	if !meta.IsListType(obj) {
		return object(obj)
	}
	var out []map[string]any
	toDo := []runtime.Object{obj}
	for i := 0; i < len(toDo); i++ {
		if !meta.IsListType(toDo[i]) {
			o, err := object(toDo[i])
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
			continue
		}
		items, err := meta.ExtractList(toDo[i])
		if err != nil {
			return nil, err
		}
		toDo = append(toDo, items...)
	}
	return out, nil
}

// object is one object kubectl would send, if the API server would take it.
func object(obj runtime.Object) ([]map[string]any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, errors.New("not an object")
	}
	switch {
	case u.GetKind() == "":
		return nil, errors.New("object has no kind field")
	case u.GetAPIVersion() == "":
		return nil, errors.New("object has no apiVersion field")
	}
	return []map[string]any{u.Object}, nil
}

// comparable returns an object as JSON would carry it, without an empty namespace: the
// namespace is kubectl's to fill in from the context, sctpguard's from --namespace.
func comparable(obj map[string]any) (any, error) {
	data, err := utiljson.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := utiljson.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	if md, ok := out["metadata"].(map[string]any); ok {
		if ns, ok := md["namespace"].(string); ok && ns == "" {
			delete(md, "namespace")
		}
	}
	return out, nil
}

// stricter lists what sctpguard refuses on purpose where kubectl goes on, each a message
// start: it fails closed, with a message, where kubectl would send something the user
// most likely did not mean (the later of two values of a key, a document after "...", the
// merged value over the one written) or the API server would refuse.
var stricter = []string{
	"is set twice in one mapping",
	"a second YAML document starts here",
	"has no apiVersion",
	"metadata.name is missing", // of a kind sctpguard knows: the API server would refuse it
	"binary content",
	"invalid UTF-8",
	"document expands to more than",
	"nesting deeper than",
	"kubectl's older YAML parser reads this document anyway",
	"is set before the merge key",
	"a second merge key",
	"metadata is not object metadata",
	"list item is empty (null)",
}

func isStricter(msg string) bool {
	for _, s := range stricter {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
