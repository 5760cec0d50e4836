package translator

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Retry scheduling of avi-translation.md §10.
const (
	DefaultSlowRetry   = 90 * time.Second
	fastRetryBase      = time.Second
	fastRetryCap       = 60 * time.Second
	fastRetriesToSlow  = 10
	statusPatchRetries = 5
)

// Reasons of controller-level Events and conditions.
const (
	ReasonControllerUnsupported = "ControllerUnsupported"
)

// Reconciler syncs one unit per request. Only the leader runs it; Runner feeds it.
type Reconciler struct {
	Kube   client.Client
	Source Source
	// Engine re-checks inputs with the built-in rules (with the webhook's configuration).
	Engine *policy.Engine
	// Context returns the current AKO context (followed from AKO's ConfigMap).
	Context func() policy.Context
	Events  events.EventRecorder
	Log     logr.Logger
	// SlowRetry is the slow retry period; default 90 s.
	SlowRetry time.Duration
	Metrics   *Metrics

	conn     atomic.Pointer[connection]
	mu       sync.Mutex
	failures map[UnitKey]int
}

// connection is the controller session in force: the client, the state of the owned
// objects, and the gate's verdict. It is replaced as a whole on reconnect.
type connection struct {
	syncer *Syncer
	// version is the controller version the gate read.
	version string
	// gateErr is set while the gate fails: nothing is written.
	gateErr error
	// unsupported is set when the licence tier lacks SCTP (reported as
	// ControllerUnsupported rather than as a frozen rule).
	unsupported bool
	// idle is the session's idle timeout: the runner keeps it alive at half of it.
	idle time.Duration
	// cloud is what was read of AKO's cloud (type, DNS, the VIP network's VRF).
	cloud *policy.AviCloud
}

var _ reconcile.TypedReconciler[UnitKey] = (*Reconciler)(nil)

func (r *Reconciler) slowRetry() time.Duration {
	if r.SlowRetry > 0 {
		return r.SlowRetry
	}
	return DefaultSlowRetry
}

// builder returns a builder over the current context, with the controller version the
// gate reported, so that the sctp-controller-version rule freezes everything on an old one.
func (r *Reconciler) builder(c *connection) *Builder {
	ctx := r.Context()
	if c != nil && c.version != "" {
		ctx.ControllerVersion = c.version
	}
	if c != nil && c.cloud != nil {
		ctx.Cloud = c.cloud
	}
	return &Builder{Context: ctx, Source: r.Source, Engine: r.Engine}
}

// resetFailures forgets a unit's consecutive failures: its input changed.
func (r *Reconciler) resetFailures(k UnitKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, k)
}

// Reconcile syncs one unit: builds it, then creates, updates or deletes its Avi objects,
// writes status and Events, and schedules the retry of a failure by its class.
func (r *Reconciler) Reconcile(ctx context.Context, key UnitKey) (reconcile.Result, error) {
	log := r.Log.WithValues("unit", key.String())
	start := time.Now()
	c := r.conn.Load()
	if c == nil {
		// Not connected yet: the runner enqueues every unit once it is.
		return reconcile.Result{}, nil
	}
	b := r.builder(c)
	u, err := b.Build(ctx, key)
	if err != nil {
		return r.retry(ctx, log, key, nil, &SyncError{Reason: ReasonSyncFailed, Class: avi.ClassFast, Err: err})
	}
	if u != nil {
		r.emit(ctx, u.Events)
		for _, f := range u.Frozen {
			r.emit(ctx, f.Events())
		}
	}
	if c.gateErr != nil {
		// Nothing is written while the gate fails; the runner re-checks it.
		if u != nil && c.unsupported {
			r.emitUnit(ctx, u, corev1.EventTypeWarning, ReasonControllerUnsupported, c.gateErr.Error())
		}
		if u != nil && u.Gateway != nil {
			r.writeGatewayStatus(ctx, log, u, nil, nil)
		}
		return reconcile.Result{}, nil
	}
	if u == nil {
		out, err := c.syncer.Delete(ctx, key, b.UnitName(key))
		if err != nil {
			return r.retry(ctx, log, key, nil, classify(err))
		}
		for _, m := range out.Members {
			if err := (statusWriter{r.Kube}).clearIngress(ctx, m, out.VIPs); err != nil {
				log.Error(err, "clear Service status", "service", m.String())
			}
			if out.Writes > 0 {
				r.emitService(ctx, m, corev1.EventTypeNormal, ReasonRemoved, fmt.Sprintf("Removed virtualservice %s for %s", b.UnitName(key), m))
			}
		}
		if key.Kind == KindGateway {
			if err := (statusWriter{r.Kube}).clearGatewayStatus(ctx, types.NamespacedName{Namespace: key.Namespace, Name: key.Name}); err != nil {
				log.Error(err, "clear Gateway status")
			}
		}
		if out.Writes > 0 {
			log.Info("removed unit", "writes", out.Writes)
		}
		r.observe(key, start, nil, out)
		r.resetFailures(key)
		return reconcile.Result{}, nil
	}
	out, err := c.syncer.Sync(ctx, u)
	if err != nil {
		se := classify(err)
		if se.Reason == ReasonDeleteBlocked {
			// The unit itself is in sync; only an orphan is stuck.
			r.writeStatus(ctx, log, u, out, nil)
		}
		return r.retry(ctx, log, key, u, se)
	}
	r.writeStatus(ctx, log, u, out, nil)
	if out.Created {
		for _, m := range u.Members {
			r.emitService(ctx, m, corev1.EventTypeNormal, ReasonSynced, fmt.Sprintf("Added virtualservice %s for %s", u.Name, m))
		}
		if u.Gateway != nil {
			r.emitObject(u.Gateway, corev1.EventTypeNormal, ReasonSynced, fmt.Sprintf("Added virtualservice %s for %s/%s", u.Name, u.Gateway.Namespace, u.Gateway.Name))
		}
	}
	if out.Writes > 0 {
		log.Info("synced unit", "writes", out.Writes, "vips", out.VIPs)
	}
	r.observe(key, start, nil, out)
	r.resetFailures(key)
	return reconcile.Result{}, nil
}

// retry reports a failure and schedules the retry by class.
func (r *Reconciler) retry(ctx context.Context, log logr.Logger, key UnitKey, u *Unit, se *SyncError) (reconcile.Result, error) {
	r.mu.Lock()
	if r.failures == nil {
		r.failures = map[UnitKey]int{}
	}
	r.failures[key]++
	n := r.failures[key]
	r.mu.Unlock()
	class := se.Class
	if class == avi.ClassFast && n > fastRetriesToSlow {
		class = avi.ClassSlow
	}
	log.Error(se.Err, "sync failed", "reason", se.Reason, "class", class, "attempt", n)
	if avi.IsInvalidCredentials(se) {
		// Bad credentials: stop all writes until the runner logs in again.
		r.disconnect(fmt.Errorf("DISCONNECTED: %w", se))
	}
	if u != nil {
		// A retried failure is reported once it is no longer the first fast attempt.
		if class != avi.ClassFast || n >= 3 {
			r.emitUnit(ctx, u, corev1.EventTypeWarning, se.Reason, se.Error())
		}
		if u.Gateway != nil {
			r.writeGatewayStatus(ctx, log, u, nil, se)
		}
	}
	r.observe(key, time.Time{}, se, nil)
	switch class {
	case avi.ClassFast:
		d := fastRetryBase << min(n-1, 6)
		return reconcile.Result{RequeueAfter: min(d, fastRetryCap)}, nil
	case avi.ClassSlow:
		return reconcile.Result{RequeueAfter: r.slowRetry()}, nil
	default:
		return reconcile.Result{}, nil
	}
}

// disconnect marks the connection as failed so that nothing more is written.
func (r *Reconciler) disconnect(err error) {
	c := r.conn.Load()
	if c == nil || c.gateErr != nil {
		return
	}
	r.conn.CompareAndSwap(c, &connection{syncer: c.syncer, version: c.version, gateErr: err, idle: c.idle, cloud: c.cloud})
}

// writeStatus writes the members' ingress and the Gateway's status. A frozen Service shows no
// VIP: its Avi objects are kept as they were, but what it asks for is not served (in a shared
// VIP, its port may well go to another member's pool), so the ingress sctpguard wrote goes.
func (r *Reconciler) writeStatus(ctx context.Context, log logr.Logger, u *Unit, out *Outcome, se *SyncError) {
	if u.Skip == "" && out != nil && len(out.VIPs) > 0 {
		want := ingress(out.VIPs, out.FQDNs)
		for _, m := range u.Members {
			if err := r.withRetries(func() error { return (statusWriter{r.Kube}).setIngress(ctx, m, want) }); err != nil {
				log.Error(err, "write Service status", "service", m.String())
			}
		}
	}
	if out != nil {
		for _, f := range u.Frozen {
			svc, ok := f.obj.(*corev1.Service)
			if !ok {
				continue
			}
			if err := r.withRetries(func() error { return (statusWriter{r.Kube}).clearIngress(ctx, nn(svc), out.VIPs) }); err != nil {
				log.Error(err, "clear the status of a frozen Service", "service", nn(svc).String())
			}
		}
	}
	if u.Gateway != nil {
		var vips []string
		if out != nil {
			vips = out.VIPs
		}
		r.writeGatewayStatus(ctx, log, u, vips, se)
	}
}

func (r *Reconciler) writeGatewayStatus(ctx context.Context, log logr.Logger, u *Unit, vips []string, se *SyncError) {
	err := r.withRetries(func() error {
		var gw svcapi.Gateway
		if err := r.Kube.Get(ctx, client.ObjectKeyFromObject(u.Gateway), &gw); err != nil {
			return client.IgnoreNotFound(err)
		}
		return (statusWriter{r.Kube}).setGatewayStatus(ctx, &gw, gatewayStatus(&gw, gatewayOutcome{unit: u, vips: vips, syncErr: se}))
	})
	if err != nil {
		log.Error(err, "write Gateway status")
	}
}

func (r *Reconciler) withRetries(f func() error) error {
	var err error
	for range statusPatchRetries {
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}

// emit records Events about input objects.
func (r *Reconciler) emit(ctx context.Context, evs []Event) {
	for _, e := range evs {
		if e.Regarding != nil {
			r.emitObject(e.Regarding, e.Type, e.Reason, e.Message)
			continue
		}
		r.emitService(ctx, types.NamespacedName{Namespace: e.Object.Namespace, Name: e.Object.Name}, e.Type, e.Reason, e.Message)
	}
}

// emitUnit records an Event on every input of a unit.
func (r *Reconciler) emitUnit(ctx context.Context, u *Unit, typ, reason, msg string) {
	if u.Gateway != nil {
		r.emitObject(u.Gateway, typ, reason, msg)
	}
	for _, m := range u.Members {
		r.emitService(ctx, m, typ, reason, msg)
	}
}

func (r *Reconciler) emitService(ctx context.Context, name types.NamespacedName, typ, reason, msg string) {
	var svc corev1.Service
	if err := r.Kube.Get(ctx, name, &svc); err != nil {
		return
	}
	r.emitObject(&svc, typ, reason, msg)
}

func (r *Reconciler) emitObject(obj runtime.Object, typ, reason, msg string) {
	if r.Events == nil || reflect.ValueOf(obj).IsNil() {
		return
	}
	r.Events.Eventf(obj, nil, typ, reason, "Sync", "%s", truncate(msg))
}

func (r *Reconciler) observe(key UnitKey, start time.Time, se *SyncError, out *Outcome) {
	if r.Metrics == nil {
		return
	}
	r.Metrics.observe(key, start, se, out)
}
