package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	sigsjson "sigs.k8s.io/json"

	"github.com/sctpguard/sctpguard/policy"
)

// MaxRequestBytes bounds an AdmissionReview body. The API server accepts objects up to 3 MiB;
// the kinds sctpguard judges are a few kilobytes, so a larger body is not a real request.
const MaxRequestBytes = 3 << 20

// Mode is what a handler does: judge or default.
type Mode string

// Handler modes.
const (
	Validate Mode = "validate"
	Mutate   Mode = "mutate"
)

// Policy is the engine a handler calls; *policy.Engine implements it.
type Policy interface {
	Validate(ctx context.Context, r *policy.Review, env policy.Env) ([]policy.Finding, error)
	Mutate(ctx context.Context, r *policy.Review, env policy.Env) (policy.Object, []policy.RuleID, error)
	Exempt(namespace string) bool
}

var _ Policy = (*policy.Engine)(nil)

// EnvSource gives the environment a review is judged in: the current AKO context and the
// inventory. It is read once per request.
type EnvSource interface {
	Env() policy.Env
}

// Handler serves one admission webhook over HTTP.
type Handler struct {
	Mode   Mode
	Policy func() Policy
	Env    EnvSource
	// Scheme decodes the objects of the kinds sctpguard judges.
	Scheme *runtime.Scheme
	// Self is the username of sctpguard's own service account; its requests are allowed.
	Self    string
	Log     logr.Logger
	Metrics *Metrics
}

// ServeHTTP checks the envelope (method, content type, size, AdmissionReview v1 with a
// request), answering 4xx with a clear message when it is wrong, then reviews the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	review, status, err := h.readReview(r)
	if err != nil {
		h.Metrics.observe(h.Mode, "", "", outcomeBadRequest, time.Since(start))
		h.Log.Info("bad admission request", "status", status, "error", err.Error(), "remote", r.RemoteAddr)
		//nolint:gosec // HTTP status codes fit in int32
		writeReview(w, status, &admissionv1.AdmissionResponse{
			UID:    uidOf(review),
			Result: &metav1.Status{Status: metav1.StatusFailure, Code: int32(status), Reason: reasonFor(status), Message: err.Error()},
		})
		return
	}
	req := review.Request
	resp, outcome, status := h.review(r.Context(), req)
	resp.UID = req.UID
	h.Metrics.observe(h.Mode, req.Kind.Kind, string(req.Operation), outcome, time.Since(start))
	writeReview(w, status, resp)
}

func uidOf(r *admissionv1.AdmissionReview) types.UID {
	if r != nil && r.Request != nil {
		return r.Request.UID
	}
	return ""
}

func reasonFor(status int) metav1.StatusReason {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return metav1.StatusReasonRequestEntityTooLarge
	case http.StatusMethodNotAllowed:
		return metav1.StatusReasonMethodNotAllowed
	case http.StatusUnsupportedMediaType:
		return metav1.StatusReasonUnsupportedMediaType
	case http.StatusInternalServerError:
		return metav1.StatusReasonInternalError
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	}
	return metav1.StatusReasonBadRequest
}

// readReview reads and checks the AdmissionReview of a request.
func (h *Handler) readReview(r *http.Request) (*admissionv1.AdmissionReview, int, error) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s: admission reviews are POSTed", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: an AdmissionReview is application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > MaxRequestBytes {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is over %d bytes; no object sctpguard judges is that large", MaxRequestBytes)
	}
	if len(body) == 0 {
		return nil, http.StatusBadRequest, errors.New("request body is empty; expected an admission.k8s.io/v1 AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &review); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("request body is not an AdmissionReview: %w", err)
	}
	if gvk := review.GroupVersionKind(); gvk != admissionv1.SchemeGroupVersion.WithKind("AdmissionReview") {
		return &review, http.StatusBadRequest, fmt.Errorf("got apiVersion %q kind %q; sctpguard answers admission.k8s.io/v1 AdmissionReview", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return &review, http.StatusBadRequest, errors.New("AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return &review, http.StatusBadRequest, errors.New("AdmissionReview request has no uid")
	}
	return &review, http.StatusOK, nil
}

// review judges or defaults one admission request. It returns the response, the outcome for
// metrics and the HTTP status (200 unless the request content itself is malformed).
func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string, int) {
	log := h.Log.WithValues("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	op := policy.Operation(req.Operation)
	if op != policy.OperationCreate && op != policy.OperationUpdate {
		return allowed(fmt.Sprintf("sctpguard judges CREATE and UPDATE, not %s", op)), outcomeSkipped, http.StatusOK
	}
	if h.Self != "" && req.UserInfo.Username == h.Self {
		return allowed("request from sctpguard's own service account"), outcomeSkipped, http.StatusOK
	}
	pol := h.Policy()
	if pol.Exempt(req.Namespace) {
		return allowed(fmt.Sprintf("namespace %s is exempt from sctpguard", req.Namespace)), outcomeExempt, http.StatusOK
	}
	gvk := schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind}
	obj, err := h.decode(gvk, req.Object.Raw, "object")
	if err != nil {
		return badRequest(err), outcomeBadRequest, http.StatusBadRequest
	}
	if obj == nil {
		return allowed(fmt.Sprintf("sctpguard does not judge %s", gvk)), outcomeSkipped, http.StatusOK
	}
	r := &policy.Review{Operation: op, Object: obj, UserInfo: req.UserInfo, DryRun: req.DryRun != nil && *req.DryRun}
	if op == policy.OperationUpdate && len(req.OldObject.Raw) > 0 {
		if r.OldObject, err = h.decode(gvk, req.OldObject.Raw, "oldObject"); err != nil {
			return badRequest(err), outcomeBadRequest, http.StatusBadRequest
		}
	}
	env := h.Env.Env()
	if h.Mode == Mutate {
		return h.mutate(ctx, log, pol, r, env)
	}
	findings, err := pol.Validate(ctx, r, env)
	if err != nil {
		log.Error(err, "review failed")
		return internalError(err), outcomeError, http.StatusOK
	}
	h.Metrics.countFindings(findings)
	for _, f := range findings {
		if f.Action == policy.ActionDryRun {
			// Gatekeeper's dryrun: nothing for the user, a log line and a count for the team.
			log.Info("dry-run finding", "rule", f.Rule, "path", f.Path, "message", f.Message)
		}
	}
	return decide(findings)
}

// decode decodes an object of the request into its Go type; nil for kinds sctpguard does not
// know. The API server has defaulted it; the defaults are applied again (a no-op) so a
// request from any client is judged as check judges it.
func (h *Handler) decode(gvk schema.GroupVersionKind, raw []byte, field string) (policy.Object, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("request.%s is missing", field)
	}
	if !h.Scheme.Recognizes(gvk) {
		return nil, nil
	}
	rt, err := h.Scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("request.%s: %w", field, err)
	}
	obj, ok := rt.(policy.Object)
	if !ok {
		return nil, nil
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, obj); err != nil {
		return nil, fmt.Errorf("request.%s is not a %s: %w", field, gvk.Kind, err)
	}
	if got := obj.GetObjectKind().GroupVersionKind(); !got.Empty() && got != gvk {
		return nil, fmt.Errorf("request.%s is a %s, but request.kind says %s", field, got, gvk)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	policy.ApplyDefaults(obj)
	return obj, nil
}

func (h *Handler) mutate(ctx context.Context, log logr.Logger, pol Policy, r *policy.Review, env policy.Env) (*admissionv1.AdmissionResponse, string, int) {
	mutated, applied, err := pol.Mutate(ctx, r, env)
	if err != nil {
		log.Error(err, "mutation failed")
		return internalError(err), outcomeError, http.StatusOK
	}
	if mutated == nil {
		return allowed("no defaults to apply"), outcomeAllowed, http.StatusOK
	}
	ops, err := policy.Patch(r.Object, mutated)
	if err != nil {
		log.Error(err, "computing the patch failed")
		return internalError(err), outcomeError, http.StatusOK
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return internalError(err), outcomeError, http.StatusOK
	}
	ids := make([]string, len(applied))
	for i, id := range applied {
		ids[i] = string(id)
	}
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{
		Allowed:          true,
		Patch:            patch,
		PatchType:        &pt,
		AuditAnnotations: map[string]string{"mutations": strings.Join(ids, ",")},
	}, outcomeMutated, http.StatusOK
}

// decide maps findings to the response: denied with every denying finding, one per line,
// and warnings for the rest (on denials too, so nothing is hidden).
func decide(findings []policy.Finding) (*admissionv1.AdmissionResponse, string, int) {
	var deny []string
	var warnings []string
	for _, f := range findings {
		switch f.Action {
		case policy.ActionDeny:
			deny = append(deny, f.String())
		case policy.ActionWarn:
			warnings = append(warnings, f.Warning())
		}
	}
	slices.Sort(warnings)
	warnings = slices.Compact(warnings)
	if len(deny) > 0 {
		return &admissionv1.AdmissionResponse{
			Allowed:  false,
			Warnings: warnings,
			Result: &metav1.Status{
				Status:  metav1.StatusFailure,
				Code:    http.StatusForbidden,
				Reason:  metav1.StatusReasonForbidden,
				Message: strings.Join(deny, "\n"),
			},
		}, outcomeDenied, http.StatusOK
	}
	outcome := outcomeAllowed
	if len(warnings) > 0 {
		outcome = outcomeWarned
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}, outcome, http.StatusOK
}

func allowed(reason string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Result: &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: reason}}
}

func badRequest(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: err.Error()}}
}

func internalError(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError,
		Message: "sctpguard could not judge the object: " + err.Error(),
	}}
}

// writeReview writes an admission.k8s.io/v1 AdmissionReview with the response.
func writeReview(w http.ResponseWriter, status int, resp *admissionv1.AdmissionResponse) {
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out) // a failed write means the caller is gone
}
