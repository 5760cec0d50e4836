package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Through the real API server and kubectl, every route that once slipped past sctpguard is
// refused with the rule's message, --dry-run=server included (issue 11).

const akoGatewayClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: avi}
spec: {controllerName: ako.vmware.com/avi-lb}
`

// akoL4 is gatewayapi-ako-l4's finding for the first listener.
func akoL4(listener, protocol, classNote string) string {
	return `[gatewayapi-ako-l4] spec.listeners[0].protocol: listener "` + listener + `" is ` + protocol + `, but AKO's Gateway API implementation` + classNote +
		" serves only HTTP and HTTPS and would not program it; for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass"
}

// deniedBy is the text kubectl prints when webhook (its full name) denies the creation of an
// object read from standard input.
func deniedBy(webhook string, findings ...string) string {
	return `Error from server (Forbidden): error when creating "STDIN": admission webhook "` + webhook +
		`" denied the request: ` + strings.Join(findings, "\n") + "\n"
}

// TestGatewayAPIEveryVersion: a v1beta1 Gateway, a domain-prefixed protocol and a ListenerSet
// are judged like a v1 Gateway of AKO's class; check denies the v1beta1 Gateway too.
func TestGatewayAPIEveryVersion(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	if _, errOut, code := cl.kubectl(akoGatewayClass, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	gateway := func(apiVersion, name, listener, protocol string) string {
		return `apiVersion: gateway.networking.k8s.io/` + apiVersion + `
kind: Gateway
metadata: {name: ` + name + `, namespace: gwapi}
spec:
  gatewayClassName: avi
  listeners:
  - {name: ` + listener + `, port: 38412, protocol: ` + protocol + `}
`
	}
	for _, tt := range []struct {
		name, manifest, want string
	}{
		{"v1beta1 Gateway, SCTP listener", gateway("v1beta1", "amf", "ngap", "SCTP"),
			deniedBy("gatewayapi.validate.sctpguard.io", akoL4("ngap", "SCTP", ""))},
		{"v1 Gateway, domain-prefixed SCTP", gateway("v1", "amf", "ngap", "example.com/sctp"),
			deniedBy("gatewayapi.validate.sctpguard.io", akoL4("ngap", "example.com/sctp", ""))},
		{"v1beta1 Gateway, TCP listener", gateway("v1beta1", "diameter", "diameter", "TCP"),
			deniedBy("gatewayapi.validate.sctpguard.io", akoL4("diameter", "TCP", ""))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			apply(t, tt.manifest, 1, "", tt.want, "--dry-run=server")
			apply(t, tt.manifest, 1, "", tt.want)
		})
	}
	t.Run("ListenerSet attaching TCP to a Gateway of AKO's class", func(t *testing.T) {
		apply(t, gateway("v1", "web", "web", "HTTP"), 0, "gateway.gateway.networking.k8s.io/web created\n", "")
		ls := `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: diameter, namespace: gwapi}
spec:
  parentRef: {name: web}
  listeners:
  - {name: diameter, port: 3868, protocol: TCP}
`
		want := deniedBy("listenersets.validate.sctpguard.io", akoL4("diameter", "TCP", " (the class of its Gateway gwapi/web)"))
		apply(t, ls, 1, "", want, "--dry-run=server")
		apply(t, ls, 1, "", want)
	})
	t.Run("check denies the v1beta1 Gateway too", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "gateway.yaml")
		if err := os.WriteFile(file, []byte(akoGatewayClass+"---\n"+gateway("v1beta1", "amf", "ngap", "SCTP")), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr strings.Builder
		cmd := exec.Command(cl.bin, "check", "-f", file)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := 0
		var ee *exec.ExitError
		if errors.As(cmd.Run(), &ee) {
			code = ee.ExitCode()
		}
		finding := strings.Replace(akoL4("ngap", "SCTP", ""), "[gatewayapi-ako-l4] spec.listeners[0].protocol: ", "spec.listeners[0].protocol: [gatewayapi-ako-l4] ", 1)
		check(t, code, stdout.String(), stderr.String(), 1, file+":12: Gateway gwapi/amf: "+finding+"\n"+
			"checked 2 resources in 1 input: 1 denied (1 denial), 0 with warnings only (0 warnings)\n", "")
	})
}

// TestExistingObjectsNotHostage: after AKO switches to NodePortLocal, an existing SCTP
// Service can still be labelled (a warning says what it violates) and shed its finalizer
// while being deleted; what an update adds (a second SCTP port) is denied.
func TestExistingObjectsNotHostage(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	svc := `apiVersion: v1
kind: Service
metadata: {name: amf, namespace: ratchet, finalizers: [example.com/keep]}
spec:
  type: LoadBalancer
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`
	waitVerdict(t, svc, "")
	apply(t, svc, 0, "service/amf created\n", "")
	setAKO(t, nodePortLocalMode)
	waitVerdict(t, strings.ReplaceAll(svc, "name: amf", "name: probe"), "sctp-nodeportlocal")

	standing := "Warning: spec.ports[0].protocol: standing: SCTP is not supported in AKO NodePortLocal mode [sctp-nodeportlocal]\n"
	out, errOut, code := cl.kubectl("", "label", "svc/amf", "-n", "ratchet", "team=ran", "--dry-run=server")
	check(t, code, out, errOut, 0, "service/amf labeled (server dry run)\n", standing)
	out, errOut, code = cl.kubectl("", "label", "svc/amf", "-n", "ratchet", "team=ran")
	check(t, code, out, errOut, 0, "service/amf labeled\n", standing)

	out, errOut, code = cl.kubectl("", "patch", "svc/amf", "-n", "ratchet", "--type=json", "-p",
		`[{"op":"add","path":"/spec/ports/-","value":{"name":"s1ap","port":36412,"protocol":"SCTP"}}]`)
	check(t, code, out, errOut, 1, "", standing+`Error from server (Forbidden): admission webhook "services.validate.sctpguard.io" denied the request: `+
		"[sctp-nodeportlocal] spec.ports[1].protocol: port 36412/SCTP: "+nplConsequence+"\n")

	out, errOut, code = cl.kubectl("", "delete", "svc/amf", "-n", "ratchet", "--wait=false")
	check(t, code, out, errOut, 0, "service \"amf\" deleted from ratchet namespace\n", "")
	out, errOut, code = cl.kubectl("", "patch", "svc/amf", "-n", "ratchet", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	check(t, code, out, errOut, 0, "service/amf patched\n", standing)
	waitFor(t, "the Service gone", func() error {
		err := cl.Client.Get(t.Context(), client.ObjectKey{Namespace: "ratchet", Name: "amf"}, &corev1.Service{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there: %w", err)
		}
		return nil
	})
}

// TestHugeService: a Service with 20,000 SCTP ports under Antrea's NodePortLocal annotation
// gets a verdict, not "status code 413": the first 20 denials and a count of the rest.
func TestHugeService(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata:\n  name: huge\n  namespace: big\n  annotations: {nodeportlocal.antrea.io/enabled: \"true\"}\n" +
		"spec:\n  selector: {app: huge}\n  ports:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "  - {port: %d, protocol: SCTP}\n", i+1)
	}
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("[sctp-npl-annotation] spec.ports[%d].protocol: port %d/SCTP: the annotation nodeportlocal.antrea.io/enabled: \"true\" enables Antrea NodePortLocal, "+
			"which supports only TCP and UDP Service ports, so this port would get no node port; remove the annotation or move the SCTP port to a Service without it", i, i+1))
	}
	lines = append(lines, "… and 19980 more findings deny this object; sctpguard check lists them all")
	out, errOut, code := cl.kubectl(b.String(), "create", "--dry-run=server", "-f", "-")
	check(t, code, out, errOut, 1, "", deniedBy("services.validate.sctpguard.io", lines...))
}

// TestStatusSideDoor: metadata written through services/status is judged like any update.
func TestStatusSideDoor(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	for _, m := range []string{
		`apiVersion: v1
kind: Service
metadata: {name: smf, namespace: status}
spec:
  selector: {app: smf}
  ports: [{name: n4, port: 8805, protocol: SCTP}]
`, `apiVersion: v1
kind: Service
metadata: {name: a, namespace: status, annotations: {ako.vmware.com/enable-shared-vip: voice}}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: SCTP}]
`, `apiVersion: v1
kind: Service
metadata: {name: b, namespace: status}
spec:
  type: LoadBalancer
  ports: [{name: sip, port: 5060, protocol: SCTP}]
`} {
		if _, errOut, code := cl.kubectl(m, "apply", "-f", "-"); code != 0 {
			t.Fatal(errOut)
		}
	}
	for _, tt := range []struct {
		name, svc, patch, want string
	}{
		{"the NodePortLocal annotation", "svc/smf", `{"metadata":{"annotations":{"nodeportlocal.antrea.io/enabled":"true"}}}`,
			`Error from server (Forbidden): admission webhook "services.validate.sctpguard.io" denied the request: [sctp-npl-annotation] spec.ports[0].protocol: ` +
				`port 8805/SCTP: the annotation nodeportlocal.antrea.io/enabled: "true" enables Antrea NodePortLocal, which supports only TCP and UDP Service ports, ` +
				"so this port would get no node port; remove the annotation or move the SCTP port to a Service without it\n"},
		{"a shared-VIP port clash", "svc/b", `{"metadata":{"annotations":{"ako.vmware.com/enable-shared-vip":"voice"}}}`,
			`Error from server (Forbidden): admission webhook "services.validate.sctpguard.io" denied the request: [shared-vip-port-clash] spec.ports[0]: ` +
				`port 5060/SCTP is also exposed by Service status/a, which shares the VIP "voice": AKO gives both to one virtual service and one pool silently wins; ` +
				"use another port, or another ako.vmware.com/enable-shared-vip key\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, dry := range []string{"--dry-run=server", "--dry-run=none"} {
				out, errOut, code := cl.kubectl("", "patch", tt.svc, "-n", "status", "--subresource=status", "--type=merge", "-p", tt.patch, dry)
				check(t, code, out, errOut, 1, "", tt.want)
			}
		})
	}
}

// TestSharedVIPRace: clashing shared-VIP Services. Created one right after the other, the
// second is always denied: admission reads the group with a consistent read, not from a cache
// that may not have seen the first yet. Created at the same moment, both may be admitted (no
// read can see an object that is not stored yet, and neither is while the other is judged);
// then the translator's re-check reports it within seconds: the newer Service is frozen, with
// a Warning Event named after the rule and no VIP in its status, and the older has the VIP.
func TestSharedVIPRace(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	svc := func(name, key string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "race", Annotations: map[string]string{"ako.vmware.com/enable-shared-vip": key}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{
				{Name: "sip", Port: 5060, Protocol: corev1.ProtocolSCTP},
			}},
		}
	}
	const rounds = 10
	for round := range rounds {
		key := fmt.Sprintf("seq-%d", round)
		if err := cl.Client.Create(t.Context(), svc("first-"+fmt.Sprint(round), key)); err != nil {
			t.Fatal(err)
		}
		err := cl.Client.Create(t.Context(), svc("second-"+fmt.Sprint(round), key))
		if err == nil || !strings.Contains(err.Error(), "[shared-vip-port-clash]") {
			t.Errorf("round %d: a clashing Service created right after the first: %v, want denied", round, err)
		}
	}
	bothStored := 0
	var slowest time.Duration
	for round := range rounds {
		key := fmt.Sprintf("par-%d", round)
		a, b := svc(fmt.Sprintf("a%d", round), key), svc(fmt.Sprintf("b%d", round), key)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*corev1.Service{a, b} {
			wg.Go(func() { errs[i] = cl.Client.Create(context.Background(), s) })
		}
		wg.Wait()
		created := time.Now()
		for _, err := range errs {
			if err != nil && !strings.Contains(err.Error(), "[shared-vip-port-clash]") {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if errs[0] != nil || errs[1] != nil {
			continue
		}
		bothStored++
		// The newer is frozen: by creationTimestamp, then name (b sorts after a).
		older, newer := a, b
		if a.CreationTimestamp.After(b.CreationTimestamp.Time) {
			older, newer = b, a
		}
		waitFor(t, "the audit of round "+fmt.Sprint(round), func() error {
			var n, o corev1.Service
			if err := cl.Client.Get(t.Context(), client.ObjectKeyFromObject(newer), &n); err != nil {
				return err
			}
			if err := cl.Client.Get(t.Context(), client.ObjectKeyFromObject(older), &o); err != nil {
				return err
			}
			if len(n.Status.LoadBalancer.Ingress) != 0 || len(o.Status.LoadBalancer.Ingress) == 0 {
				return fmt.Errorf("ingress of the newer %v, of the older %v", n.Status.LoadBalancer.Ingress, o.Status.LoadBalancer.Ingress)
			}
			events, _, _ := cl.kubectl("", "get", "events.events.k8s.io", "-n", "race", "--field-selector",
				"regarding.uid="+string(n.UID)+",reason=shared-vip-port-clash", "-o", "jsonpath={.items[*].type}")
			if !strings.HasPrefix(events, "Warning") {
				return fmt.Errorf("no Warning shared-vip-port-clash Event on %s yet", n.Name)
			}
			return nil
		})
		slowest = max(slowest, time.Since(created))
	}
	t.Logf("clashing shared-VIP Services: created one after the other, the second denied in %d of %d rounds; created at once, both stored in %d of %d rounds, "+
		"each reported by the translator (newer frozen, Warning Event, no VIP) within %v at most", rounds, rounds, bothStored, rounds, slowest.Round(100*time.Millisecond))
}
