package webhook

import (
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sctpguard/sctpguard/policy"
)

func drain(r *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// TestContextFollowerPerKey: AKO's ConfigMap is read key by key; an unreadable key is a
// degraded state (warnings on every verdict, the gauge, a Warning Event per key) while the
// other keys apply; the replica is ready once the settings are applied, and the state clears
// when the key is fixed. An absent ConfigMap is a degraded state too.
func TestContextFollowerPerKey(t *testing.T) {
	deg, err := NewDegradations(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	env := &Environment{}
	f := &ContextFollower{Namespace: "avi-system", Name: "avi-k8s-config", Env: env, Events: rec, Degradations: deg, Log: logr.Discard()}
	if err := f.Ready(nil); err == nil || err.Error() != "AKO's settings from ConfigMap avi-system/avi-k8s-config are not applied yet" {
		t.Errorf("ready before any settings: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "avi-system", Name: "avi-k8s-config", ResourceVersion: "7"},
		Data: map[string]string{"serviceType": "NodePortLocal", "cniPlugin": "weave", "defaultLBController": "yes"}}
	f.apply(cm)
	if err := f.Ready(nil); err != nil {
		t.Errorf("not ready with settings applied: %v", err)
	}
	want := policy.Context{AKO: &policy.AKOSettings{ServiceType: policy.ServiceTypeNodePortLocal, DefaultLBController: true}}
	if diff := cmp.Diff(want, env.Env().Context); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"degraded: avi-k8s-config keys read as AKO does, see Events: defaultLBController, cniPlugin"}, deg.Warnings()); diff != "" {
		t.Errorf("degradations (-want +got):\n%s", diff)
	}
	wantEvents := []string{
		`Warning SettingsUnreadable sctpguard reads these keys as AKO does: defaultLBController: "yes" is not a boolean (true or false); AKO reads it as true, and so does sctpguard; ` +
			`cniPlugin: "weave" is not a CNI sctpguard knows (antrea, calico, canal, cilium, flannel, kube-router, ncp, openshift, ovn-kubernetes); the CNI counts as unknown, and rules that depend on it stay silent (resourceVersion 7)`,
		`Normal SettingsApplied sctpguard judges with ako.serviceType=NodePortLocal ako.servicesAPI=false ako.defaultLBController=true ako.layer7Only=false controllerVersion="" platform="" cni="" (resourceVersion 7)`,
	}
	if diff := cmp.Diff(wantEvents, drain(rec)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// A resync of the same ConfigMap reports nothing again.
	f.apply(cm)
	if got := drain(rec); len(got) != 0 {
		t.Errorf("events on a resync: %v", got)
	}
	fixed := cm.DeepCopy()
	fixed.ResourceVersion, fixed.Data = "8", map[string]string{"serviceType": "NodePortLocal", "cniPlugin": "antrea"}
	f.apply(fixed)
	if got := deg.Warnings(); len(got) != 0 {
		t.Errorf("degradations after the fix: %v", got)
	}
	if diff := cmp.Diff([]string{`Normal SettingsApplied sctpguard judges with ako.serviceType=NodePortLocal ako.servicesAPI=false ako.defaultLBController=true ako.layer7Only=false controllerVersion="" platform="" cni="antrea" (resourceVersion 8)`}, drain(rec)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	f.absent("deleted")
	if diff := cmp.Diff([]string{"degraded: AKO's ConfigMap avi-system/avi-k8s-config deleted; rules that need AKO's settings are silent"}, deg.Warnings()); diff != "" {
		t.Errorf("degradations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(policy.Context{}, env.Env().Context); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
}
