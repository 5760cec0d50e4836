package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// aviNames returns the names of the objects of a type in avisim that belong to the seed
// namespaces (default and svcapi) in sctpguard's class; other tests' objects are there too.
func aviNames(typ string) []string {
	return aviNamesWith(typ, "sctpguard.e2e--default-", "sctpguard.e2e--svcapi-")
}

// aviNamesWith returns the sorted names of the objects of a type in avisim with one of the
// prefixes.
func aviNamesWith(typ string, prefixes ...string) []string {
	var out []string
	for _, o := range cl.avi.Objects("admin", typ) {
		name := o["name"].(string)
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ownClass turns seed manifests into sctpguard's class: the LoadBalancer Service gets
// loadBalancerClass sctpguard.io/avi-sctp, and the Gateway the GatewayClass sctpguard, whose
// controller is sctpguard's (with the seed's AviInfraSetting).
func ownClass(manifest string) string {
	manifest = strings.ReplaceAll(manifest, "  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerClass: sctpguard.io/avi-sctp")
	return strings.ReplaceAll(manifest, "gatewayClassName: avi-lb", "gatewayClassName: sctpguard")
}

const ownGatewayClass = `apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata:
  name: sctpguard
spec:
  controller: sctpguard.io/avi-sctp
  parametersRef: {group: ako.vmware.com, kind: AviInfraSetting, name: my-infrasetting}
`

// waitFor polls until f returns nil, for up to a minute.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := poll(ctx, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantNames(typ string, want []string) func() error {
	return func() error {
		if diff := cmp.Diff(want, aviNames(typ)); diff != "" {
			return fmt.Errorf("%s in avisim (-want +got):\n%s", typ, diff)
		}
		return nil
	}
}

const seedEndpoints = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: server-e2e
  namespace: default
  labels: {kubernetes.io/service-name: server}
addressType: IPv4
ports:
- {name: sctp-80, protocol: SCTP, port: 9090}
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true}
`

// TestTranslator: the seed manifests in sctpguard's class, applied with kubectl, become Avi
// objects in avisim (the Avi Controller's test double), the Service gets the VIP in its
// status and the Gateway its address and conditions, and deleting them removes the Avi
// objects.
func TestTranslator(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	waitVerdict(t, readFile(t, "examples/seeds/ako-loadbalancer-service.yaml"), "")
	// loadBalancerClass is immutable: the seed Service of AKO's class goes first.
	if _, stderr, code := cl.kubectl("", "delete", "svc/server", "-n", "default", "--ignore-not-found"); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	for _, f := range []string{"examples/seeds/ako-loadbalancer-service.yaml", "examples/seeds/ako-gateway-v1alpha1.yaml"} {
		if _, stderr, code := cl.kubectl(ownGatewayClass+"---\n"+ownClass(readFile(t, f)), "apply", "-f", "-"); code != 0 {
			t.Fatalf("apply %s: %s", f, stderr)
		}
	}
	// No controller-manager runs here: give the seed Service the EndpointSlice it would get.
	if _, stderr, code := cl.kubectl(seedEndpoints, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply EndpointSlice: %s", stderr)
	}
	waitFor(t, "virtual services", wantNames("virtualservice", []string{"sctpguard.e2e--default-server", "sctpguard.e2e--svcapi-my-gateway"}))
	waitFor(t, "pools", wantNames("pool", []string{"sctpguard.e2e--default-server-SCTP-80", "sctpguard.e2e--svcapi-avisvc-svcapi-my-gateway-SCTP-6060"}))
	waitFor(t, "pool servers", func() error {
		p, _ := cl.avi.Object("admin", "pool", "sctpguard.e2e--default-server-SCTP-80")
		if got := fmt.Sprint(p["servers"]); !strings.Contains(got, "10.244.1.5") || !strings.Contains(got, "9090") {
			return fmt.Errorf("servers %s", got)
		}
		return nil
	})
	serverVIP, gatewayVIP := cl.avi.VIP("admin", "sctpguard.e2e--default-server"), cl.avi.VIP("admin", "sctpguard.e2e--svcapi-my-gateway")
	if serverVIP == "" || gatewayVIP == "" || serverVIP == gatewayVIP {
		t.Fatalf("VIPs %q and %q", serverVIP, gatewayVIP)
	}
	jsonpath := jsonpathOf
	waitFor(t, "Service status", jsonpath("svc/server", "-n", "default", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")(serverVIP))
	waitFor(t, "Gateway status", jsonpath("gateway.networking.x-k8s.io/my-gateway", "-n", "svcapi", "-o",
		`jsonpath={.status.addresses[*].value} {range .status.conditions[*]}{.type}={.status}/{.reason} {end}{range .status.listeners[*]}{.port}/{.protocol}:{.conditions[0].type}={.conditions[0].status}{end}`)(
		gatewayVIP+" Scheduled=True/Synced Ready=True/Ready 6060/SCTP:Ready=True"))
	uid, _, _ := cl.kubectl("", "get", "svc/server", "-n", "default", "-o", "jsonpath={.metadata.uid}")
	waitFor(t, "Synced event", func() error {
		// Earlier tests may have created (and deleted) a Service of that name: select this one.
		out, _, _ := cl.kubectl("", "get", "events.events.k8s.io", "-n", "default", "--field-selector", "regarding.uid="+uid+",reason=Synced", "-o", "jsonpath={.items[*].note}")
		if out != "Added virtualservice sctpguard.e2e--default-server for default/server" {
			return fmt.Errorf("events %q", out)
		}
		return nil
	})

	// Deleting the Service removes its Avi objects, and only its.
	if _, stderr, code := cl.kubectl("", "delete", "svc/server", "-n", "default"); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	waitFor(t, "virtual services after delete", wantNames("virtualservice", []string{"sctpguard.e2e--svcapi-my-gateway"}))
	for _, typ := range []string{"vsvip", "l4policyset"} {
		waitFor(t, typ+" after delete", wantNames(typ, []string{"sctpguard.e2e--svcapi-my-gateway"}))
	}
	waitFor(t, "pools after delete", wantNames("pool", []string{"sctpguard.e2e--svcapi-avisvc-svcapi-my-gateway-SCTP-6060"}))

	// Taking the Gateway out of sctpguard's hands (another class) removes its objects and the
	// status sctpguard wrote; the Gateway stays.
	if _, stderr, code := cl.kubectl("", "patch", "gateway.networking.x-k8s.io/my-gateway", "-n", "svcapi", "--type=merge", "-p", `{"spec":{"gatewayClassName":"other"}}`); code != 0 {
		t.Fatalf("patch: %s", stderr)
	}
	for _, typ := range []string{"virtualservice", "vsvip", "l4policyset", "pool"} {
		waitFor(t, typ+" after the Gateway's delete", wantNames(typ, nil))
	}
	waitFor(t, "Gateway status cleared", jsonpath("gateway.networking.x-k8s.io/my-gateway", "-n", "svcapi", "-o", "jsonpath={.status}")("{}"))
	// Deleting it then is quiet; the seed state is restored for the tests that follow.
	for _, args := range [][]string{
		{"delete", "gateway.networking.x-k8s.io/my-gateway", "-n", "svcapi"},
		{"delete", "gatewayclass.networking.x-k8s.io/sctpguard"},
		{"apply", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "-f", "examples/seeds/ako-gateway-v1alpha1.yaml"},
	} {
		if _, stderr, code := cl.kubectl("", args...); code != 0 {
			t.Fatalf("kubectl %v: %s", args, stderr)
		}
	}
}
