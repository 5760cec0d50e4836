// Package manifest decodes Kubernetes manifests (multi-document YAML, JSON streams, List
// kinds) into the typed objects the policy engine judges, keeping where each object and each
// field came from so findings can name a file and line.
//
// It reads a stream as `kubectl apply -f` does, so that the objects judged are the objects
// kubectl sends: documents are split where apimachinery's YAML-or-JSON decoder splits them
// (CRLF files too), scalars and keys are read by YAML 1.1 as sigs.k8s.io/yaml reads them
// (yes is true), and any object with items is a list. Where kubectl would silently drop
// or pick (a second document after "...", the later of two values of a key), sctpguard
// refuses with the reason. A differential fuzz test holds it to kubectl's own libraries.
// Streams are read one document at a time, never held whole.
//
// It applies what the API server would before admission: the default namespace and the
// defaults of policy.ApplyDefaults. Fields the Go types do not know are reported, as
// kubectl's strict field validation reports them; a value of the wrong type is an error
// that names its field path and line. Decoding works on bytes; reading files is the caller's.
package manifest
