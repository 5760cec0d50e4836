package policy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// sharedVIPKey returns the shared-VIP key of a LoadBalancer Service, or "".
func sharedVIPKey(svc *corev1.Service) string {
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return ""
	}
	return svc.Annotations[AnnotationSharedVIP]
}

// sharedVIPSetting is one setting every member of a shared-VIP group must agree on, or AKO
// deletes the shared virtual service.
type sharedVIPSetting struct {
	name  string
	value func(*corev1.Service) string
	path  func(*corev1.Service) *field.Path
}

func annotationPath(key string) *field.Path {
	return field.NewPath("metadata", "annotations").Key(key)
}

var sharedVIPSettings = []sharedVIPSetting{
	{
		name: "loadBalancerClass",
		value: func(s *corev1.Service) string {
			if s.Spec.LoadBalancerClass == nil {
				return ""
			}
			return *s.Spec.LoadBalancerClass
		},
		path: func(*corev1.Service) *field.Path { return field.NewPath("spec", "loadBalancerClass") },
	},
	{
		name:  "static IP",
		value: staticIP,
		path:  staticIPPath,
	},
	{
		name:  "AviInfraSetting",
		value: func(s *corev1.Service) string { return s.Annotations[AnnotationInfraSetting] },
		path:  func(*corev1.Service) *field.Path { return annotationPath(AnnotationInfraSetting) },
	},
	{
		name:  "L4Rule",
		value: func(s *corev1.Service) string { return s.Annotations[AnnotationL4Rule] },
		path:  func(*corev1.Service) *field.Path { return annotationPath(AnnotationL4Rule) },
	},
}

// validateSharedVIP checks a Service against the other members of its shared-VIP group: no
// (protocol, port) twice in the group, and the same class, static IP, AviInfraSetting and
// L4Rule everywhere. Of two conflicting members the newer one is denied (it is the one
// admission would have stopped); an update that introduces a conflict is denied too.
func validateSharedVIP(svc, old *corev1.Service, inv Inventory) ([]Finding, error) {
	key := sharedVIPKey(svc)
	if key == "" {
		return nil, nil
	}
	out := sharedVIPIgnoredAnnotations(svc, key)
	members, err := inv.SharedVIPServices(svc.Namespace, key)
	if err != nil {
		return nil, fmt.Errorf("list Services sharing VIP %q in namespace %s: %w", key, svc.Namespace, err)
	}
	oldKey := sharedVIPKey(old)
	ports := field.NewPath("spec", "ports")
	for i, port := range svc.Spec.Ports {
		k := servicePortKey(port)
		var clash []string
		for _, m := range members {
			if sameObject(m, svc) || sharedVIPKey(m) != key || !hasServicePort(m, k) {
				continue
			}
			introduced := old != nil && (oldKey != key || !hasServicePort(old, k))
			if introduced || newerThan(svc, m) {
				clash = append(clash, "Service "+nsName(m))
			}
		}
		if len(clash) > 0 {
			out = append(out, newFinding(RuleSharedVIPPortClash, ports.Index(i),
				"port %s is also exposed by %s, which shares the VIP %q: AKO gives both to one virtual service and one pool silently wins; "+
					"use another port, or another %s key", k, strings.Join(clash, ", "), key, AnnotationSharedVIP))
		}
	}
	for _, s := range sharedVIPSettings {
		mine := s.value(svc)
		var differ []string
		for _, m := range members {
			if sameObject(m, svc) || sharedVIPKey(m) != key {
				continue
			}
			theirs := s.value(m)
			if theirs == mine {
				continue
			}
			introduced := old != nil && (oldKey != key || s.value(old) != mine)
			if introduced || newerThan(svc, m) {
				differ = append(differ, fmt.Sprintf("%s on Service %s", quoteOrNone(theirs), nsName(m)))
			}
		}
		if len(differ) > 0 {
			out = append(out, newFinding(RuleSharedVIPInconsistent, s.path(svc),
				"%s is %s here but %s, which shares the VIP %q: AKO deletes a shared virtual service whose members disagree; "+
					"give every Service of the group the same %s", s.name, quoteOrNone(mine), strings.Join(differ, ", "), key, s.name))
		}
	}
	return out, nil
}

// sharedVIPIgnoredAnnotations warns about the annotations AKO reads on a LoadBalancer Service
// of its own but not on a shared-VIP member: the shared virtual service always has
// System-L4-Application and traffic enabled (AKO: internal/nodes/avi_model_advl4_translator.go
// ConstructSharedVipSvcLBNode), and so has sctpguard's.
func sharedVIPIgnoredAnnotations(svc *corev1.Service, key string) []Finding {
	var out []Finding
	for _, a := range []string{AnnotationApplicationProfile, AnnotationDisableTraffic} {
		if v, ok := svc.Annotations[a]; ok {
			out = append(out, newFinding(RuleSharedVIPAnnotationIgnored, annotationPath(a),
				"%q has no effect on a Service that shares the VIP %q: AKO builds the shared virtual service with System-L4-Application "+
					"and traffic enabled whatever its members say; remove the annotation, or give the Service a virtual service of its own", v, key))
		}
	}
	return out
}

func hasServicePort(svc *corev1.Service, k portKey) bool {
	for _, p := range svc.Spec.Ports {
		if servicePortKey(p) == k {
			return true
		}
	}
	return false
}

func quoteOrNone(s string) string {
	if s == "" {
		return "unset"
	}
	return fmt.Sprintf("%q", s)
}
