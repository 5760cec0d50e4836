package startup

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/test/avisim"
	"github.com/sctpguard/sctpguard/test/cluster"
)

// ownClassService is an SCTP LoadBalancer Service of sctpguard's class in telco.
func ownClassService(name string) string {
	return `apiVersion: v1
kind: Service
metadata: {name: ` + name + `, namespace: telco}
spec:
  type: LoadBalancer
  loadBalancerClass: sctpguard.io/avi-sctp
  ports: [{name: ngap, port: 38412, protocol: SCTP}]
`
}

// virtualServices returns the names of the virtual services in avisim's admin tenant.
func virtualServices(avi *avisim.Server) []string {
	var out []string
	for _, vs := range avi.Objects("admin", "virtualservice") {
		out = append(out, vs["name"].(string))
	}
	slices.Sort(out)
	return out
}

// leads reports whether a replica holds the translator's Lease, by controller-runtime's
// leader election gauge.
func leads(t *testing.T, r *replica) bool {
	t.Helper()
	return slices.Contains(metric(t, r, "leader_election_master_status"), `leader_election_master_status{name="sctpguard-translator"} 1`)
}

// TestTranslatorFailover: of two replicas with the translator, only the Lease holder syncs to
// the Avi Controller; when it stops, it gives the Lease up and the other takes over the
// syncing without a restart.
func TestTranslatorFailover(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "ClusterIP", "clusterName": "e2e"})
	avi, translator := withTranslator(t)
	first := serveFrom(t, translator...)
	second := startReplica(t, translator...)
	if err := second.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	var leader, standby *replica
	poll(t, "a leader", func() error {
		switch a, b := leads(t, first), leads(t, second); {
		case a && !b:
			leader, standby = first, second
		case b && !a:
			leader, standby = second, first
		default:
			return fmt.Errorf("first leads %v, second leads %v", a, b)
		}
		return nil
	})
	t.Cleanup(func() {
		_, _, _ = cl.Kubectl("", "delete", "svc", "sctp-one", "sctp-two", "-n", "telco", "--ignore-not-found")
	})
	if _, errOut, code := cl.Kubectl(ownClassService("sctp-one"), "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	wantVS := func(names ...string) func() error {
		return func() error {
			if got := virtualServices(avi); !slices.Equal(got, names) {
				return fmt.Errorf("virtual services %v, want %v", got, names)
			}
			return nil
		}
	}
	poll(t, "the leader's sync", wantVS("sctpguard.e2e--telco-sctp-one"))
	if got := metric(t, standby, "sctpguard_avi_requests_total"); len(got) != 0 {
		t.Errorf("the standby talked to the Avi Controller: %s", strings.Join(got, "\n"))
	}

	// The webhooks point at the replica that stays; the leader stops.
	if err := cl.InstallWebhooks(t.Context(), standby.WebhookURL, standby.WebhookURL, cl.ServingCA()); err != nil {
		t.Fatal(err)
	}
	if err := leader.Stop(); err != nil {
		t.Fatalf("the leader did not stop cleanly: %v", err)
	}
	poll(t, "the standby taking the Lease", func() error {
		if !leads(t, standby) {
			return fmt.Errorf("the standby does not lead")
		}
		return nil
	})
	if _, errOut, code := cl.Kubectl(ownClassService("sctp-two"), "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	poll(t, "the new leader's sync", wantVS("sctpguard.e2e--telco-sctp-one", "sctpguard.e2e--telco-sctp-two"))
}

// TestEnableOwnClass: with the opt-in mutation default-sctpguard-class, an SCTP LoadBalancer
// Service that AKO would skip in NodePortLocal mode (sctp-nodeportlocal denies it without the
// opt-in, TestStartUnreadableAKOKeys) gets sctpguard's class through kubectl, and is admitted
// with the node proxy's warning.
func TestEnableOwnClass(t *testing.T) {
	cluster.Skip(t, skipReason)
	setAKO(t, map[string]string{"serviceType": "NodePortLocal", "clusterName": "e2e"})
	serveFrom(t, "--enable=default-sctpguard-class")
	out, errOut, code := cl.Kubectl(sctpLB, "create", "-f", "-", "--dry-run=server", "-o", "jsonpath={.spec.loadBalancerClass}")
	cluster.CheckRun(t, code, out, errOut, 0, "sctpguard.io/avi-sctp",
		"Warning: spec.ports[0].protocol: served through node ports: the node proxy must forward SCTP [sctp-node-proxy]\n")
}
