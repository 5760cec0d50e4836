package akosettings

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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/sctpguard/sctpguard/policy"
)

// Degradation causes the follower reports.
const (
	// DegradedSettings: keys of AKO's ConfigMap that do not read; AKO's own reading of them
	// applies.
	DegradedSettings = "ako-settings"
	// DegradedConfigMapAbsent: AKO's ConfigMap does not exist; rules that need AKO's settings
	// are silent.
	DegradedConfigMapAbsent = "ako-configmap-absent"
)

// CacheOptions selects AKO's ConfigMap alone in its namespace: the follower reads nothing
// else, and the account needs to read no other (RBAC: list and watch ConfigMaps in AKO's
// namespace, by name). The webhook adds its policy ConfigMaps to it (webhook.CacheByObject),
// so the follower picks AKO's ConfigMap out of what the cache holds.
func CacheOptions(namespace, name string) cache.ByObject {
	return cache.ByObject{Namespaces: map[string]cache.Config{
		namespace: {FieldSelector: fields.OneTermEqualSelector("metadata.name", name)},
	}}
}

// Degradations records degraded states, each with the warning users get about it.
type Degradations interface {
	Set(cause, warning string)
	Clear(cause string)
}

// Follower follows AKO's ConfigMap and keeps the settings in step with it. It reads the
// ConfigMap key by key as AKO does: a value it cannot read is a problem about that key alone
// (which takes AKO's own reading of it), reported as a Warning Event on the ConfigMap, a
// degraded state and a log line, while the other keys apply.
type Follower struct {
	// Cache is the manager's cache; it must watch the ConfigMap (CacheConfig).
	Cache     cache.Cache
	Namespace string
	Name      string
	// Base holds what does not come from the ConfigMap: the platform and, when set by flag,
	// the CNI and controller version, which override the ConfigMap's.
	Base         policy.Context
	Events       events.EventRecorder
	Degradations Degradations
	// Reloaded, when set, counts each reading: ok, partial or absent.
	Reloaded func(result string)
	Log      logr.Logger

	settings atomic.Pointer[policy.Context]
	mu       sync.Mutex
	// reported is what the last Events said, so an unchanged ConfigMap (a resync) reports
	// nothing again.
	reported string
}

// Settings returns the settings in force, and whether any have been applied yet.
func (f *Follower) Settings() (policy.Context, bool) {
	if s := f.settings.Load(); s != nil {
		return *s, true
	}
	return policy.Context{}, false
}

// Current returns the settings in force (empty before the first are applied).
func (f *Follower) Current() policy.Context {
	s, _ := f.Settings()
	return s
}

// NeedLeaderElection is false: every replica judges, so every replica needs AKO's settings
// (a runnable that does not say so runs on the leader alone).
func (f *Follower) NeedLeaderElection() bool { return false }

// Start runs until ctx is done; it implements manager.Runnable.
func (f *Follower) Start(ctx context.Context) error {
	informer, err := f.Cache.GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		return fmt.Errorf("watch ConfigMap %s/%s: %w", f.Namespace, f.Name, err)
	}
	ours := func(obj any) (*corev1.ConfigMap, bool) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		cm, ok := obj.(*corev1.ConfigMap)
		return cm, ok && cm.Namespace == f.Namespace && cm.Name == f.Name
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if cm, ok := ours(obj); ok {
				f.apply(cm)
			}
		},
		UpdateFunc: func(_, obj any) {
			if cm, ok := ours(obj); ok {
				f.apply(cm)
			}
		},
		DeleteFunc: func(obj any) {
			if _, ok := ours(obj); ok {
				f.absent("deleted")
			}
		},
	}); err != nil {
		return fmt.Errorf("watch ConfigMap %s/%s: %w", f.Namespace, f.Name, err)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("sync ConfigMap %s/%s: %w", f.Namespace, f.Name, ctx.Err())
	}
	var cm corev1.ConfigMap
	switch err := f.Cache.Get(ctx, types.NamespacedName{Namespace: f.Namespace, Name: f.Name}, &cm); {
	case apierrors.IsNotFound(err):
		f.absent("not found")
	case err != nil:
		return fmt.Errorf("read ConfigMap %s/%s: %w", f.Namespace, f.Name, err)
	}
	<-ctx.Done()
	return nil
}

// Ready is a readiness check: AKO's settings are applied (or the ConfigMap was found absent),
// so nothing is judged or synced before sctpguard knows AKO's mode.
func (f *Follower) Ready(*http.Request) error {
	if _, ok := f.Settings(); !ok {
		return fmt.Errorf("AKO's settings from ConfigMap %s/%s are not applied yet", f.Namespace, f.Name)
	}
	return nil
}

func (f *Follower) reloaded(result string) {
	if f.Reloaded != nil {
		f.Reloaded(result)
	}
}

func (f *Follower) set(cause, warning string) {
	if f.Degradations != nil {
		f.Degradations.Set(cause, warning)
	}
}

func (f *Follower) clear(cause string) {
	if f.Degradations != nil {
		f.Degradations.Clear(cause)
	}
}

// Read reads the settings a ConfigMap of AKO's holds as the follower applies them (merged
// with Base; nil: no ConfigMap, so no AKO settings), with the keys that do not read. The
// guard on AKO's ConfigMap reads a proposed ConfigMap with it.
func (f *Follower) Read(cm *corev1.ConfigMap) (policy.Context, []policy.SettingProblem) {
	if cm == nil {
		return f.merge(policy.Context{}), nil
	}
	settings, problems := policy.ReadAKOConfigMap(cm.Data)
	// A key a flag overrides is not read at all.
	problems = slices.DeleteFunc(problems, func(p policy.SettingProblem) bool {
		return (p.Key == "cniPlugin" && f.Base.CNI != "") || (p.Key == "controllerVersion" && f.Base.ControllerVersion != "")
	})
	return f.merge(settings), problems
}

func (f *Follower) apply(cm *corev1.ConfigMap) {
	settings, problems := f.Read(cm)
	f.settings.Store(&settings)
	f.clear(DegradedConfigMapAbsent)
	log := f.Log.WithValues("configMap", f.Namespace+"/"+f.Name, "resourceVersion", cm.ResourceVersion)
	if len(problems) == 0 {
		f.clear(DegradedSettings)
		f.reloaded("ok")
		log.Info("AKO settings loaded", "context", settings.String())
		f.report(cm, settings, nil)
		return
	}
	keys := make([]string, len(problems))
	for i, p := range problems {
		keys[i] = p.Key
		log.Info("AKO setting unreadable; AKO's own reading of it applies", "key", p.Key, "value", p.Value, "problem", p.Message)
	}
	f.set(DegradedSettings, fmt.Sprintf("degraded: %s keys read as AKO does, see Events: %s", f.Name, strings.Join(keys, ", ")))
	f.reloaded("partial")
	log.Info("AKO settings loaded, some keys unreadable", "context", settings.String(), "unreadable", keys)
	f.report(cm, settings, problems)
}

// report puts what was applied on the ConfigMap as Events, once per change: a Warning
// SettingsUnreadable with every key that does not read (one Event: the recorder would fold
// Events of one reason into a series), and a Normal SettingsApplied with the settings in force.
func (f *Follower) report(cm *corev1.ConfigMap, settings policy.Context, problems []policy.SettingProblem) {
	if f.Events == nil {
		return
	}
	summary := settings.String()
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
	f.Events.Eventf(cm, nil, corev1.EventTypeNormal, "SettingsApplied", "Load", "sctpguard judges with %s (resourceVersion %s)", settings.String(), cm.ResourceVersion)
}

// absent: without AKO's ConfigMap nothing is known about AKO, and rules that depend on its
// settings stay silent; a degraded state.
func (f *Follower) absent(why string) {
	settings := f.merge(policy.Context{})
	f.settings.Store(&settings)
	f.reloaded("absent")
	f.clear(DegradedSettings)
	f.set(DegradedConfigMapAbsent, fmt.Sprintf("degraded: AKO's ConfigMap %s/%s %s; rules that need AKO's settings are silent", f.Namespace, f.Name, why))
	f.mu.Lock()
	f.reported = ""
	f.mu.Unlock()
	f.Log.Info("AKO ConfigMap "+why+"; rules that depend on AKO's settings are silent", "configMap", f.Namespace+"/"+f.Name, "context", settings.String())
}

func (f *Follower) merge(settings policy.Context) policy.Context {
	settings.Platform = f.Base.Platform
	if f.Base.CNI != "" {
		settings.CNI = f.Base.CNI
	}
	if f.Base.ControllerVersion != "" {
		settings.ControllerVersion = f.Base.ControllerVersion
	}
	return settings
}

// truncate cuts s to at most n bytes, at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
