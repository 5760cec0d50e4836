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
// namespaces (default and svcapi); the other tests' Gateways are synced too.
func aviNames(typ string) []string {
	var out []string
	for _, o := range cl.avi.Objects("admin", typ) {
		name := o["name"].(string)
		if strings.HasPrefix(name, "e2e--default-") || strings.HasPrefix(name, "e2e--svcapi-") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

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

// TestTranslator: the seed manifests applied with kubectl become Avi objects in avisim (the
// Avi Controller's test double), the Service gets the VIP in its status and the Gateway its
// address and conditions, and deleting them removes the Avi objects.
func TestTranslator(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	waitVerdict(t, readFile(t, "examples/seeds/ako-loadbalancer-service.yaml"), "")
	for _, f := range []string{"examples/seeds/ako-loadbalancer-service.yaml", "examples/seeds/ako-gateway-v1alpha1.yaml"} {
		if _, stderr, code := cl.kubectl("", "apply", "-f", f); code != 0 {
			t.Fatalf("apply %s: %s", f, stderr)
		}
	}
	// No controller-manager runs here: give the seed Service the EndpointSlice it would get.
	if _, stderr, code := cl.kubectl(seedEndpoints, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply EndpointSlice: %s", stderr)
	}
	waitFor(t, "virtual services", wantNames("virtualservice", []string{"e2e--default-server", "e2e--svcapi-my-gateway"}))
	waitFor(t, "pools", wantNames("pool", []string{"e2e--default-server-SCTP-80", "e2e--svcapi-avisvc-svcapi-my-gateway-SCTP-6060"}))
	waitFor(t, "pool servers", func() error {
		p, _ := cl.avi.Object("admin", "pool", "e2e--default-server-SCTP-80")
		if got := fmt.Sprint(p["servers"]); !strings.Contains(got, "10.244.1.5") || !strings.Contains(got, "9090") {
			return fmt.Errorf("servers %s", got)
		}
		return nil
	})
	serverVIP, gatewayVIP := cl.avi.VIP("admin", "e2e--default-server"), cl.avi.VIP("admin", "e2e--svcapi-my-gateway")
	if serverVIP == "" || gatewayVIP == "" || serverVIP == gatewayVIP {
		t.Fatalf("VIPs %q and %q", serverVIP, gatewayVIP)
	}
	jsonpath := func(args ...string) func(want string) func() error {
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
	waitFor(t, "Service status", jsonpath("svc/server", "-n", "default", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")(serverVIP))
	waitFor(t, "Gateway status", jsonpath("gateway.networking.x-k8s.io/my-gateway", "-n", "svcapi", "-o",
		`jsonpath={.status.addresses[*].value} {range .status.conditions[*]}{.type}={.status}/{.reason} {end}{range .status.listeners[*]}{.port}/{.protocol}:{.conditions[0].type}={.conditions[0].status}{end}`)(
		gatewayVIP+" Scheduled=True/Synced Ready=True/Ready 6060/SCTP:Ready=True"))
	uid, _, _ := cl.kubectl("", "get", "svc/server", "-n", "default", "-o", "jsonpath={.metadata.uid}")
	waitFor(t, "Synced event", func() error {
		// Earlier tests may have created (and deleted) a Service of that name: select this one.
		out, _, _ := cl.kubectl("", "get", "events.events.k8s.io", "-n", "default", "--field-selector", "regarding.uid="+uid+",reason=Synced", "-o", "jsonpath={.items[*].note}")
		if out != "Added virtualservice e2e--default-server for default/server" {
			return fmt.Errorf("events %q", out)
		}
		return nil
	})

	// Deleting the Service removes its Avi objects, and only its.
	if _, stderr, code := cl.kubectl("", "delete", "svc/server", "-n", "default"); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	waitFor(t, "virtual services after delete", wantNames("virtualservice", []string{"e2e--svcapi-my-gateway"}))
	for _, typ := range []string{"vsvip", "l4policyset"} {
		waitFor(t, typ+" after delete", wantNames(typ, []string{"e2e--svcapi-my-gateway"}))
	}
	waitFor(t, "pools after delete", wantNames("pool", []string{"e2e--svcapi-avisvc-svcapi-my-gateway-SCTP-6060"}))

	// Taking the Gateway out of AKO's hands (another class) removes its objects and the
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
		{"apply", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "-f", "examples/seeds/ako-gateway-v1alpha1.yaml"},
	} {
		if _, stderr, code := cl.kubectl("", args...); code != 0 {
			t.Fatalf("kubectl %v: %s", args, stderr)
		}
	}
}
