package translator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// LeaseName is the leader election Lease: only its holder talks to the controller.
const LeaseName = "sctpguard-translator"

// DefaultCredentialsDir is where the chart mounts the Avi credentials Secret.
const DefaultCredentialsDir = "/etc/sctpguard/avi" //nolint:gosec // G101: a directory path, not a credential

// Options configure the translator of `sctpguard serve`.
type Options struct {
	// Enabled turns the translator on.
	Enabled bool
	// Controller is the Avi Controller address; empty means AKO's controllerHost.
	Controller string
	// CredentialsDir holds the Avi credentials as files (a mounted Secret, like AKO's
	// avi-secret): username, password and optionally certificateAuthorityData (PEM). They
	// are re-read at every login, so a rotated Secret is picked up.
	CredentialsDir string
	// InsecureSkipVerify turns off the verification of the controller's certificate.
	InsecureSkipVerify bool
	// BasicAuth sends the credentials on each request instead of logging in.
	BasicAuth bool
	// APIVersion is the X-Avi-Version sent; at least 22.1.3.
	APIVersion string
	// Workers is the number of units synced at once.
	Workers int
	// Timeout bounds one request to the controller.
	Timeout time.Duration
	// SlowRetry is the slow retry period (avi-translation.md §10).
	SlowRetry time.Duration
	// SyncAKOClass syncs the Services and Gateways of AKO's class too, as well as those of
	// sctpguard's own class: only for clusters where AKO does not run (avi-translation.md §2).
	SyncAKOClass bool
	// DryRun computes and reports the plans and writes nothing to the controller or to the
	// objects' status.
	DryRun bool
}

// Class values of the translator's metrics' class label: the classes it syncs, as the
// chart's translator.classes names them.
const (
	// ClassesSCTPGuard: sctpguard's own class (loadBalancerClass and GatewayClass controller
	// sctpguard.io/avi-sctp), beside AKO.
	ClassesSCTPGuard = "sctpguard"
	// ClassesSCTPGuardAndAKO: AKO's class too (SyncAKOClass), in AKO's place.
	ClassesSCTPGuardAndAKO = "sctpguard-and-ako"
)

// Classes names the classes the translator syncs: ClassesSCTPGuard or ClassesSCTPGuardAndAKO.
func (o *Options) Classes() string {
	if o.SyncAKOClass {
		return ClassesSCTPGuardAndAKO
	}
	return ClassesSCTPGuard
}

// MetricsRegisterer registers the translator's metrics with reg, each with the label
// class=Classes(): a dashboard tells a translator beside AKO from one in its place, whose
// syncs and Avi requests cover AKO's objects too.
func (o *Options) MetricsRegisterer(reg prometheus.Registerer) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"class": o.Classes()}, reg)
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{APIVersion: avi.MinSCTPVersion, Workers: 4, Timeout: avi.DefaultTimeout, SlowRetry: DefaultSlowRetry,
		CredentialsDir: DefaultCredentialsDir}
}

// Validate checks the options.
func (o *Options) Validate() field.ErrorList {
	var errs field.ErrorList
	if !o.Enabled {
		return nil
	}
	if o.CredentialsDir == "" {
		errs = append(errs, field.Required(field.NewPath("avi-credentials-dir"), "the directory of the Avi credentials Secret"))
	}
	if c, err := avi.CompareVersions(o.APIVersion, avi.MinSCTPVersion); err != nil || c < 0 {
		errs = append(errs, field.Invalid(field.NewPath("avi-api-version"), o.APIVersion, "must be a version of 22.1.3 or later, the first with SCTP"))
	}
	if o.Workers < 1 || o.Workers > 64 {
		errs = append(errs, field.Invalid(field.NewPath("translator-workers"), o.Workers, "must be between 1 and 64"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("avi-timeout"), o.Timeout.String(), "must be positive"))
	}
	return errs
}

// credentials reads the credentials files.
func (o *Options) credentials() (avi.Credentials, error) {
	read := func(name string) (string, error) {
		data, err := os.ReadFile(filepath.Join(o.CredentialsDir, name))
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(data)), nil
	}
	user, err := read("username")
	if err != nil {
		return avi.Credentials{}, fmt.Errorf("read the Avi username: %w", err)
	}
	pass, err := read("password")
	if err != nil {
		return avi.Credentials{}, fmt.Errorf("read the Avi password: %w", err)
	}
	return avi.Credentials{Username: user, Password: pass}, nil
}

// newController returns a client for the settings.
func (o *Options) newController(log logr.Logger, metrics *Metrics) func(policy.Context) (Controller, error) {
	return func(settings policy.Context) (Controller, error) {
		host := o.Controller
		if host == "" && settings.AKO != nil {
			host = settings.AKO.ControllerHost
		}
		if host == "" {
			return nil, errors.New("no Avi Controller address: set --avi-controller or AKO's ControllerSettings.controllerHost")
		}
		ca, err := os.ReadFile(filepath.Join(o.CredentialsDir, "certificateAuthorityData"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read the Avi CA: %w", err)
		}
		cfg := avi.Config{
			Host: host, Credentials: o.credentials, Tenant: settings.AKO.Tenant(), APIVersion: o.APIVersion,
			CAData: ca, InsecureSkipVerify: o.InsecureSkipVerify, BasicAuth: o.BasicAuth, Timeout: o.Timeout,
			Log: log.WithName("avi"),
		}
		if metrics != nil {
			cfg.Observe = metrics.ObserveRequest
		}
		return avi.NewClient(cfg)
	}
}

// Setup adds the translator to a manager: the leader-only controller that syncs units and
// the runner that connects it to the Avi Controller. inv is the webhook's inventory (its
// cache); the built-in rules re-check inputs under cfg, the webhook's rule configuration;
// settings returns the AKO context as followed.
func Setup(ctx context.Context, mgr manager.Manager, o *Options, inv policy.Inventory, cfg policy.Config, settings func() policy.Context, log logr.Logger) error {
	if errs := o.Validate(); len(errs) > 0 {
		return errs.ToAggregate()
	}
	engine, err := policy.NewEngine(cfg)
	if err != nil {
		return err
	}
	src, err := NewCacheSource(ctx, mgr, inv)
	if err != nil {
		return err
	}
	metrics, err := NewMetrics(o.MetricsRegisterer(crmetrics.Registry))
	if err != nil {
		return fmt.Errorf("register translator metrics: %w", err)
	}
	rec := &Reconciler{
		Kube: mgr.GetClient(), Source: src, Engine: engine, Context: settings,
		Events: mgr.GetEventRecorder("sctpguard-translator"), Log: log.WithName("reconcile"),
		SlowRetry: o.SlowRetry, Metrics: metrics, SyncAKOClass: o.SyncAKOClass, DryRun: o.DryRun,
	}
	c, err := controller.NewTyped[UnitKey]("sctpguard-translator", mgr, controller.TypedOptions[UnitKey]{
		Reconciler:              rec,
		MaxConcurrentReconciles: o.Workers,
		NeedLeaderElection:      ptr.To(true),
		// Unit keys are not object keys: the controller's own logging names them.
		LogConstructor: func(k *UnitKey) logr.Logger {
			if k == nil {
				return log
			}
			return log.WithValues("unit", k.String())
		},
	})
	if err != nil {
		return fmt.Errorf("create the translator controller: %w", err)
	}
	trigger := make(chan event.TypedGenericEvent[UnitKey], 1024)
	m := mapper{rec: rec, src: src}
	watches := []source.TypedSource[UnitKey]{
		source.TypedKind(mgr.GetCache(), &corev1.Service{}, handler.TypedEnqueueRequestsFromMapFunc(m.service)),
		source.TypedKind(mgr.GetCache(), &discoveryv1.EndpointSlice{}, handler.TypedEnqueueRequestsFromMapFunc(m.endpointSlice)),
		source.TypedKind(mgr.GetCache(), &corev1.Node{}, handler.TypedEnqueueRequestsFromMapFunc(m.node), nodeChanged()),
		source.TypedChannel(trigger, handler.TypedFuncs[UnitKey, UnitKey]{
			GenericFunc: func(_ context.Context, e event.TypedGenericEvent[UnitKey], q workqueue.TypedRateLimitingInterface[UnitKey]) {
				q.Add(e.Object)
			},
		}),
	}
	// AKO's AviInfraSettings, L4Rules and the Namespaces that name AviInfraSettings shape
	// the units that use them.
	watches = append(watches, source.TypedKind(mgr.GetCache(), &corev1.Namespace{}, handler.TypedEnqueueRequestsFromMapFunc(m.namespace), annotationsChanged[*corev1.Namespace]()))
	if err := src.Discover(func(o client.Object) error {
		w, err := m.source(mgr.GetCache(), o)
		watches = append(watches, w)
		return err
	}); err != nil {
		return err
	}
	for _, w := range watches {
		if err := c.Watch(w); err != nil {
			return fmt.Errorf("watch for the translator: %w", err)
		}
	}
	// CRDs installed after start are watched from the next look, without a restart.
	err = mgr.Add(&kindWatcher{
		discover: src.Discover, every: rediscoverEvery, log: log.WithName("kinds"),
		watch: func(o client.Object) error {
			w, err := m.source(mgr.GetCache(), o)
			if err != nil {
				return err
			}
			return c.Watch(w)
		},
	})
	if err != nil {
		return err
	}
	return mgr.Add(&Runner{
		Reconciler: rec, NewController: o.newController(log, metrics), Trigger: trigger,
		WaitForCache: mgr.GetCache().WaitForCacheSync, Log: log.WithName("runner"),
	})
}

// rediscoverEvery is how often the kind watcher looks for CRDs installed after start.
const rediscoverEvery = 10 * time.Second

// kindWatcher watches the optional kinds (AKO's CRDs, networking.x-k8s.io's) that the
// cluster starts to serve after sctpguard: their informers' first list enqueues the units
// their objects shape, and later changes reshape them, as for the kinds served at start.
// It runs with the controller, on the leader.
type kindWatcher struct {
	discover func(watch func(client.Object) error) error
	watch    func(client.Object) error
	every    time.Duration
	log      logr.Logger
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (w *kindWatcher) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable; a failed look is logged and tried again at the next.
func (w *kindWatcher) Start(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := w.discover(func(o client.Object) error {
			if err := w.watch(o); err != nil {
				return err
			}
			w.log.Info("kind installed after start, now watched", "kind", fmt.Sprintf("%T", o))
			return nil
		})
		if err != nil {
			w.log.Error(err, "looking for kinds installed after start; trying again", "in", w.every)
		}
	}
}

// source is the watch of an optional kind, mapping its objects to the units they shape.
func (m mapper) source(c cache.Cache, o client.Object) (source.TypedSource[UnitKey], error) {
	switch o.(type) {
	case *akov1alpha2.L4Rule:
		return source.TypedKind(c, &akov1alpha2.L4Rule{}, handler.TypedEnqueueRequestsFromMapFunc(m.l4Rule)), nil
	case *akov1beta1.AviInfraSetting:
		return source.TypedKind(c, &akov1beta1.AviInfraSetting{}, handler.TypedEnqueueRequestsFromMapFunc(allUnits[*akov1beta1.AviInfraSetting](m))), nil
	case *akov1alpha1.AviInfraSetting:
		return source.TypedKind(c, &akov1alpha1.AviInfraSetting{}, handler.TypedEnqueueRequestsFromMapFunc(allUnits[*akov1alpha1.AviInfraSetting](m))), nil
	case *svcapi.Gateway:
		return source.TypedKind(c, &svcapi.Gateway{}, handler.TypedEnqueueRequestsFromMapFunc(m.gateway)), nil
	case *svcapi.GatewayClass:
		return source.TypedKind(c, &svcapi.GatewayClass{}, handler.TypedEnqueueRequestsFromMapFunc(m.gatewayClass)), nil
	}
	return nil, fmt.Errorf("the translator does not watch %T", o)
}

// mapper turns watch events into the unit keys they affect, and resets their retry
// counters (an input changed).
type mapper struct {
	rec *Reconciler
	src Source
}

func (m mapper) keys(keys ...UnitKey) []UnitKey {
	for _, k := range keys {
		m.rec.resetFailures(k)
	}
	return keys
}

// service maps a Service to its own unit, its shared-VIP unit and the Gateway unit its
// labels name; the handler maps the old and the new object of an update, so a changed key
// or label enqueues both units.
func (m mapper) service(_ context.Context, svc *corev1.Service) []UnitKey {
	keys := []UnitKey{{Kind: KindService, Namespace: svc.Namespace, Name: svc.Name}}
	if key := svc.Annotations[policy.AnnotationSharedVIP]; key != "" {
		keys = append(keys, UnitKey{Kind: KindSharedVIP, Namespace: svc.Namespace, Name: key})
	}
	if gw := svc.Labels[policy.LabelGatewayName]; gw != "" {
		ns := svc.Labels[policy.LabelGatewayNamespace]
		if ns == "" {
			ns = svc.Namespace
		}
		keys = append(keys, UnitKey{Kind: KindGateway, Namespace: ns, Name: gw})
	}
	return m.keys(keys...)
}

func (m mapper) endpointSlice(ctx context.Context, es *discoveryv1.EndpointSlice) []UnitKey {
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	svc, err := m.src.Service(es.Namespace, name)
	if err != nil || svc == nil {
		return nil
	}
	return m.service(ctx, svc)
}

// node maps a Node to every unit, in NodePort mode only, and in NodePortLocal mode, where
// sctpguard serves its own class through the nodes.
func (m mapper) node(context.Context, *corev1.Node) []UnitKey {
	settings := m.rec.Context()
	if settings.AKO == nil || (settings.AKO.ServiceType != policy.ServiceTypeNodePort && settings.AKO.ServiceType != policy.ServiceTypeNodePortLocal) {
		return nil
	}
	return m.keys(m.all()...)
}

// all returns every unit that may be in scope.
func (m mapper) all() []UnitKey {
	keys, err := (&Builder{Context: m.rec.Context(), Source: m.src, SyncAKOClass: m.rec.SyncAKOClass}).Keys()
	if err != nil {
		return nil
	}
	return keys
}

func (m mapper) gateway(_ context.Context, gw *svcapi.Gateway) []UnitKey {
	return m.keys(UnitKey{Kind: KindGateway, Namespace: gw.Namespace, Name: gw.Name})
}

func (m mapper) gatewayClass(_ context.Context, gc *svcapi.GatewayClass) []UnitKey {
	gws, err := m.src.Gateways()
	if err != nil {
		return nil
	}
	var keys []UnitKey
	for _, gw := range gws {
		if gw.Spec.GatewayClassName == gc.Name {
			keys = append(keys, UnitKey{Kind: KindGateway, Namespace: gw.Namespace, Name: gw.Name})
		}
	}
	return m.keys(keys...)
}

// allUnits maps any change of an object (an AviInfraSetting: it may be named by Services,
// Namespaces and GatewayClasses alike) to every unit.
func allUnits[T client.Object](m mapper) handler.TypedMapFunc[T, UnitKey] {
	return func(context.Context, T) []UnitKey { return m.keys(m.all()...) }
}

// namespace maps a Namespace to the units in it: its annotations name their AviInfraSetting
// and their tenant.
func (m mapper) namespace(_ context.Context, ns *corev1.Namespace) []UnitKey {
	return m.keys(slices.DeleteFunc(m.all(), func(k UnitKey) bool { return k.Namespace != ns.Name })...)
}

// l4Rule maps an L4Rule to the units of the Services that name it.
func (m mapper) l4Rule(ctx context.Context, r *akov1alpha2.L4Rule) []UnitKey {
	svcs, err := m.src.Services()
	if err != nil {
		return nil
	}
	var keys []UnitKey
	for _, svc := range svcs {
		if ref, ok := policy.ServiceL4RuleRef(svc); ok && ref.Namespace == r.Namespace && ref.Name == r.Name {
			keys = append(keys, m.service(ctx, svc)...)
		}
	}
	return keys
}

// annotationsChanged passes creations, deletions and the updates that change annotations.
func annotationsChanged[T client.Object]() predicate.TypedPredicate[T] {
	return predicate.TypedFuncs[T]{
		UpdateFunc: func(e event.TypedUpdateEvent[T]) bool {
			return !equalJSON(e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations())
		},
	}
}

// nodeChanged passes Node events that change what pools are built from: addresses and
// labels. Status heartbeats, which update every Node every few seconds, do not pass.
func nodeChanged() predicate.TypedPredicate[*corev1.Node] {
	return predicate.TypedFuncs[*corev1.Node]{
		UpdateFunc: func(e event.TypedUpdateEvent[*corev1.Node]) bool {
			return !equalJSON(e.ObjectOld.Labels, e.ObjectNew.Labels) || !equalJSON(e.ObjectOld.Status.Addresses, e.ObjectNew.Status.Addresses)
		},
	}
}
