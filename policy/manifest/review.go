package manifest

import (
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sctpguard/sctpguard/policy"
)

// IsAdmissionReview reports whether the document is an AdmissionReview (admission.k8s.io
// v1 or v1beta1): a request to judge, not a manifest.
func (d *Document) IsAdmissionReview() bool {
	ref := d.Ref()
	return ref.Kind == "AdmissionReview" && (ref.APIVersion == admissionv1.SchemeGroupVersion.String() || ref.APIVersion == "admission.k8s.io/v1beta1")
}

// ReviewPath is where an AdmissionReview holds the object under review, for LineOf.
const ReviewPath = "request.object"

// Review reads an AdmissionReview document as the review it asks for, as the API server
// would send it to the webhook: the operation, the user, dry run, and the object and old
// object decoded and defaulted like manifests (in the request's namespace). On DELETE the
// object is absent.
func (d *Decoder) Review(doc *Document) (*policy.Review, error) {
	if !doc.IsAdmissionReview() {
		return nil, fmt.Errorf("%s is not an AdmissionReview", doc.Ref().Kind)
	}
	raw, err := json.Marshal(doc.Object["request"])
	if err != nil {
		return nil, fmt.Errorf("AdmissionReview request: %w", err)
	}
	var req struct {
		Namespace string                    `json:"namespace"`
		Operation string                    `json:"operation"`
		UserInfo  authenticationv1.UserInfo `json:"userInfo"`
		DryRun    *bool                     `json:"dryRun"`
		Object    json.RawMessage           `json:"object"`
		OldObject json.RawMessage           `json:"oldObject"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("AdmissionReview request: %w", err)
	}
	if string(raw) == "null" {
		return nil, errors.New("AdmissionReview has no request")
	}
	r := &policy.Review{Operation: policy.Operation(req.Operation), UserInfo: req.UserInfo, DryRun: req.DryRun != nil && *req.DryRun}
	namespace := req.Namespace
	if namespace == "" {
		namespace = d.namespace
	}
	dec := NewDecoder(d.scheme, namespace)
	for _, part := range []struct {
		name string
		raw  json.RawMessage
		dst  *policy.Object
	}{{"object", req.Object, &r.Object}, {"oldObject", req.OldObject, &r.OldObject}} {
		if len(part.raw) == 0 || string(part.raw) == "null" {
			continue
		}
		docs, errs := dec.Decode(doc.Source, part.raw)
		if len(errs) > 0 {
			return nil, fmt.Errorf("AdmissionReview request.%s: %w", part.name, errs[0].Err)
		}
		if len(docs) != 1 {
			return nil, fmt.Errorf("AdmissionReview request.%s: want one object, got %d", part.name, len(docs))
		}
		if docs[0].Typed != nil {
			*part.dst = docs[0].Typed
		} else {
			*part.dst = &unstructured.Unstructured{Object: docs[0].Object}
		}
	}
	if r.Object == nil && r.OldObject == nil {
		return nil, errors.New("AdmissionReview request has neither object nor oldObject")
	}
	return r, nil
}
