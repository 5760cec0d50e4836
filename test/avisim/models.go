package avisim

import (
	"strings"
)

// model is one Avi object type: its path segment, its names in messages, its schema and the
// checks that need more than one field.
type model struct {
	typ     string // path segment, e.g. "virtualservice"
	name    string // model class name in messages, e.g. "VirtualService"
	verbose string // verbose name in 409 texts, e.g. "Virtual service" (inferred, avi-rest.md §3.3)
	// cloudScoped names are unique per (name, tenant, cloud), others per (name, tenant).
	cloudScoped bool
	tenantless  bool // the tenant type itself: no tenant_ref, stored in admin
	schema      *field
	// post checks and completes a walked object (cross-field rules, VIP allocation).
	post func(w *write, obj map[string]any) *apiError
}

// The shared sub-schemas.
var (
	ipAddr = func() *field {
		return obj(fields{"addr": str().req(), "type": enum("V4", "DNS", "V6").req()}).withCheck(checkIPAddr)
	}
	ipPrefix = func() *field { return obj(fields{"ip_addr": ipAddr().req(), "mask": integer(0, 128).req()}) }
	markers  = func() *field { return list(obj(fields{"key": str().req(), "values": list(str())})) }
	portNum  = func() *field { return integer(1, 65535) }
)

// base adds the fields every model has: identity, the read-only fields the fake returns, and
// (unless tenantless) tenant_ref and markers.
func base(m *model, fs fields) *model {
	fs["name"] = str().req()
	fs["uuid"] = str()
	fs["url"] = str()
	fs["_last_modified"] = str()
	fs["description"] = str()
	if !m.tenantless {
		fs["tenant_ref"] = ref("tenant")
		fs["markers"] = markers()
	}
	if m.cloudScoped {
		// The controller fills the cloud on cloud-scoped objects; Default-Cloud is inferred.
		fs["cloud_ref"] = ref("cloud").dflt(nameRef("cloud", "Default-Cloud"))
	}
	m.schema = obj(fs)
	return m
}

func vipSchema() *field {
	return obj(fields{
		"vip_id":                    str(),
		"ip_address":                ipAddr(),
		"ip6_address":               ipAddr(),
		"auto_allocate_ip":          boolean(),
		"auto_allocate_ip_type":     enum("V4_ONLY", "V6_ONLY", "V4_V6").dflt("V4_ONLY"),
		"auto_allocate_floating_ip": boolean(),
		"ipam_network_subnet": obj(fields{
			"network_ref":  ref("network"),
			"subnet":       ipPrefix(),
			"subnet6":      ipPrefix(),
			"subnet_uuid":  str(),
			"subnet6_uuid": str(),
		}),
		"placement_networks": list(obj(fields{
			"network_ref": ref("network").req(),
			"subnet":      ipPrefix(),
			"subnet6":     ipPrefix(),
		})),
		"enabled":       boolean().dflt(true),
		"prefix_length": integer(0, 128).dflt(32),
	})
}

var virtualService = base(&model{typ: "virtualservice", name: "VirtualService", verbose: "Virtual service", cloudScoped: true}, fields{
	"type":                       enum("VS_TYPE_NORMAL", "VS_TYPE_VH_PARENT", "VS_TYPE_VH_CHILD").dflt("VS_TYPE_NORMAL"),
	"cloud_type":                 str().dflt("CLOUD_NONE"),
	"created_by":                 str(),
	"enabled":                    boolean().dflt(true),
	"traffic_enabled":            boolean().dflt(true),
	"east_west_placement":        boolean().dflt(false),
	"se_group_ref":               ref("serviceenginegroup").dflt(nameRef("serviceenginegroup", "Default-Group")),
	"vrf_context_ref":            ref("vrfcontext").dflt(nameRef("vrfcontext", "global")),
	"vsvip_ref":                  ref("vsvip"),
	"network_profile_ref":        ref("networkprofile").dflt(nameRef("networkprofile", "System-TCP-Proxy")),
	"server_network_profile_ref": ref("networkprofile"),
	"application_profile_ref":    ref("applicationprofile").dflt(nameRef("applicationprofile", "System-HTTP")),
	"analytics_profile_ref":      ref("analyticsprofile").dflt(nameRef("analyticsprofile", "System-Analytics-Profile")),
	"pool_ref":                   ref("pool"),
	"pool_group_ref":             ref("poolgroup"),
	"services": list(obj(fields{
		"port":                             integer(0, 65535).req(),
		"port_range_end":                   integer(0, 65535), // defaults to port: vsPost
		"enable_ssl":                       boolean().dflt(false),
		"enable_http2":                     boolean(),
		"override_network_profile_ref":     ref("networkprofile"),
		"override_application_profile_ref": ref("applicationprofile"),
	})),
	"l4_policies": list(obj(fields{
		"l4_policy_set_ref": ref("l4policyset").req(),
		"index":             int32Field().req(),
	})),
	"service_pool_select": list(obj(fields{
		"service_port":           integer(0, 65535).req(),
		"service_port_range_end": integer(0, 65535),
		"service_protocol":       str(),
		"service_pool_ref":       ref("pool"),
		"service_pool_group_ref": ref("poolgroup"),
	})),
	"remove_listening_port_on_vs_down": boolean(),
	"service_metadata":                 str(),
	"cloud_config_cksum":               str(),
	"vip":                              list(vipSchema()),
	"flow_dist":                        enum("LOAD_AWARE", "CONSISTENT_HASH_SOURCE_IP_ADDRESS", "CONSISTENT_HASH_SOURCE_IP_ADDRESS_AND_PORT").dflt("LOAD_AWARE"),
	"weight":                           integer(1, 128).dflt(1),
	"enable_autogw":                    boolean().dflt(true),
	"active_standby_se_tag":            enum("ACTIVE_STANDBY_SE_1", "ACTIVE_STANDBY_SE_2").dflt("ACTIVE_STANDBY_SE_1"),
})

var vsVip = base(&model{typ: "vsvip", name: "VsVip", verbose: "Vs vip", cloudScoped: true}, fields{
	"vrf_context_ref":          ref("vrfcontext").dflt(nameRef("vrfcontext", "global")),
	"east_west_placement":      boolean(),
	"vsvip_cloud_config_cksum": str(),
	"tier1_lr":                 str(),
	"bgp_peer_labels":          list(str()),
	"vip":                      list(vipSchema()),
	"dns_info": list(obj(fields{
		"fqdn":      str(),
		"ttl":       integer(0, math32),
		"type":      enum("DNS_RECORD_A", "DNS_RECORD_AAAA", "DNS_RECORD_CNAME", "DNS_RECORD_SRV", "DNS_RECORD_TXT", "DNS_RECORD_NS", "DNS_RECORD_MX", "DNS_RECORD_OTHER").dflt("DNS_RECORD_A"),
		"algorithm": enum("DNS_RECORD_RESPONSE_CONSISTENT_HASH", "DNS_RECORD_RESPONSE_ROUND_ROBIN").dflt("DNS_RECORD_RESPONSE_CONSISTENT_HASH"),
	})),
})

const math32 = 1<<31 - 1

var pool = base(&model{typ: "pool", name: "Pool", verbose: "Pool", cloudScoped: true}, fields{
	"created_by":          str(),
	"vrf_ref":             ref("vrfcontext").dflt(nameRef("vrfcontext", "global")),
	"health_monitor_refs": list(ref("healthmonitor")),
	// §8 names System-Analytics-Profile the default "on VS and Pool" (the §4 table omits it).
	"analytics_profile_ref": ref("analyticsprofile").dflt(nameRef("analyticsprofile", "System-Analytics-Profile")),
	"servers": list(obj(fields{
		"ip":            ipAddr().req(),
		"port":          integer(0, 65535), // 0: use default_server_port
		"enabled":       boolean().dflt(true),
		"ratio":         integer(1, 20).dflt(1),
		"hostname":      str(), // defaults to ip.addr: poolPost
		"external_uuid": str(),
		"server_node":   str(),
		"description":   str(),
	})),
	"default_server_port": portNum().dflt(80),
	"lb_algorithm": enum("LB_ALGORITHM_LEAST_CONNECTIONS", "LB_ALGORITHM_ROUND_ROBIN", "LB_ALGORITHM_FASTEST_RESPONSE",
		"LB_ALGORITHM_CONSISTENT_HASH", "LB_ALGORITHM_LEAST_LOAD", "LB_ALGORITHM_FEWEST_SERVERS", "LB_ALGORITHM_RANDOM",
		"LB_ALGORITHM_FEWEST_TASKS", "LB_ALGORITHM_NEAREST_SERVER", "LB_ALGORITHM_CORE_AFFINITY", "LB_ALGORITHM_TOPOLOGY").
		dflt("LB_ALGORITHM_LEAST_CONNECTIONS"),
	"inline_health_monitor":    boolean().dflt(true),
	"graceful_disable_timeout": integer(-1, 7200).dflt(1),
	"enabled":                  boolean().dflt(true),
	"placement_networks": list(obj(fields{
		"network_ref": ref("network").req(),
		"subnet":      ipPrefix().req(),
	})),
	"sni_enabled":      boolean(),
	"service_metadata": str(),
})

var poolGroup = base(&model{typ: "poolgroup", name: "PoolGroup", verbose: "Pool group", cloudScoped: true}, fields{
	"created_by": str(),
	"members": list(obj(fields{
		"pool_ref":       ref("pool").req(),
		"ratio":          integer(1, 1000).dflt(1),
		"priority_label": str(),
	})),
	"min_servers": integer(0, 65535),
	"fail_action": anything(),
})

var l4PolicySet = base(&model{typ: "l4policyset", name: "L4PolicySet", verbose: "L4 policy set"}, fields{
	"created_by":         str(),
	"is_internal_policy": boolean(),
	"l4_connection_policy": obj(fields{
		"rules": list(obj(fields{
			"name":   str().req(),
			"index":  int32Field().req(),
			"enable": boolean().dflt(true),
			"match": obj(fields{
				"port": obj(fields{
					"match_criteria": enum("IS_IN", "IS_NOT_IN").req(),
					"ports":          list(portNum()),
					"port_ranges":    list(obj(fields{"start": portNum().req(), "end": portNum().req()})),
				}),
				"protocol": obj(fields{
					"match_criteria": enum("IS_IN", "IS_NOT_IN").req(),
					"protocol":       enum("PROTOCOL_ICMP", "PROTOCOL_TCP", "PROTOCOL_UDP", "PROTOCOL_SCTP").req(),
				}).enterpriseOnly(),
				"client_ip": obj(fields{
					"match_criteria": enum("IS_IN", "IS_NOT_IN").req(),
					"addrs":          list(ipAddr()),
					"prefixes":       list(ipPrefix()),
					"ranges":         list(obj(fields{"begin": ipAddr().req(), "end": ipAddr().req()})),
				}).enterpriseOnly(),
			}),
			"action": obj(fields{
				"select_pool": obj(fields{
					"action_type":    enum("L4_RULE_ACTION_SELECT_POOL", "L4_RULE_ACTION_SELECT_POOLGROUP").req(),
					"pool_ref":       ref("pool"),
					"pool_group_ref": ref("poolgroup"),
				}),
			}),
		})),
	}),
})

var healthMonitor = base(&model{typ: "healthmonitor", name: "HealthMonitor", verbose: "Health monitor"}, fields{
	"type": enum("HEALTH_MONITOR_PING", "HEALTH_MONITOR_TCP", "HEALTH_MONITOR_HTTP", "HEALTH_MONITOR_HTTPS",
		"HEALTH_MONITOR_EXTERNAL", "HEALTH_MONITOR_UDP", "HEALTH_MONITOR_DNS", "HEALTH_MONITOR_GSLB", "HEALTH_MONITOR_SIP",
		"HEALTH_MONITOR_RADIUS", "HEALTH_MONITOR_SMTP", "HEALTH_MONITOR_FTP", "HEALTH_MONITOR_FTPS", "HEALTH_MONITOR_LDAP",
		"HEALTH_MONITOR_LDAPS", "HEALTH_MONITOR_IMAP", "HEALTH_MONITOR_IMAPS", "HEALTH_MONITOR_POP3", "HEALTH_MONITOR_POP3S",
		"HEALTH_MONITOR_SCTP").req(),
	"send_interval":     integer(1, 3600).dflt(10),
	"receive_timeout":   integer(1, 2400).dflt(4),
	"successful_checks": integer(1, 50).dflt(2),
	"failed_checks":     integer(1, 50).dflt(2),
	"monitor_port":      portNum(),
	"is_federated":      boolean(),
	"sctp_monitor":      obj(fields{"sctp_request": str(), "sctp_response": str()}).sctpOnly(),
	"tcp_monitor": obj(fields{"tcp_request": str(), "tcp_response": str(), "maintenance_response": str(),
		"tcp_half_open": boolean()}),
	"udp_monitor":  obj(fields{"udp_request": str(), "udp_response": str(), "maintenance_response": str()}),
	"http_monitor": anything(),
})

var networkProfile = base(&model{typ: "networkprofile", name: "NetworkProfile", verbose: "Network profile"}, fields{
	"connection_mirror": boolean(),
	"profile": obj(fields{
		"type": enum("PROTOCOL_TYPE_TCP_PROXY", "PROTOCOL_TYPE_TCP_FAST_PATH", "PROTOCOL_TYPE_UDP_FAST_PATH",
			"PROTOCOL_TYPE_UDP_PROXY", "PROTOCOL_TYPE_SCTP_PROXY", "PROTOCOL_TYPE_SCTP_FAST_PATH").dflt("PROTOCOL_TYPE_TCP_PROXY"),
		"tcp_proxy_profile":     anything(),
		"tcp_fast_path_profile": anything(),
		"udp_fast_path_profile": anything(),
		"udp_proxy_profile":     anything(),
		"sctp_proxy_profile": obj(fields{
			"cookie_expiration_timeout":       integer(60, 3600).dflt(60),
			"heartbeat_interval":              num().dflt(30),
			"idle_timeout":                    num().dflt(0),
			"max_retransmissions_association": num().dflt(10),
			"max_retransmissions_init_chunks": num().dflt(8),
			"number_of_streams":               num().dflt(10),
			"receive_window":                  integer(2, 65536).dflt(256),
			"reset_timeout":                   num().dflt(0),
		}).sctpOnly(),
		"sctp_fast_path_profile": obj(fields{"enable_init_chunk_protection": boolean(), "idle_timeout": num()}).sctpOnly(),
	}).req(),
})

var applicationProfile = base(&model{typ: "applicationprofile", name: "ApplicationProfile", verbose: "Application profile"}, fields{
	"type": enum("APPLICATION_PROFILE_TYPE_L4", "APPLICATION_PROFILE_TYPE_HTTP", "APPLICATION_PROFILE_TYPE_SSL",
		"APPLICATION_PROFILE_TYPE_DNS", "APPLICATION_PROFILE_TYPE_SYSLOG", "APPLICATION_PROFILE_TYPE_SIP").req(),
	"http_profile":         anything(),
	"tcp_app_profile":      anything(),
	"preserve_client_ip":   boolean(),
	"preserve_client_port": boolean(),
})

// The remaining types are configuration sctpguard only references; their schemas are small.
var (
	analyticsProfile   = base(&model{typ: "analyticsprofile", name: "AnalyticsProfile", verbose: "Analytics profile"}, fields{})
	cloud              = base(&model{typ: "cloud", name: "Cloud", verbose: "Cloud"}, fields{"vtype": str().dflt("CLOUD_NONE")})
	serviceEngineGroup = base(&model{typ: "serviceenginegroup", name: "ServiceEngineGroup", verbose: "Service engine group", cloudScoped: true},
		fields{"ha_mode": str()})
	vrfContext = base(&model{typ: "vrfcontext", name: "VrfContext", verbose: "Vrf context", cloudScoped: true},
		fields{"system_default": boolean()})
	network = base(&model{typ: "network", name: "Network", verbose: "Network", cloudScoped: true}, fields{
		"vrf_context_ref":    ref("vrfcontext"),
		"configured_subnets": anything(),
		"dhcp_enabled":       boolean(),
	})
	tenant = base(&model{typ: "tenant", name: "Tenant", verbose: "Tenant", tenantless: true}, fields{
		"local":           boolean().dflt(true),
		"config_settings": anything(),
	})
)

// models maps a path segment to its model. systemconfiguration is served apart (system.go).
var models = map[string]*model{}

func init() {
	virtualService.post = vsPost
	pool.post = poolPost
	vsVip.post = vsVipPost
	l4PolicySet.post = l4PolicySetPost
	healthMonitor.post = healthMonitorPost
	networkProfile.post = networkProfilePost
	for _, m := range []*model{virtualService, vsVip, pool, poolGroup, l4PolicySet, healthMonitor, networkProfile,
		applicationProfile, analyticsProfile, cloud, serviceEngineGroup, vrfContext, network, tenant} {
		models[m.typ] = m
	}
}

// modelName is the class name used in "<Model> object not found!" for a path segment. An
// unknown type is title-cased (inferred: the real text for an unknown endpoint is unknown).
func modelName(typ string) string {
	if m := models[typ]; m != nil {
		return m.name
	}
	if typ == "systemconfiguration" {
		return "SystemConfiguration"
	}
	if typ == "" {
		return "Object"
	}
	return strings.ToUpper(typ[:1]) + typ[1:]
}

func items(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// vsPost fills services[].port_range_end with the port (avi-rest.md §9).
func vsPost(_ *write, o map[string]any) *apiError {
	for _, svc := range items(o["services"]) {
		if _, ok := svc["port_range_end"]; !ok {
			svc["port_range_end"] = svc["port"]
		}
	}
	return nil
}

// poolPost fills servers[].hostname with the server address (avi-rest.md §9).
func poolPost(_ *write, o map[string]any) *apiError {
	for _, srv := range items(o["servers"]) {
		if _, ok := srv["hostname"]; !ok {
			ip, _ := srv["ip"].(map[string]any)
			srv["hostname"] = ip["addr"]
		}
	}
	return nil
}

// l4PolicySetPost rejects a rule index or name used twice in one set (inferred, §10.14).
func l4PolicySetPost(_ *write, o map[string]any) *apiError {
	pol, _ := o["l4_connection_policy"].(map[string]any)
	indexes, names := map[float64]bool{}, map[string]bool{}
	for _, r := range items(pol["rules"]) {
		idx, _ := r["index"].(float64)
		name, _ := r["name"].(string)
		if indexes[idx] {
			return badRequest("Duplicate rule index %s in l4_connection_policy", fmtNum(idx))
		}
		if names[name] {
			return badRequest("Duplicate rule name %s in l4_connection_policy", name)
		}
		indexes[idx], names[name] = true, true
	}
	return nil
}

// healthMonitorPost enforces receive_timeout < send_interval (avi-rest.md §9; wording inferred).
func healthMonitorPost(_ *write, o map[string]any) *apiError {
	rt, _ := o["receive_timeout"].(float64)
	si, _ := o["send_interval"].(float64)
	if rt >= si {
		return badRequest("Health monitor receive timeout (%s) must be less than the send interval (%s)", fmtNum(rt), fmtNum(si))
	}
	return nil
}

// networkProfilePost gives an SCTP proxy profile its sctp_proxy_profile with the defaults
// filled (inferred: the controller shows them on System-SCTP-Proxy).
func networkProfilePost(w *write, o map[string]any) *apiError {
	p, _ := o["profile"].(map[string]any)
	if _, ok := p["sctp_proxy_profile"]; ok || p["type"] != "PROTOCOL_TYPE_SCTP_PROXY" {
		return nil
	}
	f := networkProfile.schema.fields["profile"].fields["sctp_proxy_profile"]
	v, err := w.walk.walk(f, map[string]any{}, "profile.sctp_proxy_profile", nil)
	if err != nil {
		return err
	}
	p["sctp_proxy_profile"] = v
	return nil
}
