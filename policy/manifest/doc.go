// Package manifest decodes Kubernetes manifests (multi-document YAML, JSON streams, List
// kinds) into the typed objects the policy engine judges, keeping where each object and each
// field came from so findings can name a file and line.
//
// It applies what the API server would before admission: the default namespace and the
// defaults of policy.ApplyDefaults. Fields the Go types do not know are reported, as
// kubectl's strict field validation reports them; a value of the wrong type is an error
// that names its field path and line. Decoding works on bytes; reading files is the caller's.
package manifest
