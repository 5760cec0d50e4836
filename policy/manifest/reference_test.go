package manifest_test

import (
	"bytes"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/sctpguard/sctpguard/test/kubectlread"
)

// kubectlObjects reads a stream as `kubectl apply -f` does, with kubectl's own libraries.
func kubectlObjects(data []byte) ([]map[string]any, error) {
	return kubectlread.Read(bytes.NewReader(data))
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
	"is not a kind the API server serves", // kubectl sends it; the API server answers NotFound
}

func isStricter(msg string) bool {
	for _, s := range stricter {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
