package policy

import (
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Labels and annotations AKO and Antrea read.
const (
	// LabelGatewayName and LabelGatewayNamespace bind a backend Service to a v1alpha1 Gateway.
	LabelGatewayName      = "ako.vmware.com/gateway-name"
	LabelGatewayNamespace = "ako.vmware.com/gateway-namespace"
	// LabelSCTP marks objects that use SCTP; set by the label-sctp mutation.
	LabelSCTP = "sctpguard.io/sctp"

	AnnotationSharedVIP      = "ako.vmware.com/enable-shared-vip"
	AnnotationLoadBalancerIP = "ako.vmware.com/load-balancer-ip"
	// AnnotationInfraSetting names an AviInfraSetting, on a Service or on a Namespace.
	AnnotationInfraSetting  = "aviinfrasetting.ako.vmware.com/name"
	AnnotationL4Rule        = "ako.vmware.com/l4rule"
	AnnotationNodePortLocal = "nodeportlocal.antrea.io/enabled"
	// AnnotationDisableTraffic and AnnotationApplicationProfile set the traffic_enabled and
	// application profile of an LB Service's virtual service.
	AnnotationDisableTraffic     = "ako.vmware.com/disable-traffic"
	AnnotationApplicationProfile = "ako.vmware.com/application-profile"

	// AKOController is the controller name of AKO's GatewayClasses and its LoadBalancer class.
	AKOController = "ako.vmware.com/avi-lb"
)

// Inventory gives the cross-object rules the related objects they need: the cluster's cache
// in the webhook, the whole manifest set in `check`. Lookups return nil when the object is
// absent; an error means the inventory could not answer. Results may include the object under
// review itself (its stored version); rules skip it by namespace and name.
type Inventory interface {
	// GatewayClass returns the networking.x-k8s.io/v1alpha1 GatewayClass of that name.
	GatewayClass(name string) (*svcapi.GatewayClass, error)
	// Gateway returns the networking.x-k8s.io/v1alpha1 Gateway.
	Gateway(namespace, name string) (*svcapi.Gateway, error)
	// GatewayBackends returns the Services labelled as backends of the Gateway namespace/name,
	// in every namespace.
	GatewayBackends(gatewayNamespace, gatewayName string) ([]*corev1.Service, error)
	// SharedVIPServices returns the Services of a namespace annotated with the shared-VIP key.
	SharedVIPServices(namespace, key string) ([]*corev1.Service, error)
	// GatewayAPIClass returns the gateway.networking.k8s.io GatewayClass of that name.
	GatewayAPIClass(name string) (*gwv1.GatewayClass, error)
	// GatewayAPIGateway returns the gateway.networking.k8s.io Gateway, in the hub version.
	GatewayAPIGateway(namespace, name string) (*gwv1.Gateway, error)
	// GatewayListenerSets returns the ListenerSets, in every namespace, whose parentRef names
	// the gateway.networking.k8s.io Gateway namespace/name.
	GatewayListenerSets(gatewayNamespace, gatewayName string) ([]*gwv1.ListenerSet, error)
	// MachineConfigs returns the OpenShift MachineConfigs.
	MachineConfigs() ([]MachineConfig, error)
	// Namespace returns the Namespace of that name.
	Namespace(name string) (*corev1.Namespace, error)
	// AviInfraSetting returns AKO's AviInfraSetting of that name, read as
	// ako.vmware.com/v1beta1 whichever version it was written in.
	AviInfraSetting(name string) (*akov1beta1.AviInfraSetting, error)
	// L4Rule returns AKO's ako.vmware.com/v1alpha2 L4Rule.
	L4Rule(namespace, name string) (*akov1alpha2.L4Rule, error)
}

// Lister is implemented by inventories that can list every object they hold, for policies
// that read all related objects (Rego's data.inventory). Generation changes whenever the
// objects do, so a listing can be reused until then.
type Lister interface {
	Objects() ([]Object, error)
	Generation() uint64
}

// ListenerSetParent returns "<namespace>/<name>" of the Gateway a ListenerSet attaches to,
// or "" when its parentRef is not a gateway.networking.k8s.io Gateway.
func ListenerSetParent(ls *gwv1.ListenerSet) string {
	ref := ls.Spec.ParentRef
	if (ref.Group != nil && *ref.Group != gwv1.GroupName) || (ref.Kind != nil && *ref.Kind != "Gateway") {
		return ""
	}
	ns := ls.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return ns + "/" + string(ref.Name)
}

// MachineConfig is the part of an OpenShift machineconfiguration.openshift.io/v1
// MachineConfig the sctp-openshift-module rule reads.
type MachineConfig struct {
	Name string
	// Role is the value of the label machineconfiguration.openshift.io/role.
	Role string
	// Files are the ignition storage files it writes.
	Files []MachineConfigFile
}

// MachineConfigFile is one ignition storage file: its path and contents source (a data URL).
type MachineConfigFile struct {
	Path   string
	Source string
}
