package startup

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/test/cluster"
)

// sctpLB is an SCTP LoadBalancer Service AKO would handle.
const sctpLB = `apiVersion: v1
kind: Service
metadata: {name: amf, namespace: telco}
spec:
  type: LoadBalancer
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`

const nplDenial = `Error from server (Forbidden): error when creating "STDIN": admission webhook "services.validate.sctpguard.io" denied the request: ` +
	"[sctp-nodeportlocal] spec.ports[0].protocol: port 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
	"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
	"Set spec.loadBalancerClass: sctpguard.io/avi-sctp to have sctpguard serve it through the nodes' nodePorts (the field is immutable: recreate the Service), run AKO in ClusterIP or NodePort mode, or expose this port over TCP or UDP\n"

// setAKO writes AKO's ConfigMap; nil deletes it.
func setAKO(t *testing.T, data map[string]string) {
	t.Helper()
	if err := cl.SetAKO(t.Context(), data); err != nil {
		t.Fatal(err)
	}
}

// events returns "type reason note" of the Events about an object, oldest first.
func events(t *testing.T, namespace, kind, name string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := cl.Client.List(t.Context(), &list, client.InNamespace(namespace),
		client.MatchingFields{"regarding.kind": kind, "regarding.name": name}); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(list.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	out := make([]string, len(list.Items))
	for i, e := range list.Items {
		out[i] = e.Type + " " + e.Reason + " " + e.Note
	}
	return out
}

// pollDryRun waits until a server dry run of sctpLB's creation answers as wanted.
func pollDryRun(t *testing.T, what string, wantCode int, wantOut, wantErr string) {
	t.Helper()
	poll(t, what, func() error {
		out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server")
		if code != wantCode || out != wantOut || errOut != wantErr {
			return fmt.Errorf("exit %d: %s%s", code, out, errOut)
		}
		return nil
	})
}

// TestStartUnreadableAKOKeys: a replica that starts with values in AKO's ConfigMap it cannot
// read applies the other keys (so NodePortLocal denies SCTP), becomes ready, and says it is
// degraded: a warning on every verdict, a Warning Event per key on the ConfigMap, the gauge.
// Once the keys are fixed, the degraded state ends without a restart.
func TestStartUnreadableAKOKeys(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "NodePortLocal", "cniPlugin": "weave", "controllerVersion": "latest", "defaultLBController": "yes", "clusterName": "e2e"})
	r := serveFrom(t)
	degraded := "Warning: degraded: avi-k8s-config keys read as AKO does, see Events: defaultLBController, cniPlugin, controllerVersion\n"
	for _, dry := range []string{"--dry-run=server", "--dry-run=none"} {
		out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", dry)
		cluster.CheckRun(t, code, out, errOut, 1, "", degraded+nplDenial)
	}
	wantEvents := []string{
		`Warning SettingsUnreadable sctpguard reads these keys as AKO does: defaultLBController: "yes" is not a boolean (true or false); AKO reads it as true, and so does sctpguard; ` +
			`cniPlugin: "weave" is not a CNI sctpguard knows (antrea, calico, canal, cilium, flannel, kube-router, ncp, openshift, ovn-kubernetes); ` +
			"the CNI counts as unknown, and rules that depend on it stay silent; " +
			`controllerVersion: "latest" is not a version such as 22.1.3; the controller version counts as unknown, and rules that depend on it stay silent`,
		`Normal SettingsApplied sctpguard judges with ako.serviceType=NodePortLocal ako.servicesAPI=false ako.defaultLBController=true ako.layer7Only=false controllerVersion="" platform="" cni=""`,
	}
	rv, _, _ := cl.Kubectl("", "get", "configmap/avi-k8s-config", "-n", "avi-system", "-o", "jsonpath={.metadata.resourceVersion}")
	for i := range wantEvents {
		wantEvents[i] += fmt.Sprintf(" (resourceVersion %s)", rv)
	}
	poll(t, "the Events on AKO's ConfigMap", func() error {
		// Those about this version of the ConfigMap: earlier tests' replicas reported theirs.
		got := slices.DeleteFunc(events(t, "avi-system", "ConfigMap", "avi-k8s-config"), func(e string) bool {
			return !strings.HasSuffix(e, "(resourceVersion "+rv+")")
		})
		if diff := cmp.Diff(wantEvents, got); diff != "" {
			return fmt.Errorf("events (-want +got):\n%s", diff)
		}
		return nil
	})
	wantGauge := []string{`sctpguard_degraded{cause="ako-configmap-absent"} 0`, `sctpguard_degraded{cause="ako-guard-configuration"} 0`, `sctpguard_degraded{cause="ako-settings"} 1`, `sctpguard_degraded{cause="policies-refused"} 0`}
	if diff := cmp.Diff(wantGauge, metric(t, r, "sctpguard_degraded")); diff != "" {
		t.Errorf("gauge (-want +got):\n%s", diff)
	}

	setAKO(t, map[string]string{"serviceType": "NodePortLocal", "cniPlugin": "antrea", "clusterName": "e2e"})
	poll(t, "the degraded state to end", func() error {
		out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server")
		if code != 1 || out != "" || errOut != nplDenial {
			return fmt.Errorf("exit %d: %s%s", code, out, errOut)
		}
		return nil
	})
	wantGauge[2] = `sctpguard_degraded{cause="ako-settings"} 0`
	if diff := cmp.Diff(wantGauge, metric(t, r, "sctpguard_degraded")); diff != "" {
		t.Errorf("gauge (-want +got):\n%s", diff)
	}
}

// TestStartWithoutAKOConfigMap: without AKO's ConfigMap the replica is ready but degraded,
// which every verdict says; the ConfigMap, once created, applies without a restart.
func TestStartWithoutAKOConfigMap(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, nil)
	r := serveFrom(t)
	out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server")
	cluster.CheckRun(t, code, out, errOut, 0, "service/amf created (server dry run)\n",
		"Warning: degraded: AKO's ConfigMap avi-system/avi-k8s-config not found; rules that need AKO's settings are silent\n")
	wantGauge := []string{`sctpguard_degraded{cause="ako-configmap-absent"} 1`, `sctpguard_degraded{cause="ako-guard-configuration"} 0`, `sctpguard_degraded{cause="ako-settings"} 0`, `sctpguard_degraded{cause="policies-refused"} 0`}
	if diff := cmp.Diff(wantGauge, metric(t, r, "sctpguard_degraded")); diff != "" {
		t.Errorf("gauge (-want +got):\n%s", diff)
	}
	setAKO(t, map[string]string{"serviceType": "NodePortLocal", "clusterName": "e2e"})
	pollDryRun(t, "the ConfigMap to apply", 1, "", nplDenial)
}

// applyPolicies applies a ConfigMap of policies in the sctpguard namespace, deleted when the
// test ends.
func applyPolicies(t *testing.T, manifest, name string) {
	t.Helper()
	if _, errOut, code := cl.Kubectl(manifest, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	t.Cleanup(func() {
		_, _, _ = cl.Kubectl("", "delete", "configmap/"+name, "-n", "sctpguard", "--ignore-not-found")
	})
}

// TestStartPoliciesRefused: a replica whose user policies do not load at start has no good
// set to fall back on: it stays not ready (the rollout stalls, the old replicas serve on),
// with a PolicyRefused Event on the ConfigMap and the gauge; fixed, it becomes ready.
func TestStartPoliciesRefused(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	broken := `apiVersion: v1
kind: ConfigMap
metadata: {name: team-policies, namespace: sctpguard, labels: {sctpguard.io/policy: "true"}}
data:
  broken.rego: |
    package team
    deny contains msg if {
      input.kind ==
    }
`
	applyPolicies(t, broken, "team-policies")
	r := startReplica(t, "--policy-namespace=sctpguard")
	poll(t, "the PolicyRefused Event", func() error {
		got := events(t, "sctpguard", "ConfigMap", "team-policies")
		want := []string{"Warning PolicyRefused policies do not load:\nconfigmap/sctpguard/team-policies/broken.rego:4: unexpected } token; no policy set loaded yet, so sctpguard is not ready"}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("events (-want +got):\n%s", diff)
		}
		return nil
	})
	ready, body := r.Ready()
	want := "[+]ako-context ok\n[+]cache ok\n[-]policies failed: reason withheld\n[+]shutdown ok\n[+]webhook ok\nhealthz check failed\n"
	if ready || body != want {
		t.Errorf("ready=%t, /readyz?verbose:\n%s\nwant not ready:\n%s", ready, body, want)
	}
	wantGauge := []string{`sctpguard_degraded{cause="ako-configmap-absent"} 0`, `sctpguard_degraded{cause="ako-guard-configuration"} 0`, `sctpguard_degraded{cause="ako-settings"} 0`, `sctpguard_degraded{cause="policies-refused"} 1`}
	if diff := cmp.Diff(wantGauge, metric(t, r, "sctpguard_degraded")); diff != "" {
		t.Errorf("gauge (-want +got):\n%s", diff)
	}
	fixed := strings.Replace(broken, "input.kind ==\n", "input.kind == \"Nothing\"\n      msg := \"never\"\n", 1)
	if _, errOut, code := cl.Kubectl(fixed, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	if err := r.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGauge[3] = `sctpguard_degraded{cause="policies-refused"} 0`
	if diff := cmp.Diff(wantGauge, metric(t, r, "sctpguard_degraded")); diff != "" {
		t.Errorf("gauge (-want +got):\n%s", diff)
	}
}

// TestCRDsInstalledAfterStart: Gateway API's and AKO's CRDs installed while sctpguard runs
// are watched from the first review that needs them, without a restart: a Gateway of AKO's
// class with an SCTP listener is denied, and so is an SCTP Service whose AviInfraSetting AKO
// would reject (before the CRD, the same Service only gets ako-reference-missing's warning).
// The translator watches them too: a change of an AviInfraSetting reshapes its units.
func TestCRDsInstalledAfterStart(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	avi, translator := withTranslator(t)
	serveFrom(t, translator...)
	service := `apiVersion: v1
kind: Service
metadata:
  name: ngap
  namespace: telco
  annotations: {aviinfrasetting.ako.vmware.com/name: ran-bgp}
spec:
  type: LoadBalancer
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`
	out, errOut, code := cl.Kubectl(service, "create", "-f", "-", "--dry-run=server")
	cluster.CheckRun(t, code, out, errOut, 0, "service/ngap created (server dry run)\n",
		"Warning: metadata.annotations[aviinfrasetting.ako.vmware.com/name]: AviInfraSetting or L4Rule not found [ako-reference-missing]\n")
	if err := cl.InstallLateCRDs(); err != nil {
		t.Fatal(err)
	}
	infra := `apiVersion: ako.vmware.com/v1beta1
kind: AviInfraSetting
metadata: {name: ran-bgp}
spec:
  seGroup: {name: ran-seg}
  network:
    bgpPeerLabels: [ran-peers]
    vipNetworks: [{networkName: ran-vip, cidr: 10.20.0.0/24}]
`
	poll(t, "the AviInfraSetting", func() error {
		if _, errOut, code := cl.Kubectl(infra, "apply", "-f", "-"); code != 0 {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	wantService := `Error from server (Forbidden): error when creating "STDIN": admission webhook "services.validate.sctpguard.io" denied the request: ` +
		`[ako-reference-invalid] metadata.annotations[aviinfrasetting.ako.vmware.com/name]: AviInfraSetting "ran-bgp" (from the annotation) cannot be used: ` +
		"network.bgpPeerLabels is set but network.enableRhi is not true, which AKO rejects; AKO would silently build the virtual service without it, " +
		"sctpguard does not sync it; fix the AviInfraSetting\n"
	// The first reviews after the CRD came may find its cache still syncing: they are denied
	// with that reason, never judged from an empty cache; then the rule answers.
	poll(t, "ako-reference-invalid's verdict", func() error {
		if _, errOut, _ := cl.Kubectl(service, "create", "-f", "-", "--dry-run=server"); errOut != wantService {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	class := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: avi}
spec: {controllerName: ako.vmware.com/avi-lb}
`
	poll(t, "the GatewayClass", func() error {
		if _, errOut, code := cl.Kubectl(class, "apply", "-f", "-"); code != 0 {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	gateway := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: amf, namespace: telco}
spec:
  gatewayClassName: avi
  listeners:
  - {name: ngap, port: 38412, protocol: SCTP}
`
	want := `Error from server (Forbidden): error when creating "STDIN": admission webhook "gatewayapi.validate.sctpguard.io" denied the request: ` +
		`[gatewayapi-ako-l4] spec.listeners[0].protocol: listener "ngap" is SCTP, but AKO's Gateway API implementation serves only HTTP and HTTPS ` +
		"and would not program it; for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass\n"
	// The first reviews after the CRDs came may find the new kinds' cache still syncing: they
	// are denied with that reason, never judged from an empty cache; then the rule answers.
	poll(t, "the rule's verdict", func() error {
		if _, errOut, _ := cl.Kubectl(gateway, "create", "-f", "-", "--dry-run=server"); errOut != want {
			return fmt.Errorf("%s", errOut)
		}
		return nil
	})
	for _, dry := range []string{"--dry-run=server", "--dry-run=none"} {
		out, errOut, code := cl.Kubectl(gateway, "create", "-f", "-", dry)
		cluster.CheckRun(t, code, out, errOut, 1, "", want)
	}

	// The translator watches them from its next look too: a Service of sctpguard's class
	// placed by an AviInfraSetting is synced in its SE group, and moves when it changes (only
	// a watch of AviInfraSettings tells the translator).
	groups := map[string]string{}
	for _, g := range []string{"ran-seg", "ran-seg-2"} {
		uuid, err := avi.Preload("admin", "serviceenginegroup", map[string]any{"name": g})
		if err != nil {
			t.Fatal(err)
		}
		groups[g] = uuid
	}
	placement := func(group string) string {
		return "apiVersion: ako.vmware.com/v1beta1\nkind: AviInfraSetting\nmetadata: {name: ran-place}\nspec:\n  seGroup: {name: " + group + "}\n"
	}
	own := `apiVersion: v1
kind: Service
metadata:
  name: ngap-own
  namespace: telco
  annotations: {aviinfrasetting.ako.vmware.com/name: ran-place}
spec:
  type: LoadBalancer
  loadBalancerClass: sctpguard.io/avi-sctp
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`
	inGroup := func(group string) func() error {
		return func() error {
			vs, ok := avi.Object("admin", "virtualservice", "sctpguard.e2e--telco-ngap-own")
			if ref, _ := vs["se_group_ref"].(string); !ok || !strings.Contains(ref, "/api/serviceenginegroup/"+groups[group]) {
				return fmt.Errorf("virtual service (found %v) in SE group %q, want %s (%s)", ok, ref, group, groups[group])
			}
			return nil
		}
	}
	for _, m := range []string{placement("ran-seg"), own} {
		if _, errOut, code := cl.Kubectl(m, "apply", "-f", "-"); code != 0 {
			t.Fatalf("apply: %s", errOut)
		}
	}
	poll(t, "the virtual service in the AviInfraSetting's SE group", inGroup("ran-seg"))
	if _, errOut, code := cl.Kubectl(placement("ran-seg-2"), "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	poll(t, "the virtual service in the changed AviInfraSetting's SE group", inGroup("ran-seg-2"))
}

// TestPoliciesInAKONamespace: with the policy namespace set to AKO's, the one cache holds the
// two selections of that namespace's ConfigMaps merged (AKO's by name, the policies by
// label), and each follower follows its own: the policies load and judge, an unlabelled
// ConfigMap there is no policy, a policy ConfigMap deleted is dropped, and AKO's ConfigMap
// changed applies, each without a restart.
func TestPoliciesInAKONamespace(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	policies := `apiVersion: v1
kind: ConfigMap
metadata: {name: team-policies, namespace: avi-system, labels: {sctpguard.io/policy: "true"}}
data:
  telco.rego: |
    package team
    deny contains msg if {
      input.kind == "Service"
      input.metadata.namespace == "telco"
      msg := "no SCTP Services in telco"
    }
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: avi-system}
data:
  broken.rego: |
    package broken
    deny contains msg if {
`
	if _, errOut, code := cl.Kubectl(policies, "apply", "-f", "-"); code != 0 {
		t.Fatal(errOut)
	}
	t.Cleanup(func() {
		_, _, _ = cl.Kubectl("", "delete", "configmap/team-policies", "configmap/unrelated", "-n", "avi-system", "--ignore-not-found")
	})
	serveFrom(t, "--policy-namespace=avi-system")
	const policyDenial = `Error from server (Forbidden): error when creating "STDIN": admission webhook "services.validate.sctpguard.io" denied the request: ` +
		"[team/deny] no SCTP Services in telco\n"
	out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server")
	cluster.CheckRun(t, code, out, errOut, 1, "", policyDenial)
	if diff := cmp.Diff([]string{"Normal PolicyLoaded policies of this ConfigMap are in force"}, events(t, "avi-system", "ConfigMap", "team-policies")); diff != "" {
		t.Errorf("events of the policy ConfigMap (-want +got):\n%s", diff)
	}
	if got := events(t, "avi-system", "ConfigMap", "unrelated"); len(got) != 0 {
		t.Errorf("events of the unlabelled ConfigMap: %q", got)
	}
	if _, errOut, code := cl.Kubectl("", "delete", "configmap/team-policies", "-n", "avi-system"); code != 0 {
		t.Fatal(errOut)
	}
	pollDryRun(t, "the policies to be dropped", 0, "service/amf created (server dry run)\n", "")
	setAKO(t, map[string]string{"serviceType": "NodePortLocal", "clusterName": "e2e"})
	pollDryRun(t, "AKO's ConfigMap to apply", 1, "", nplDenial)
}

// TestSlowPolicyDeniedInTime: a user policy still running when the webhook's time to answer
// runs out (its own timeout set longer) is stopped there, and the object is denied through
// kubectl with that reason: not admitted as a policy error, nor left to failurePolicy.
func TestSlowPolicyDeniedInTime(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	slow := `apiVersion: v1
kind: ConfigMap
metadata: {name: slow-policies, namespace: sctpguard, labels: {sctpguard.io/policy: "true"}}
data:
  slow.rego: |
    package slow
    deny contains "never" if {
      input.kind == "Service"
      input.metadata.name == "amf"
      some i in numbers.range(1, 20000)
      some j in numbers.range(1, 20000)
      i * j < 0
    }
`
	applyPolicies(t, slow, "slow-policies")
	serveFrom(t, "--policy-namespace=sctpguard", "--policy-timeout=60s")
	out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server")
	cluster.CheckRun(t, code, out, errOut, 1, "", `Error from server (Timeout): error when creating "STDIN": admission webhook "services.validate.sctpguard.io" denied the request: `+
		"sctpguard could not judge the object in time, so it is denied: context deadline exceeded; try again, or check it with sctpguard check\n")
}
