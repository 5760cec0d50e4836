package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/sctpguard/sctpguard/policy"
)

func TestParseAKOValues(t *testing.T) {
	for _, tt := range []struct {
		name    string
		values  string
		want    policy.Context
		wantErr string
	}{
		{
			name: "AKO's values file, booleans as strings, as AKO's chart allows",
			values: `AKOSettings:
  clusterName: my-cluster
  cniPlugin: Antrea
  layer7Only: "false"
  servicesAPI: "true"
  fullSyncFrequency: "900"
  ipFamily: V6
  istioEnabled: "false"
  blockedNamespaceList: [kube-system]
  namespaceSelector: {labelKey: avi, labelValue: "yes"}
L7Settings:
  serviceType: NodePortLocal
L4Settings:
  defaultLBController: false
  autoFQDN: disabled
ControllerSettings:
  controllerVersion: 22.1.4
  controllerHost: avi.example.com
  tenantName: telco
  cloudName: vcenter
  serviceEngineGroupName: sctp-seg
  vrfName: vrf-1
NetworkSettings:
  vipNetworkList: [{networkName: vip, cidr: 10.0.0.0/24, v6cidr: "2001:db8::/64"}]
  nodeNetworkList: [{networkName: nodes, cidrs: [10.1.0.0/24, "2001:db8:1::/64"]}, {networkUUID: dvportgroup-42-cloud-1, cidrs: [10.2.0.0/24]}]
  enableRHI: "true"
  bgpPeerLabels: [peer-a, peer-b]
  nsxtT1LR: ""
nodePortSelector:
  key: sctp
  value: "yes"
`,
			want: policy.Context{
				AKO: &policy.AKOSettings{
					ServiceType: policy.ServiceTypeNodePortLocal, ServicesAPI: true, DefaultLBController: false, ClusterName: "my-cluster",
					ControllerHost: "avi.example.com", TenantName: "telco", CloudName: "vcenter", ServiceEngineGroupName: "sctp-seg", VRFName: "vrf-1",
					VIPNetworks:      []policy.VIPNetwork{{NetworkName: "vip", CIDR: "10.0.0.0/24", V6CIDR: "2001:db8::/64"}},
					NodePortSelector: &policy.NodePortSelector{Key: "sctp", Value: "yes"},
					FullSyncSeconds:  ptr.To(900),
					IPFamily:         policy.IPFamilyV6, EnableRHI: true, BGPPeerLabels: []string{"peer-a", "peer-b"},
					NodeNetworks: []policy.NodeNetwork{
						{NetworkName: "nodes", CIDRs: []string{"10.1.0.0/24", "2001:db8:1::/64"}},
						{NetworkUUID: "dvportgroup-42-cloud-1", CIDRs: []string{"10.2.0.0/24"}},
					},
					AutoFQDN: policy.AutoFQDNDisabled, BlockedNamespaces: []string{"kube-system"},
					NamespaceSelector: &policy.NamespaceSelector{LabelKey: "avi", LabelValue: "yes"},
				},
				ControllerVersion: "22.1.4",
				CNI:               "antrea",
			},
		},
		{
			name:   "settings left out take AKO's defaults",
			values: "AKOSettings:\n  clusterName: c\n",
			want:   policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeClusterIP, DefaultLBController: true, ClusterName: "c"}},
		},
		{
			name:    "every bad setting is named",
			values:  "AKOSettings:\n  servicesAPI: sometimes\n  layer7Only: [true]\n  fullSyncFrequency: soon\n  ipFamily: v4\nL7Settings:\n  serviceType: NodePortLocale\nL4Settings:\n  autoFQDN: short\nNetworkSettings:\n  vipNetworkList: [{cidr: 10.0.0.0/33}]\n  nodeNetworkList: [{cidrs: [nodes]}]\n  bgpPeerLabels: peer\nnodePortSelector: yes\n",
			wantErr: `AKO settings: AKOSettings.layer7Only: expected a boolean, got []interface {}; AKOSettings.servicesAPI: "sometimes" is not a boolean (true or false); L7Settings.serviceType: "NodePortLocale" is not ClusterIP, NodePort or NodePortLocal; AKOSettings.fullSyncFrequency: "soon" is not a whole number of seconds; NetworkSettings.vipNetworkList[0].networkName: required; NetworkSettings.vipNetworkList[0]: "10.0.0.0/33" is not a CIDR; NetworkSettings.nodeNetworkList[0]: networkName or networkUUID is required; NetworkSettings.nodeNetworkList[0]: "nodes" is not a CIDR; NetworkSettings.bgpPeerLabels: expected a list of strings, got string; AKOSettings.ipFamily: "v4" is not V4, V6 or V4_V6; L4Settings.autoFQDN: "short" is not default, flat or disabled; nodePortSelector: expected {key, value}, got bool`,
		},
		{
			name:    "not YAML",
			values:  "AKOSettings: [",
			wantErr: "parse AKO values: error converting YAML to JSON: yaml: line 1: did not find expected node content",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.ParseAKOValues([]byte(tt.values))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("context (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAKOConfigMap(t *testing.T) {
	got, err := policy.ParseAKOConfigMap(map[string]string{
		"serviceType": "NodePort", "servicesAPI": "true", "defaultLBController": "false", "clusterName": "prod",
		"layer7Only": "", "controllerVersion": "30.2.1", "cniPlugin": "calico", "logLevel": "INFO",
		"controllerIP": "10.10.0.5", "tenantName": "telco", "cloudName": "nsx", "serviceEngineGroupName": "seg", "vrfName": "",
		"fullSyncFrequency": "0", "vipNetworkList": `[{"networkName":"vip-net","cidr":"10.1.0.0/24"}]`, "nodeKey": "sctp", "nodeValue": "true",
		"nodeNetworkList": `[{"networkName":"nodes","cidrs":["10.2.0.0/24"]}]`, "bgpPeerLabels": `["peer-a"]`, "enableRHI": "true",
		"ipFamily": "V4_V6", "autoFQDN": "flat", "blockedNamespaceList": "null", "nsSyncLabelKey": "avi", "nsSyncLabelValue": "",
		"nsxtT1LR": "/infra/tier-1s/t1", "vpcMode": "false", "istioEnabled": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Context{
		AKO: &policy.AKOSettings{
			ServiceType: policy.ServiceTypeNodePort, ServicesAPI: true, ClusterName: "prod",
			ControllerHost: "10.10.0.5", TenantName: "telco", CloudName: "nsx", ServiceEngineGroupName: "seg",
			VIPNetworks:      []policy.VIPNetwork{{NetworkName: "vip-net", CIDR: "10.1.0.0/24"}},
			NodePortSelector: &policy.NodePortSelector{Key: "sctp", Value: "true"},
			FullSyncSeconds:  ptr.To(0),
			NodeNetworks:     []policy.NodeNetwork{{NetworkName: "nodes", CIDRs: []string{"10.2.0.0/24"}}},
			BGPPeerLabels:    []string{"peer-a"}, EnableRHI: true, IPFamily: policy.IPFamilyV4V6, AutoFQDN: policy.AutoFQDNFlat,
			NSXTT1LR: "/infra/tier-1s/t1", IstioEnabled: true,
		},
		ControllerVersion: "30.2.1",
		CNI:               "calico",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	if _, err := policy.ParseAKOConfigMap(map[string]string{"defaultLBController": "ja"}); err == nil ||
		err.Error() != `AKO settings: defaultLBController: "ja" is not a boolean (true or false)` {
		t.Errorf("bad boolean: %v", err)
	}
}

// TestReadAKOConfigMap: each key is read on its own; a value sctpguard cannot read is a
// problem about that key, which takes AKO's own reading, and the other keys still apply, so
// one odd value never leaves an older serviceType in force.
func TestReadAKOConfigMap(t *testing.T) {
	got, problems := policy.ReadAKOConfigMap(map[string]string{
		"serviceType": "NodePortLocal", "cniPlugin": "weave", "controllerVersion": "latest", "defaultLBController": "yes",
		"servicesAPI": "on", "clusterName": "prod", "fullSyncFrequency": "often", "vipNetworkList": `[{"networkName":"vip","cidr":"10.1.0.0/33"}]`,
	})
	want := policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal, DefaultLBController: true, ClusterName: "prod"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	wantProblems := []policy.SettingProblem{
		{Key: "servicesAPI", Value: "on", Message: `"on" is not a boolean (true or false); AKO reads it as false, and so does sctpguard`},
		{Key: "defaultLBController", Value: "yes", Message: `"yes" is not a boolean (true or false); AKO reads it as true, and so does sctpguard`},
		{Key: "fullSyncFrequency", Value: "often", Message: `"often" is not a whole number of seconds; the translator keeps AKO's default, 1800 seconds`},
		{Key: "vipNetworkList", Value: `[{"networkName":"vip","cidr":"10.1.0.0/33"}]`,
			Message: `vipNetworkList[0]: "10.1.0.0/33" is not a CIDR; the key is ignored: the translator leaves the VIP network to the controller's defaults`},
		{Key: "cniPlugin", Value: "weave", Message: `"weave" is not a CNI sctpguard knows (antrea, calico, canal, cilium, flannel, kube-router, ncp, openshift, ovn-kubernetes); ` +
			"the CNI counts as unknown, and rules that depend on it stay silent"},
		{Key: "controllerVersion", Value: "latest", Message: `"latest" is not a version such as 22.1.3; the controller version counts as unknown, and rules that depend on it stay silent`},
	}
	if diff := cmp.Diff(wantProblems, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	got, problems = policy.ReadAKOConfigMap(map[string]string{"serviceType": "nodeportlocal"})
	if diff := cmp.Diff(policy.Context{AKO: policy.DefaultAKOSettings()}, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]policy.SettingProblem{{Key: "serviceType", Value: "nodeportlocal",
		Message: `"nodeportlocal" is not ClusterIP, NodePort or NodePortLocal; AKO runs as in ClusterIP mode with it, and sctpguard judges so`}}, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// A list with one bad entry is ignored whole, as a problem about its key; a path under a
	// key is a problem about the key.
	got, problems = policy.ReadAKOConfigMap(map[string]string{
		"nodeNetworkList": `[{"networkName":"nodes","cidrs":["10.2.0.0/16"]},{"cidrs":["10.3.0.0/16"]}]`, "ipFamily": "V5", "enableRHI": "yes",
		"bgpPeerLabels": `["a",1]`, "blockedNamespaceList": `["kube-system"]`, "serviceType": "NodePort",
	})
	want = policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePort, DefaultLBController: true, BlockedNamespaces: []string{"kube-system"},
		BGPPeerLabels: []string{"a", "1"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	wantProblems = []policy.SettingProblem{
		{Key: "nodeNetworkList", Value: `[{"networkName":"nodes","cidrs":["10.2.0.0/16"]},{"cidrs":["10.3.0.0/16"]}]`,
			Message: "nodeNetworkList[1]: networkName or networkUUID is required; the key is ignored: pools get no placement networks from it"},
		{Key: "enableRHI", Value: "yes", Message: `"yes" is not a boolean (true or false); AKO reads it as false, and so does sctpguard`},
		{Key: "ipFamily", Value: "V5", Message: `"V5" is not V4, V6 or V4_V6; sctpguard reads it as AKO's default, V4`},
	}
	if diff := cmp.Diff(wantProblems, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := policy.Config{
		Disabled:         []string{"label-sctp", "sctp-port-unnamed", "nope"},
		Warn:             []string{"backend-type", "default-sctp-port-name"},
		ExemptNamespaces: []string{"kube-*", "telco", "*", "Bad_NS"},
	}
	var got []string
	for _, e := range cfg.Validate() {
		got = append(got, e.Error())
	}
	want := []string{
		`disabled[2]: Not found: "nope"`,
		`warn[1]: Invalid value: "default-sctp-port-name": is a mutation; mutations can be disabled, not demoted`,
		`exemptNamespaces[2]: Invalid value: "*": "*" alone would exempt every namespace`,
		`exemptNamespaces[3]: Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	e, err := policy.NewEngine(policy.Config{ExemptNamespaces: []string{"kube-*", "telco"}})
	if err != nil {
		t.Fatal(err)
	}
	for ns, want := range map[string]bool{"kube-system": true, "kube": false, "telco": true, "telco-2": false, "": false} {
		if got := e.Exempt(ns); got != want {
			t.Errorf("Exempt(%q) = %t, want %t", ns, got, want)
		}
	}
}
