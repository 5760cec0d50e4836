package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/check"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// fuzzInventory is what the fuzzed objects are judged against, in the cluster (the webhook's
// inventory) and offline (check's input set): AKO's classes and a Gateway for ListenerSets.
const fuzzInventory = `apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata: {name: avi-lb}
spec: {controller: ako.vmware.com/avi-lb}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: avi}
spec: {controllerName: ako.vmware.com/avi-lb}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: parent, namespace: telco}
spec:
  gatewayClassName: avi
  listeners: [{name: web, port: 80, protocol: HTTP}]
`

// fuzzModes are AKO's modes the fuzzed objects are judged in.
var fuzzModes = []string{"NodePortLocal", "ClusterIP", "NodePort"}

// fuzzKinds are the kinds and versions the webhook configurations send, in a fixed order.
func fuzzKinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for gvk := range reachFixtures {
		out = append(out, gvk)
	}
	// Map order varies; the fuzzer's kind byte must mean the same kind every run.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].String() < out[i].String() {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// envelope wraps objects in a well-formed AdmissionReview of the kind, as the API server sends it.
func envelope(gvk schema.GroupVersionKind, op admissionv1.Operation, object, old []byte) []byte {
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	if strings.HasSuffix(gvk.Kind, "Gateway") || gvk.Kind == "ListenerSet" {
		plural.Resource = strings.ToLower(gvk.Kind) + "s"
	}
	req := map[string]any{
		"uid":       "uid-1",
		"kind":      map[string]string{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
		"resource":  map[string]string{"group": gvk.Group, "version": gvk.Version, "resource": plural.Resource},
		"namespace": "telco", "name": "x", "operation": op,
		"userInfo": map[string]string{"username": "alice"},
	}
	if len(object) > 0 {
		req["object"] = json.RawMessage(object)
	}
	if len(old) > 0 {
		req["oldObject"] = json.RawMessage(old)
	}
	out, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		return nil // not JSON: the fuzzer's bytes cannot be an object the API server sends
	}
	return out
}

// checkFindings judges an object as `sctpguard check` does, with the inventory in the same
// input; ok is false when check cannot read it (check would exit 2, not deny).
func checkFindings(t *testing.T, o *check.Options, object []byte) ([]policy.Finding, bool) {
	t.Helper()
	res, err := check.Check(t.Context(), o, strings.NewReader(fuzzInventory+"---\n"+string(object)+"\n"))
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if len(res.Errors) > 0 || len(res.Items) != 4 {
		return nil, false
	}
	return res.Items[3].Findings, true
}

// foreignNamespace reports whether an object, read as the handler reads it, names a
// namespace other than the request's (envelope's telco).
func foreignNamespace(object []byte) bool {
	var o struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if len(object) == 0 || sigsjson.UnmarshalCaseSensitivePreserveInts(object, &o) != nil {
		return false
	}
	return o.Metadata.Namespace != "" && o.Metadata.Namespace != "telco"
}

// denials are the denying findings of a list, by rule and message.
func denials(findings []policy.Finding) map[string]int {
	out := map[string]int{}
	for _, f := range findings {
		if f.Action == policy.ActionDeny {
			out[f.Rule+" "+f.Message]++
		}
	}
	return out
}

// FuzzHandler sends well-formed AdmissionReviews of every kind and version the webhook
// configurations send, CREATE and UPDATE, in every AKO mode, through the mutating webhook, then
// the validating webhook with the mutation's patch applied, as the API server does. The
// answers are always HTTP 200 verdicts for the request, never a recovered panic, a patch
// always applies, and the validating webhook never allows what `sctpguard check` denies: on
// CREATE nothing check denies; on UPDATE only denials the old object has too (ratcheting).
// An object or old object in a namespace other than the request's is denied by both
// webhooks, whatever check says of it in its own namespace: the API server refuses such a
// request before admission, so it comes only from a client posting directly.
func FuzzHandler(f *testing.F) {
	kinds := fuzzKinds()
	for i, gvk := range kinds {
		obj := []byte(reachFixtures[gvk].object)
		f.Add(uint8(i), false, uint8(0), obj, []byte(nil))
		f.Add(uint8(i), true, uint8(1), obj, obj)
		f.Add(uint8(i), false, uint8(1), []byte(protocols.ReplaceAllString(string(obj), `"protocol":"SCTP"`)), []byte(nil))
	}
	f.Add(uint8(0), true, uint8(0), []byte(amf), []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},"spec":{"ports":[{"port":1}]}}`))
	f.Add(uint8(0), false, uint8(2), []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"b","namespace":"telco","labels":{"ako.vmware.com/gateway-name":"gw"}},`+
		`"spec":{"type":"ClusterIP","ports":[{"port":6060,"protocol":"SCTP"}]}}`), []byte(nil))
	core := []byte(strings.Replace(amf, `"namespace":"telco"`, `"namespace":"core"`, 1))
	f.Add(uint8(0), false, uint8(1), core, []byte(nil))
	f.Add(uint8(0), true, uint8(1), []byte(amf), core)

	docs, errs := manifest.NewDecoder(policy.Scheme(), "default").Decode("inventory", []byte(fuzzInventory))
	if len(errs) > 0 {
		f.Fatal(errs[0])
	}
	inv := policy.NewMemoryInventory()
	for _, d := range docs {
		inv.Add(d.Typed)
	}
	inv.Index()
	f.Fuzz(func(t *testing.T, kind uint8, update bool, mode uint8, object, old []byte) {
		if len(object) > 64<<10 || len(old) > 64<<10 {
			return
		}
		gvk := kinds[int(kind)%len(kinds)]
		o := check.NewOptions()
		o.Files, o.Namespace = []string{"-"}, "telco"
		o.AKOServiceType, o.AKOServicesAPI, o.AKODefaultLBController = fuzzModes[int(mode)%len(fuzzModes)], "true", "true"
		ctx, err := o.Context()
		if err != nil {
			t.Fatal(err)
		}
		env := policy.Env{Context: ctx, Inventory: inv}
		panicked := false
		logger := funcr.New(func(_, args string) {
			if strings.Contains(args, "review panicked") {
				panicked = true
			}
		}, funcr.Options{})
		hook := func(m Mode) *Handler {
			h := handler(t, m, policy.Config{}, env)
			h.Log = logr.New(logger.GetSink())
			return h
		}
		op := admissionv1.Create
		if update {
			op = admissionv1.Update
		} else {
			old = nil
		}
		body := envelope(gvk, op, object, old)
		if body == nil {
			return
		}
		foreign := foreignNamespace(object) || foreignNamespace(old)
		mutated := serve(t, hook(Mutate), body)
		if foreign && mutated.Allowed {
			t.Fatalf("the mutating webhook allowed an object in another namespace than the request's (telco)\nobject %s\nold %s", object, old)
		}
		if mutated.Allowed && len(mutated.Patch) > 0 {
			p, err := jsonpatch.DecodePatch(mutated.Patch)
			if err != nil {
				t.Fatalf("the mutating webhook's patch does not decode: %v\n%s", err, mutated.Patch)
			}
			if object, err = p.Apply(object); err != nil {
				t.Fatalf("the mutating webhook's patch does not apply to the request's object: %v\npatch %s\nobject %s", err, mutated.Patch, object)
			}
			if body = envelope(gvk, op, object, old); body == nil {
				t.Fatalf("the patched object is not JSON: %s", object)
			}
		}
		verdict := serve(t, hook(Validate), body)
		if panicked {
			t.Fatalf("a review panicked (recovered into a denial): %+v", verdict.Result)
		}
		if foreign && verdict.Allowed {
			t.Fatalf("the validating webhook allowed an object in another namespace than the request's (telco)\nobject %s\nold %s", object, old)
		}
		if !verdict.Allowed {
			return
		}
		findings, ok := checkFindings(t, o, object)
		if !ok {
			return
		}
		introduced := denials(findings)
		if update {
			oldFindings, ok := checkFindings(t, o, old)
			if !ok || bytes.Contains(object, []byte(`"deletionTimestamp"`)) {
				return
			}
			for k, n := range denials(oldFindings) {
				introduced[k] -= n
			}
		}
		for k, n := range introduced {
			if n > 0 {
				t.Fatalf("the webhook allowed a %s %s that check denies: %s\nobject %s\nold %s\nwarnings %v", op, gvk, k, object, old, verdict.Warnings)
			}
		}
	})
}
