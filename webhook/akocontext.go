package webhook

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/sctpguard/sctpguard/policy"
)

// Environment is the EnvSource of the running webhook: the inventory, and the AKO context
// as last read from AKO's ConfigMap.
type Environment struct {
	Inventory policy.Inventory
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
// that one ConfigMap only. A ConfigMap that does not parse leaves the last good context in
// force and is logged and counted.
type ContextFollower struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// Base holds what does not come from the ConfigMap: the platform and, when set by flag,
	// the CNI and controller version, which override the ConfigMap's.
	Base    policy.Context
	Env     *Environment
	Log     logr.Logger
	Metrics *Metrics

	synced atomic.Bool
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
	f.synced.Store(true)
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// Ready is a readiness check: the ConfigMap has been read (or found absent).
func (f *ContextFollower) Ready(*http.Request) error {
	if !f.synced.Load() {
		return fmt.Errorf("AKO ConfigMap %s/%s not read yet", f.Namespace, f.Name)
	}
	return nil
}

func (f *ContextFollower) apply(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	ctx, err := policy.ParseAKOConfigMap(cm.Data)
	if err == nil {
		ctx = f.merge(ctx)
		if errs := ctx.Validate(); len(errs) > 0 {
			err = errs.ToAggregate()
		}
	}
	if err != nil {
		f.Metrics.contextReload("error")
		f.Log.Error(err, "AKO ConfigMap does not parse; the last good settings stay in force",
			"configMap", f.Namespace+"/"+f.Name, "resourceVersion", cm.ResourceVersion)
		return
	}
	f.Env.SetContext(ctx)
	f.Metrics.contextReload("ok")
	f.Log.Info("AKO settings loaded", "configMap", f.Namespace+"/"+f.Name, "resourceVersion", cm.ResourceVersion, "context", ctx.String())
}

// absent: without AKO's ConfigMap nothing is known about AKO, and rules that need its mode
// stay silent.
func (f *ContextFollower) absent(why string) {
	ctx := f.merge(policy.Context{})
	f.Env.SetContext(ctx)
	f.Metrics.contextReload("ok")
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
