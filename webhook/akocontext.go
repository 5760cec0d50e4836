package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/sctpguard/sctpguard/policy"
)

// Environment is the EnvSource of the running webhook: the inventory, and the AKO context
// as last read from AKO's ConfigMap.
type Environment struct {
	// Inventory is what the webhooks judge with (consistent reads for the cross-object SCTP
	// rules); Cache is the cache alone, for the translator's many reads.
	Inventory policy.Inventory
	Cache     policy.Inventory
	context   atomic.Pointer[policy.Context]
}

var _ EnvSource = (*Environment)(nil)

// Env implements EnvSource.
func (e *Environment) Env() policy.Env {
	var ctx policy.Context
	if c := e.context.Load(); c != nil {
		ctx = *c
	}
	return policy.Env{Context: ctx, Inventory: e.Inventory}
}

// SetContext replaces the context the next reviews are judged in.
func (e *Environment) SetContext(c policy.Context) { e.context.Store(&c) }

// ContextFollower follows AKO's avi-k8s-config ConfigMap and keeps the Environment's context
// in step with it, so a change of AKO's mode changes verdicts without a restart. It watches
// that one ConfigMap only, and reads it key by key as AKO does: a value it cannot read is a
// problem about that key alone (which takes AKO's own reading of it), reported as a Warning
// Event on the ConfigMap, a degraded state (metric and admission warnings) and a log line,
// while the other keys apply. The replica is not ready until the settings are applied.
type ContextFollower struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// Base holds what does not come from the ConfigMap: the platform and, when set by flag,
	// the CNI and controller version, which override the ConfigMap's.
	Base         policy.Context
	Env          *Environment
	Events       events.EventRecorder
	Degradations *Degradations
	Log          logr.Logger
	Metrics      *Metrics

	mu sync.Mutex
	// reported is what the last Events said, so an unchanged ConfigMap (a resync) reports
	// nothing again.
	reported string
}

// Start runs until ctx is done; it implements manager.Runnable.
func (f *ContextFollower) Start(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(f.Client, 0,
		informers.WithNamespace(f.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", f.Name).String()
		}))
	informer := factory.Core().V1().ConfigMaps().Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.apply(obj) },
		UpdateFunc: func(_, obj any) { f.apply(obj) },
		DeleteFunc: func(any) { f.absent("deleted") },
	}); err != nil {
		return fmt.Errorf("watch ConfigMap %s/%s: %w", f.Namespace, f.Name, err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("sync ConfigMap %s/%s: %w", f.Namespace, f.Name, ctx.Err())
	}
	if len(informer.GetStore().List()) == 0 {
		f.absent("not found")
	}
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// Ready is a readiness check: AKO's settings are applied (or the ConfigMap was found absent),
// so no request is judged before sctpguard knows AKO's mode.
func (f *ContextFollower) Ready(*http.Request) error {
	if f.Env.context.Load() == nil {
		return fmt.Errorf("AKO's settings from ConfigMap %s/%s are not applied yet", f.Namespace, f.Name)
	}
	return nil
}

func (f *ContextFollower) apply(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	ctx, problems := policy.ReadAKOConfigMap(cm.Data)
	ctx = f.merge(ctx)
	// A key a flag overrides is not read at all.
	problems = slices.DeleteFunc(problems, func(p policy.SettingProblem) bool {
		return (p.Key == "cniPlugin" && f.Base.CNI != "") || (p.Key == "controllerVersion" && f.Base.ControllerVersion != "")
	})
	f.Env.SetContext(ctx)
	f.Degradations.Clear(DegradedAKOConfigMapAbsent)
	log := f.Log.WithValues("configMap", f.Namespace+"/"+f.Name, "resourceVersion", cm.ResourceVersion)
	if len(problems) == 0 {
		f.Degradations.Clear(DegradedAKOSettings)
		f.Metrics.contextReload("ok")
		log.Info("AKO settings loaded", "context", ctx.String())
		f.report(cm, ctx, nil)
		return
	}
	keys := make([]string, len(problems))
	for i, p := range problems {
		keys[i] = p.Key
		log.Info("AKO setting unreadable; AKO's own reading of it applies", "key", p.Key, "value", p.Value, "problem", p.Message)
	}
	f.Degradations.Set(DegradedAKOSettings, fmt.Sprintf("degraded: %s keys read as AKO does, see Events: %s", f.Name, strings.Join(keys, ", ")))
	f.Metrics.contextReload("partial")
	log.Info("AKO settings loaded, some keys unreadable", "context", ctx.String(), "unreadable", keys)
	f.report(cm, ctx, problems)
}

// report puts what was applied on the ConfigMap as Events, once per change: a Warning
// SettingsUnreadable with every key that does not read (one Event: the recorder would fold
// Events of one reason into a series), and a Normal SettingsApplied with the settings in force.
func (f *ContextFollower) report(cm *corev1.ConfigMap, ctx policy.Context, problems []policy.SettingProblem) {
	if f.Events == nil {
		return
	}
	summary := ctx.String()
	for _, p := range problems {
		summary += "\n" + p.String()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if summary == f.reported {
		return
	}
	f.reported = summary
	// The resourceVersion makes each Event new, so the recorder creates Events and never
	// patches a series: sctpguard may only create Events in AKO's namespace.
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		f.Events.Eventf(cm, nil, corev1.EventTypeWarning, "SettingsUnreadable", "Load", "sctpguard reads these keys as AKO does: %s (resourceVersion %s)",
			truncate(strings.Join(msgs, "; "), 900), cm.ResourceVersion)
	}
	f.Events.Eventf(cm, nil, corev1.EventTypeNormal, "SettingsApplied", "Load", "sctpguard judges with %s (resourceVersion %s)", ctx.String(), cm.ResourceVersion)
}

// absent: without AKO's ConfigMap nothing is known about AKO, and rules that depend on its
// settings stay silent; a degraded state.
func (f *ContextFollower) absent(why string) {
	ctx := f.merge(policy.Context{})
	f.Env.SetContext(ctx)
	f.Metrics.contextReload("absent")
	f.Degradations.Clear(DegradedAKOSettings)
	f.Degradations.Set(DegradedAKOConfigMapAbsent, fmt.Sprintf("degraded: AKO's ConfigMap %s/%s %s; rules that need AKO's settings are silent", f.Namespace, f.Name, why))
	f.mu.Lock()
	f.reported = ""
	f.mu.Unlock()
	f.Log.Info("AKO ConfigMap "+why+"; rules that depend on AKO's settings are silent", "configMap", f.Namespace+"/"+f.Name, "context", ctx.String())
}

func (f *ContextFollower) merge(ctx policy.Context) policy.Context {
	ctx.Platform = f.Base.Platform
	if f.Base.CNI != "" {
		ctx.CNI = f.Base.CNI
	}
	if f.Base.ControllerVersion != "" {
		ctx.ControllerVersion = f.Base.ControllerVersion
	}
	return ctx
}
