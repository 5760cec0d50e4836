package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// SCTPGuardClass is the loadBalancerClass of the Services, and the controller of the v1alpha1
// GatewayClasses, that sctpguard's own translator syncs to the Avi Controller. AKO leaves
// them alone: its filter accepts only the class ako.vmware.com/avi-lb, or no class while it is
// the default controller (AKO: internal/lib/lib.go ValidateSvcforClass; for Gateways
// internal/nodes/ingress_model_rel.go validateSvcApiGatewayForClass).
const SCTPGuardClass = "sctpguard.io/avi-sctp"

// Implementation names who load-balances a Service or Gateway on the Avi Controller.
type Implementation string

// Implementations.
const (
	// ImplementationNone: neither AKO nor sctpguard (another class, not a LoadBalancer, or
	// unknown while AKO's settings are).
	ImplementationNone Implementation = ""
	// ImplementationAKO: AKO's class, ako.vmware.com/avi-lb, or no class with AKO the default.
	ImplementationAKO Implementation = "ako"
	// ImplementationSCTPGuard: sctpguard's class, sctpguard.io/avi-sctp.
	ImplementationSCTPGuard Implementation = "sctpguard"
)

// serviceImplementation tells who load-balances a Service: sctpguard for its class whatever
// AKO's settings, else AKO as serviceHandledByAKO says (the tristate and the reason of a "no"
// are its).
func serviceImplementation(svc *corev1.Service, settings Context) (Implementation, tristate, string) {
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass == SCTPGuardClass {
		return ImplementationSCTPGuard, yes, ""
	}
	handled, reason := serviceHandledByAKO(svc, settings)
	if handled == yes {
		return ImplementationAKO, yes, ""
	}
	return ImplementationNone, handled, reason
}

// ServiceImplementation returns who load-balances a Service on Avi; ImplementationNone also
// when AKO's settings are not known and the Service is not of sctpguard's class.
func ServiceImplementation(svc *corev1.Service, settings Context) Implementation {
	impl, _, _ := serviceImplementation(svc, settings)
	return impl
}

// gatewayImplementation tells who serves a v1alpha1 Gateway, by its GatewayClass's
// controller: unknown when the class is not in the inventory.
func gatewayImplementation(gw *svcapi.Gateway, inv Inventory) (Implementation, tristate, error) {
	class, err := inv.GatewayClass(gw.Spec.GatewayClassName)
	if err != nil {
		return ImplementationNone, unknown, fmt.Errorf("get GatewayClass %s: %w", gw.Spec.GatewayClassName, err)
	}
	switch {
	case class == nil:
		return ImplementationNone, unknown, nil
	case class.Spec.Controller == AKOController:
		return ImplementationAKO, yes, nil
	case class.Spec.Controller == SCTPGuardClass:
		return ImplementationSCTPGuard, yes, nil
	}
	return ImplementationNone, no, nil
}

// GatewayImplementation returns who serves a v1alpha1 Gateway; ImplementationNone when its
// GatewayClass names another controller or does not exist.
func GatewayImplementation(gw *svcapi.Gateway, inv Inventory) (Implementation, error) {
	impl, _, err := gatewayImplementation(gw, inv)
	return impl, err
}

// ServiceTypeFor is how the pool servers of an object served by impl are reached: AKO's
// serviceType, except that sctpguard serves its own class through the nodes' nodePorts
// where AKO runs in NodePortLocal mode (as AKO's NodePort mode does, PopulateServersForNodePort):
// Antrea's NodePortLocal has no SCTP, and sctpguard's class does not depend on AKO's mode.
func (c Context) ServiceTypeFor(impl Implementation) ServiceType {
	t := c.serviceType()
	if impl == ImplementationSCTPGuard && t == ServiceTypeNodePortLocal {
		return ServiceTypeNodePort
	}
	return t
}
