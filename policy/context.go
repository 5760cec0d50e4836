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
}

// VIPNetwork is one entry of AKO's vipNetworkList.
type VIPNetwork struct {
	NetworkName string `json:"networkName"`
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
	} `json:"AKOSettings"`
	L7Settings struct {
		ServiceType any `json:"serviceType"`
	} `json:"L7Settings"`
	L4Settings struct {
		DefaultLBController any `json:"defaultLBController"`
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
		VIPNetworkList any `json:"vipNetworkList"`
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
	"serviceType":         "AKO runs as in ClusterIP mode with it, and sctpguard judges so",
	"defaultLBController": "AKO reads it as true, and so does sctpguard",
	"servicesAPI":         "AKO reads it as false, and so does sctpguard",
	"layer7Only":          "AKO reads it as false, and so does sctpguard",
	"cniPlugin":           "the CNI counts as unknown, and rules that depend on it stay silent",
	"controllerVersion":   "the controller version counts as unknown, and rules that depend on it stay silent",
	"fullSyncFrequency":   "the translator keeps AKO's default, 1800 seconds",
	"vipNetworkList":      "the key is ignored: the translator leaves the VIP network to the controller's defaults",
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
	// AKO's chart renders vipNetworkList into the ConfigMap as a JSON string.
	if raw := strings.TrimSpace(data["vipNetworkList"]); raw != "" {
		var list any
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			s.fail("vipNetworkList", fmt.Sprintf("vipNetworkList: not a JSON list: %v", err))
		} else {
			s.vipNetworks("vipNetworkList", list, &ctx.AKO.VIPNetworks)
		}
	}
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

func (s *settingsReader) fail(key, message string) {
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

// vipNetworks reads vipNetworkList: a list of {networkName, cidr, v6cidr}. AKO's chart
// spells the IPv6 key both v6cidr and v6Cidr.
func (s *settingsReader) vipNetworks(key string, v any, dst *[]VIPNetwork) {
	if v == nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		s.fail(key, fmt.Sprintf("%s: expected a list, got %T", key, v))
		return
	}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			s.fail(key, fmt.Sprintf("%s[%d]: expected {networkName, cidr}, got %T", key, i, item))
			continue
		}
		var n VIPNetwork
		s.str(fmt.Sprintf("%s[%d].networkName", key, i), m["networkName"], &n.NetworkName)
		s.str(fmt.Sprintf("%s[%d].cidr", key, i), m["cidr"], &n.CIDR)
		v6 := m["v6cidr"]
		if v6 == nil {
			v6 = m["v6Cidr"]
		}
		s.str(fmt.Sprintf("%s[%d].v6cidr", key, i), v6, &n.V6CIDR)
		for _, c := range []string{n.CIDR, n.V6CIDR} {
			if c == "" {
				continue
			}
			if _, err := netip.ParsePrefix(c); err != nil {
				s.fail(key, fmt.Sprintf("%s[%d]: %q is not a CIDR", key, i, c))
			}
		}
		if n.NetworkName == "" {
			s.fail(key, fmt.Sprintf("%s[%d].networkName: required", key, i))
		}
		*dst = append(*dst, n)
	}
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
