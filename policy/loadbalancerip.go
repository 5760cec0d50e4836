package policy

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// staticIP is the static VIP AKO uses for a Service: spec.loadBalancerIP, and the
// ako.vmware.com/load-balancer-ip annotation only when the field is empty (AKO:
// internal/nodes/avi_model_l4_translator.go ConstructAviL4VsNode, and the first member in
// internal/nodes/avi_model_advl4_translator.go ConstructSharedVipSvcLBNode; both test
// HasSpecLoadBalancerIP before HasLoadBalancerIPAnnotation).
func staticIP(svc *corev1.Service) string {
	if svc.Spec.LoadBalancerIP != "" {
		return svc.Spec.LoadBalancerIP
	}
	return svc.Annotations[AnnotationLoadBalancerIP]
}

// staticIPPath is the field the static VIP comes from: spec.loadBalancerIP when it is set,
// else the annotation.
func staticIPPath(svc *corev1.Service) *field.Path {
	if svc.Spec.LoadBalancerIP == "" {
		if _, ok := svc.Annotations[AnnotationLoadBalancerIP]; ok {
			return annotationPath(AnnotationLoadBalancerIP)
		}
	}
	return field.NewPath("spec", "loadBalancerIP")
}

// validateLoadBalancerIP warns when a Service AKO may handle sets both spec.loadBalancerIP
// and the ako.vmware.com/load-balancer-ip annotation to different addresses: AKO (and so
// sctpguard) uses the field, and the annotation is silently ignored.
func validateLoadBalancerIP(svc *corev1.Service, ctx Context) []Finding {
	spec, annotation := svc.Spec.LoadBalancerIP, svc.Annotations[AnnotationLoadBalancerIP]
	if spec == "" || annotation == "" || spec == annotation {
		return nil
	}
	if handled, _ := serviceHandledByAKO(svc, ctx); handled == no {
		return nil
	}
	return []Finding{newFinding(RuleLoadBalancerIPConflict, annotationPath(AnnotationLoadBalancerIP),
		"the annotation asks for VIP %q but spec.loadBalancerIP asks for %q: AKO uses spec.loadBalancerIP and ignores the annotation; "+
			"remove one of them, or give both the same address", annotation, spec)}
}
