package policy

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// tristate is a yes/no answer that may be unknown when the context lacks a setting.
type tristate int8

const (
	unknown tristate = iota
	no
	yes
)

// serviceHandledByAKO tells whether AKO load-balances a Service, as rules.md defines it:
// type LoadBalancer, and loadBalancerClass ako.vmware.com/avi-lb or unset with AKO's
// defaultLBController, and AKO not layer7Only. The reason explains a "no".
func serviceHandledByAKO(svc *corev1.Service, settings Context) (tristate, string) {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return no, "it is not of type LoadBalancer"
	}
	class := svc.Spec.LoadBalancerClass
	if class != nil && *class != AKOController {
		return no, fmt.Sprintf("its loadBalancerClass is %q", *class)
	}
	if settings.AKO == nil {
		return unknown, ""
	}
	if settings.AKO.Layer7Only {
		return no, "AKO runs with layer7Only"
	}
	if class == nil && !settings.AKO.DefaultLBController {
		return no, "it sets no loadBalancerClass and AKO is not the default LB controller (defaultLBController: false)"
	}
	return yes, ""
}

// isGatewayBackend reports whether a Service carries either AKO gateway label.
func isGatewayBackend(svc *corev1.Service) bool {
	_, name := svc.Labels[LabelGatewayName]
	_, ns := svc.Labels[LabelGatewayNamespace]
	return name || ns
}

// portKey is a (protocol, port) pair, the identity AKO matches listeners and backends by.
type portKey struct {
	Protocol string
	Port     int32
}

// String renders "port/protocol", 38412/SCTP.
func (k portKey) String() string {
	var buf [32]byte
	b := strconv.AppendInt(buf[:0], int64(k.Port), 10)
	return string(append(append(b, '/'), k.Protocol...))
}

func servicePortKey(p corev1.ServicePort) portKey {
	return portKey{Protocol: string(p.Protocol), Port: p.Port}
}

func serviceHasSCTP(svc *corev1.Service) bool {
	for _, p := range svc.Spec.Ports {
		if p.Protocol == corev1.ProtocolSCTP {
			return true
		}
	}
	return false
}

// newerThan tells whether a is the newer of two conflicting objects: the later
// creationTimestamp, then the later name. An object without a timestamp (not yet created)
// is the newest. The newer object is the one admission would have denied, so it is the
// one rules deny and the translator freezes.
func newerThan(a, b Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	switch {
	case ta.IsZero() && !tb.IsZero():
		return true
	case !ta.IsZero() && tb.IsZero():
		return false
	case !ta.Equal(&tb):
		return tb.Before(&ta)
	}
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() > b.GetNamespace()
	}
	return a.GetName() > b.GetName()
}

func sameObject(a, b Object) bool {
	return a.GetNamespace() == b.GetNamespace() && a.GetName() == b.GetName()
}

func nsName(obj Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// ServiceHandledByAKO reports whether AKO load-balances the Service, as rules.md defines it;
// false when the context does not know AKO's settings. The translator uses it for its scope.
func ServiceHandledByAKO(svc *corev1.Service, settings Context) bool {
	handled, _ := serviceHandledByAKO(svc, settings)
	return handled == yes
}

// NewerThan reports whether a is the newer of two objects: the later creationTimestamp,
// then the later namespace and name. Of two conflicting objects the newer is the one
// admission would have denied.
func NewerThan(a, b Object) bool { return newerThan(a, b) }

// SharedVIPKey returns the shared-VIP key of a LoadBalancer Service, or "".
func SharedVIPKey(svc *corev1.Service) string { return sharedVIPKey(svc) }

// StaticIP returns the static VIP AKO would use for a Service: spec.loadBalancerIP, else the
// ako.vmware.com/load-balancer-ip annotation.
func StaticIP(svc *corev1.Service) string { return staticIP(svc) }
