// Package kubectlread reads manifests as `kubectl apply -f` does before it talks to the API
// server, with kubectl's own libraries: the reference that sctpguard's manifest decoder is
// held to in its differential fuzz test, and the baseline of its benchmarks.
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
// Past the client, the API server refuses an object without apiVersion; so does Read.
// cli-runtime itself is not a dependency: it would bring kustomize and more for the few
// calls above, which are apimachinery's.
package kubectlread

import (
	"bytes"
	"errors"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Read returns the objects kubectl would send for a stream, in order, or the error that
// makes kubectl refuse it.
func Read(r io.Reader) ([]map[string]any, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
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
	var out []map[string]any
	toDo := []runtime.Object{obj}
	for i := 0; i < len(toDo); i++ {
		if !meta.IsListType(toDo[i]) {
			o, err := object(toDo[i])
			if err != nil {
				return nil, err
			}
			out = append(out, o)
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
func object(obj runtime.Object) (map[string]any, error) {
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
	return u.Object, nil
}
