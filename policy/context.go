package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// ServiceType is AKO's L7Settings.serviceType: how AKO reaches the pods.
type ServiceType string

// AKO service types.
const (
	ServiceTypeClusterIP     ServiceType = "ClusterIP"
	ServiceTypeNodePort      ServiceType = "NodePort"
	ServiceTypeNodePortLocal ServiceType = "NodePortLocal"
)

// PlatformOpenShift is the Context.Platform value of OpenShift and OKD clusters.
const PlatformOpenShift = "openshift"

// CNIs are the values of Context.CNI that rules know; empty means unknown.
var CNIs = []string{"antrea", "calico", "canal", "cilium", "flannel", "kube-router", "ncp", "openshift", "ovn-kubernetes"}

// MinSCTPControllerVersion is the first Avi Controller release with SCTP profiles.
const MinSCTPControllerVersion = "22.1.3"

// Context is what the rules know about the cluster beyond the objects: the AKO settings,
// the Avi Controller version, the platform and the CNI. Unknown settings mean "do not
// assume": a rule that needs a setting it does not have stays silent.
type Context struct {
	// AKO holds AKO's settings, or nil when nothing is known about AKO.
	AKO *AKOSettings `json:"ako,omitempty"`
	// ControllerVersion is the Avi Controller version, e.g. "22.1.3"; empty when unknown.
	ControllerVersion string `json:"controllerVersion,omitempty"`
	// Platform is "openshift" or empty.
	Platform string `json:"platform,omitempty"`
	// CNI is the cluster's CNI plugin (one of CNIs), or empty when unknown.
	CNI string `json:"cni,omitempty"`
	// Cloud is what the translator read from the Avi Controller about AKO's cloud; nil when
	// unknown (check, translate, the webhook).
	Cloud *AviCloud `json:"cloud,omitempty"`
}

// AviCloud is what the translator learns from the Avi Controller at connect, where AKO learns
// it at boot (AKO: internal/cache/controller_obj_cache.go AviCloudPropertiesPopulate,
// checkAndSetVRFFromNetwork).
type AviCloud struct {
	// Type is the cloud's vtype, e.g. CLOUD_VCENTER.
	Type string `json:"type"`
	// DNSProvider is true when the cloud has a DNS provider profile, whose domains AKO's
	// autoFQDN builds names from.
	DNSProvider bool `json:"dnsProvider,omitempty"`
	// NetworkVRF is the VRF context of the first vipNetworkList network: AKO's VRF in ClusterIP
	// mode when vrfName is empty.
	NetworkVRF string `json:"networkVRF,omitempty"`
}

// CloudType returns the cloud's vtype, or "" when unknown.
func (c Context) CloudType() string {
	if c.Cloud == nil {
		return ""
	}
	return c.Cloud.Type
}

// AKOSettings are the AKO settings the rules and the translator read. Once any is known, the
// others take AKO's own defaults, as AKO itself would. The Avi placement settings (tenant,
// cloud, SE group, full sync) are left empty when unset; their accessors return AKO's defaults.
type AKOSettings struct {
	ServiceType         ServiceType `json:"serviceType"`
	ServicesAPI         bool        `json:"servicesAPI"`
	DefaultLBController bool        `json:"defaultLBController"`
	ClusterName         string      `json:"clusterName,omitempty"`
	Layer7Only          bool        `json:"layer7Only"`

	// ControllerHost is the Avi Controller address (ControllerSettings.controllerHost).
	ControllerHost string `json:"controllerHost,omitempty"`
	// TenantName is the Avi tenant of every object; empty means "admin".
	TenantName string `json:"tenantName,omitempty"`
	// CloudName is the Avi cloud; empty means "Default-Cloud".
	CloudName string `json:"cloudName,omitempty"`
	// ServiceEngineGroupName is the SE group of every virtual service; empty means "Default-Group".
	ServiceEngineGroupName string `json:"serviceEngineGroupName,omitempty"`
	// VRFName is the VRF context; empty leaves it to the controller (global).
	VRFName string `json:"vrfName,omitempty"`
	// VIPNetworks is NetworkSettings.vipNetworkList; the first entry places the VIPs.
	VIPNetworks []VIPNetwork `json:"vipNetworkList,omitempty"`
	// NodePortSelector limits NodePort-mode pool servers to the Nodes with this label.
	NodePortSelector *NodePortSelector `json:"nodePortSelector,omitempty"`
	// FullSyncSeconds is AKOSettings.fullSyncFrequency; nil means 1800, 0 means only at start.
	FullSyncSeconds *int `json:"fullSyncFrequency,omitempty"`

	// IPFamily is AKOSettings.ipFamily: the address families of pool servers, V4, V6 or
	// V4_V6; empty takes AKO's default, which depends on the cloud (IPFamilyFor).
	IPFamily string `json:"ipFamily,omitempty"`
	// EnableRHI is NetworkSettings.enableRHI: VIPs are advertised over BGP (VS enable_rhi).
	EnableRHI bool `json:"enableRHI,omitempty"`
	// BGPPeerLabels is NetworkSettings.bgpPeerLabels: the BGP peers a VsVip is advertised to
	// while RHI is on.
	BGPPeerLabels []string `json:"bgpPeerLabels,omitempty"`
	// NodeNetworks is NetworkSettings.nodeNetworkList: the pool placement networks.
	NodeNetworks []NodeNetwork `json:"nodeNetworkList,omitempty"`
	// AutoFQDN is L4Settings.autoFQDN: default, flat or disabled; empty means default.
	AutoFQDN string `json:"autoFQDN,omitempty"`
	// NSXTT1LR is NetworkSettings.nsxtT1LR, the NSX-T tier-1 router (NSX-T clouds only).
	NSXTT1LR string `json:"nsxtT1LR,omitempty"`
	// VPCMode is AKOSettings.vpcMode (NSX-T VPCs).
	VPCMode bool `json:"vpcMode,omitempty"`
	// IstioEnabled is AKOSettings.istioEnabled: AKO's pools then speak mTLS to the pods.
	IstioEnabled bool `json:"istioEnabled,omitempty"`
	// EnableEVH is AKOSettings.enableEVH: AKO then names its objects by a hash.
	EnableEVH bool `json:"enableEVH,omitempty"`
	// BlockedNamespaces is AKOSettings.blockedNamespaceList: AKO syncs nothing from them.
	BlockedNamespaces []string `json:"blockedNamespaceList,omitempty"`
	// NamespaceSelector is AKOSettings.namespaceSelector: when set, AKO syncs only the
	// namespaces with this label.
	NamespaceSelector *NamespaceSelector `json:"namespaceSelector,omitempty"`
}

// IP families of AKOSettings.ipFamily.
const (
	IPFamilyV4   = "V4"
	IPFamilyV6   = "V6"
	IPFamilyV4V6 = "V4_V6"
)

// AutoFQDN values of L4Settings.autoFQDN.
const (
	AutoFQDNDefault  = "default"
	AutoFQDNFlat     = "flat"
	AutoFQDNDisabled = "disabled"
)

// NodeNetwork is one entry of AKO's nodeNetworkList: a network by name or uuid, and the
// CIDRs of the nodes in it.
type NodeNetwork struct {
	NetworkName string   `json:"networkName,omitempty"`
	NetworkUUID string   `json:"networkUUID,omitempty"`
	CIDRs       []string `json:"cidrs,omitempty"`
}

// NamespaceSelector is AKO's namespaceSelector: a Namespace label key and value.
type NamespaceSelector struct {
	LabelKey   string `json:"labelKey"`
	LabelValue string `json:"labelValue"`
}

// VIPNetwork is one entry of AKO's vipNetworkList (or of an AviInfraSetting's vipNetworks):
// a network by name, or by uuid, which AKO prefers.
type VIPNetwork struct {
	NetworkName string `json:"networkName"`
	NetworkUUID string `json:"networkUUID,omitempty"`
	CIDR        string `json:"cidr,omitempty"`
	V6CIDR      string `json:"v6cidr,omitempty"`
}

// NodePortSelector is AKO's nodePortSelector: a Node label key and value.
type NodePortSelector struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AKO's defaults for the Avi placement settings.
const (
	DefaultTenant                 = "admin"
	DefaultCloud                  = "Default-Cloud"
	DefaultServiceEngineGroup     = "Default-Group"
	DefaultFullSyncSeconds    int = 1800
)

// Tenant returns the Avi tenant, AKO's default when unset.
func (s *AKOSettings) Tenant() string { return orDefault(s.TenantName, DefaultTenant) }

// Cloud returns the Avi cloud, AKO's default when unset.
func (s *AKOSettings) Cloud() string { return orDefault(s.CloudName, DefaultCloud) }

// ServiceEngineGroup returns the SE group, AKO's default when unset.
func (s *AKOSettings) ServiceEngineGroup() string {
	return orDefault(s.ServiceEngineGroupName, DefaultServiceEngineGroup)
}

// Cloud types (the vtype of the Avi cloud) that decide AKO defaults.
const (
	CloudVCenter = "CLOUD_VCENTER"
	CloudNone    = "CLOUD_NONE"
	CloudNSXT    = "CLOUD_NSXT"
)

// IPFamilyFor returns the ipFamily in force on a cloud of the given vtype: the setting, else
// AKO's default, V4_V6 on the clouds that carry IPv6 (vCenter, No-Access, NSX-T) and V4 on the
// others (AKO: internal/lib/lib.go SetIPFamily, IsV6EnabledCloud). An unknown cloud ("") is
// taken as one of the former, the clouds SCTP load balancing runs on.
func (s *AKOSettings) IPFamilyFor(cloudType string) string {
	if s.IPFamily != "" {
		return s.IPFamily
	}
	switch cloudType {
	case "", CloudVCenter, CloudNone, CloudNSXT:
		return IPFamilyV4V6
	}
	return IPFamilyV4
}

// FullSync returns the full sync period in seconds (0: only at start).
func (s *AKOSettings) FullSync() int {
	if s.FullSyncSeconds == nil {
		return DefaultFullSyncSeconds
	}
	return *s.FullSyncSeconds
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// DefaultAKOSettings returns AKO's defaults.
func DefaultAKOSettings() *AKOSettings {
	return &AKOSettings{ServiceType: ServiceTypeClusterIP, DefaultLBController: true}
}

// Validate checks the context's values.
func (c Context) Validate() field.ErrorList {
	var errs field.ErrorList
	if c.AKO != nil {
		switch c.AKO.ServiceType {
		case ServiceTypeClusterIP, ServiceTypeNodePort, ServiceTypeNodePortLocal:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("ako", "serviceType"), string(c.AKO.ServiceType),
				[]ServiceType{ServiceTypeClusterIP, ServiceTypeNodePort, ServiceTypeNodePortLocal}))
		}
	}
	if c.ControllerVersion != "" {
		if _, err := version.ParseGeneric(c.ControllerVersion); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("avi", "controllerVersion"), c.ControllerVersion, "must be a version such as 22.1.3"))
		}
	}
	if c.Platform != "" && c.Platform != PlatformOpenShift {
		errs = append(errs, field.NotSupported(field.NewPath("platform"), c.Platform, []string{PlatformOpenShift}))
	}
	if c.CNI != "" && !slices.Contains(CNIs, c.CNI) {
		errs = append(errs, field.NotSupported(field.NewPath("cni"), c.CNI, CNIs))
	}
	return errs
}

// controllerTooOld reports whether the controller version is known and below 22.1.3.
func (c Context) controllerTooOld() bool {
	if c.ControllerVersion == "" {
		return false
	}
	v, err := version.ParseGeneric(c.ControllerVersion)
	if err != nil {
		return false
	}
	return v.LessThan(version.MustParseGeneric(MinSCTPControllerVersion))
}

func (c Context) serviceType() ServiceType {
	if c.AKO == nil {
		return ""
	}
	return c.AKO.ServiceType
}

// akoValues is the part of AKO's Helm values file the rules read. Booleans may be written
// as strings there, so every field is decoded loosely and converted with errors that name it.
type akoValues struct {
	AKOSettings struct {
		ClusterName       any `json:"clusterName"`
		CNIPlugin         any `json:"cniPlugin"`
		Layer7Only        any `json:"layer7Only"`
		ServicesAPI       any `json:"servicesAPI"`
		FullSyncFrequency any `json:"fullSyncFrequency"`
		IPFamily          any `json:"ipFamily"`
		VPCMode           any `json:"vpcMode"`
		IstioEnabled      any `json:"istioEnabled"`
		EnableEVH         any `json:"enableEVH"`
		BlockedNamespaces any `json:"blockedNamespaceList"`
		NamespaceSelector any `json:"namespaceSelector"`
	} `json:"AKOSettings"`
	L7Settings struct {
		ServiceType any `json:"serviceType"`
	} `json:"L7Settings"`
	L4Settings struct {
		DefaultLBController any `json:"defaultLBController"`
		AutoFQDN            any `json:"autoFQDN"`
	} `json:"L4Settings"`
	ControllerSettings struct {
		ControllerVersion      any `json:"controllerVersion"`
		ControllerHost         any `json:"controllerHost"`
		TenantName             any `json:"tenantName"`
		CloudName              any `json:"cloudName"`
		ServiceEngineGroupName any `json:"serviceEngineGroupName"`
		VRFName                any `json:"vrfName"`
	} `json:"ControllerSettings"`
	NetworkSettings struct {
		VIPNetworkList  any `json:"vipNetworkList"`
		NodeNetworkList any `json:"nodeNetworkList"`
		EnableRHI       any `json:"enableRHI"`
		BGPPeerLabels   any `json:"bgpPeerLabels"`
		NSXTT1LR        any `json:"nsxtT1LR"`
	} `json:"NetworkSettings"`
	NodePortSelector any `json:"nodePortSelector"`
}

// ParseAKOValues reads the settings from AKO's own Helm values file, as-is. Settings the
// file leaves out take AKO's defaults.
func ParseAKOValues(data []byte) (Context, error) {
	var v akoValues
	if err := yaml.Unmarshal(data, &v); err != nil {
		return Context{}, fmt.Errorf("parse AKO values: %w", err)
	}
	s := settingsReader{}
	ctx := Context{AKO: DefaultAKOSettings()}
	s.str("AKOSettings.clusterName", v.AKOSettings.ClusterName, &ctx.AKO.ClusterName)
	s.str("AKOSettings.cniPlugin", v.AKOSettings.CNIPlugin, &ctx.CNI)
	s.boolean("AKOSettings.layer7Only", v.AKOSettings.Layer7Only, &ctx.AKO.Layer7Only)
	s.boolean("AKOSettings.servicesAPI", v.AKOSettings.ServicesAPI, &ctx.AKO.ServicesAPI)
	s.serviceType("L7Settings.serviceType", v.L7Settings.ServiceType, &ctx.AKO.ServiceType)
	s.boolean("L4Settings.defaultLBController", v.L4Settings.DefaultLBController, &ctx.AKO.DefaultLBController)
	s.str("ControllerSettings.controllerVersion", v.ControllerSettings.ControllerVersion, &ctx.ControllerVersion)
	s.str("ControllerSettings.controllerHost", v.ControllerSettings.ControllerHost, &ctx.AKO.ControllerHost)
	s.str("ControllerSettings.tenantName", v.ControllerSettings.TenantName, &ctx.AKO.TenantName)
	s.str("ControllerSettings.cloudName", v.ControllerSettings.CloudName, &ctx.AKO.CloudName)
	s.str("ControllerSettings.serviceEngineGroupName", v.ControllerSettings.ServiceEngineGroupName, &ctx.AKO.ServiceEngineGroupName)
	s.str("ControllerSettings.vrfName", v.ControllerSettings.VRFName, &ctx.AKO.VRFName)
	s.integer("AKOSettings.fullSyncFrequency", v.AKOSettings.FullSyncFrequency, &ctx.AKO.FullSyncSeconds)
	s.vipNetworks("NetworkSettings.vipNetworkList", v.NetworkSettings.VIPNetworkList, &ctx.AKO.VIPNetworks)
	s.nodeNetworks("NetworkSettings.nodeNetworkList", v.NetworkSettings.NodeNetworkList, &ctx.AKO.NodeNetworks)
	s.boolean("NetworkSettings.enableRHI", v.NetworkSettings.EnableRHI, &ctx.AKO.EnableRHI)
	s.strings("NetworkSettings.bgpPeerLabels", v.NetworkSettings.BGPPeerLabels, &ctx.AKO.BGPPeerLabels)
	s.str("NetworkSettings.nsxtT1LR", v.NetworkSettings.NSXTT1LR, &ctx.AKO.NSXTT1LR)
	s.ipFamily("AKOSettings.ipFamily", v.AKOSettings.IPFamily, &ctx.AKO.IPFamily)
	s.boolean("AKOSettings.vpcMode", v.AKOSettings.VPCMode, &ctx.AKO.VPCMode)
	s.boolean("AKOSettings.istioEnabled", v.AKOSettings.IstioEnabled, &ctx.AKO.IstioEnabled)
	s.boolean("AKOSettings.enableEVH", v.AKOSettings.EnableEVH, &ctx.AKO.EnableEVH)
	s.strings("AKOSettings.blockedNamespaceList", v.AKOSettings.BlockedNamespaces, &ctx.AKO.BlockedNamespaces)
	s.autoFQDN("L4Settings.autoFQDN", v.L4Settings.AutoFQDN, &ctx.AKO.AutoFQDN)
	if sel, ok := v.AKOSettings.NamespaceSelector.(map[string]any); ok {
		var ns NamespaceSelector
		s.str("AKOSettings.namespaceSelector.labelKey", sel["labelKey"], &ns.LabelKey)
		s.str("AKOSettings.namespaceSelector.labelValue", sel["labelValue"], &ns.LabelValue)
		ctx.AKO.NamespaceSelector = ns.orNil()
	} else if v.AKOSettings.NamespaceSelector != nil {
		s.fail("AKOSettings.namespaceSelector", fmt.Sprintf("AKOSettings.namespaceSelector: expected {labelKey, labelValue}, got %T", v.AKOSettings.NamespaceSelector))
	}
	if sel, ok := v.NodePortSelector.(map[string]any); ok {
		var np NodePortSelector
		s.str("nodePortSelector.key", sel["key"], &np.Key)
		s.str("nodePortSelector.value", sel["value"], &np.Value)
		if np.Key != "" {
			ctx.AKO.NodePortSelector = &np
		}
	} else if v.NodePortSelector != nil {
		s.fail("nodePortSelector", fmt.Sprintf("nodePortSelector: expected {key, value}, got %T", v.NodePortSelector))
	}
	ctx.CNI = strings.ToLower(ctx.CNI)
	return ctx, s.err()
}

// ParseAKOConfigMap reads the settings from the data of AKO's avi-k8s-config ConfigMap; any
// value it cannot read is an error (check's --ako-configmap).
func ParseAKOConfigMap(data map[string]string) (Context, error) {
	ctx, s := readAKOConfigMap(data)
	return ctx, s.err()
}

// SettingProblem is a key of AKO's ConfigMap whose value sctpguard cannot read. The key then
// takes the value AKO itself would give it, or none, and the other keys still apply.
type SettingProblem struct {
	// Key is the ConfigMap key, Value its value as written.
	Key, Value string
	// Message says what is wrong and what sctpguard assumes instead.
	Message string
}

// String renders the problem as "key: message".
func (p SettingProblem) String() string { return p.Key + ": " + p.Message }

// akoFallbacks say what a key that does not read means, to AKO and so to sctpguard. AKO
// reads most keys from its environment with lenient parsers (cmd/ako-main and internal/lib):
// a serviceType other than NodePort and NodePortLocal runs as ClusterIP, a defaultLBController
// that is not a boolean counts as true, servicesAPI and layer7Only as false.
var akoFallbacks = map[string]string{
	"serviceType":          "AKO runs as in ClusterIP mode with it, and sctpguard judges so",
	"defaultLBController":  "AKO reads it as true, and so does sctpguard",
	"servicesAPI":          "AKO reads it as false, and so does sctpguard",
	"layer7Only":           "AKO reads it as false, and so does sctpguard",
	"cniPlugin":            "the CNI counts as unknown, and rules that depend on it stay silent",
	"controllerVersion":    "the controller version counts as unknown, and rules that depend on it stay silent",
	"fullSyncFrequency":    "the translator keeps AKO's default, 1800 seconds",
	"vipNetworkList":       "the key is ignored: the translator leaves the VIP network to the controller's defaults",
	"nodeNetworkList":      "the key is ignored: pools get no placement networks from it",
	"bgpPeerLabels":        "the key is ignored: no BGP peer labels are sent",
	"blockedNamespaceList": "the key is ignored: no namespace is blocked",
	"enableRHI":            "AKO reads it as false, and so does sctpguard",
	"vpcMode":              "AKO reads it as false, and so does sctpguard",
	"istioEnabled":         "AKO reads it as false, and so does sctpguard",
	"enableEVH":            "AKO reads it as false, and so does sctpguard",
	"ipFamily":             "sctpguard reads it as AKO's default, V4",
	"autoFQDN":             "sctpguard reads it as AKO's default, default",
}

// ReadAKOConfigMap reads AKO's ConfigMap key by key, as AKO does: a value it cannot read is a
// problem about that key alone, which takes AKO's own reading of it (see akoFallbacks) while
// the other keys apply. The webhook judges with the result and reports the problems.
func ReadAKOConfigMap(data map[string]string) (Context, []SettingProblem) {
	ctx, s := readAKOConfigMap(data)
	var out []SettingProblem
	seen := map[string]bool{}
	for _, p := range s.problems {
		if seen[p.key] {
			continue
		}
		seen[p.key] = true
		msg := strings.TrimPrefix(p.message, p.key+": ")
		if fallback := akoFallbacks[p.key]; fallback != "" {
			msg += "; " + fallback
		}
		out = append(out, SettingProblem{Key: p.key, Value: data[p.key], Message: msg})
		switch p.key {
		case "vipNetworkList":
			ctx.AKO.VIPNetworks = nil
		case "fullSyncFrequency":
			ctx.AKO.FullSyncSeconds = nil
		case "nodeNetworkList":
			ctx.AKO.NodeNetworks = nil
		case "bgpPeerLabels":
			ctx.AKO.BGPPeerLabels = nil
		case "blockedNamespaceList":
			ctx.AKO.BlockedNamespaces = nil
		}
	}
	return ctx, out
}

func readAKOConfigMap(data map[string]string) (Context, *settingsReader) {
	s := &settingsReader{}
	ctx := Context{AKO: DefaultAKOSettings()}
	get := func(key string) any {
		if v, ok := data[key]; ok {
			return v
		}
		return nil
	}
	s.str("clusterName", get("clusterName"), &ctx.AKO.ClusterName)
	s.str("cniPlugin", get("cniPlugin"), &ctx.CNI)
	s.boolean("layer7Only", get("layer7Only"), &ctx.AKO.Layer7Only)
	s.boolean("servicesAPI", get("servicesAPI"), &ctx.AKO.ServicesAPI)
	s.serviceType("serviceType", get("serviceType"), &ctx.AKO.ServiceType)
	s.boolean("defaultLBController", get("defaultLBController"), &ctx.AKO.DefaultLBController)
	s.str("controllerVersion", get("controllerVersion"), &ctx.ControllerVersion)
	s.str("controllerIP", get("controllerIP"), &ctx.AKO.ControllerHost)
	s.str("tenantName", get("tenantName"), &ctx.AKO.TenantName)
	s.str("cloudName", get("cloudName"), &ctx.AKO.CloudName)
	s.str("serviceEngineGroupName", get("serviceEngineGroupName"), &ctx.AKO.ServiceEngineGroupName)
	s.str("vrfName", get("vrfName"), &ctx.AKO.VRFName)
	s.integer("fullSyncFrequency", get("fullSyncFrequency"), &ctx.AKO.FullSyncSeconds)
	// AKO's chart renders the lists into the ConfigMap as JSON strings.
	s.jsonList("vipNetworkList", data["vipNetworkList"], func(list any) {
		s.vipNetworks("vipNetworkList", list, &ctx.AKO.VIPNetworks)
	})
	s.jsonList("nodeNetworkList", data["nodeNetworkList"], func(list any) {
		s.nodeNetworks("nodeNetworkList", list, &ctx.AKO.NodeNetworks)
	})
	s.jsonList("bgpPeerLabels", data["bgpPeerLabels"], func(list any) {
		s.strings("bgpPeerLabels", list, &ctx.AKO.BGPPeerLabels)
	})
	s.jsonList("blockedNamespaceList", data["blockedNamespaceList"], func(list any) {
		s.strings("blockedNamespaceList", list, &ctx.AKO.BlockedNamespaces)
	})
	s.boolean("enableRHI", get("enableRHI"), &ctx.AKO.EnableRHI)
	s.str("nsxtT1LR", get("nsxtT1LR"), &ctx.AKO.NSXTT1LR)
	s.ipFamily("ipFamily", get("ipFamily"), &ctx.AKO.IPFamily)
	s.boolean("vpcMode", get("vpcMode"), &ctx.AKO.VPCMode)
	s.boolean("istioEnabled", get("istioEnabled"), &ctx.AKO.IstioEnabled)
	s.boolean("enableEVH", get("enableEVH"), &ctx.AKO.EnableEVH)
	s.autoFQDN("autoFQDN", get("autoFQDN"), &ctx.AKO.AutoFQDN)
	var ns NamespaceSelector
	s.str("nsSyncLabelKey", get("nsSyncLabelKey"), &ns.LabelKey)
	s.str("nsSyncLabelValue", get("nsSyncLabelValue"), &ns.LabelValue)
	ctx.AKO.NamespaceSelector = ns.orNil()
	var np NodePortSelector
	s.str("nodeKey", get("nodeKey"), &np.Key)
	s.str("nodeValue", get("nodeValue"), &np.Value)
	if np.Key != "" {
		ctx.AKO.NodePortSelector = &np
	}
	ctx.CNI = strings.ToLower(ctx.CNI)
	if ctx.CNI != "" && !slices.Contains(CNIs, ctx.CNI) {
		s.fail("cniPlugin", fmt.Sprintf("cniPlugin: %q is not a CNI sctpguard knows (%s)", data["cniPlugin"], strings.Join(CNIs, ", ")))
		ctx.CNI = ""
	}
	if v := ctx.ControllerVersion; v != "" {
		if _, err := version.ParseGeneric(v); err != nil {
			s.fail("controllerVersion", fmt.Sprintf("controllerVersion: %q is not a version such as 22.1.3", v))
			ctx.ControllerVersion = ""
		}
	}
	return ctx, s
}

// settingsReader converts loosely typed settings and collects every problem. A setting that
// does not read keeps the value it had (AKO's default).
type settingsReader struct{ problems []settingProblem }

// settingProblem is one setting that does not read: its key and the message, which starts
// with the key (or a path under it).
type settingProblem struct{ key, message string }

// fail records a problem at path: a key, or a path under one ("vipNetworkList[0].cidr"),
// which is a problem about that key.
func (s *settingsReader) fail(path, message string) {
	key, _, _ := strings.Cut(path, "[")
	key, _, _ = strings.Cut(key, ".")
	s.problems = append(s.problems, settingProblem{key: key, message: message})
}

func (s *settingsReader) err() error {
	if len(s.problems) == 0 {
		return nil
	}
	msgs := make([]string, len(s.problems))
	for i, p := range s.problems {
		msgs[i] = p.message
	}
	return fmt.Errorf("AKO settings: %s", strings.Join(msgs, "; "))
}

func (s *settingsReader) str(key string, v any, dst *string) {
	switch t := v.(type) {
	case nil:
	case string:
		*dst = strings.TrimSpace(t)
	case float64, bool:
		*dst = fmt.Sprint(t)
	default:
		s.fail(key, fmt.Sprintf("%s: expected a string, got %T", key, v))
	}
}

func (s *settingsReader) boolean(key string, v any, dst *bool) {
	switch t := v.(type) {
	case nil:
	case bool:
		*dst = t
	case string:
		if strings.TrimSpace(t) == "" {
			return
		}
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		if err != nil {
			s.fail(key, fmt.Sprintf("%s: %q is not a boolean (true or false)", key, t))
			return
		}
		*dst = b
	default:
		s.fail(key, fmt.Sprintf("%s: expected a boolean, got %T", key, v))
	}
}

func (s *settingsReader) integer(key string, v any, dst **int) {
	var str string
	s.str(key, v, &str)
	if str == "" {
		return
	}
	n, err := strconv.Atoi(str)
	if err != nil || n < 0 {
		s.fail(key, fmt.Sprintf("%s: %q is not a whole number of seconds", key, str))
		return
	}
	*dst = &n
}

// jsonList decodes a list the ConfigMap holds as a JSON string ("null" and "" are empty).
func (s *settingsReader) jsonList(key, raw string, read func(any)) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return
	}
	var list any
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		s.fail(key, fmt.Sprintf("%s: not a JSON list: %v", key, err))
		return
	}
	read(list)
}

// strings reads a list of strings.
func (s *settingsReader) strings(key string, v any, dst *[]string) {
	if v == nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		s.fail(key, fmt.Sprintf("%s: expected a list of strings, got %T", key, v))
		return
	}
	for i, item := range list {
		var str string
		s.str(fmt.Sprintf("%s[%d]", key, i), item, &str)
		if str != "" {
			*dst = append(*dst, str)
		}
	}
}

// nodeNetworks reads nodeNetworkList: a list of {networkName or networkUUID, cidrs}.
func (s *settingsReader) nodeNetworks(key string, v any, dst *[]NodeNetwork) {
	s.networks(key, v, "{networkName, cidrs}", func(at string, m map[string]any) []string {
		var n NodeNetwork
		s.str(at+".networkName", m["networkName"], &n.NetworkName)
		s.str(at+".networkUUID", m["networkUUID"], &n.NetworkUUID)
		s.strings(at+".cidrs", m["cidrs"], &n.CIDRs)
		if n.NetworkName == "" && n.NetworkUUID == "" {
			s.fail(at, at+": networkName or networkUUID is required")
		}
		*dst = append(*dst, n)
		return n.CIDRs
	})
}

// networks reads a list of network maps (expect names their form in errors): read reads the
// entry at "<key>[i]" and returns its CIDRs, each of which must parse.
func (s *settingsReader) networks(key string, v any, expect string, read func(at string, m map[string]any) []string) {
	if v == nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		s.fail(key, fmt.Sprintf("%s: expected a list, got %T", key, v))
		return
	}
	for i, item := range list {
		at := fmt.Sprintf("%s[%d]", key, i)
		m, ok := item.(map[string]any)
		if !ok {
			s.fail(at, fmt.Sprintf("%s: expected %s, got %T", at, expect, item))
			continue
		}
		for _, c := range read(at, m) {
			if _, err := netip.ParsePrefix(c); c != "" && err != nil {
				s.fail(at, fmt.Sprintf("%s: %q is not a CIDR", at, c))
			}
		}
	}
}

func (s *settingsReader) ipFamily(key string, v any, dst *string) {
	s.oneOf(key, v, dst, IPFamilyV4, IPFamilyV6, IPFamilyV4V6)
}

func (s *settingsReader) autoFQDN(key string, v any, dst *string) {
	s.oneOf(key, v, dst, AutoFQDNDefault, AutoFQDNFlat, AutoFQDNDisabled)
}

// oneOf reads a string that must be one of values; empty leaves dst alone.
func (s *settingsReader) oneOf(key string, v any, dst *string, values ...string) {
	var str string
	s.str(key, v, &str)
	switch {
	case str == "":
	case slices.Contains(values, str):
		*dst = str
	default:
		s.fail(key, fmt.Sprintf("%s: %q is not %s or %s", key, str, strings.Join(values[:len(values)-1], ", "), values[len(values)-1]))
	}
}

// orNil returns nil for a selector without a key: AKO ignores it.
func (n NamespaceSelector) orNil() *NamespaceSelector {
	if n.LabelKey == "" || n.LabelValue == "" {
		return nil
	}
	return &n
}

// vipNetworks reads vipNetworkList: a list of {networkName or networkUUID, cidr, v6cidr}.
// AKO's chart spells the IPv6 key both v6cidr and v6Cidr.
func (s *settingsReader) vipNetworks(key string, v any, dst *[]VIPNetwork) {
	s.networks(key, v, "{networkName, cidr}", func(at string, m map[string]any) []string {
		var n VIPNetwork
		s.str(at+".networkName", m["networkName"], &n.NetworkName)
		s.str(at+".networkUUID", m["networkUUID"], &n.NetworkUUID)
		s.str(at+".cidr", m["cidr"], &n.CIDR)
		v6 := m["v6cidr"]
		if v6 == nil {
			v6 = m["v6Cidr"]
		}
		s.str(at+".v6cidr", v6, &n.V6CIDR)
		if n.NetworkName == "" && n.NetworkUUID == "" {
			s.fail(at, at+".networkName: required")
		}
		*dst = append(*dst, n)
		return []string{n.CIDR, n.V6CIDR}
	})
}

func (s *settingsReader) serviceType(key string, v any, dst *ServiceType) {
	var str string
	s.str(key, v, &str)
	switch ServiceType(str) {
	case "":
	case ServiceTypeClusterIP, ServiceTypeNodePort, ServiceTypeNodePortLocal:
		*dst = ServiceType(str)
	default:
		s.fail(key, fmt.Sprintf("%s: %q is not ClusterIP, NodePort or NodePortLocal", key, str))
	}
}
