package translator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Gateway condition types and reasons of avi-translation.md §11 (the v1alpha1 vocabulary).
const (
	GatewayScheduled = "Scheduled"
	GatewayReady     = "Ready"

	ReasonReady              = "Ready"
	ReasonNotReconciled      = "NotReconciled"
	ReasonNoResources        = "NoResources"
	ReasonListenersNotValid  = "ListenersNotValid"
	ReasonListenersNotReady  = "ListenersNotReady"
	ReasonAddressNotAssigned = "AddressNotAssigned"
)

// ingress returns the load balancer ingress of a unit: one entry per VIP, IPv4 first, with
// the first FQDN as hostname when there is one.
func ingress(vips, fqdns []string) []corev1.LoadBalancerIngress {
	out := make([]corev1.LoadBalancerIngress, 0, len(vips))
	for _, ip := range vips {
		ing := corev1.LoadBalancerIngress{IP: ip}
		if len(fqdns) > 0 {
			ing.Hostname = fqdns[0]
		}
		out = append(out, ing)
	}
	return out
}

func sameIngress(a, b []corev1.LoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y corev1.LoadBalancerIngress) bool { return x.IP == y.IP && x.Hostname == y.Hostname })
}

// statusWriter patches the status subresources of Services and Gateways: merge patches,
// sent only when the status differs.
type statusWriter struct {
	client client.Client
}

// setIngress writes a Service's status.loadBalancer.ingress. The API server accepts an
// ingress only on LoadBalancer Services, so a Gateway's ClusterIP or NodePort backends do not
// get one (AKO's older targets did); the Gateway's status.addresses carries their VIP.
func (w statusWriter) setIngress(ctx context.Context, name types.NamespacedName, want []corev1.LoadBalancerIngress) error {
	var svc corev1.Service
	if err := w.client.Get(ctx, name, &svc); err != nil {
		return client.IgnoreNotFound(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || sameIngress(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	ing := want
	if ing == nil {
		ing = []corev1.LoadBalancerIngress{}
	}
	return w.patchStatus(ctx, &svc, map[string]any{"loadBalancer": map[string]any{"ingress": ing}})
}

// clearIngress clears a Service's ingress, but only if it is the one sctpguard wrote (the
// unit's VIPs): another controller's status is left alone.
func (w statusWriter) clearIngress(ctx context.Context, name types.NamespacedName, ours []string) error {
	var svc corev1.Service
	if err := w.client.Get(ctx, name, &svc); err != nil {
		return client.IgnoreNotFound(err)
	}
	cur := svc.Status.LoadBalancer.Ingress
	if len(cur) == 0 || len(ours) == 0 {
		return nil
	}
	for _, ing := range cur {
		if !slices.Contains(ours, ing.IP) {
			return nil
		}
	}
	return w.patchStatus(ctx, &svc, map[string]any{"loadBalancer": map[string]any{"ingress": nil}})
}

func (w statusWriter) patchStatus(ctx context.Context, obj client.Object, status any) error {
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	if err := w.client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// gatewayOutcome is what the Gateway status reports.
type gatewayOutcome struct {
	unit    *Unit
	vips    []string
	syncErr *SyncError
}

// gatewayStatus computes a Gateway's status from the current one (conditions keep their
// lastTransitionTime unless their status flips).
func gatewayStatus(gw *svcapi.Gateway, o gatewayOutcome) svcapi.GatewayStatus {
	st := *gw.Status.DeepCopy()
	gen := gw.Generation
	set := func(conds *[]metav1.Condition, typ string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: truncate(msg), ObservedGeneration: gen})
	}
	u := o.unit
	var gwFrozen *Freeze
	for _, f := range u.Frozen {
		if f.Object.Kind == "Gateway" {
			gwFrozen = f
		}
	}
	if len(o.vips) > 0 {
		st.Addresses = nil
		for _, ip := range o.vips {
			st.Addresses = append(st.Addresses, svcapi.GatewayAddress{Type: ptrTo("IPAddress"), Value: ip})
		}
	}
	switch {
	case gwFrozen != nil || u.Skip != "":
		// Frozen: nothing was synced; addresses and Scheduled stay as they were.
	case o.syncErr != nil && containsNoIPs(o.syncErr):
		set(&st.Conditions, GatewayScheduled, metav1.ConditionFalse, ReasonNoResources, o.syncErr.Error())
	case o.syncErr != nil:
		set(&st.Conditions, GatewayScheduled, metav1.ConditionFalse, ReasonNotReconciled, o.syncErr.Error())
	default:
		set(&st.Conditions, GatewayScheduled, metav1.ConditionTrue, "Synced", "the Avi virtual service "+u.Name+" is in sync")
	}
	notReady := slices.ContainsFunc(u.Listeners, func(l ListenerState) bool {
		return slices.ContainsFunc(l.Problems, func(p ListenerProblem) bool {
			return p.Type == ListenerResolvedRefs && p.Reason == ReasonDegradedRoutes
		})
	})
	invalid := slices.ContainsFunc(u.Listeners, func(l ListenerState) bool {
		return slices.ContainsFunc(l.Problems, func(p ListenerProblem) bool {
			return p.Type != ListenerResolvedRefs || p.Reason != ReasonDegradedRoutes
		})
	})
	switch {
	case gwFrozen != nil:
		set(&st.Conditions, GatewayReady, metav1.ConditionFalse, ReasonListenersNotValid, gwFrozen.Message())
	case u.Skip != "":
		set(&st.Conditions, GatewayReady, metav1.ConditionFalse, ReasonListenersNotValid, u.Skip)
	case invalid:
		set(&st.Conditions, GatewayReady, metav1.ConditionFalse, ReasonListenersNotValid, "a listener has a frozen backend; see the listener conditions")
	case notReady:
		set(&st.Conditions, GatewayReady, metav1.ConditionFalse, ReasonListenersNotReady, "a listener has no backend Service; see the listener conditions")
	case len(o.vips) == 0:
		set(&st.Conditions, GatewayReady, metav1.ConditionFalse, ReasonAddressNotAssigned, "the Avi Controller has not assigned a VIP yet")
	default:
		set(&st.Conditions, GatewayReady, metav1.ConditionTrue, ReasonReady, "the Gateway is served by the Avi virtual service "+u.Name)
	}
	var listeners []svcapi.ListenerStatus
	for _, ls := range u.Listeners {
		var prev []metav1.Condition
		for _, old := range gw.Status.Listeners {
			if old.Port == ls.Port {
				prev = slices.Clone(old.Conditions)
			}
		}
		// Problem conditions appear only while the problem exists.
		conds := slices.DeleteFunc(prev, func(c metav1.Condition) bool {
			return c.Type == ListenerDetached || c.Type == ListenerConflicted || c.Type == ListenerResolvedRefs
		})
		ready := metav1.ConditionTrue
		reason, msg := ReasonReady, "the listener is served"
		for _, p := range ls.Problems {
			status := metav1.ConditionTrue
			if p.Type == ListenerResolvedRefs {
				status = metav1.ConditionFalse
			}
			set(&conds, p.Type, status, p.Reason, p.Message)
			if ready == metav1.ConditionTrue {
				ready, reason, msg = metav1.ConditionFalse, p.Reason, p.Message
			}
		}
		set(&conds, ListenerReady, ready, reason, msg)
		listeners = append(listeners, svcapi.ListenerStatus{Port: ls.Port, Protocol: ls.Protocol, Conditions: conds})
	}
	st.Listeners = listeners
	return st
}

func containsNoIPs(err error) bool {
	return err != nil && strings.Contains(err.Error(), "No available free IPs")
}

// truncate keeps a condition message within the 32768 characters the API allows.
func truncate(s string) string {
	const maxLen = 32000
	if len(s) > maxLen {
		return s[:maxLen] + "..."
	}
	return s
}

// setGatewayStatus writes a Gateway's status when it differs.
func (w statusWriter) setGatewayStatus(ctx context.Context, gw *svcapi.Gateway, st svcapi.GatewayStatus) error {
	if equalJSON(gw.Status, st) {
		return nil
	}
	return w.patchStatus(ctx, gw, st)
}

// clearGatewayStatus removes what sctpguard wrote on a Gateway that left its scope.
func (w statusWriter) clearGatewayStatus(ctx context.Context, name types.NamespacedName) error {
	var gw svcapi.Gateway
	if err := w.client.Get(ctx, name, &gw); err != nil {
		return client.IgnoreNotFound(err)
	}
	st := *gw.Status.DeepCopy()
	st.Addresses, st.Listeners = nil, nil
	meta.RemoveStatusCondition(&st.Conditions, GatewayScheduled)
	meta.RemoveStatusCondition(&st.Conditions, GatewayReady)
	if equalJSON(gw.Status, st) {
		return nil
	}
	var conds any // null removes the list; an empty one would stay as []
	if len(st.Conditions) > 0 {
		conds = st.Conditions
	}
	return w.patchStatus(ctx, &gw, map[string]any{"addresses": nil, "listeners": nil, "conditions": conds})
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
