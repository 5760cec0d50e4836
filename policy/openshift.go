package policy

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MachineConfigRoleLabel is the label that assigns a MachineConfig to a machine pool.
const MachineConfigRoleLabel = "machineconfiguration.openshift.io/role"

// MachineConfigGroupKind is the group and kind of OpenShift MachineConfigs.
const (
	MachineConfigGroup = "machineconfiguration.openshift.io"
	MachineConfigKind  = "MachineConfig"
)

// MachineConfigFromUnstructured reads the fields the rules need from a MachineConfig object.
// Malformed parts are skipped: a MachineConfig the rule cannot read does not load sctp.
func MachineConfigFromUnstructured(obj map[string]any) MachineConfig {
	u := unstructured.Unstructured{Object: obj}
	mc := MachineConfig{Name: u.GetName(), Role: u.GetLabels()[MachineConfigRoleLabel]}
	files, _, _ := unstructured.NestedSlice(obj, "spec", "config", "storage", "files")
	for _, f := range files {
		fm, ok := f.(map[string]any)
		if !ok {
			continue
		}
		p, _, _ := unstructured.NestedString(fm, "path")
		src, _, _ := unstructured.NestedString(fm, "contents", "source")
		mc.Files = append(mc.Files, MachineConfigFile{Path: p, Source: src})
	}
	return mc
}

// loadsSCTP reports whether a MachineConfig for the worker role writes a file under
// /etc/modules-load.d/ that lists the sctp module.
func (mc MachineConfig) loadsSCTP() bool {
	if mc.Role != "worker" {
		return false
	}
	for _, f := range mc.Files {
		if path.Dir(path.Clean(f.Path)) != "/etc/modules-load.d" {
			continue
		}
		content, err := decodeDataURL(f.Source)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(content, "\n") {
			if strings.TrimSpace(line) == "sctp" {
				return true
			}
		}
	}
	return false
}

// decodeDataURL decodes an RFC 2397 data URL as ignition uses them ("data:,sctp",
// "data:text/plain;base64,c2N0cAo=").
func decodeDataURL(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return "", fmt.Errorf("not a data URL")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", fmt.Errorf("data URL without ','")
	}
	if strings.HasSuffix(meta, ";base64") {
		b, err := base64.StdEncoding.DecodeString(data)
		return string(b), err
	}
	return url.PathUnescape(data)
}

// validateOpenShiftModule warns about SCTP objects on OpenShift when no MachineConfig loads
// the sctp module: RHCOS blacklists it, so SCTP traffic fails on the nodes.
func validateOpenShiftModule(sctpPath *field.Path, settings Context, inv Inventory) ([]Finding, error) {
	if settings.Platform != PlatformOpenShift || sctpPath == nil {
		return nil, nil
	}
	mcs, err := inv.MachineConfigs()
	if err != nil {
		return nil, fmt.Errorf("list MachineConfigs: %w", err)
	}
	for _, mc := range mcs {
		if mc.loadsSCTP() {
			return nil, nil
		}
	}
	return []Finding{newFinding(RuleSCTPOpenShiftModule, sctpPath,
		"no MachineConfig for the worker role loads the sctp kernel module, and RHCOS blacklists it, so SCTP traffic fails on the nodes; "+
			"apply the load-sctp-module MachineConfig (writes /etc/modules-load.d/sctp-load.conf with data:,sctp and empties "+
			"/etc/modprobe.d/sctp-blacklist.conf) and wait for the workers to roll")}, nil
}
