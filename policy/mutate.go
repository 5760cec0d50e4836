package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Mutate applies the defaulting and labelling mutations to a copy of the review's object.
// It returns the mutated copy and the IDs of the mutations that changed it, or a nil object
// when nothing changed. Mutations run only on CREATE and UPDATE, never overwrite a value the
// user set (the sctpguard.io/sctp label is sctpguard's own), and are idempotent.
func (e *Engine) Mutate(ctx context.Context, r *Review, env Env) (Object, []RuleID, error) {
	if r.Object == nil || (r.Operation != OperationCreate && r.Operation != OperationUpdate) || e.Exempt(r.Object.GetNamespace()) {
		return nil, nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	cp, ok := r.Object.DeepCopyObject().(Object)
	if !ok {
		return nil, nil, fmt.Errorf("copy %T: not an object", r.Object)
	}
	obj := toHub(cp)
	var applied []RuleID
	apply := func(id RuleID, changed bool) {
		if changed {
			applied = append(applied, id)
		}
	}
	on := func(id RuleID) bool { return !e.cfg.disabled.Has(string(id)) }
	switch o := obj.(type) {
	case *corev1.Service:
		if on(MutationDefaultSCTPPortName) {
			apply(MutationDefaultSCTPPortName, defaultSCTPPortNames(o))
		}
		if on(MutationDefaultNoLBNodePorts) {
			apply(MutationDefaultNoLBNodePorts, defaultNoLBNodePorts(o, r.Operation, env.Context))
		}
		if on(MutationLabelSCTP) {
			apply(MutationLabelSCTP, labelSCTP(o, serviceHasSCTP(o)))
		}
	case *svcapi.Gateway:
		if on(MutationDefaultGatewaySelector) {
			handled, err := gatewayHandledByAKO(o, env.Inventory)
			if err != nil {
				return nil, nil, err
			}
			if handled == yes {
				apply(MutationDefaultGatewaySelector, defaultGatewaySelectors(o))
			}
		}
		if on(MutationLabelSCTP) {
			sctp := false
			for _, l := range o.Spec.Listeners {
				sctp = sctp || l.Protocol == string(corev1.ProtocolSCTP)
			}
			apply(MutationLabelSCTP, labelSCTP(o, sctp))
		}
	case *gwv1.Gateway, *gwv1.ListenerSet:
		if on(MutationLabelSCTP) {
			apply(MutationLabelSCTP, labelSCTP(o, gatewayAPISCTP(o)))
		}
	}
	if len(applied) == 0 {
		return nil, nil, nil
	}
	return fromHub(obj, cp), applied, nil
}

// gatewayAPISCTP reports whether a gateway.networking.k8s.io Gateway or ListenerSet has an
// SCTP listener.
func gatewayAPISCTP(obj Object) bool {
	var protocols []gwv1.ProtocolType
	switch o := obj.(type) {
	case *gwv1.Gateway:
		for _, l := range o.Spec.Listeners {
			protocols = append(protocols, l.Protocol)
		}
	case *gwv1.ListenerSet:
		for _, l := range o.Spec.Listeners {
			protocols = append(protocols, l.Protocol)
		}
	}
	return slices.Contains(protocols, "SCTP")
}

// defaultSCTPPortNames names each unnamed SCTP port "sctp-<port>", unless another port has
// that name, so that its DNS SRV record _sctp-<port>._sctp.<svc>.<ns>.svc exists.
func defaultSCTPPortNames(svc *corev1.Service) bool {
	taken := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		taken[p.Name] = true
	}
	changed := false
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol != corev1.ProtocolSCTP || p.Name != "" {
			continue
		}
		name := fmt.Sprintf("sctp-%d", p.Port)
		if taken[name] {
			continue
		}
		p.Name, taken[name], changed = name, true, true
	}
	return changed
}

// defaultNoLBNodePorts sets allocateLoadBalancerNodePorts: false on an SCTP LoadBalancer
// Service AKO handles in ClusterIP mode: AKO sends traffic to pod IPs, so node ports are
// wasted. The API server defaults the field to true before admission, so on CREATE a true
// without any explicit nodePort counts as unset; set a nodePort, or disable the mutation,
// to keep node ports. UPDATEs are left alone: node ports already allocated stay.
func defaultNoLBNodePorts(svc *corev1.Service, op Operation, ctx Context) bool {
	if op != OperationCreate || ctx.serviceType() != ServiceTypeClusterIP || !serviceHasSCTP(svc) {
		return false
	}
	if handled, _ := serviceHandledByAKO(svc, ctx); handled != yes {
		return false
	}
	if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
		return false
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			return false
		}
	}
	svc.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
	return true
}

// defaultGatewaySelectors gives each listener without routes.selector the matchLabels AKO
// requires, and fills a missing routes kind and group with services and v1.
func defaultGatewaySelectors(gw *svcapi.Gateway) bool {
	changed := false
	for i := range gw.Spec.Listeners {
		r := &gw.Spec.Listeners[i].Routes
		if r.Selector == nil {
			r.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{
				LabelGatewayName:      gw.Name,
				LabelGatewayNamespace: gw.Namespace,
			}}
			changed = true
		}
		if r.Kind == "" {
			r.Kind, changed = "services", true
		}
		if r.Group == nil {
			r.Group, changed = ptr.To("v1"), true
		}
	}
	return changed
}

// labelSCTP keeps the sctpguard.io/sctp label in step with the object's use of SCTP.
func labelSCTP(obj metav1.Object, sctp bool) bool {
	labels := obj.GetLabels()
	v, has := labels[LabelSCTP]
	switch {
	case sctp && v != "true":
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelSCTP] = "true"
		obj.SetLabels(labels)
		return true
	case !sctp && has:
		delete(labels, LabelSCTP)
		obj.SetLabels(labels)
		return true
	}
	return false
}

// Patch returns the JSON patch that turns before into after. Both are marshalled through
// their Go types, so fields the types do not know are absent from both and the patch never
// touches them: applied to the raw request it keeps unknown fields intact.
func Patch(before, after Object) ([]jsonpatch.Operation, error) {
	b, err := json.Marshal(before)
	if err != nil {
		return nil, fmt.Errorf("marshal original object: %w", err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("marshal mutated object: %w", err)
	}
	ops, err := jsonpatch.CreatePatch(b, a)
	if err != nil {
		return nil, fmt.Errorf("compute patch: %w", err)
	}
	// CreatePatch walks maps, so its order varies from run to run. Order by parent path, then
	// key, for reproducible patches; elements of one array keep CreatePatch's order, since
	// index shifts make it matter there.
	sort.SliceStable(ops, func(i, j int) bool {
		pi, ki := splitPointer(ops[i].Path)
		pj, kj := splitPointer(ops[j].Path)
		if pi != pj {
			return pi < pj
		}
		if isIndex(ki) || isIndex(kj) {
			return false
		}
		return ki < kj
	})
	return ops, nil
}

// RawPatch returns the JSON patch that makes the mutations (before to after, both typed) on
// the object as the request carried it, raw. Patch computes the operations between the typed
// objects, whose defaults raw may lack; each is then fitted to raw, in order: a replace of a
// member raw lacks becomes an add, a remove of one is dropped, and a missing parent object is
// added first. Applied to raw, the result never fails and never touches a field the Go types
// do not know (controller-runtime patches against the raw request for the same reason).
func RawPatch(raw []byte, before, after Object) ([]jsonpatch.Operation, error) {
	ops, err := Patch(before, after)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("read the request's object: %w", err)
	}
	out := make([]jsonpatch.Operation, 0, len(ops))
	for _, op := range ops {
		segs := pointerSegments(op.Path)
		if len(segs) == 0 {
			return nil, fmt.Errorf("the patch replaces the whole object")
		}
		var fitted []jsonpatch.Operation
		if doc, fitted, err = fitOperation(doc, segs, 0, op); err != nil {
			return nil, fmt.Errorf("fit %s %s to the request's object: %w", op.Operation, op.Path, err)
		}
		out = append(out, fitted...)
	}
	return out, nil
}

// fitOperation applies op to the value v found at segs[:depth] and returns the new value and
// the operations to send for it: op itself fitted, after the adds of parents v lacks.
func fitOperation(v any, segs []string, depth int, op jsonpatch.Operation) (any, []jsonpatch.Operation, error) {
	seg, here := segs[depth], joinPointer(segs[:depth+1])
	last := depth == len(segs)-1
	switch t := v.(type) {
	case map[string]any:
		child, exists := t[seg]
		if last {
			switch {
			case op.Operation == "remove" && !exists:
				return t, nil, nil
			case op.Operation == "remove":
				delete(t, seg)
			case op.Operation == "add" || op.Operation == "replace":
				if !exists {
					op.Operation = "add"
				}
				t[seg] = op.Value
			default:
				return nil, nil, fmt.Errorf("unexpected operation %q", op.Operation)
			}
			return t, []jsonpatch.Operation{op}, nil
		}
		var out []jsonpatch.Operation
		if !exists {
			if op.Operation == "remove" {
				return t, nil, nil // nothing to remove under a parent raw lacks
			}
			child = map[string]any{}
			out = append(out, jsonpatch.NewOperation("add", here, map[string]any{}))
		}
		child, more, err := fitOperation(child, segs, depth+1, op)
		if err != nil {
			return nil, nil, err
		}
		t[seg] = child
		return t, append(out, more...), nil
	case []any:
		i, err := strconv.Atoi(seg)
		inRange := err == nil && i >= 0 && i < len(t)
		if !last {
			if !inRange {
				return nil, nil, fmt.Errorf("%s does not exist (%d items)", here, len(t))
			}
			child, more, err := fitOperation(t[i], segs, depth+1, op)
			if err != nil {
				return nil, nil, err
			}
			t[i] = child
			return t, more, nil
		}
		switch {
		case op.Operation == "add" && seg == "-":
			t = append(t, op.Value)
		case op.Operation == "add" && err == nil && i >= 0 && i <= len(t):
			t = slices.Insert(t, i, op.Value)
		case op.Operation == "replace" && inRange:
			t[i] = op.Value
		case op.Operation == "remove" && inRange:
			t = slices.Delete(t, i, i+1)
		default:
			return nil, nil, fmt.Errorf("%s %s: index out of range (%d items)", op.Operation, here, len(t))
		}
		return t, []jsonpatch.Operation{op}, nil
	}
	return nil, nil, fmt.Errorf("%s is not an object or a list", joinPointer(segs[:depth]))
}

// pointerSegments splits a JSON pointer (RFC 6901) into its unescaped segments.
func pointerSegments(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

// joinPointer builds a JSON pointer from segments, escaping them.
func joinPointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func splitPointer(p string) (parent, last string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i+1], p[i+1:]
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil || s == "-"
}
