package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lbService is an SCTP LoadBalancer Service on port 3868 (38412 for amf) of a class ("" for
// none), with extra spec lines.
func lbService(ns, name, class, extra string) string {
	s := `apiVersion: v1
kind: Service
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec:
  type: LoadBalancer
  selector: {app: ` + name + `}
  ports: [{name: diameter, port: 3868, protocol: SCTP}]
`
	if class != "" {
		s += "  loadBalancerClass: " + class + "\n"
	}
	return s + extra
}

// akoObjects preloads into avisim the VsVip, pool and virtual service AKO builds for an
// AKO-class Service (created_by ako-e2e, AKO's names and service_metadata), and returns
// their names by type.
func akoObjects(t *testing.T, ns, svc, vip string) map[string]string {
	t.Helper()
	name := "e2e--" + ns + "-" + svc
	ip := map[string]any{"vip_id": "0", "auto_allocate_ip": true}
	if vip != "" {
		ip["ip_address"] = map[string]any{"addr": vip, "type": "V4"}
	}
	md := `{"namespace_svc_name":["` + ns + "/" + svc + `"]}`
	objs := []struct {
		typ, name string
		obj       map[string]any
	}{
		{"vsvip", name, map[string]any{"vip": []any{ip}}},
		// AKO: internal/lib/lib.go GetL4PoolName.
		{"pool", name + "--3868", map[string]any{"created_by": "ako-e2e", "service_metadata": md}},
		{"virtualservice", name, map[string]any{"created_by": "ako-e2e", "vsvip_ref": "/api/vsvip/?name=" + name,
			"services": []any{map[string]any{"port": 3868}}, "service_metadata": md}},
	}
	out := map[string]string{}
	for _, o := range objs {
		o.obj["name"] = o.name
		if _, err := cl.avi.Preload("admin", o.typ, o.obj); err != nil {
			t.Fatal(err)
		}
		out[o.typ] = o.name
	}
	return out
}

// snapshot returns avisim's objects by "type/name", as stored now.
func snapshot(names ...map[string]string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, n := range names {
		for typ, name := range n {
			o, _ := cl.avi.Object("admin", typ, name)
			out[typ+"/"+name] = o
		}
	}
	return out
}

// jsonpathOf reads a field of an object with kubectl.
func jsonpathOf(args ...string) func(want string) func() error {
	return func(want string) func() error {
		return func() error {
			out, stderr, code := cl.kubectl("", append([]string{"get"}, args...)...)
			if code != 0 || out != want {
				return fmt.Errorf("kubectl get %s: %q (%s), want %q", strings.Join(args, " "), out, stderr, want)
			}
			return nil
		}
	}
}

// TestTwoClasses runs sctpguard's translator beside "AKO": avisim holds the objects AKO
// created for two Services of AKO's class, while Services of sctpguard's class with the same
// names (the same Service name in another namespace, and one whose AKO name is the same:
// telco/voice-diameter and telco-voice/diameter both give e2e--telco-voice-diameter) sync
// beside them, with no conflict and AKO's objects untouched. A Service moved from AKO's class
// to sctpguard's waits until AKO has deleted its objects, then takes over its pinned VIP.
// Under AKO's NodePortLocal mode a Service of sctpguard's class gets the nodes as servers and
// its VIP in status, and one of AKO's class is denied with the way out.
func TestTwoClasses(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	voice := akoObjects(t, "voice", "diameter", "10.250.250.200")
	telco := akoObjects(t, "telco", "voice-diameter", "")
	before := snapshot(voice, telco)
	for _, m := range []string{
		lbService("voice", "diameter", "ako.vmware.com/avi-lb", "  loadBalancerIP: 10.250.250.200\n"),
		lbService("telco", "voice-diameter", "", ""),
		lbService("classes", "diameter", "sctpguard.io/avi-sctp", ""),
		lbService("telco-voice", "diameter", "sctpguard.io/avi-sctp", ""),
	} {
		if _, stderr, code := cl.kubectl(m, "apply", "-f", "-"); code != 0 {
			t.Fatalf("apply: %s", stderr)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{"voice", "telco", "classes", "telco-voice"} {
			cl.kubectl("", "delete", "svc", "--all", "-n", ns)
		}
	})
	own := []string{"sctpguard.e2e--classes-", "sctpguard.e2e--telco-voice-", "sctpguard.e2e--voice-"}
	waitFor(t, "sctpguard's virtual services", func() error {
		if diff := cmp.Diff([]string{"sctpguard.e2e--classes-diameter", "sctpguard.e2e--telco-voice-diameter"}, aviNamesWith("virtualservice", own...)); diff != "" {
			return fmt.Errorf("(-want +got):\n%s", diff)
		}
		return nil
	})
	for _, s := range []struct{ ns, vs string }{{"classes", "sctpguard.e2e--classes-diameter"}, {"telco-voice", "sctpguard.e2e--telco-voice-diameter"}} {
		waitFor(t, s.ns+" status", jsonpathOf("svc/diameter", "-n", s.ns, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")(cl.avi.VIP("admin", s.vs)))
	}
	// AKO's objects are untouched, its Services get no status from sctpguard, and nothing
	// conflicts.
	if diff := cmp.Diff(before, snapshot(voice, telco)); diff != "" {
		t.Errorf("AKO's objects (-before +now):\n%s", diff)
	}
	for _, s := range []string{"voice/diameter", "telco/voice-diameter"} {
		ns, name, _ := strings.Cut(s, "/")
		if err := jsonpathOf("svc/"+name, "-n", ns, "-o", "jsonpath={.status.loadBalancer.ingress}")("")(); err != nil {
			t.Error(err)
		}
	}
	for _, ns := range []string{"voice", "telco", "classes", "telco-voice"} {
		out, _, _ := cl.kubectl("", "get", "events.events.k8s.io", "-n", ns, "--field-selector", "type=Warning", "-o", "jsonpath={.items[*].reason}")
		if out != "" {
			t.Errorf("Warning Events in %s: %s", ns, out)
		}
	}

	// voice/diameter moves to sctpguard's class: a delete and a create (the class is
	// immutable), with the pinned VIP. sctpguard waits while AKO's objects are there.
	if _, stderr, code := cl.kubectl("", "delete", "svc/diameter", "-n", "voice"); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	if _, stderr, code := cl.kubectl(lbService("voice", "diameter", "sctpguard.io/avi-sctp", "  loadBalancerIP: 10.250.250.200\n"), "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: %s", stderr)
	}
	waitFor(t, "HandOverPending", jsonpathOf("events.events.k8s.io", "-n", "voice", "--field-selector", "reason=HandOverPending", "-o", "jsonpath={.items[0].note}")(
		"virtualservice e2e--voice-diameter (created_by: ako-e2e) still serves svc/voice/diameter for AKO; sctpguard creates sctpguard.e2e--voice-diameter once AKO has deleted it"))
	if got := aviNamesWith("vsvip", "sctpguard.e2e--voice-"); got != nil {
		t.Errorf("sctpguard created %v while AKO held the Service", got)
	}
	// AKO deletes its objects; sctpguard takes over, with the pinned VIP.
	for _, typ := range []string{"virtualservice", "vsvip", "pool"} {
		if err := cl.avi.Remove("admin", typ, voice[typ]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "voice/diameter status after the hand-over", jsonpathOf("svc/diameter", "-n", "voice", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")("10.250.250.200"))
	if got := cl.avi.VIP("admin", "sctpguard.e2e--voice-diameter"); got != "10.250.250.200" {
		t.Errorf("VIP of sctpguard.e2e--voice-diameter: %q", got)
	}
	if diff := cmp.Diff(map[string]map[string]any{"vsvip/e2e--telco-voice-diameter": before["vsvip/e2e--telco-voice-diameter"],
		"pool/e2e--telco-voice-diameter--3868":     before["pool/e2e--telco-voice-diameter--3868"],
		"virtualservice/e2e--telco-voice-diameter": before["virtualservice/e2e--telco-voice-diameter"]}, snapshot(telco)); diff != "" {
		t.Errorf("AKO's other objects (-before +now):\n%s", diff)
	}

	// AKO in NodePortLocal mode: two Nodes; a Service of sctpguard's class is served by them
	// at its nodePort, one of AKO's class is denied with the way out.
	setAKO(t, nodePortLocalMode)
	defer setAKO(t, clusterIPMode) // before t.Context ends, unlike a Cleanup

	for i, ip := range []string{"192.168.7.11", "192.168.7.12"} {
		name := fmt.Sprintf("classes-node-%d", i+1)
		if _, stderr, code := cl.kubectl("apiVersion: v1\nkind: Node\nmetadata: {name: "+name+"}\n", "apply", "-f", "-"); code != 0 {
			t.Fatalf("node: %s", stderr)
		}
		t.Cleanup(func() { cl.kubectl("", "delete", "node", name) })
		if _, stderr, code := cl.kubectl("", "patch", "node", name, "--subresource=status", "--type=merge", "-p",
			`{"status":{"addresses":[{"type":"InternalIP","address":"`+ip+`"}]}}`); code != 0 {
			t.Fatalf("node status: %s", stderr)
		}
	}
	amf := func(class string) string {
		return strings.ReplaceAll(strings.ReplaceAll(lbService("classes", "amf", class, ""), "port: 3868", "port: 38412, nodePort: 31412"), "name: diameter,", "name: ngap,")
	}
	waitVerdict(t, amf(""), "sctp-nodeportlocal")
	apply(t, amf("sctpguard.io/avi-sctp"), 0, "service/amf created\n",
		"Warning: spec.ports[0].protocol: served through node ports: the node proxy must forward SCTP [sctp-node-proxy]\n")
	waitFor(t, "node servers", func() error {
		p, _ := cl.avi.Object("admin", "pool", "sctpguard.e2e--classes-amf-SCTP-38412")
		var got []string
		servers, _ := p["servers"].([]any)
		for _, s := range servers {
			m := s.(map[string]any)
			got = append(got, fmt.Sprintf("%v:%v", m["ip"].(map[string]any)["addr"], m["port"]))
		}
		if diff := cmp.Diff([]string{"192.168.7.11:31412", "192.168.7.12:31412"}, got); diff != "" {
			return fmt.Errorf("servers (-want +got):\n%s", diff)
		}
		return nil
	})
	waitFor(t, "amf status", func() error {
		vip := cl.avi.VIP("admin", "sctpguard.e2e--classes-amf")
		if vip == "" {
			return fmt.Errorf("no VIP yet")
		}
		return jsonpathOf("svc/amf", "-n", "classes", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")(vip)()
	})
	// Without the nodePort, which the API server allocates (and would find taken) before
	// the webhooks run.
	apply(t, strings.ReplaceAll(strings.ReplaceAll(amf(""), "name: amf,", "name: amf-ako,"), ", nodePort: 31412", ""), 1, "", denied("services",
		"[sctp-nodeportlocal] spec.ports[0].protocol: port 38412/SCTP: "+nplConsequence))
}
