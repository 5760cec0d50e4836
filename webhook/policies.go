package webhook

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// PolicyLabel marks the ConfigMaps that hold user policies: .rego modules and YAML with
// ConstraintTemplates and constraints, one file per key. With the value PolicyData, the
// ConfigMap holds data documents instead (conftest's --data): YAML or JSON objects, one per
// key, merged into data for the policies.
const PolicyLabel = "sctpguard.io/policy"

// PolicyData is PolicyLabel's value on ConfigMaps of data documents.
const PolicyData = "data"

// RegoVersionAnnotation sets the Rego version (v0 or v1, the default) of a policy
// ConfigMap's .rego modules, as check's --rego-version does.
const RegoVersionAnnotation = "sctpguard.io/rego-version"

// policyDebounce gathers the events of one change (kubectl apply of several ConfigMaps)
// into one reload.
const policyDebounce = 200 * time.Millisecond

// Engines holds the engine the handlers use, swapped whole when the policies change.
type Engines struct{ current atomic.Pointer[policy.Engine] }

// Get returns the engine in force.
func (e *Engines) Get() Policy { return e.current.Load() }

// Set puts an engine in force.
func (e *Engines) Set(engine *policy.Engine) { e.current.Store(engine) }

// PolicyFollower follows the policy ConfigMaps of sctpguard's namespace and rebuilds the
// engine when they change, without a restart. A set that does not load is refused whole:
// the last good engine stays in force, and the failure is logged, counted, reported as an
// Event on the ConfigMaps it names, and a degraded state (metric, admission warnings). With
// no good set to fall back on (a set refused at start), the replica is not ready: it would
// judge without the team's rules.
type PolicyFollower struct {
	// Cache is the manager's cache; it must hold the namespace's policy ConfigMaps
	// (CacheByObject).
	Cache     Watches
	Namespace string
	// Config is the rule configuration; Options tune the policies' evaluation.
	Config  policy.Config
	Options rego.Options
	Engines *Engines
	// Inventory, when set, feeds data.inventory before a set that reads it is put in force.
	Inventory    interface{ FeedRego(context.Context) error }
	Events       events.EventRecorder
	Degradations *Degradations
	Log          logr.Logger
	Metrics      *Metrics

	synced atomic.Bool
	// loaded is set once a set loaded; refused holds the last refusal while it stands.
	loaded  atomic.Bool
	refused atomic.Pointer[string]
	mu      sync.Mutex
	applied map[string]string // ConfigMap name -> resourceVersion last loaded
}

// NeedLeaderElection is false: every replica judges, so every replica needs the policies
// (a runnable that does not say so runs on the leader alone).
func (f *PolicyFollower) NeedLeaderElection() bool { return false }

// Start runs until ctx is done; it implements manager.Runnable.
func (f *PolicyFollower) Start(ctx context.Context) error {
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	// The cache may hold other ConfigMaps (AKO's, CacheByObject): only policy ConfigMaps of
	// the namespace, or one that just lost the label, call for a reload.
	ours := func(o client.Object) bool {
		_, labelled := o.GetLabels()[PolicyLabel]
		return labelled && o.GetNamespace() == f.Namespace
	}
	informer, err := notify(ctx, f.Cache, &corev1.ConfigMap{}, ours, poke)
	if err != nil {
		return fmt.Errorf("watch policy ConfigMaps in %s: %w", f.Namespace, err)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("sync policy ConfigMaps: %w", ctx.Err())
	}
	if err := f.reload(ctx); err != nil {
		return err
	}
	f.synced.Store(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(policyDebounce):
			}
			if err := f.reload(ctx); err != nil {
				return err
			}
		}
	}
}

// Ready is a readiness check: the policies have been read once, and a set is in force.
func (f *PolicyFollower) Ready(*http.Request) error {
	if !f.synced.Load() {
		return fmt.Errorf("policy ConfigMaps in %s not read yet", f.Namespace)
	}
	if !f.loaded.Load() {
		msg := ""
		if r := f.refused.Load(); r != nil {
			msg = *r
		}
		return fmt.Errorf("the user policies in %s were refused and no earlier set loaded (see the PolicyRefused Events): %s", f.Namespace, msg)
	}
	return nil
}

// SourceName names a ConfigMap key as a policy source: configmap/<ns>/<name>/<key>.
func SourceName(namespace, name, key string) string {
	return "configmap/" + namespace + "/" + name + "/" + key
}

// reload builds the engine from every policy ConfigMap, or keeps the current one. It fails
// only when the cache cannot be read.
func (f *PolicyFollower) reload(ctx context.Context) error {
	var list corev1.ConfigMapList
	if err := f.Cache.List(ctx, &list, client.InNamespace(f.Namespace), client.HasLabels{PolicyLabel}); err != nil {
		return fmt.Errorf("read policy ConfigMaps in %s: %w", f.Namespace, err)
	}
	cms := make([]*corev1.ConfigMap, len(list.Items))
	for i := range list.Items {
		cms[i] = &list.Items[i]
	}
	sort.Slice(cms, func(i, j int) bool { return cms[i].Name < cms[j].Name })
	var sources []rego.Source
	for _, cm := range cms {
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sources = append(sources, rego.Source{Name: SourceName(cm.Namespace, cm.Name, k), Data: []byte(cm.Data[k]),
				Document: cm.Labels[PolicyLabel] == PolicyData, RegoVersion: cm.Annotations[RegoVersionAnnotation]})
		}
	}
	engine, modules, constraints, err := f.build(ctx, sources)
	if err != nil {
		f.Metrics.policyReload("error")
		msg := err.Error()
		f.refused.Store(&msg)
		if f.loaded.Load() {
			f.Degradations.Set(DegradedPolicies, "degraded: user policies in "+f.Namespace+" refused, the last good set is in force; see the PolicyRefused Events")
			f.Log.Error(err, "policies refused; the last good set stays in force", "namespace", f.Namespace)
		} else {
			f.Degradations.Set(DegradedPolicies, "degraded: user policies in "+f.Namespace+" refused, no good set loaded; see the PolicyRefused Events")
			f.Log.Error(err, "policies refused and no earlier set loaded: not ready until they load", "namespace", f.Namespace)
		}
		consequence := "the last good policy set stays in force"
		if !f.loaded.Load() {
			consequence = "no policy set loaded yet, so sctpguard is not ready"
		}
		for _, cm := range cms {
			if strings.Contains(err.Error(), SourceName(cm.Namespace, cm.Name, "")) || len(cms) == 1 {
				f.Events.Eventf(cm, nil, corev1.EventTypeWarning, "PolicyRefused", "Load",
					"%s; %s", truncate(err.Error(), 900), consequence)
			}
		}
		return nil
	}
	f.Engines.Set(engine)
	f.loaded.Store(true)
	f.refused.Store(nil)
	f.Degradations.Clear(DegradedPolicies)
	f.Metrics.policyReload("ok")
	f.Log.Info("policies loaded", "namespace", f.Namespace, "configMaps", len(cms), "modules", modules, "constraints", constraints)
	f.mu.Lock()
	defer f.mu.Unlock()
	applied := map[string]string{}
	for _, cm := range cms {
		applied[cm.Name] = cm.ResourceVersion
		if f.applied[cm.Name] != cm.ResourceVersion {
			f.Events.Eventf(cm, nil, corev1.EventTypeNormal, "PolicyLoaded", "Load", "policies of this ConfigMap are in force")
		}
	}
	f.applied = applied
	return nil
}

func (f *PolicyFollower) build(ctx context.Context, sources []rego.Source) (*policy.Engine, int, int, error) {
	var evaluators []policy.Evaluator
	modules, constraints := 0, 0
	if len(sources) > 0 {
		set, err := rego.Load(ctx, sources, f.Options)
		if err != nil {
			return nil, 0, 0, err
		}
		modules, constraints = set.Policies()
		evaluators = append(evaluators, set)
		if set.UsesInventory() && f.Inventory != nil {
			// Off the request path: the first review must not wait for the feed.
			if err := f.Inventory.FeedRego(ctx); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	engine, err := policy.NewEngine(f.Config, evaluators...)
	return engine, modules, constraints, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
