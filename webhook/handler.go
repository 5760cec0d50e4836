package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
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

// MaxRequestBytes bounds an AdmissionReview body. The API server accepts objects up to 3 MiB,
// and an UPDATE carries the object and its old version, so the bound is controller-runtime's
// 7 MiB: a larger body is not a request the API server sends.
const MaxRequestBytes = 7 << 20

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
	Self string
	// Degradations, when set, add their warnings to every verdict of the validating webhook.
	Degradations *Degradations
	Log          logr.Logger
	Metrics      *Metrics

	reviewers reviewers
}

// answer is a handler's response to one request, with what the metrics record.
type answer struct {
	resp      *admissionv1.AdmissionResponse
	kind      string
	operation string
	outcome   string
}

// ServeHTTP answers every request with HTTP 200 and an AdmissionReview, as controller-runtime
// does: the API server treats any other status as a failed call, which failurePolicy would
// decide, so a request sctpguard cannot judge (malformed, too large, or one that makes
// sctpguard fail or panic) is denied, with the reason and its HTTP code inside the response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := h.answer(r)
	h.Metrics.observe(h.Mode, a.kind, a.operation, a.outcome, time.Since(start))
	writeReview(w, a.resp)
}

// answer reads and judges one request. It recovers a panic into a denial.
func (h *Handler) answer(r *http.Request) (a answer) {
	var uid types.UID
	defer func() {
		if p := recover(); p != nil {
			a.resp = h.panicked(p, uid, a.kind, a.operation)
			a.resp.UID = uid
			a.outcome = outcomePanic
		}
	}()
	review, code, err := readReview(r)
	if review != nil && review.Request != nil {
		uid = review.Request.UID
	}
	if err != nil {
		h.Log.Info("bad admission request", "code", code, "error", err.Error(), "remote", r.RemoteAddr, "uid", uid)
		a.resp, a.outcome = errored(code, err), outcomeBadRequest
		if review != nil && review.Request != nil {
			a.kind, a.operation = review.Request.Kind.Kind, string(review.Request.Operation)
		}
		a.resp.UID = uid
		return a
	}
	req := review.Request
	a.kind, a.operation = req.Kind.Kind, string(req.Operation)
	a.resp, a.outcome = h.reviewInTime(r.Context(), req)
	a.resp.UID = uid
	return a
}

// panicked logs a recovered panic, with its stack, and denies the object.
func (h *Handler) panicked(p any, uid types.UID, kind, operation string) *admissionv1.AdmissionResponse {
	h.Log.Error(fmt.Errorf("panic: %v", p), "review panicked; the object is denied", "uid", uid, "kind", kind,
		"operation", operation, "stack", string(debug.Stack()))
	return couldNotJudge(fmt.Errorf("internal error (sctpguard's log has the details under request uid %q)", uid))
}

// reviewInTime judges a request, and denies it with the reason if the judgement is not done
// when ctx ends (the server's deadline, before the write timeout and the API server's own):
// a review slowed by a huge object on a busy node is still answered with a verdict, never by
// a connection the server cuts, which the API server would leave to failurePolicy.
func (h *Handler) reviewInTime(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	type result struct {
		resp    *admissionv1.AdmissionResponse
		outcome string
	}
	done := make(chan result, 1)
	h.reviewers.run(func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{h.panicked(p, req.UID, req.Kind.Kind, string(req.Operation)), outcomePanic}
			}
		}()
		resp, outcome := h.review(ctx, req)
		done <- result{resp, outcome}
	})
	// A review that ends in an error once ctx has ended was cut short by the deadline (the
	// user policies stop at it): its answer is the deadline's, not the error's.
	select {
	case r := <-done:
		if ctx.Err() == nil || r.outcome != outcomeError {
			return r.resp, r.outcome
		}
	case <-ctx.Done():
		select {
		case r := <-done:
			if r.outcome != outcomeError {
				return r.resp, r.outcome
			}
		default:
		}
	}
	h.Log.Info("review did not finish in time; the object is denied", "uid", req.UID, "kind", req.Kind.Kind, "operation", req.Operation)
	resp := errored(http.StatusGatewayTimeout, fmt.Errorf("sctpguard could not judge the object in time, so it is denied: %w; "+
		"try again, or check it with sctpguard check", context.Cause(ctx)))
	return resp, outcomeError
}

func reasonFor(code int) metav1.StatusReason {
	switch code {
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
	case http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonBadRequest
}

// readReview reads and checks the AdmissionReview of a request. On error it returns the
// HTTP code that names the problem (carried inside the response) and, when the body could
// be read at least in part, the review, so the answer can carry the request's uid.
func readReview(r *http.Request) (*admissionv1.AdmissionReview, int, error) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s: admission reviews are POSTed", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" { // what the API server sends, without parsing
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: an AdmissionReview is application/json", ct)
		}
	}
	body, err := readBody(r)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > MaxRequestBytes {
		// The uid comes first in what the API server sends: the denial can still name it.
		review := &admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: uidOfPrefix(body)}}
		return review, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is over %d bytes, more than the API server sends for an object "+
			"and its old version; sctpguard cannot judge it", MaxRequestBytes)
	}
	if len(body) == 0 {
		return nil, http.StatusBadRequest, errors.New("request body is empty; expected an admission.k8s.io/v1 AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &review); err != nil {
		// The envelope does not decode; its uid may still be found, so the API server
		// gets a denial it can match to its call.
		partial := &admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: uidOfPrefix(body)}}
		return partial, http.StatusBadRequest, fmt.Errorf("request body is not an AdmissionReview: %w", err)
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

// readBody reads at most MaxRequestBytes+1 bytes of the body, into a buffer of the declared
// length when there is one (the API server declares it), not one grown and copied as it
// fills.
func readBody(r *http.Request) ([]byte, error) {
	limited := io.LimitReader(r.Body, MaxRequestBytes+1)
	if r.ContentLength <= 0 || r.ContentLength > MaxRequestBytes {
		return io.ReadAll(limited)
	}
	buf := make([]byte, 0, r.ContentLength+1) // +1: the end is seen without growing
	for {
		n, err := limited.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) { // longer than declared: the rest as it comes
			rest, err := io.ReadAll(limited)
			return append(buf, rest...), err
		}
	}
}

// uidOfPrefix finds request.uid at the start of an AdmissionReview that is too large or does
// not decode. The API server writes apiVersion, kind, then the request with its uid first, so
// the first bytes name it; anything else gives "".
func uidOfPrefix(body []byte) types.UID {
	dec := json.NewDecoder(bytes.NewReader(body))
	if !enterKey(dec, "request") || !enterKey(dec, "uid") {
		return ""
	}
	uid, _ := dec.Token()
	s, _ := uid.(string)
	return types.UID(s)
}

// enterKey reads the opening of a JSON object and its members up to key, skipping the
// others' values; it reports whether the decoder now stands before key's value.
func enterKey(dec *json.Decoder, key string) bool {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		if k == key {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// review judges or defaults one admission request and returns the response and the outcome
// for metrics.
func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	op := policy.Operation(req.Operation)
	if op != policy.OperationCreate && op != policy.OperationUpdate {
		return allowed(fmt.Sprintf("sctpguard judges CREATE and UPDATE, not %s", op)), outcomeSkipped
	}
	if h.Self != "" && req.UserInfo.Username == h.Self {
		return allowed("request from sctpguard's own service account"), outcomeSkipped
	}
	pol := h.Policy()
	if pol.Exempt(req.Namespace) {
		return allowed(fmt.Sprintf("namespace %s is exempt from sctpguard", req.Namespace)), outcomeExempt
	}
	gvk := schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind}
	obj, err := h.decode(gvk, req.Object.Raw, "object")
	if err != nil {
		return h.badRequest(req, err)
	}
	if err := inRequestNamespace(obj, req.Namespace, "object"); err != nil {
		return h.badRequest(req, err)
	}
	r := &policy.Review{Operation: op, Object: obj, UserInfo: req.UserInfo, DryRun: req.DryRun != nil && *req.DryRun}
	if op == policy.OperationUpdate {
		if r.OldObject, err = h.decode(gvk, req.OldObject.Raw, "oldObject"); err != nil {
			return h.badRequest(req, err)
		}
		if err := inRequestNamespace(r.OldObject, req.Namespace, "oldObject"); err != nil {
			return h.badRequest(req, err)
		}
	}
	env := h.Env.Env()
	if h.Mode == Mutate {
		return h.mutate(ctx, req, pol, r, env)
	}
	findings, err := pol.Validate(ctx, r, env)
	if err != nil {
		h.requestLog(req).Error(err, "review failed; the object is denied")
		return couldNotJudge(err), outcomeError
	}
	h.Metrics.countFindings(findings)
	for _, f := range findings {
		if f.Action == policy.ActionDryRun {
			// Gatekeeper's dryrun: nothing for the user, a log line and a count for the team.
			h.requestLog(req).Info("dry-run finding", "rule", f.Rule, "path", f.Path, "message", f.Message)
		}
	}
	return decide(findings, h.Degradations.Warnings())
}

// badRequest denies a request sctpguard cannot judge as it was sent (an object that does
// not decode, say), with the reason, and logs it, as answer logs a body that is not a review.
func (h *Handler) badRequest(req *admissionv1.AdmissionRequest, err error) (*admissionv1.AdmissionResponse, string) {
	h.requestLog(req).Info("bad admission request", "code", http.StatusBadRequest, "error", err.Error())
	return errored(http.StatusBadRequest, err), outcomeBadRequest
}

// inRequestNamespace puts an object of the request in the request's namespace, as the API
// server does before admission (rest.EnsureObjectNamespaceMatchesRequestNamespace, in its
// create, update and patch handlers). An object without a namespace takes the request's: one
// judged without it would be looked up in no namespace, its Gateway or backends not found,
// and allowed where check, which gives it its namespace, denies it (FuzzHandler found a
// ListenerSet so). An object in another namespace is an error: the API server refuses it
// ("the namespace of the provided object does not match the namespace sent on the request")
// before any webhook is called, so only a client posting to sctpguard directly sends one,
// and sctpguard does not judge an object in a namespace its request does not name.
// Cluster-scoped kinds (no request namespace) are left as they are.
func inRequestNamespace(obj policy.Object, namespace, field string) error {
	switch own := obj.GetNamespace(); {
	case namespace == "" || own == namespace:
		return nil
	case own == "":
		obj.SetNamespace(namespace)
		return nil
	default:
		return fmt.Errorf("request.%s is in namespace %q, but the request is for namespace %q; sctpguard judges an object only in "+
			"its request's namespace, as the API server does, which refuses such a request before admission", field, own, namespace)
	}
}

// decode decodes an object of the request into its Go type. The API server has defaulted
// it; the defaults are applied again (a no-op) so a request from any client is judged as
// check judges it. A kind the scheme does not know is an error: the webhook configurations
// send only kinds sctpguard judges, so it is a request sctpguard cannot judge.
func (h *Handler) decode(gvk schema.GroupVersionKind, raw []byte, field string) (policy.Object, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("request.%s is missing", field)
	}
	rt, err := h.Scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("request.kind %s is not a kind sctpguard judges; upgrade sctpguard or remove it from sctpguard's webhook configurations", gvk)
	}
	obj, ok := rt.(policy.Object)
	if !ok {
		return nil, fmt.Errorf("request.kind %s is not an object sctpguard judges", gvk)
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

// requestLog is the handler's logger with the request's identity. It is made only to log: a
// logger with values costs a copy of them on every review.
func (h *Handler) requestLog(req *admissionv1.AdmissionRequest) logr.Logger {
	return h.Log.WithValues("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
}

func (h *Handler) mutate(ctx context.Context, req *admissionv1.AdmissionRequest, pol Policy, r *policy.Review, env policy.Env) (*admissionv1.AdmissionResponse, string) {
	raw := req.Object.Raw
	mutated, applied, err := pol.Mutate(ctx, r, env)
	if err != nil {
		h.requestLog(req).Error(err, "mutation failed; the object is denied")
		return couldNotJudge(err), outcomeError
	}
	if mutated == nil {
		return allowed("no defaults to apply"), outcomeAllowed
	}
	ops, err := policy.RawPatch(raw, r.Object, mutated)
	if err != nil {
		h.requestLog(req).Error(err, "computing the patch failed; the object is denied")
		return couldNotJudge(err), outcomeError
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return couldNotJudge(err), outcomeError
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
	}, outcomeMutated
}

// writeReview writes an admission.k8s.io/v1 AdmissionReview with the response, always with
// HTTP 200: the verdict and its code are inside.
func writeReview(w http.ResponseWriter, resp *admissionv1.AdmissionResponse) {
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out) // a failed write means the caller is gone
}
