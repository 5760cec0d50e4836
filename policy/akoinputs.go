package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// AnnotationTenant is the Namespace annotation with which AKO puts a namespace's objects in
// another Avi tenant.
const AnnotationTenant = "ako.vmware.com/tenant-name"

// AKORef is a reference to one of AKO's objects (an AviInfraSetting or an L4Rule) and where it
// was found.
type AKORef struct {
	// Namespace is empty for a cluster-scoped AviInfraSetting.
	Namespace, Name string
	// Path is the field holding the reference on the object under review.
	Path *field.Path
	// Via says where the reference was read: "annotation", "Namespace <ns>" or
	// "GatewayClass <name>".
	Via string
}

func (r AKORef) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// ServiceInfraSettingRef returns the AviInfraSetting AKO applies to a Service's virtual
// service: the Service's aviinfrasetting.ako.vmware.com/name annotation, else its
// Namespace's (AKO: internal/nodes/avi_model_l4_translator.go getL4InfraSetting,
// internal/lib/utils.go GetNamespacedAviInfraSetting). ok is false when there is none.
func ServiceInfraSettingRef(svc *corev1.Service, inv Inventory) (AKORef, bool, error) {
	if name := svc.Annotations[AnnotationInfraSetting]; name != "" {
		return AKORef{Name: name, Path: annotationPath(AnnotationInfraSetting), Via: "annotation"}, true, nil
	}
	return namespaceInfraSettingRef(svc.Namespace, inv)
}

// GatewayInfraSettingRef returns the AviInfraSetting AKO applies to a Gateway's virtual
// service: its GatewayClass's parametersRef when that names an ako.vmware.com
// AviInfraSetting, else the Gateway's Namespace's annotation (AKO: getL4InfraSetting).
func GatewayInfraSettingRef(gw *svcapi.Gateway, class *svcapi.GatewayClass, inv Inventory) (AKORef, bool, error) {
	if class != nil {
		if p := class.Spec.ParametersRef; p != nil && p.Group == "ako.vmware.com" && p.Kind == "AviInfraSetting" {
			return AKORef{Name: p.Name, Path: field.NewPath("spec", "gatewayClassName"), Via: "GatewayClass " + class.Name}, true, nil
		}
	}
	return namespaceInfraSettingRef(gw.Namespace, inv)
}

func namespaceInfraSettingRef(namespace string, inv Inventory) (AKORef, bool, error) {
	ns, err := inv.Namespace(namespace)
	if err != nil {
		return AKORef{}, false, fmt.Errorf("get Namespace %s: %w", namespace, err)
	}
	if ns == nil || ns.Annotations[AnnotationInfraSetting] == "" {
		return AKORef{}, false, nil
	}
	return AKORef{Name: ns.Annotations[AnnotationInfraSetting], Path: field.NewPath("metadata", "namespace"), Via: "Namespace " + namespace}, true, nil
}

// ServiceL4RuleRef returns the L4Rule a Service names with ako.vmware.com/l4rule:
// "<namespace>/<name>", or "<name>" in the Service's namespace (AKO:
// internal/nodes/avi_model_l4_translator.go getL4Rule, internal/lib/utils.go
// ExtractTypeNameNamespace).
func ServiceL4RuleRef(svc *corev1.Service) (AKORef, bool) {
	v, ok := svc.Annotations[AnnotationL4Rule]
	if !ok {
		return AKORef{}, false
	}
	segs := strings.SplitN(v, "/", 3)
	ns, name := svc.Namespace, segs[len(segs)-1]
	if len(segs) > 1 && segs[0] != "" {
		ns = segs[0]
	}
	return AKORef{Namespace: ns, Name: name, Path: annotationPath(AnnotationL4Rule), Via: "annotation"}, true
}

// InfraSettingProblem returns why AKO would reject an AviInfraSetting, or "": AKO's own
// status when it wrote one, else the checks AKO makes without asking the controller (AKO:
// internal/k8s/validator.go ValidateAviInfraSetting). The checks that need the controller
// (that the networks and the SE group exist) are the controller's when sctpguard writes.
func InfraSettingProblem(s *akov1beta1.AviInfraSetting) string {
	if s.Status.Status == akov1beta1.StatusRejected {
		return "AKO rejected it: " + orUnset(s.Status.Error)
	}
	n := s.Spec.Network
	if len(n.BgpPeerLabels) > 0 && (n.EnableRhi == nil || !*n.EnableRhi) {
		return "network.bgpPeerLabels is set but network.enableRhi is not true, which AKO rejects"
	}
	for i, v := range n.VipNetworks {
		if v.Cidr != "" && !isPrefix(v.Cidr, true) {
			return fmt.Sprintf("network.vipNetworks[%d].cidr %q is not an IPv4 CIDR, which AKO rejects", i, v.Cidr)
		}
		if v.V6Cidr != "" && !isPrefix(v.V6Cidr, false) {
			return fmt.Sprintf("network.vipNetworks[%d].v6cidr %q is not an IPv6 CIDR, which AKO rejects", i, v.V6Cidr)
		}
	}
	if len(n.Listeners) > 0 && !slices.ContainsFunc(n.Listeners, func(l akov1beta1.AviInfraSettingListener) bool {
		return l.EnableSSL != nil && *l.EnableSSL
	}) {
		return "network.listeners has no port with enableSSL, which AKO rejects"
	}
	return ""
}

// L4RuleProblem returns why AKO would reject an L4Rule, or "": AKO's own status when it wrote
// one, else the checks AKO makes without asking the controller (AKO: internal/k8s/validator.go
// ValidateL4RuleObj).
func L4RuleProblem(r *akov1alpha2.L4Rule) string {
	if r.Status.Status == akov1beta1.StatusRejected {
		return "AKO rejected it: " + orUnset(r.Status.Error)
	}
	if ip := r.Spec.LoadBalancerIP; ip != nil {
		if _, err := netip.ParseAddr(*ip); err != nil {
			return fmt.Sprintf("spec.loadBalancerIP %q is not an IP address, which AKO rejects", *ip)
		}
	}
	for i, b := range r.Spec.BackendProperties {
		if b.Port == nil || b.Protocol == nil {
			return fmt.Sprintf("spec.backendProperties[%d] lacks its port or protocol", i)
		}
	}
	return ""
}

func orUnset(s string) string {
	if s == "" {
		return "(no reason given)"
	}
	return s
}

func isPrefix(s string, v4 bool) bool {
	p, err := netip.ParsePrefix(s)
	return err == nil && p.Addr().Is4() == v4
}

// unsupportedInfraSetting lists the AviInfraSetting fields sctpguard does not translate
// though they would change an L4 virtual service.
func unsupportedInfraSetting(s *akov1beta1.AviInfraSetting) []string {
	var out []string
	if t := s.Spec.NSXSettings.T1LR; t != nil && *t != "" {
		out = append(out, fmt.Sprintf("nsxSettings.t1lr %q (AKO places the VsVip and pools on that NSX-T tier-1 router)", *t))
	}
	return out
}

// unsupportedL4Rule lists the L4Rule fields sctpguard does not translate.
func unsupportedL4Rule(r *akov1alpha2.L4Rule) []string {
	var out []string
	sp := r.Spec
	if len(sp.ListenerProperties) > 0 {
		out = append(out, "listenerProperties (L4 SSL, which SCTP does not carry)")
	}
	if len(sp.SslKeyAndCertificateRefs) > 0 {
		out = append(out, "sslKeyAndCertificateRefs (L4 SSL)")
	}
	if sp.SslProfileRef != nil {
		out = append(out, "sslProfileRef (L4 SSL)")
	}
	if sp.RevokeVipRoute != nil {
		out = append(out, "revokeVipRoute (the VS field revoke_vip_route needs Avi API 30.2.1; sctpguard speaks 22.1.3)")
	}
	for i, b := range sp.BackendProperties {
		p := fmt.Sprintf("backendProperties[%d].", i)
		if len(b.HealthMonitorCrdRefs) > 0 {
			out = append(out, p+"healthMonitorCrdRefs (HealthMonitor objects of AKO's CRD operator)")
		}
		if b.PkiProfileRef != nil {
			out = append(out, p+"pkiProfileRef (SSL to the pool)")
		}
		if b.SslKeyAndCertificateRef != nil {
			out = append(out, p+"sslKeyAndCertificateRef (SSL to the pool)")
		}
		if b.SslProfileRef != nil {
			out = append(out, p+"sslProfileRef (SSL to the pool)")
		}
	}
	return out
}

// unsupportedSettings lists the AKO settings (and, once the translator read them, the facts
// of the cloud) sctpguard does not translate though they would change an L4 virtual service.
func unsupportedSettings(settings Context) []string {
	var out []string
	if a := settings.AKO; a != nil {
		if a.NSXTT1LR != "" {
			out = append(out, fmt.Sprintf("AKO's NetworkSettings.nsxtT1LR %q (AKO places the VsVip and pools on that NSX-T tier-1 router)", a.NSXTT1LR))
		}
		if a.VPCMode {
			out = append(out, "AKO's AKOSettings.vpcMode (NSX-T VPC placement)")
		}
		if a.IstioEnabled {
			out = append(out, "AKO's AKOSettings.istioEnabled (AKO's pools speak Istio mTLS to the pods)")
		}
		if c := settings.Cloud; c != nil && c.DNSProvider && a.AutoFQDN != AutoFQDNDisabled {
			out = append(out, fmt.Sprintf("AKO's L4Settings.autoFQDN %q with a DNS provider on the cloud (AKO adds an FQDN <service>.<namespace>.<subdomain> to the VsVip)",
				orDefault(a.AutoFQDN, AutoFQDNDefault)))
		}
	}
	if c := settings.Cloud; c != nil {
		switch c.Type {
		case "", CloudVCenter, CloudNone:
		default:
			out = append(out, fmt.Sprintf("the cloud's type %s (AKO builds VsVips and pools differently on public and NSX-T clouds)", c.Type))
		}
	}
	return out
}

// akoSubject reports whether the translator syncs an L4 virtual service for a Service: a
// LoadBalancer Service AKO may handle, with an SCTP port or in a shared-VIP group that has
// one.
func akoSubject(svc *corev1.Service, settings Context, inv Inventory) (bool, error) {
	if _, handled, _ := serviceImplementation(svc, settings); handled == no {
		return false, nil
	}
	if serviceHasSCTP(svc) {
		return true, nil
	}
	key := sharedVIPKey(svc)
	if key == "" {
		return false, nil
	}
	members, err := inv.SharedVIPServices(svc.Namespace, key)
	if err != nil {
		return false, fmt.Errorf("list Services sharing VIP %q in namespace %s: %w", key, svc.Namespace, err)
	}
	return slices.ContainsFunc(members, func(m *corev1.Service) bool { return sharedVIPKey(m) == key && serviceHasSCTP(m) }), nil
}

// validateServiceAKOInputs judges the AKO inputs of a Service the translator syncs: AKO
// settings it does not translate, the Namespace's tenant, and the AviInfraSetting and L4Rule
// the Service uses.
func validateServiceAKOInputs(svc *corev1.Service, settings Context, inv Inventory) ([]Finding, error) {
	subject, err := akoSubject(svc, settings, inv)
	if err != nil || !subject {
		return nil, err
	}
	at := specTypePath
	for i, p := range svc.Spec.Ports {
		if p.Protocol == corev1.ProtocolSCTP {
			at = specPortsPath.Index(i).Child("protocol")
			break
		}
	}
	out, err := validateCommonAKOInputs(svc.Namespace, at, settings, inv)
	if err != nil {
		return nil, err
	}
	ref, ok, err := ServiceInfraSettingRef(svc, inv)
	if err != nil {
		return nil, err
	}
	if ok {
		more, err := validateInfraSettingRef(ref, inv)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	if ref, ok := ServiceL4RuleRef(svc); ok {
		more, err := validateL4RuleRef(ref, inv)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// validateGatewayAKOInputs judges the AKO inputs of an AKO Gateway with an SCTP listener.
func validateGatewayAKOInputs(gw *svcapi.Gateway, settings Context, inv Inventory) ([]Finding, error) {
	at := -1
	for i, l := range gw.Spec.Listeners {
		if l.Protocol == string(corev1.ProtocolSCTP) {
			at = i
			break
		}
	}
	if at < 0 || (settings.AKO != nil && !settings.AKO.ServicesAPI) {
		return nil, nil
	}
	out, err := validateCommonAKOInputs(gw.Namespace, field.NewPath("spec", "listeners").Index(at).Child("protocol"), settings, inv)
	if err != nil {
		return nil, err
	}
	class, err := inv.GatewayClass(gw.Spec.GatewayClassName)
	if err != nil {
		return nil, fmt.Errorf("get GatewayClass %s: %w", gw.Spec.GatewayClassName, err)
	}
	ref, ok, err := GatewayInfraSettingRef(gw, class, inv)
	if err != nil || !ok {
		return out, err
	}
	more, err := validateInfraSettingRef(ref, inv)
	return append(out, more...), err
}

func validateCommonAKOInputs(namespace string, at *field.Path, settings Context, inv Inventory) ([]Finding, error) {
	var out []Finding
	for _, s := range unsupportedSettings(settings) {
		out = append(out, newFinding(RuleAKOInputUnsupported, at,
			"%s shapes this virtual service, and sctpguard does not translate it, so it does not sync the object; "+
				"change it, or demote %s to warn to sync without it", s, RuleAKOInputUnsupported))
	}
	ns, err := inv.Namespace(namespace)
	if err != nil {
		return nil, fmt.Errorf("get Namespace %s: %w", namespace, err)
	}
	if ns == nil {
		return out, nil
	}
	if t := ns.Annotations[AnnotationTenant]; t != "" && (settings.AKO == nil || t != settings.AKO.Tenant()) {
		out = append(out, newFinding(RuleAKOInputUnsupported, field.NewPath("metadata", "namespace"),
			"Namespace %s has %s: %q, with which AKO puts its virtual services in that Avi tenant; sctpguard syncs every object "+
				"in AKO's tenant (ControllerSettings.tenantName), so it does not sync this one; remove the annotation, or demote %s to warn",
			namespace, AnnotationTenant, t, RuleAKOInputUnsupported))
	}
	return out, nil
}

func validateInfraSettingRef(ref AKORef, inv Inventory) ([]Finding, error) {
	s, err := inv.AviInfraSetting(ref.Name)
	if err != nil {
		return nil, fmt.Errorf("get AviInfraSetting %s: %w", ref.Name, err)
	}
	if s == nil {
		return []Finding{newFinding(RuleAKOReferenceMissing, ref.Path,
			"AviInfraSetting %q (from the %s) does not exist: AKO would build the virtual service in the default SE group and networks; "+
				"sctpguard waits until it exists; create it or fix the name", ref.Name, ref.Via)}, nil
	}
	if p := InfraSettingProblem(s); p != "" {
		return []Finding{newFinding(RuleAKOReferenceInvalid, ref.Path,
			"AviInfraSetting %q (from the %s) cannot be used: %s; AKO would silently build the virtual service without it, "+
				"sctpguard does not sync it; fix the AviInfraSetting", ref.Name, ref.Via, p)}, nil
	}
	var out []Finding
	for _, u := range unsupportedInfraSetting(s) {
		out = append(out, newFinding(RuleAKOInputUnsupported, ref.Path,
			"AviInfraSetting %q (from the %s) sets %s, which sctpguard does not translate, so it does not sync the object; "+
				"use an AviInfraSetting without it, or demote %s to warn", ref.Name, ref.Via, u, RuleAKOInputUnsupported))
	}
	return out, nil
}

func validateL4RuleRef(ref AKORef, inv Inventory) ([]Finding, error) {
	r, err := inv.L4Rule(ref.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("get L4Rule %s: %w", ref, err)
	}
	if r == nil {
		return []Finding{newFinding(RuleAKOReferenceMissing, ref.Path,
			"L4Rule %s does not exist: AKO would build the virtual service without it; sctpguard waits until it exists; "+
				"create it or fix the annotation", ref)}, nil
	}
	if p := L4RuleProblem(r); p != "" {
		return []Finding{newFinding(RuleAKOReferenceInvalid, ref.Path,
			"L4Rule %s cannot be used: %s; AKO would silently build the virtual service without it, sctpguard does not sync it; "+
				"fix the L4Rule", ref, p)}, nil
	}
	var out []Finding
	for _, u := range unsupportedL4Rule(r) {
		out = append(out, newFinding(RuleAKOInputUnsupported, ref.Path,
			"L4Rule %s sets %s, which sctpguard does not translate, so it does not sync the object; remove it from the L4Rule, "+
				"or demote %s to warn", ref, u, RuleAKOInputUnsupported))
	}
	return out, nil
}
