package webhook

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sctpguard/sctpguard/internal/akosettings"
)

// factoryWatches serves Watches from client-go informers on a fake clientset, as the
// manager's cache serves them from the API server.
type factoryWatches struct {
	factory informers.SharedInformerFactory
}

func (w *factoryWatches) informer(obj client.Object) (toolscache.SharedIndexInformer, error) {
	switch obj.(type) {
	case *corev1.Secret:
		return w.factory.Core().V1().Secrets().Informer(), nil
	case *corev1.ConfigMap:
		return w.factory.Core().V1().ConfigMaps().Informer(), nil
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return w.factory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer(), nil
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return w.factory.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer(), nil
	}
	return nil, fmt.Errorf("no informer for %T", obj)
}

func (w *factoryWatches) GetInformer(ctx context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := w.informer(obj)
	if err != nil {
		return nil, err
	}
	w.factory.Start(ctx.Done())
	return i, nil
}

func (w *factoryWatches) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	i, err := w.informer(obj)
	if err != nil {
		return err
	}
	k := key.Name
	if key.Namespace != "" {
		k = key.Namespace + "/" + key.Name
	}
	item, ok, err := i.GetIndexer().GetByKey(k)
	if err != nil {
		return err
	}
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(item.(client.Object).DeepCopyObject()).Elem())
	return nil
}

// List serves ConfigMapLists, by namespace and label selector.
func (w *factoryWatches) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	cms, ok := list.(*corev1.ConfigMapList)
	if !ok {
		return fmt.Errorf("no list of %T", list)
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	for _, item := range w.factory.Core().V1().ConfigMaps().Informer().GetIndexer().List() {
		cm := item.(*corev1.ConfigMap)
		if (o.Namespace == "" || cm.Namespace == o.Namespace) && (o.LabelSelector == nil || o.LabelSelector.Matches(labels.Set(cm.Labels))) {
			cms.Items = append(cms.Items, *cm.DeepCopy())
		}
	}
	return nil
}

// TestCacheByObject: the cache holds AKO's ConfigMap by name and the policy ConfigMaps by
// label, each in its namespace, or the whole namespace when the two share it (one informer
// per namespace: the selections merge, neither overwrites the other); with self-signed
// certificates, the Secret and the webhook configurations by name.
func TestCacheByObject(t *testing.T) {
	describe := func(m map[client.Object]cache.ByObject) map[string]string {
		sel := func(l labels.Selector, f fields.Selector) string {
			var s []string
			if l != nil {
				s = append(s, "labels "+l.String())
			}
			if f != nil {
				s = append(s, "fields "+f.String())
			}
			if len(s) == 0 {
				return "all"
			}
			return strings.Join(s, ", ")
		}
		out := map[string]string{}
		for obj, b := range m {
			kind := reflect.TypeOf(obj).Elem().Name()
			if len(b.Namespaces) == 0 {
				out[kind] = sel(b.Label, b.Field)
			}
			for ns, c := range b.Namespaces {
				out[kind+" in "+ns] = sel(c.LabelSelector, c.FieldSelector)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		o    Options
		want map[string]string
	}{{
		name: "own namespace",
		o:    Options{PolicyNamespace: "sctpguard", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config"},
		want: map[string]string{
			"ConfigMap in avi-system": "fields metadata.name=avi-k8s-config",
			"ConfigMap in sctpguard":  "labels sctpguard.io/policy",
		},
	}, {
		name: "AKO's namespace",
		o:    Options{PolicyNamespace: "avi-system", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config"},
		want: map[string]string{
			"ConfigMap in avi-system": "all",
		},
	}, {
		name: "self-signed certificates",
		o: Options{PolicyNamespace: "sctpguard", AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config",
			SelfSignedCerts: true, CertSecret: "sctpguard-webhook-tls", WebhookConfiguration: "sctpguard"},
		want: map[string]string{
			"ConfigMap in avi-system":        "fields metadata.name=avi-k8s-config",
			"ConfigMap in sctpguard":         "labels sctpguard.io/policy",
			"Secret in sctpguard":            "fields metadata.name=sctpguard-webhook-tls",
			"MutatingWebhookConfiguration":   "fields metadata.name=sctpguard",
			"ValidatingWebhookConfiguration": "fields metadata.name=sctpguard",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, describe(CacheByObject(&tc.o))); diff != "" {
				t.Errorf("cache selections (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyFollowerInAKONamespace: in a namespace the cache holds whole (the policy
// namespace is AKO's), the follower loads only the labelled ConfigMaps, and only their
// changes reload it: AKO's ConfigMap changing is no policy change.
func TestPolicyFollowerInAKONamespace(t *testing.T) {
	cm := func(name string, labelled bool, data map[string]string) *corev1.ConfigMap {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "avi-system", Name: name, ResourceVersion: "1"}, Data: data}
		if labelled {
			c.Labels = map[string]string{PolicyLabel: "true"}
		}
		return c
	}
	ako := cm("avi-k8s-config", false, map[string]string{"serviceType": "ClusterIP"})
	team := cm("team-policies", true, map[string]string{"telco.rego": "package team\ndeny contains msg if {\n  input.kind == \"Nothing\"\n  msg := \"never\"\n}\n"})
	clientset := fake.NewClientset(ako, team,
		cm("unrelated", false, map[string]string{"broken.rego": "package broken\ndeny contains msg if {\n"}))
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	degradations, err := NewDegradations(nil)
	if err != nil {
		t.Fatal(err)
	}
	recorder := events.NewFakeRecorder(10)
	f := &PolicyFollower{
		Cache: &factoryWatches{factory: informers.NewSharedInformerFactory(clientset, 0)}, Namespace: "avi-system",
		Engines: &Engines{}, Events: recorder, Degradations: degradations, Log: logr.Discard(), Metrics: metrics,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	reloads := func() float64 { return testutil.ToFloat64(metrics.policyReloads.WithLabelValues("ok")) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the policies to load", func() bool { return f.Ready(nil) == nil })
	select {
	case got := <-recorder.Events:
		if want := "Normal PolicyLoaded policies of this ConfigMap are in force"; got != want {
			t.Errorf("event %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Error("no PolicyLoaded event")
	}
	// The events of the initial list may start one more reload; let it pass.
	time.Sleep(3 * policyDebounce)
	base := reloads()
	ako.Data["serviceType"] = "NodePortLocal"
	if _, err := clientset.CoreV1().ConfigMaps("avi-system").Update(ctx, ako, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Give a reload that AKO's ConfigMap would start the time to show.
	time.Sleep(3 * policyDebounce)
	if got := reloads(); got != base {
		t.Errorf("reloads after AKO's ConfigMap changed: %v, want %v", got, base)
	}
	team.Annotations = map[string]string{RegoVersionAnnotation: "v1"}
	team.ResourceVersion = "2"
	if _, err := clientset.CoreV1().ConfigMaps("avi-system").Update(ctx, team, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the changed policies to load", func() bool { return reloads() == base+1 })
}

// TestFollowersRunOnEveryReplica: the followers every replica needs say so, or
// controller-runtime would run them on the leader alone (the translator turns leader
// election on), leaving the other replicas unready.
func TestFollowersRunOnEveryReplica(t *testing.T) {
	for name, r := range map[string]manager.Runnable{
		"policies":     &PolicyFollower{},
		"ako-settings": &akosettings.Follower{},
		"certificates": &SelfSigned{},
	} {
		le, ok := r.(manager.LeaderElectionRunnable)
		if !ok || le.NeedLeaderElection() {
			t.Errorf("%s: runs on the leader alone", name)
		}
	}
}
