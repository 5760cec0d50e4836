package policy

import (
	"fmt"
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

// AKOSettings are the AKO settings the rules read. Once any is known, the others take AKO's
// own defaults, as AKO itself would.
type AKOSettings struct {
	ServiceType         ServiceType `json:"serviceType"`
	ServicesAPI         bool        `json:"servicesAPI"`
	DefaultLBController bool        `json:"defaultLBController"`
	ClusterName         string      `json:"clusterName,omitempty"`
	Layer7Only          bool        `json:"layer7Only"`
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
		ClusterName any `json:"clusterName"`
		CNIPlugin   any `json:"cniPlugin"`
		Layer7Only  any `json:"layer7Only"`
		ServicesAPI any `json:"servicesAPI"`
	} `json:"AKOSettings"`
	L7Settings struct {
		ServiceType any `json:"serviceType"`
	} `json:"L7Settings"`
	L4Settings struct {
		DefaultLBController any `json:"defaultLBController"`
	} `json:"L4Settings"`
	ControllerSettings struct {
		ControllerVersion any `json:"controllerVersion"`
	} `json:"ControllerSettings"`
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
	ctx.CNI = strings.ToLower(ctx.CNI)
	return ctx, s.err()
}

// ParseAKOConfigMap reads the settings from the data of AKO's avi-k8s-config ConfigMap.
func ParseAKOConfigMap(data map[string]string) (Context, error) {
	s := settingsReader{}
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
	ctx.CNI = strings.ToLower(ctx.CNI)
	return ctx, s.err()
}

// settingsReader converts loosely typed settings and collects every error.
type settingsReader struct{ errs []string }

func (s *settingsReader) err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return fmt.Errorf("AKO settings: %s", strings.Join(s.errs, "; "))
}

func (s *settingsReader) str(key string, v any, dst *string) {
	switch t := v.(type) {
	case nil:
	case string:
		*dst = strings.TrimSpace(t)
	case float64, bool:
		*dst = fmt.Sprint(t)
	default:
		s.errs = append(s.errs, fmt.Sprintf("%s: expected a string, got %T", key, v))
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
			s.errs = append(s.errs, fmt.Sprintf("%s: %q is not a boolean (true or false)", key, t))
			return
		}
		*dst = b
	default:
		s.errs = append(s.errs, fmt.Sprintf("%s: expected a boolean, got %T", key, v))
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
		s.errs = append(s.errs, fmt.Sprintf("%s: %q is not ClusterIP, NodePort or NodePortLocal", key, str))
	}
}
