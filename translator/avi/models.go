package avi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Object types sctpguard reads or writes, as they appear in /api/<type> paths.
const (
	TypeVirtualService      = "virtualservice"
	TypeVsVip               = "vsvip"
	TypePool                = "pool"
	TypeL4PolicySet         = "l4policyset"
	TypeHealthMonitor       = "healthmonitor"
	TypeNetworkProfile      = "networkprofile"
	TypeApplicationProfile  = "applicationprofile"
	TypeSystemConfiguration = "systemconfiguration"
	TypeTenant              = "tenant"
	TypeCloud               = "cloud"
	TypeServiceEngineGroup  = "serviceenginegroup"
	TypeVRFContext          = "vrfcontext"
	TypeNetwork             = "network"
)

// Enum values sctpguard sends.
const (
	VSTypeNormal          = "VS_TYPE_NORMAL"
	ProtocolSCTP          = "PROTOCOL_SCTP"
	ProtocolTCP           = "PROTOCOL_TCP"
	ProtocolUDP           = "PROTOCOL_UDP"
	MatchIsIn             = "IS_IN"
	ActionSelectPool      = "L4_RULE_ACTION_SELECT_POOL"
	AddrV4                = "V4"
	AddrV6                = "V6"
	AutoAllocateV4V6      = "V4_V6"
	AutoAllocateV6Only    = "V6_ONLY"
	LicenseEnterprise     = "ENTERPRISE"
	LicenseEnterpriseSaaS = "ENTERPRISE_WITH_CLOUD_SERVICES"
)

// The models below hold the fields sctpguard manages. Fields whose zero value is meaningful
// are pointers with omitempty, so that an unset field is not sent: a PUT is a full replace,
// and a stray "enabled": false would be a real change. Fields the controller fills in
// (uuid, url, _last_modified, servers[].hostname, ...) are not modelled; PUTs carry them over
// from the object as read (Object).

// Marker is a key with values, used to tag objects with their owner and unit.
type Marker struct {
	Key    string   `json:"key"`
	Values []string `json:"values,omitempty"`
}

// IPAddr is an address with its family, "V4" or "V6".
type IPAddr struct {
	Addr string `json:"addr"`
	Type string `json:"type"`
}

// VirtualService is /api/virtualservice.
type VirtualService struct {
	Name                        string       `json:"name"`
	Type                        string       `json:"type,omitempty"`
	TenantRef                   string       `json:"tenant_ref,omitempty"`
	CloudRef                    string       `json:"cloud_ref,omitempty"`
	CreatedBy                   string       `json:"created_by,omitempty"`
	Enabled                     *bool        `json:"enabled,omitempty"`
	TrafficEnabled              *bool        `json:"traffic_enabled,omitempty"`
	EastWestPlacement           *bool        `json:"east_west_placement,omitempty"`
	SEGroupRef                  string       `json:"se_group_ref,omitempty"`
	VRFContextRef               string       `json:"vrf_context_ref,omitempty"`
	VsVipRef                    string       `json:"vsvip_ref,omitempty"`
	ApplicationProfileRef       string       `json:"application_profile_ref,omitempty"`
	NetworkProfileRef           string       `json:"network_profile_ref,omitempty"`
	Services                    []Service    `json:"services,omitempty"`
	L4Policies                  []L4Policies `json:"l4_policies,omitempty"`
	RemoveListeningPortOnVsDown *bool        `json:"remove_listening_port_on_vs_down,omitempty"`
	ServiceMetadata             string       `json:"service_metadata,omitempty"`
	Markers                     []Marker     `json:"markers,omitempty"`
	// EnableRHI advertises the VIP over BGP (route health injection); sent only when true.
	EnableRHI *bool `json:"enable_rhi,omitempty"`
	// The fields below come from an L4Rule (avi-translation.md, "AKO inputs").
	AnalyticsProfileRef      string             `json:"analytics_profile_ref,omitempty"`
	AnalyticsPolicy          *AnalyticsPolicy   `json:"analytics_policy,omitempty"`
	PerformanceLimits        *PerformanceLimits `json:"performance_limits,omitempty"`
	NetworkSecurityPolicyRef string             `json:"network_security_policy_ref,omitempty"`
	SecurityPolicyRef        string             `json:"security_policy_ref,omitempty"`
	VSDatascripts            []VSDatascript     `json:"vs_datascripts,omitempty"`
}

// AnalyticsPolicy is the part of a virtual service's analytics policy an L4Rule sets.
type AnalyticsPolicy struct {
	FullClientLogs *FullClientLogs `json:"full_client_logs,omitempty"`
}

// FullClientLogs turns on full client logs for a while.
type FullClientLogs struct {
	Enabled  *bool   `json:"enabled,omitempty"`
	Duration *uint32 `json:"duration,omitempty"`
	Throttle *uint32 `json:"throttle,omitempty"`
}

// PerformanceLimits cap a virtual service's connections and throughput.
type PerformanceLimits struct {
	MaxConcurrentConnections *int32 `json:"max_concurrent_connections,omitempty"`
	MaxThroughput            *int32 `json:"max_throughput,omitempty"`
}

// VSDatascript attaches a DataScript set to a virtual service.
type VSDatascript struct {
	Index              int32  `json:"index"`
	VSDatascriptSetRef string `json:"vs_datascript_set_ref"`
}

// Service is one listening port of a virtual service.
type Service struct {
	Port                      int32  `json:"port"`
	PortRangeEnd              *int32 `json:"port_range_end,omitempty"`
	EnableSSL                 *bool  `json:"enable_ssl,omitempty"`
	EnableHTTP2               *bool  `json:"enable_http2,omitempty"`
	OverrideNetworkProfileRef string `json:"override_network_profile_ref,omitempty"`
}

// L4Policies attaches an L4 policy set to a virtual service.
type L4Policies struct {
	L4PolicySetRef string `json:"l4_policy_set_ref"`
	Index          int32  `json:"index"`
}

// VsVip is /api/vsvip: the virtual IP of a virtual service.
type VsVip struct {
	Name              string    `json:"name"`
	TenantRef         string    `json:"tenant_ref,omitempty"`
	CloudRef          string    `json:"cloud_ref,omitempty"`
	VRFContextRef     string    `json:"vrf_context_ref,omitempty"`
	EastWestPlacement *bool     `json:"east_west_placement,omitempty"`
	VIP               []VIP     `json:"vip,omitempty"`
	DNSInfo           []DNSInfo `json:"dns_info,omitempty"`
	Markers           []Marker  `json:"markers,omitempty"`
	// BGPPeerLabels select the BGP peers the VIP is advertised to, with RHI on.
	BGPPeerLabels []string `json:"bgp_peer_labels,omitempty"`
}

// VIP is one address of a VsVip. vip_id never changes once set: the controller rejects it.
type VIP struct {
	VipID              string           `json:"vip_id"`
	AutoAllocateIP     *bool            `json:"auto_allocate_ip,omitempty"`
	AutoAllocateIPType string           `json:"auto_allocate_ip_type,omitempty"`
	IPAddress          *IPAddr          `json:"ip_address,omitempty"`
	IP6Address         *IPAddr          `json:"ip6_address,omitempty"`
	IPAMNetworkSubnet  *IPNetworkSubnet `json:"ipam_network_subnet,omitempty"`
}

// IPNetworkSubnet places a VIP in a network and subnet.
type IPNetworkSubnet struct {
	NetworkRef string    `json:"network_ref,omitempty"`
	Subnet     *IPPrefix `json:"subnet,omitempty"`
	Subnet6    *IPPrefix `json:"subnet6,omitempty"`
}

// IPPrefix is an address and mask length.
type IPPrefix struct {
	IPAddr IPAddr `json:"ip_addr"`
	Mask   int32  `json:"mask"`
}

// DNSInfo is one FQDN of a VsVip.
type DNSInfo struct {
	FQDN string `json:"fqdn"`
}

// Pool is /api/pool.
type Pool struct {
	Name                   string   `json:"name"`
	TenantRef              string   `json:"tenant_ref,omitempty"`
	CloudRef               string   `json:"cloud_ref,omitempty"`
	VRFRef                 string   `json:"vrf_ref,omitempty"`
	CreatedBy              string   `json:"created_by,omitempty"`
	HealthMonitorRefs      []string `json:"health_monitor_refs,omitempty"`
	Servers                []Server `json:"servers,omitempty"`
	SNIEnabled             *bool    `json:"sni_enabled,omitempty"`
	GracefulDisableTimeout *int32   `json:"graceful_disable_timeout,omitempty"`
	ServiceMetadata        string   `json:"service_metadata,omitempty"`
	Markers                []Marker `json:"markers,omitempty"`
	// PlacementNetworks are the node networks the Service Engines reach the servers in.
	PlacementNetworks []PlacementNetwork `json:"placement_networks,omitempty"`
	// The fields below come from an L4Rule's backendProperties.
	Enabled                          *bool                `json:"enabled,omitempty"`
	LBAlgorithm                      string               `json:"lb_algorithm,omitempty"`
	LBAlgorithmHash                  string               `json:"lb_algorithm_hash,omitempty"`
	LBAlgorithmConsistentHashHdr     string               `json:"lb_algorithm_consistent_hash_hdr,omitempty"`
	MinServersUp                     *uint32              `json:"min_servers_up,omitempty"`
	ApplicationPersistenceProfileRef string               `json:"application_persistence_profile_ref,omitempty"`
	AnalyticsPolicy                  *PoolAnalyticsPolicy `json:"analytics_policy,omitempty"`
}

// PlacementNetwork is a network, and a subnet of it, the servers are reached in.
type PlacementNetwork struct {
	NetworkRef string   `json:"network_ref"`
	Subnet     IPPrefix `json:"subnet"`
}

// PoolAnalyticsPolicy is a pool's metrics.
type PoolAnalyticsPolicy struct {
	EnableRealtimeMetrics *bool `json:"enable_realtime_metrics,omitempty"`
}

// Server is one pool member.
type Server struct {
	IP      IPAddr `json:"ip"`
	Port    int32  `json:"port,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
	// ExternalUUID is "<addr>:<port>" and ServerNode the endpoint's Node, as AKO sends them
	// (AKO: internal/rest/avi_obj_pool.go AviPoolBuild).
	ExternalUUID string `json:"external_uuid,omitempty"`
	ServerNode   string `json:"server_node,omitempty"`
}

// L4PolicySet is /api/l4policyset: tenant-scoped, it has no cloud.
type L4PolicySet struct {
	Name               string              `json:"name"`
	TenantRef          string              `json:"tenant_ref,omitempty"`
	CreatedBy          string              `json:"created_by,omitempty"`
	Markers            []Marker            `json:"markers,omitempty"`
	L4ConnectionPolicy *L4ConnectionPolicy `json:"l4_connection_policy,omitempty"`
}

// L4ConnectionPolicy holds the rules of a set; an empty list is sent as [].
type L4ConnectionPolicy struct {
	Rules []L4Rule `json:"rules"`
}

// L4Rule selects a pool for connections matching a port and protocol.
type L4Rule struct {
	Name   string        `json:"name"`
	Index  int32         `json:"index"`
	Enable *bool         `json:"enable,omitempty"`
	Match  *L4RuleMatch  `json:"match,omitempty"`
	Action *L4RuleAction `json:"action,omitempty"`
}

// L4RuleMatch matches connections.
type L4RuleMatch struct {
	Port     *PortMatch     `json:"port,omitempty"`
	Protocol *ProtocolMatch `json:"protocol,omitempty"`
}

// PortMatch matches destination ports; the ranges field is port_ranges.
type PortMatch struct {
	MatchCriteria string      `json:"match_criteria"`
	Ports         []int32     `json:"ports,omitempty"`
	PortRanges    []PortRange `json:"port_ranges,omitempty"`
}

// PortRange is an inclusive port range.
type PortRange struct {
	Start int32 `json:"start"`
	End   int32 `json:"end"`
}

// ProtocolMatch matches the transport protocol (Enterprise edition only).
type ProtocolMatch struct {
	MatchCriteria string `json:"match_criteria"`
	Protocol      string `json:"protocol"`
}

// L4RuleAction is what a rule does.
type L4RuleAction struct {
	SelectPool *SelectPool `json:"select_pool,omitempty"`
}

// SelectPool sends the connection to a pool.
type SelectPool struct {
	ActionType   string `json:"action_type"`
	PoolRef      string `json:"pool_ref,omitempty"`
	PoolGroupRef string `json:"pool_group_ref,omitempty"`
}

// SystemConfiguration is the singleton /api/systemconfiguration, read for the licence tier.
type SystemConfiguration struct {
	DefaultLicenseTier  string `json:"default_license_tier"`
	PortalConfiguration struct {
		AllowBasicAuthentication bool `json:"allow_basic_authentication"`
	} `json:"portal_configuration"`
}

// Object is an object as the controller returned it, every field included, so that a PUT
// can carry the fields sctpguard does not model. Numbers are json.Number, exactly as sent.
type Object map[string]any

// UUID returns the object's uuid.
func (o Object) UUID() string { s, _ := o["uuid"].(string); return s }

// Name returns the object's name.
func (o Object) Name() string { s, _ := o["name"].(string); return s }

// Decode fills a model from the object.
func (o Object) Decode(v any) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// Markers returns the object's markers as a map from key to values.
func (o Object) Markers() map[string][]string {
	list, _ := o["markers"].([]any)
	out := make(map[string][]string, len(list))
	for _, item := range list {
		m, _ := item.(map[string]any)
		key, _ := m["key"].(string)
		values, _ := m["values"].([]any)
		for _, v := range values {
			if s, ok := v.(string); ok {
				out[key] = append(out[key], s)
			}
		}
		if _, ok := out[key]; !ok && key != "" {
			out[key] = nil
		}
	}
	return out
}

// ToObject converts a model to its JSON object form.
func ToObject(v any) (Object, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

func decodeObject(data []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var o Object
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	return o, nil
}
