package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/test/cluster"
)

const gatewayClass = `apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata:
  name: avi-lb
spec:
  controller: ako.vmware.com/avi-lb
`

// gateway is an AKO Gateway with one listener.
func gateway(ns, protocol, port string) string {
	return `apiVersion: networking.x-k8s.io/v1alpha1
kind: Gateway
metadata:
  name: gw
  namespace: ` + ns + `
spec:
  gatewayClassName: avi-lb
  listeners:
  - port: ` + port + `
    protocol: ` + protocol + `
    routes:
      group: v1
      kind: services
      selector:
        matchLabels:
          ako.vmware.com/gateway-name: gw
          ako.vmware.com/gateway-namespace: ` + ns + "\n"
}

// backend is a backend Service of the Gateway gw.
func backend(ns, name, port string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: ` + name + `
  namespace: ` + ns + `
  labels:
    ako.vmware.com/gateway-name: gw
    ako.vmware.com/gateway-namespace: ` + ns + `
spec:
  selector: {app: ` + name + `}
  ports:
  - {name: diameter, port: ` + port + `, protocol: SCTP}
`
}

const nplConsequence = "AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
	"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
	"Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP"

// TestSeedExamples: every seed manifest applies unchanged, and the mutating webhook's defaults
// are in the stored objects.
func TestSeedExamples(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	seedLB := readFile(t, "examples/seeds/ako-loadbalancer-service.yaml")
	waitVerdict(t, seedLB, "")
	for _, tt := range []struct{ file, out string }{
		{"okd-load-sctp-module.yaml", "machineconfig.machineconfiguration.openshift.io/load-sctp-module unchanged\n"},
		{"ako-gateway-v1alpha1.yaml", "gatewayclass.networking.x-k8s.io/avi-lb created\naviinfrasetting.ako.vmware.com/my-infrasetting created\n" +
			"gateway.networking.x-k8s.io/my-gateway created\nservice/avisvc-svcapi created\ndeployment.apps/avi-server created\n"},
		{"ako-loadbalancer-service.yaml", "deployment.apps/sctp-demo created\nservice/server created\n"},
		{"kep-614-user-stories.yaml", "service/my-service created\nservice/my-headless-service created\npod/mypod created\n" +
			"service/my-nodeport-service created\nservice/my-externalip-service created\nnetworkpolicy.networking.k8s.io/myservice-network-policy created\n"},
		{"okd-sctp-verification.yaml", "pod/sctpserver created\nservice/sctpservice created\npod/sctpclient created\nnetworkpolicy.networking.k8s.io/allow-sctp-on-http created\n"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			out, errOut, code := cl.kubectl("", "apply", "-f", "examples/seeds/"+tt.file)
			// The Gateway is applied before its backend: AKO would expose the port without a
			// pool for that moment, and sctpguard says so.
			wantErr := ""
			switch tt.file {
			case "ako-gateway-v1alpha1.yaml":
				wantErr = "Warning: spec.listeners[0]: no backend Service claims this listener [listener-no-backend]\n"
			case "kep-614-user-stories.yaml": // the API server's own warning
				wantErr = "Warning: spec.externalIPs is deprecated and may no longer be implemented in some clusters\n"
			}
			check(t, code, out, errOut, 0, tt.out, wantErr)
		})
	}
	// The defaults of the mutating webhook are stored.
	for _, tt := range []struct{ args, want string }{
		{"svc/server -n default", "sctpguard.io/sctp=true name=sctp-80 allocateLoadBalancerNodePorts=false"},
		{"svc/my-service -n default", "sctpguard.io/sctp=true name=sctp-80 allocateLoadBalancerNodePorts="},
		{"svc/avisvc-svcapi -n svcapi", "sctpguard.io/sctp=true name=sixtysixty allocateLoadBalancerNodePorts="},
		{"gateway.networking.x-k8s.io/my-gateway -n svcapi", "sctpguard.io/sctp=true name= allocateLoadBalancerNodePorts="},
	} {
		args := append(strings.Fields("get "+tt.args), "-o",
			`jsonpath=sctpguard.io/sctp={.metadata.labels.sctpguard\.io/sctp} name={.spec.ports[0].name} allocateLoadBalancerNodePorts={.spec.allocateLoadBalancerNodePorts}`)
		out, errOut, code := cl.kubectl("", args...)
		check(t, code, out, errOut, 0, tt.want, "")
	}
}

// TestNodePortLocal: with AKO's ConfigMap set to NodePortLocal the seed SCTP LoadBalancer is
// rejected with the exact text kubectl prints; set back to ClusterIP, it is accepted: the
// webhook follows the ConfigMap without a restart.
func TestNodePortLocal(t *testing.T) {
	requireCluster(t)
	seedLB := readFile(t, "examples/seeds/ako-loadbalancer-service.yaml")
	_, _, _ = cl.kubectl("", "delete", "-f", "examples/seeds/ako-loadbalancer-service.yaml", "--ignore-not-found")
	setAKO(t, nodePortLocalMode)
	waitVerdict(t, seedLB, "sctp-nodeportlocal")
	apply(t, seedLB, 1, "deployment.apps/sctp-demo created\n",
		denied("services", "[sctp-nodeportlocal] spec.ports[0].protocol: port 80/SCTP: "+nplConsequence))
	out, _, _ := cl.kubectl("", "get", "svc", "server", "-n", "default", "--ignore-not-found")
	if out != "" {
		t.Errorf("the denied Service was stored:\n%s", out)
	}

	setAKO(t, clusterIPMode)
	waitVerdict(t, seedLB, "")
	apply(t, seedLB, 0, "deployment.apps/sctp-demo unchanged\nservice/server created\n", "")
}

// TestGatewayRejections: a bad listener, a backend whose port matches no listener and two
// backends on one listener are rejected with their rule IDs, whichever side comes first.
func TestGatewayRejections(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	if _, errOut, code := cl.kubectl(gatewayClass, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply the GatewayClass: %s", errOut)
	}

	t.Run("bad listener protocol", func(t *testing.T) {
		apply(t, gateway("gw-first", "sctp", "6060"), 1, "", denied("gateways",
			`[gateway-listener-protocol] spec.listeners[0].protocol: protocol "sctp" is not TCP, UDP or SCTP: AKO matches backend Service ports by exact protocol, `+
				`so no pool can ever match and it says nothing; use "SCTP" (protocols are case-sensitive)`))
	})
	t.Run("backend port matches no listener, Gateway first", func(t *testing.T) {
		apply(t, gateway("gw-first", "SCTP", "6060"), 0, "gateway.networking.x-k8s.io/gw created\n",
			"Warning: spec.listeners[0]: no backend Service claims this listener [listener-no-backend]\n")
		apply(t, backend("gw-first", "diameter", "6061"), 1, "", denied("services",
			"[backend-no-listener] spec.ports[0]: port 6061/SCTP matches no listener of Gateway gw-first/gw (listeners: 6060/SCTP): "+
				"AKO creates no pool for it, silently; change the port or protocol to a listener's, or add a listener"))
	})
	t.Run("backend port matches no listener, Service first", func(t *testing.T) {
		apply(t, backend("svc-first", "diameter", "6061"), 0, "service/diameter created\n",
			"Warning: metadata.labels[ako.vmware.com/gateway-name]: the Gateway named by the labels was not found [backend-gateway-missing]\n")
		apply(t, gateway("svc-first", "SCTP", "6060"), 1, "", "Warning: spec.listeners[0]: no backend Service claims this listener [listener-no-backend]\n"+denied("gateways",
			"[backend-no-listener] spec.listeners: backend Service svc-first/diameter port 6061/SCTP matches no listener (listeners: 6060/SCTP): "+
				"AKO creates no pool for it, silently; add a listener 6061/SCTP or change the backend's port"))
	})
	t.Run("two backends on one listener, Gateway first", func(t *testing.T) {
		apply(t, gateway("conflict-a", "SCTP", "6060"), 0, "gateway.networking.x-k8s.io/gw created\n",
			"Warning: spec.listeners[0]: no backend Service claims this listener [listener-no-backend]\n")
		apply(t, backend("conflict-a", "first", "6060"), 0, "service/first created\n", "")
		apply(t, backend("conflict-a", "second", "6060"), 1, "", denied("services",
			"[backend-port-conflict] spec.ports[0]: port 6060/SCTP of Gateway conflict-a/gw is already claimed by backend Service conflict-a/first: "+
				"AKO reports PortConflict and the listener gets no pool at all; give each backend its own listener port"))
	})
	t.Run("two backends on one listener, Services first", func(t *testing.T) {
		missing := "Warning: metadata.labels[ako.vmware.com/gateway-name]: the Gateway named by the labels was not found [backend-gateway-missing]\n"
		apply(t, backend("conflict-b", "first", "6060"), 0, "service/first created\n", missing)
		apply(t, backend("conflict-b", "second", "6060"), 1, "", missing+denied("services",
			"[backend-port-conflict] spec.ports[0]: port 6060/SCTP of Gateway conflict-b/gw is already claimed by backend Service conflict-b/first: "+
				"AKO reports PortConflict and the listener gets no pool at all; give each backend its own listener port"))
	})
}

// TestServerDryRun: a server-side dry run gets the same verdict and stores nothing; warnings
// show as Warning: lines; the mutated object is what dry run returns.
func TestServerDryRun(t *testing.T) {
	requireCluster(t)
	setAKO(t, nodePortLocalMode)
	lb := strings.ReplaceAll(readFile(t, "examples/broken/sctp-nodeportlocal.yaml"), "namespace: default", "namespace: dryrun")
	waitVerdict(t, lb, "sctp-nodeportlocal")
	apply(t, lb, 1, "", denied("services", "[sctp-nodeportlocal] spec.ports[0].protocol: port 80/SCTP: "+nplConsequence), "--dry-run=server")
	out, errOut, code := cl.kubectl("", "get", "services", "-n", "dryrun")
	check(t, code, out, errOut, 0, "", "No resources found in dryrun namespace.\n")

	setAKO(t, clusterIPMode)
	waitVerdict(t, lb, "")
	out, errOut, code = cl.kubectl(lb, "apply", "--dry-run=server", "-f", "-", "-o",
		`jsonpath={.metadata.labels.sctpguard\.io/sctp} {.spec.allocateLoadBalancerNodePorts}`)
	check(t, code, out, errOut, 0, "true false", "")
	out, errOut, code = cl.kubectl("", "get", "services", "-n", "dryrun")
	check(t, code, out, errOut, 0, "", "No resources found in dryrun namespace.\n")
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	out, errOut, code := cl.kubectl("", "create", "--dry-run=client", "-o", "yaml", "-f", name)
	if code != 0 {
		t.Fatalf("read %s: %s", name, errOut)
	}
	return out
}

// TestOpenShiftModule: the cluster serves MachineConfigs, so sctpguard treats it as OpenShift,
// and warns about SCTP objects while no MachineConfig loads the sctp module.
func TestOpenShiftModule(t *testing.T) {
	requireCluster(t)
	setAKO(t, clusterIPMode)
	policy := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-sctp, namespace: telco}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: SCTP, port: 38412}]}]
`
	if _, errOut, code := cl.kubectl("", "delete", "-f", cluster.SCTPModuleMachineConfig); code != 0 {
		t.Fatal(errOut)
	}
	t.Cleanup(func() { _, _, _ = cl.kubectl("", "apply", "-f", cluster.SCTPModuleMachineConfig) })
	warning := "Warning: spec.ingress[0].ports[0].protocol: sctp module is blacklisted on RHCOS; apply load-sctp-module [sctp-openshift-module]\n"
	// The inventory follows the deletion through its watch.
	waitWarning(t, policy, warning)
	apply(t, policy, 0, "networkpolicy.networking.k8s.io/allow-sctp created\n", warning)

	apply(t, readFile(t, cluster.SCTPModuleMachineConfig), 0, "machineconfig.machineconfiguration.openshift.io/load-sctp-module created\n", "")
	waitWarning(t, policy, "")
	apply(t, policy, 0, "networkpolicy.networking.k8s.io/allow-sctp unchanged\n", "")
}

func waitWarning(t *testing.T, manifest, warning string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := poll(ctx, func() error {
		_, stderr, _ := cl.kubectl(manifest, "apply", "--dry-run=server", "-f", "-")
		if stderr != warning {
			return errVerdict(stderr)
		}
		return nil
	}); err != nil {
		t.Fatalf("warning %q never came: %v", warning, err)
	}
}
