package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Defaults of the audit.
const (
	// DefaultResync is the period of the full pass that catches what no event told: Kyverno's
	// background scan runs hourly, Gatekeeper's audit every minute; sctpguard re-judges on
	// every change it can see, so the resync is a safety net.
	DefaultResync = 10 * time.Minute
	// debounce gathers the events of one change of AKO's settings or of the policies (and
	// a burst of changes to one namespace's objects) into one full pass or one report write.
	debounce = 500 * time.Millisecond
	// pollEvery is how often the settings, the engine and the pause are compared with the
	// last pass's: a comparison of a few fields, not a read of the cluster.
	pollEvery = time.Second
)

// Pause says why the audit cannot judge right now; a zero Pause means it can.
type Pause struct {
	// Cause is the label of sctpguard_audit_paused (PausedSettings, PausedPolicies).
	Cause string
	// Message says what is wrong, for the log and the Event.
	Message string
	// Regarding is the object the Event is about (AKO's ConfigMap); nil: no Event (the
	// follower at fault reports it already).
	Regarding kruntime.Object
}

// Auditor judges the stored objects continuously and writes the reports. It is a
// controller-runtime Runnable that needs leader election: one replica writes the reports.
type Auditor struct {
	// Cache is the manager's cache: the judged kinds are read and watched through it.
	Cache cache.Cache
	// Mapper finds which of the judged kinds the cluster serves.
	Mapper meta.RESTMapper
	// Reports writes the reports (a client with Scheme()); its reads go to the API server.
	Reports client.Client
	// Inventory is what the objects are judged against, and where related objects are
	// looked up (the webhook's CacheInventory).
	Inventory policy.Inventory
	// Policy returns the engine in force; Settings AKO's settings in force.
	Policy   func() Policy
	Settings func() policy.Context
	// Paused says whether the picture is wrong now (settings unknown, policies refused).
	Paused func() Pause
	// Skip reports whether the webhooks skip a namespace (opted out, or excluded).
	Skip func(namespace string) bool
	// Events records the violations' Events; Metrics the metrics (both may be nil).
	Events  events.EventRecorder
	Metrics *Metrics
	// Resync is the period of the full pass (DefaultResync when 0).
	Resync time.Duration
	// MaxResults bounds the results of one report (DefaultMaxResults when 0): a namespace with
	// more gets more reports (reportContents).
	MaxResults int
	Log        logr.Logger

	queue workqueue.TypedRateLimitingInterface[item]
	// The state below is the worker's alone (one worker).
	kinds map[schema.GroupKind]*watchedKind
	// state holds the judged objects with findings, by namespace and key.
	state map[string]map[item]*judged
	// written is what each namespace's reports say, by part, as last written or read (an
	// empty content: no report of that part).
	written map[string][]content
	// seeded: the existing reports were read (their results' times and denied rules kept).
	seeded bool
	seeds  map[resultKey]metav1.Timestamp
	denied map[types.UID]sets.Set[string]
	// synced: the first full pass is done; reports are written from then on.
	synced bool
	dirty  sets.Set[string]
	counts map[violation]int

	// missed: the worker left an item to the pass that ends a pause.
	missed atomic.Bool
	// queued counts the full passes follow queued for a change; judged is what the last full
	// pass judged with, and the count it covered: follow samples the settings every poll,
	// while a pass reads them when it runs, so a change and its undoing between two polls
	// (NodePortLocal and back) would otherwise leave the reports of the change in place.
	queued atomic.Uint64
	judged atomic.Pointer[judgedWith]
	mu     sync.Mutex
	paused string
	stats  Stats
}

// Stats count the audit's work, for tests and the benchmark.
type Stats struct {
	Evaluations, FullPasses, Applies, Deletes int
	LastFullPass                              time.Duration
}

type violation struct {
	rule   string
	action policy.Action
}

// watchedKind is a judged kind and whether the cluster serves it yet.
type watchedKind struct {
	Kind
	watched bool
}

// itemType says what a queue item asks for.
type itemType uint8

const (
	judgeObject itemType = iota
	// fullPass judges every object (of the item's namespace, when it names one).
	fullPass
	// writeReport writes the item's namespace's report.
	writeReport
)

// item is a unit of work of the queue, which holds each at most once: a burst of events
// for one object is one evaluation.
type item struct {
	what      itemType
	gk        schema.GroupKind
	namespace string
	name      string
}

// NeedLeaderElection is true: one replica audits and writes the reports.
func (a *Auditor) NeedLeaderElection() bool { return true }

// Stats returns the work done so far.
func (a *Auditor) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Start audits until ctx is done; it implements manager.Runnable.
func (a *Auditor) Start(ctx context.Context) error {
	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[item](),
		workqueue.TypedRateLimitingQueueConfig[item]{Name: "sctpguard_audit"})
	a.kinds = map[schema.GroupKind]*watchedKind{}
	a.state, a.written, a.dirty, a.counts = map[string]map[item]*judged{}, map[string][]content{}, sets.New[string](), map[violation]int{}
	for _, k := range Kinds() {
		a.kinds[k.GVK.GroupKind()] = &watchedKind{Kind: k}
	}
	if err := a.watchServed(ctx); err != nil {
		return err
	}
	if err := a.watchNamespaces(ctx); err != nil {
		return err
	}
	if err := a.watchSettingKinds(ctx); err != nil {
		return err
	}
	if !a.Cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("audit: the cache did not sync: %w", ctx.Err())
	}
	a.Log.Info("auditing", "resync", a.resync())
	go func() {
		<-ctx.Done()
		a.queue.ShutDown()
	}()
	go a.follow(ctx)
	for a.next(ctx) {
	}
	return nil
}

func (a *Auditor) resync() time.Duration {
	if a.Resync > 0 {
		return a.Resync
	}
	return DefaultResync
}

// judgedWith is the picture a full pass judged with, and the follow's count it covered.
type judgedWith struct {
	queued   uint64
	settings policy.Context
	engine   Policy
}

// stale reports whether the last full pass, with no later one queued, judged with other
// settings or policies than s and e.
func (a *Auditor) stale(s policy.Context, e Policy) bool {
	j := a.judged.Load()
	return j != nil && j.queued == a.queued.Load() && (j.engine != e || !reflect.DeepEqual(j.settings, s))
}

// follow starts a full pass when the settings, the engine or the pause change (debounced),
// and at every resync.
func (a *Auditor) follow(ctx context.Context) {
	tick, resync := time.NewTicker(pollEvery), time.NewTicker(a.resync())
	defer tick.Stop()
	defer resync.Stop()
	var (
		settings policy.Context
		engine   Policy
		first    = true
		paused   string
	)
	for {
		p := a.Paused()
		if p.Cause != paused {
			a.Metrics.setPaused(paused, false)
			a.Metrics.setPaused(p.Cause, true)
			a.mu.Lock()
			a.paused = p.Cause
			a.mu.Unlock()
			if p.Cause != "" {
				a.Log.Info("audit paused: no reports are written from a wrong picture", "cause", p.Cause, "reason", p.Message)
				if a.Events != nil && p.Regarding != nil {
					a.Events.Eventf(p.Regarding, nil, corev1.EventTypeWarning, "AuditPaused", "Audit",
						"sctpguard's audit writes no PolicyReports while %s", p.Message)
				}
			} else if paused != "" {
				a.Log.Info("audit resumed", "was", paused)
			}
			paused = p.Cause
		}
		if p.Cause == "" {
			s, e := a.Settings(), a.Policy()
			if stale := a.stale(s, e); first || e != engine || !reflect.DeepEqual(s, settings) || a.missed.Swap(false) || stale {
				a.Log.Info("full pass queued", "first", first, "policiesChanged", e != engine, "settings", s.String(), "lastPassStale", stale)
				first, settings, engine = false, s, e
				a.queued.Add(1)
				a.queue.AddAfter(item{what: fullPass}, debounce)
			}
		} else {
			first = true // a full pass when the pause ends
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-resync.C:
			a.queue.Add(item{what: fullPass})
		}
	}
}

// next processes one item; false when the queue is shut down.
func (a *Auditor) next(ctx context.Context) bool {
	it, shutdown := a.queue.Get()
	if shutdown {
		return false
	}
	defer a.queue.Done(it)
	if p := a.Paused(); p.Cause != "" {
		// The full pass that ends the pause covers it (follow queues one even when the
		// pause was too short for its poll to see).
		a.missed.Store(true)
		a.Log.Info("paused: item left to the pass that ends the pause", "item", it.String(), "cause", p.Cause)
		a.queue.Forget(it)
		return true
	}
	var err error
	switch it.what {
	case fullPass:
		err = a.pass(ctx, it.namespace)
	case writeReport:
		err = a.flush(ctx, it.namespace)
	default:
		err = a.judgeOne(ctx, it)
	}
	if err != nil && ctx.Err() == nil {
		a.Metrics.failed()
		a.Log.Error(err, "audit step failed; retrying", "item", it.String())
		a.queue.AddRateLimited(it)
		return true
	}
	a.queue.Forget(it)
	return true
}

func (it item) String() string {
	switch it.what {
	case fullPass:
		return "full pass " + it.namespace
	case writeReport:
		return "report of " + it.namespace
	}
	return it.gk.String() + " " + it.namespace + "/" + it.name
}

// watchServed watches the judged kinds the cluster serves and not yet watched (a CRD
// installed after start is found by the next full pass).
func (a *Auditor) watchServed(ctx context.Context) error {
	for gk, k := range a.kinds {
		if k.watched {
			continue
		}
		if _, err := a.Mapper.RESTMapping(gk, k.GVK.Version); err != nil {
			if meta.IsNoMatchError(err) {
				continue
			}
			return fmt.Errorf("audit: discover %s: %w", gk, err)
		}
		informer, err := a.Cache.GetInformer(ctx, k.New(), cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("audit: watch %s: %w", gk, err)
		}
		if _, err := informer.AddEventHandler(a.handler(gk)); err != nil {
			return fmt.Errorf("audit: watch %s: %w", gk, err)
		}
		if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			return fmt.Errorf("audit: sync %s: %w", gk, ctx.Err())
		}
		k.watched = true
	}
	return nil
}

// watchNamespaces re-judges a namespace's objects when its labels or annotations change
// (an opt-out label, an AviInfraSetting annotation).
func (a *Auditor) watchNamespaces(ctx context.Context) error {
	informer, err := a.Cache.GetInformer(ctx, &corev1.Namespace{})
	if err != nil {
		return fmt.Errorf("audit: watch namespaces: %w", err)
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, o any) {
			oldNS, ok1 := old.(*corev1.Namespace)
			ns, ok2 := o.(*corev1.Namespace)
			if ok1 && ok2 && (!reflect.DeepEqual(oldNS.Labels, ns.Labels) || !reflect.DeepEqual(oldNS.Annotations, ns.Annotations)) {
				a.queue.AddAfter(item{what: fullPass, namespace: ns.Name}, debounce)
			}
		},
	})
	return err
}

// settingKinds are the kinds whose objects many verdicts read without naming them one by one:
// GatewayClasses (a Gateway's implementation), AKO's AviInfraSettings and L4Rules (named by
// annotations and classes), OpenShift's MachineConfigs (the sctp module). A change of one
// starts a full pass, debounced as a change of AKO's settings.
func settingKinds() []client.Object {
	mc := &unstructured.Unstructured{}
	mc.SetGroupVersionKind(schema.GroupVersionKind{Group: policy.MachineConfigGroup, Version: "v1", Kind: policy.MachineConfigKind})
	return []client.Object{&svcapi.GatewayClass{}, &gwv1.GatewayClass{}, &akov1beta1.AviInfraSetting{}, &akov1alpha2.L4Rule{}, mc}
}

// watchSettingKinds starts a full pass when an object of a setting kind the cluster serves
// changes (not on the first list: the first pass covers it).
func (a *Auditor) watchSettingKinds(ctx context.Context) error {
	for _, obj := range settingKinds() {
		gvk, err := apiutil.GVKForObject(obj, policy.Scheme())
		if err != nil {
			return err
		}
		if _, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			if meta.IsNoMatchError(err) {
				continue
			}
			return fmt.Errorf("audit: discover %s: %w", gvk.GroupKind(), err)
		}
		informer, err := a.Cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("audit: watch %s: %w", gvk.GroupKind(), err)
		}
		pass := func() { a.queue.AddAfter(item{what: fullPass}, debounce) }
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(_ any, initial bool) {
				if !initial {
					pass()
				}
			},
			UpdateFunc: func(old, o any) {
				if oldObj, ok := old.(client.Object); ok {
					if obj, ok := o.(client.Object); ok && oldObj.GetResourceVersion() != obj.GetResourceVersion() {
						pass()
					}
				}
			},
			DeleteFunc: func(any) { pass() },
		}); err != nil {
			return fmt.Errorf("audit: watch %s: %w", gvk.GroupKind(), err)
		}
	}
	return nil
}

// handler queues a changed object and the objects whose verdicts read it. The first list's
// adds are left to the first full pass.
func (a *Auditor) handler(gk schema.GroupKind) toolscache.ResourceEventHandler {
	add := func(o any) {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		obj, ok := o.(policy.Object)
		if !ok {
			return
		}
		a.queue.Add(item{what: judgeObject, gk: gk, namespace: obj.GetNamespace(), name: obj.GetName()})
		for _, r := range a.related(obj) {
			a.queue.Add(r)
		}
	}
	return toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(o any, initial bool) {
			if !initial {
				add(o)
			}
		},
		UpdateFunc: func(old, o any) {
			if oldObj, ok := old.(client.Object); ok {
				if obj, ok := o.(client.Object); ok && oldObj.GetResourceVersion() == obj.GetResourceVersion() {
					return // a resync of the informer: nothing changed
				}
			}
			add(old)
			add(o)
		},
		DeleteFunc: add,
	}
}

var (
	serviceGK     = schema.GroupKind{Kind: "Service"}
	svcGatewayGK  = schema.GroupKind{Group: svcapi.GroupName, Kind: "Gateway"}
	gatewayGK     = schema.GroupKind{Group: gwv1.GroupName, Kind: "Gateway"}
	listenerSetGK = schema.GroupKind{Group: gwv1.GroupName, Kind: "ListenerSet"}
)

// related returns the objects whose verdicts read obj, found with the inventory's lookups as
// the rules find them: the Gateway a backend Service names and its other backends, the
// other members of a shared VIP, the backends of an AKO Gateway, the ListenerSets of a
// Gateway, and the Gateway and sibling ListenerSets of a ListenerSet. A failed lookup is
// logged; the resync catches what it missed.
func (a *Auditor) related(obj policy.Object) []item {
	inv := a.Inventory
	var out []item
	services := func(list []*corev1.Service, err error) {
		if err != nil {
			a.Log.Error(err, "audit: related objects", "namespace", obj.GetNamespace(), "name", obj.GetName())
		}
		for _, s := range list {
			out = append(out, item{what: judgeObject, gk: serviceGK, namespace: s.Namespace, name: s.Name})
		}
	}
	listenerSets := func(list []*gwv1.ListenerSet, err error) {
		if err != nil {
			a.Log.Error(err, "audit: related objects", "namespace", obj.GetNamespace(), "name", obj.GetName())
		}
		for _, ls := range list {
			out = append(out, item{what: judgeObject, gk: listenerSetGK, namespace: ls.Namespace, name: ls.Name})
		}
	}
	switch o := obj.(type) {
	case *corev1.Service:
		if name, ok := o.Labels[policy.LabelGatewayName]; ok {
			ns := o.Labels[policy.LabelGatewayNamespace]
			out = append(out, item{what: judgeObject, gk: svcGatewayGK, namespace: ns, name: name})
			services(inv.GatewayBackends(ns, name))
		}
		if key := o.Annotations[policy.AnnotationSharedVIP]; key != "" {
			services(inv.SharedVIPServices(o.Namespace, key))
		}
	case *svcapi.Gateway:
		services(inv.GatewayBackends(o.Namespace, o.Name))
	case *gwv1.Gateway:
		listenerSets(inv.GatewayListenerSets(o.Namespace, o.Name))
	case *gwv1.ListenerSet:
		if ns, name, ok := cutKey(policy.ListenerSetParent(o)); ok {
			out = append(out, item{what: judgeObject, gk: gatewayGK, namespace: ns, name: name})
			listenerSets(inv.GatewayListenerSets(ns, name))
		}
	}
	return out
}

func cutKey(key string) (string, string, bool) {
	for i := range len(key) {
		if key[i] == '/' {
			return key[:i], key[i+1:], key[i+1:] != ""
		}
	}
	return "", "", false
}

func (a *Auditor) env() policy.Env {
	return policy.Env{Context: a.Settings(), Inventory: a.Inventory}
}

// judgeOne judges one object as stored now (gone: its results go).
func (a *Auditor) judgeOne(ctx context.Context, it item) error {
	k, ok := a.kinds[it.gk]
	if !ok || !k.watched {
		return nil
	}
	obj := k.New()
	err := a.Cache.Get(ctx, client.ObjectKey{Namespace: it.namespace, Name: it.name}, obj)
	if apierrors.IsNotFound(err) {
		a.set(it, nil, nil)
		return nil
	}
	if err != nil {
		return err
	}
	o := obj.(policy.Object)
	o.GetObjectKind().SetGroupVersionKind(k.GVK)
	if !Relevant(o) || a.Skip(o.GetNamespace()) {
		a.set(it, nil, nil)
		return nil
	}
	findings, err := Judge(ctx, a.Policy(), o, a.env())
	a.count(1)
	if err != nil {
		return fmt.Errorf("judge %s: %w", it, err)
	}
	a.set(it, o, findings)
	return nil
}

func (a *Auditor) count(n int) {
	a.Metrics.evaluated(n)
	a.mu.Lock()
	a.stats.Evaluations += n
	a.mu.Unlock()
}

// pass judges every object of the served kinds (of one namespace, when it names one), in
// parallel, with one picture of the settings and policies, then writes the reports that
// changed. Objects no longer there, or no longer relevant, lose their results.
func (a *Auditor) pass(ctx context.Context, namespace string) error {
	start := time.Now()
	if namespace == "" {
		if err := a.watchServed(ctx); err != nil {
			return err
		}
	}
	if !a.synced && !a.seeded {
		// Without the reports, the first pass announces every violation again and writes
		// every report; the flush that follows retries the read.
		if err := a.seed(ctx); err != nil {
			a.Log.Error(err, "audit: read the existing reports")
		}
	}
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	type work struct {
		it  item
		obj policy.Object
	}
	var todo []work
	for gk, k := range a.kinds {
		if !k.watched {
			continue
		}
		objs, err := k.List(ctx, a.Cache, opts...)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if !a.Skip(o.GetNamespace()) {
				todo = append(todo, work{item{what: judgeObject, gk: gk, namespace: o.GetNamespace(), name: o.GetName()}, o})
			}
		}
	}
	queued := a.queued.Load()
	pol, env := a.Policy(), a.env()
	if namespace == "" {
		defer a.judged.Store(&judgedWith{queued: queued, settings: env.Context, engine: pol})
	}
	findings := make([][]policy.Finding, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				findings[i], errs[i] = Judge(ctx, pol, todo[i].obj, env)
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	a.count(len(todo))
	seen := sets.New[item]()
	var failed []error
	for i, w := range todo {
		seen.Insert(w.it)
		if errs[i] != nil {
			// Keep what the object had; the retry of the pass judges it again.
			failed = append(failed, fmt.Errorf("%s: %w", w.it, errs[i]))
			continue
		}
		a.set(w.it, w.obj, findings[i])
	}
	for ns, objs := range a.state {
		if namespace != "" && ns != namespace {
			continue
		}
		for it := range objs {
			if !seen.Has(it) {
				a.set(it, nil, nil)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d objects could not be judged: %w", len(failed), errors.Join(failed[:min(len(failed), 3)]...))
	}
	if namespace == "" {
		a.synced, a.seeds, a.denied = true, nil, nil
		for ns := range a.written {
			a.dirty.Insert(ns)
		}
	}
	if !a.synced {
		return nil
	}
	for _, ns := range sets.List(a.dirty) {
		if err := a.flush(ctx, ns); err != nil {
			a.queue.AddRateLimited(item{what: writeReport, namespace: ns})
			a.Log.Error(err, "audit: write report; retrying", "namespace", ns)
		}
	}
	if namespace == "" {
		d := time.Since(start)
		a.Metrics.passed(d)
		a.mu.Lock()
		a.stats.FullPasses++
		a.stats.LastFullPass = d
		a.mu.Unlock()
		a.Log.Info("full pass", "objects", len(todo), "took", d.String())
	}
	return nil
}

// set records the findings of an object (nil obj: it has none, or is gone), keeps the time
// each finding was first found, counts the violations, sends the Event of a deny rule the
// object starts to violate, and marks its report to be written if it changed.
func (a *Auditor) set(it item, obj policy.Object, findings []policy.Finding) {
	objs := a.state[it.namespace]
	old := objs[it]
	var j *judged
	if obj != nil && len(findings) > 0 {
		j = &judged{ref: objectRef(obj), findings: findings, since: make([]metav1.Timestamp, len(findings))}
		now := metav1.Timestamp{Seconds: time.Now().Unix()}
		prev := map[resultKey]metav1.Timestamp{}
		if old != nil {
			for i, f := range old.findings {
				prev[keyOf(old.ref.UID, f)] = old.since[i]
			}
		}
		for i, f := range findings {
			k := keyOf(j.ref.UID, f)
			if t, ok := prev[k]; ok {
				j.since[i] = t
			} else if t, ok := a.seeds[k]; ok {
				j.since[i] = t
			} else {
				j.since[i] = now
			}
		}
	}
	if old == nil && j == nil {
		return
	}
	if old != nil && j != nil && old.ref == j.ref && reflect.DeepEqual(old.findings, j.findings) {
		return
	}
	a.account(old, -1)
	a.account(j, 1)
	if j != nil {
		a.announce(obj, old, j)
		if objs == nil {
			objs = map[item]*judged{}
			a.state[it.namespace] = objs
		}
		objs[it] = j
	} else {
		delete(objs, it)
		if len(objs) == 0 {
			delete(a.state, it.namespace)
		}
	}
	a.dirty.Insert(it.namespace)
	if a.synced {
		a.queue.AddAfter(item{what: writeReport, namespace: it.namespace}, debounce)
	}
}

// account adds (sign 1) or removes (-1) an object's findings from the violation gauges.
func (a *Auditor) account(j *judged, sign int) {
	if j == nil {
		return
	}
	for _, f := range j.findings {
		v := violation{f.Rule, f.Action}
		a.counts[v] += sign
		a.Metrics.setViolations(v.rule, v.action, a.counts[v])
		if a.counts[v] == 0 {
			delete(a.counts, v)
		}
	}
}

// announce sends a Warning Event on the object for each deny rule it starts to violate: a
// rule it did not violate at the last judgement (or, after a restart, in the report read
// at start). A standing violation is not announced again.
func (a *Auditor) announce(obj policy.Object, old, j *judged) {
	if a.Events == nil {
		return
	}
	before := sets.New[string]()
	if old != nil {
		for _, f := range old.findings {
			if f.Action == policy.ActionDeny {
				before.Insert(f.Rule)
			}
		}
	} else if d, ok := a.denied[j.ref.UID]; ok {
		before = d
	}
	for _, f := range j.findings {
		if f.Action != policy.ActionDeny || before.Has(f.Rule) {
			continue
		}
		before.Insert(f.Rule)
		a.Events.Eventf(obj, nil, corev1.EventTypeWarning, "PolicyViolation", "Audit", "%s", truncate(
			"stored object violates "+f.String()+" (sctpguard would deny it now; see the PolicyReports "+ReportName+"* of this namespace)"))
	}
}

// seed reads sctpguard's existing reports: what they say (so an unchanged report is not
// written again), when their results were found, and which deny rules each object already
// violated (so a restart announces nothing again).
func (a *Auditor) seed(ctx context.Context) error {
	written := map[string][]content{}
	for _, l := range reportLists() {
		if err := a.Reports.List(ctx, l, client.MatchingLabels{ManagedByLabel: ManagedBy}); err != nil {
			return fmt.Errorf("read sctpguard's reports (are the wgpolicyk8s.io CRDs installed? the chart's audit.installCRDs does it): %w", err)
		}
		maps.Copy(written, contents(l))
	}
	a.written = written
	if !a.synced {
		a.seeds, a.denied = map[resultKey]metav1.Timestamp{}, map[types.UID]sets.Set[string]{}
		for _, c := range slices.Concat(slices.Collect(maps.Values(written))...) {
			for _, r := range c.Results {
				for _, s := range r.Subjects {
					f := policy.Finding{Rule: r.Rule, Path: r.Properties[PropertyPath], Message: r.Description}
					a.seeds[keyOf(s.UID, f)] = r.Timestamp
					if r.Result == "fail" {
						if a.denied[s.UID] == nil {
							a.denied[s.UID] = sets.New[string]()
						}
						a.denied[s.UID].Insert(r.Rule)
					}
				}
			}
		}
	}
	a.seeded = true
	return nil
}

// flush writes a namespace's reports that differ from what was last written: applied
// (server-side apply, sctpguard's field manager owning the whole report) when they have
// results, deleted when they have none, as when the namespace needs fewer reports than before
// (reportContents). Each is recorded as written as it goes, so a failure retries the rest.
func (a *Auditor) flush(ctx context.Context, namespace string) error {
	if !a.synced {
		return nil // the first full pass writes every report
	}
	if !a.seeded {
		if err := a.seed(ctx); err != nil {
			return err
		}
		for ns := range a.written {
			a.dirty.Insert(ns)
		}
		for ns := range a.state {
			a.dirty.Insert(ns)
		}
		for ns := range a.dirty {
			a.queue.Add(item{what: writeReport, namespace: ns})
		}
	}
	objs := make([]*judged, 0, len(a.state[namespace]))
	for _, j := range a.state[namespace] {
		objs = append(objs, j)
	}
	last := a.written[namespace]
	want := reportContents(objs, cmp.Or(a.MaxResults, DefaultMaxResults), last)
	written := slices.Clone(last)
	if n := len(want) - len(written); n > 0 {
		written = append(written, make([]content, n)...)
	}
	defer func() {
		// What stands now, without the parts deleted at the end.
		for len(written) > 0 && len(written[len(written)-1].Results) == 0 {
			written = written[:len(written)-1]
		}
		if len(written) == 0 {
			delete(a.written, namespace)
		} else {
			a.written[namespace] = written
		}
	}()
	for part := range written {
		var c content
		if part < len(want) {
			c = want[part]
		}
		if c.equal(written[part]) {
			continue
		}
		r, err := reportObject(namespace, part, c)
		if err != nil {
			return err
		}
		if len(c.Results) == 0 {
			if err := a.Reports.Delete(ctx, r); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete the report %s of %q: %w", r.GetName(), namespace, err)
			}
			written[part] = content{}
			a.wrote(false)
			a.Log.Info("report deleted: no findings left for it", "namespace", namespace, "name", r.GetName())
			continue
		}
		if err := a.Reports.Apply(ctx, client.ApplyConfigurationFromUnstructured(r), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("write the report %s of %q: %w", r.GetName(), namespace, err)
		}
		written[part] = c
		a.wrote(true)
		a.Log.Info("report written", "namespace", namespace, "name", r.GetName(), "fail", c.Summary.Fail, "warn", c.Summary.Warn)
	}
	a.dirty.Delete(namespace)
	return nil
}

func (a *Auditor) wrote(apply bool) {
	op := "delete"
	if apply {
		op = "apply"
	}
	a.Metrics.wrote(op)
	a.mu.Lock()
	defer a.mu.Unlock()
	if apply {
		a.stats.Applies++
	} else {
		a.stats.Deletes++
	}
}
