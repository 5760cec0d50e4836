package translator

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/sctpguard/sctpguard/translator/avi"
)

// The change detection of avi-translation.md §8.2: the desired object and the current one
// are both decoded into the model (which keeps only the managed fields), normalized, and
// compared as JSON. Equal objects are not written.

// normalized returns the canonical JSON of an object of a type, for comparison: a model
// or an Object as read. Decoding into the model keeps only the managed fields.
func normalized(typ string, obj any) ([]byte, error) {
	return norm{}.normalized(typ, obj)
}

// norm normalizes objects. current, when set, is the object as the controller holds it: its
// refs resolve desired refs by uuid ("/api/network/<uuid>", which AKO sends for a network
// given by uuid) to the names the controller renders them with.
type norm struct {
	current avi.Object
	names   *map[string]string // "<type>/<uuid>" → name, read from current when first needed
}

func (n norm) normalized(typ string, obj any) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	switch typ {
	case avi.TypeVirtualService:
		return normalizeAs(typ, data, n.vs)
	case avi.TypeVsVip:
		return normalizeAs(typ, data, n.vsvip)
	case avi.TypePool:
		return normalizeAs(typ, data, n.pool)
	case avi.TypeL4PolicySet:
		return normalizeAs(typ, data, n.l4)
	}
	return nil, fmt.Errorf("normalize: unknown type %s", typ)
}

// normalizeAs decodes data into the model T, normalizes it and encodes it again.
func normalizeAs[T any](typ string, data []byte, normalize func(*T)) ([]byte, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	normalize(&v)
	return json.Marshal(v)
}

// equal reports whether the current object (and its normalized form, as the state keeps
// it) already is the desired one.
func equal(typ string, desired any, current avi.Object, currentNorm []byte) (bool, error) {
	d, err := norm{current: current, names: new(map[string]string)}.normalized(typ, desired)
	if err != nil {
		return false, err
	}
	if string(d) != string(currentNorm) {
		return false, nil
	}
	if v, ok := desired.(*avi.VsVip); ok {
		return sameStaticVIPs(v, current)
	}
	return true, nil
}

// refNames collects the names of the refs of an object as read ("…/api/<type>/<uuid>#<name>").
func refNames(o avi.Object) map[string]string {
	names := map[string]string{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		case string:
			if !strings.Contains(t, "/api/") || !strings.Contains(t, "#") {
				return
			}
			if r, err := avi.ParseRef(t); err == nil && r.UUID != "" && r.Name != "" {
				names[r.Type+"/"+r.UUID] = r.Name
			}
		}
	}
	walk(map[string]any(o))
	return names
}

// sameStaticVIPs compares the static addresses of the desired VIPs with the current ones;
// the normalized form leaves addresses out, as most are allocated by the controller.
func sameStaticVIPs(desired *avi.VsVip, current avi.Object) (bool, error) {
	var cur avi.VsVip
	if err := current.Decode(&cur); err != nil {
		return false, err
	}
	addr := func(a *avi.IPAddr) string {
		if a == nil {
			return ""
		}
		return a.Addr
	}
	for _, want := range desired.VIP {
		if want.IPAddress == nil && want.IP6Address == nil {
			continue
		}
		i := slices.IndexFunc(cur.VIP, func(v avi.VIP) bool { return v.VipID == want.VipID })
		if i < 0 {
			return false, nil
		}
		if (want.IPAddress != nil && addr(want.IPAddress) != addr(cur.VIP[i].IPAddress)) ||
			(want.IP6Address != nil && addr(want.IP6Address) != addr(cur.VIP[i].IP6Address)) {
			return false, nil
		}
	}
	return true, nil
}

// ref turns any ref form into "<type>/<name>"; both "/api/pool/?name=X" and
// "https://h/api/pool/pool-1a2b#X" become "pool/X". A ref by uuid alone takes the name the
// controller renders for that uuid, when known.
func (n norm) ref(s string) string {
	if s == "" {
		return ""
	}
	r, err := avi.ParseRef(s)
	if err != nil {
		return s
	}
	if r.Name == "" && r.UUID != "" && n.names != nil {
		if *n.names == nil {
			*n.names = refNames(n.current)
		}
		r.Name = (*n.names)[r.Type+"/"+r.UUID]
	}
	return r.String()
}

func (n norm) orDefaultRef(s, def string) string {
	if s == "" {
		return def
	}
	return n.ref(s)
}

func boolDefault(p **bool, def bool) {
	if *p == nil {
		*p = ptrTo(def)
	}
}

func stringDefault(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

// Server defaults of the fields an L4Rule sets (the published schema's defaults).
const (
	globalVRF              = avi.TypeVRFContext + "/global"
	defaultAnalyticsRef    = "analyticsprofile/System-Analytics-Profile"
	defaultLBAlgorithm     = "LB_ALGORITHM_LEAST_CONNECTIONS"
	defaultLBAlgorithmHash = "LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS"
	defaultLogsDuration    = 30
	defaultLogsThrottle    = 10
)

func (n norm) vs(vs *avi.VirtualService) {
	vs.TenantRef, vs.CloudRef = n.ref(vs.TenantRef), n.ref(vs.CloudRef)
	vs.SEGroupRef, vs.VsVipRef = n.ref(vs.SEGroupRef), n.ref(vs.VsVipRef)
	vs.ApplicationProfileRef, vs.NetworkProfileRef = n.ref(vs.ApplicationProfileRef), n.ref(vs.NetworkProfileRef)
	vs.VRFContextRef = n.orDefaultRef(vs.VRFContextRef, globalVRF)
	boolDefault(&vs.Enabled, true)
	boolDefault(&vs.TrafficEnabled, true)
	boolDefault(&vs.EastWestPlacement, false)
	boolDefault(&vs.RemoveListeningPortOnVsDown, false)
	boolDefault(&vs.EnableRHI, false)
	for i := range vs.Services {
		s := &vs.Services[i]
		if s.PortRangeEnd == nil || *s.PortRangeEnd == 0 {
			s.PortRangeEnd = ptrTo(s.Port)
		}
		boolDefault(&s.EnableSSL, false)
		boolDefault(&s.EnableHTTP2, false)
		s.OverrideNetworkProfileRef = n.ref(s.OverrideNetworkProfileRef)
	}
	for i := range vs.L4Policies {
		vs.L4Policies[i].L4PolicySetRef = n.ref(vs.L4Policies[i].L4PolicySetRef)
	}
	vs.ServiceMetadata = normalizeMetadata(vs.ServiceMetadata)
	vs.Markers = normalizeMarkers(vs.Markers)
	vs.AnalyticsProfileRef = n.orDefaultRef(vs.AnalyticsProfileRef, defaultAnalyticsRef)
	vs.NetworkSecurityPolicyRef, vs.SecurityPolicyRef = n.ref(vs.NetworkSecurityPolicyRef), n.ref(vs.SecurityPolicyRef)
	// Only full_client_logs of the analytics policy is managed; the controller fills its
	// duration and throttle.
	logs := &avi.FullClientLogs{}
	if vs.AnalyticsPolicy != nil && vs.AnalyticsPolicy.FullClientLogs != nil {
		logs = vs.AnalyticsPolicy.FullClientLogs
	}
	boolDefault(&logs.Enabled, false)
	if logs.Duration == nil {
		logs.Duration = ptrTo(uint32(defaultLogsDuration))
	}
	if logs.Throttle == nil {
		logs.Throttle = ptrTo(uint32(defaultLogsThrottle))
	}
	vs.AnalyticsPolicy = &avi.AnalyticsPolicy{FullClientLogs: logs}
	if l := vs.PerformanceLimits; l != nil && l.MaxConcurrentConnections == nil && l.MaxThroughput == nil {
		vs.PerformanceLimits = nil
	}
	for i := range vs.VSDatascripts {
		vs.VSDatascripts[i].VSDatascriptSetRef = n.ref(vs.VSDatascripts[i].VSDatascriptSetRef)
	}
	if len(vs.VSDatascripts) == 0 {
		vs.VSDatascripts = nil
	}
}

func (n norm) vsvip(v *avi.VsVip) {
	v.TenantRef, v.CloudRef = n.ref(v.TenantRef), n.ref(v.CloudRef)
	v.VRFContextRef = n.orDefaultRef(v.VRFContextRef, globalVRF)
	boolDefault(&v.EastWestPlacement, false)
	for i := range v.VIP {
		vip := &v.VIP[i]
		boolDefault(&vip.AutoAllocateIP, false)
		if vip.AutoAllocateIPType == "" {
			vip.AutoAllocateIPType = "V4_ONLY"
		}
		// An allocated address is the controller's, not a difference: static addresses
		// are compared on their own (sameStaticVIPs).
		vip.IPAddress, vip.IP6Address = nil, nil
		if s := vip.IPAMNetworkSubnet; s != nil {
			s.NetworkRef = n.ref(s.NetworkRef)
		}
	}
	slices.SortFunc(v.DNSInfo, func(a, b avi.DNSInfo) int { return strings.Compare(a.FQDN, b.FQDN) })
	v.DNSInfo = slices.CompactFunc(v.DNSInfo, func(a, b avi.DNSInfo) bool { return a.FQDN == b.FQDN })
	v.Markers = normalizeMarkers(v.Markers)
	slices.Sort(v.BGPPeerLabels)
	if len(v.BGPPeerLabels) == 0 {
		v.BGPPeerLabels = nil
	}
}

func (n norm) pool(p *avi.Pool) {
	p.TenantRef, p.CloudRef = n.ref(p.TenantRef), n.ref(p.CloudRef)
	p.VRFRef = n.orDefaultRef(p.VRFRef, globalVRF)
	for i := range p.HealthMonitorRefs {
		p.HealthMonitorRefs[i] = n.ref(p.HealthMonitorRefs[i])
	}
	slices.Sort(p.HealthMonitorRefs)
	p.HealthMonitorRefs = slices.Compact(p.HealthMonitorRefs)
	for i := range p.Servers {
		boolDefault(&p.Servers[i].Enabled, true)
	}
	slices.SortFunc(p.Servers, compareServers)
	boolDefault(&p.SNIEnabled, false)
	if p.GracefulDisableTimeout == nil {
		p.GracefulDisableTimeout = ptrTo(int32(1))
	}
	p.ServiceMetadata = normalizeMetadata(p.ServiceMetadata)
	p.Markers = normalizeMarkers(p.Markers)
	for i := range p.PlacementNetworks {
		p.PlacementNetworks[i].NetworkRef = n.ref(p.PlacementNetworks[i].NetworkRef)
	}
	slices.SortFunc(p.PlacementNetworks, func(a, b avi.PlacementNetwork) int {
		return strings.Compare(a.NetworkRef+" "+a.Subnet.IPAddr.Addr, b.NetworkRef+" "+b.Subnet.IPAddr.Addr)
	})
	if len(p.PlacementNetworks) == 0 {
		p.PlacementNetworks = nil
	}
	boolDefault(&p.Enabled, true)
	stringDefault(&p.LBAlgorithm, defaultLBAlgorithm)
	stringDefault(&p.LBAlgorithmHash, defaultLBAlgorithmHash)
	if p.MinServersUp != nil && *p.MinServersUp == 0 {
		p.MinServersUp = nil
	}
	p.ApplicationPersistenceProfileRef = n.ref(p.ApplicationPersistenceProfileRef)
	metrics := &avi.PoolAnalyticsPolicy{}
	if p.AnalyticsPolicy != nil {
		metrics = p.AnalyticsPolicy
	}
	boolDefault(&metrics.EnableRealtimeMetrics, false)
	p.AnalyticsPolicy = metrics
}

func (n norm) l4(l *avi.L4PolicySet) {
	l.TenantRef = n.ref(l.TenantRef)
	if l.L4ConnectionPolicy == nil {
		l.L4ConnectionPolicy = &avi.L4ConnectionPolicy{}
	}
	if l.L4ConnectionPolicy.Rules == nil {
		l.L4ConnectionPolicy.Rules = []avi.L4Rule{}
	}
	for i := range l.L4ConnectionPolicy.Rules {
		r := &l.L4ConnectionPolicy.Rules[i]
		boolDefault(&r.Enable, true)
		if r.Action != nil && r.Action.SelectPool != nil {
			r.Action.SelectPool.PoolRef = n.ref(r.Action.SelectPool.PoolRef)
			r.Action.SelectPool.PoolGroupRef = n.ref(r.Action.SelectPool.PoolGroupRef)
		}
	}
	l.Markers = normalizeMarkers(l.Markers)
}

// normalizeMarkers treats markers as a map from key to sorted values.
func normalizeMarkers(ms []avi.Marker) []avi.Marker {
	byKey := map[string][]string{}
	for _, m := range ms {
		byKey[m.Key] = append(byKey[m.Key], m.Values...)
	}
	out := make([]avi.Marker, 0, len(byKey))
	for k, v := range byKey {
		slices.Sort(v)
		out = append(out, avi.Marker{Key: k, Values: v})
	}
	slices.SortFunc(out, func(a, b avi.Marker) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// normalizeMetadata re-encodes service_metadata with sorted keys.
func normalizeMetadata(s string) string {
	if s == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	data, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(data)
}

// managedFields returns the JSON names of a model's fields: the top-level fields sctpguard
// manages on objects of that type.
func managedFields(model any) []string {
	t := reflect.TypeOf(model)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// putBody builds a PUT body (avi-translation.md §8.2): the current object as read, with each
// managed field replaced by its desired value and the managed fields no longer desired
// removed. Everything else (uuid, _last_modified, fields sctpguard does not model) is sent
// back unchanged; keeping _last_modified makes a concurrent change answer 412. VsVip vip[]
// entries are merged by vip_id so that the allocated address survives.
func putBody(current avi.Object, desired any) (avi.Object, error) {
	d, err := avi.ToObject(desired)
	if err != nil {
		return nil, err
	}
	body := avi.Object{}
	for k, v := range current {
		body[k] = v
	}
	for _, f := range managedFields(desired) {
		if v, ok := d[f]; ok {
			body[f] = v
		} else {
			delete(body, f)
		}
	}
	if _, ok := desired.(*avi.VsVip); ok {
		body["vip"] = mergeVIPs(current["vip"], d["vip"])
	}
	return body, nil
}

// mergeVIPs merges desired VIP entries into the current ones by vip_id. The managed fields
// of an entry are replaced; an address the controller allocated is kept.
func mergeVIPs(current, desired any) []any {
	cur, _ := current.([]any)
	des, _ := desired.([]any)
	managed := managedFields(avi.VIP{})
	out := make([]any, 0, len(des))
	for _, dv := range des {
		dm, _ := dv.(map[string]any)
		merged := map[string]any{}
		for _, cv := range cur {
			if cm, ok := cv.(map[string]any); ok && cm["vip_id"] == dm["vip_id"] {
				for k, v := range cm {
					merged[k] = v
				}
			}
		}
		for _, f := range managed {
			if v, ok := dm[f]; ok {
				merged[f] = v
			} else if f != "ip_address" && f != "ip6_address" {
				delete(merged, f)
			}
		}
		out = append(out, merged)
	}
	return out
}
