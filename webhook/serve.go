package webhook

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sctpguard/sctpguard/internal/akosettings"
	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/rego"
	"github.com/sctpguard/sctpguard/webhook/audit"
)

// Platform values of Options.Platform.
const (
	PlatformAuto = "auto"
	PlatformNone = "none"
)

// Options configure `sctpguard serve`.
type Options struct {
	// Kubeconfig is a kubeconfig file; empty means in-cluster or $KUBECONFIG.
	Kubeconfig string
	// Host, Port, CertDir, CertName and KeyName place the TLS webhook server. The certificate
	// files are reloaded when they change.
	Host     string
	Port     int
	CertDir  string
	CertName string
	KeyName  string
	// MetricsAddr serves Prometheus metrics ("0" disables); MetricsSecure serves them over
	// HTTPS to authenticated and authorized clients only.
	MetricsAddr   string
	MetricsSecure bool
	// HealthAddr serves /healthz and /readyz.
	HealthAddr string
	// AKOConfigMapNamespace and AKOConfigMapName name AKO's ConfigMap, followed for the context.
	AKOConfigMapNamespace string
	AKOConfigMapName      string
	// AKOGuard serves the guard on AKO's ConfigMap (its configuration, the chart's, calls it)
	// and caches what it judges besides what the webhooks read: NetworkPolicies.
	AKOGuard bool
	// AKOGuardDeny makes the guard on AKO's ConfigMap refuse a change that breaks stored
	// objects (it warns by default); AKOGuardDeadline bounds its judgement, under its
	// configuration's timeoutSeconds.
	AKOGuardDeny     bool
	AKOGuardDeadline time.Duration
	// Platform is auto (OpenShift when the cluster serves MachineConfigs), openshift or none.
	Platform string
	// CNI and ControllerVersion, when set, override AKO's ConfigMap.
	CNI               string
	ControllerVersion string
	// ServiceAccount is "namespace/name" of sctpguard's own service account; its requests are
	// allowed without review.
	ServiceAccount string
	// PolicyNamespace holds the ConfigMaps labelled sctpguard.io/policy with user policies;
	// only sctpguard's own namespace should, so that no tenant can add policies.
	PolicyNamespace string
	// PolicyTimeout bounds the user policies' evaluation of one review; OnPolicyError is
	// what a failing policy does (warn: admit with a warning, or deny).
	PolicyTimeout time.Duration
	OnPolicyError string
	// LeaderElection elects one replica (the Lease LeaderElectionID in
	// LeaderElectionNamespace, default PolicyNamespace) to run the leader-only parts: the
	// translator. The webhooks are served by every replica.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// ConfigFile holds a policy.Config in YAML; Disable, Warn and ExemptNamespaces add to it.
	ConfigFile       string
	Disable          []string
	Enable           []string
	Warn             []string
	ExemptNamespaces []string
	// SelfSignedCerts makes sctpguard issue and rotate its own CA and serving certificate
	// instead of reading CertDir: they live in the Secret CertSecret of PolicyNamespace,
	// shared by the replicas, and sctpguard patches the caBundle of the mutating and the
	// validating webhook configuration named WebhookConfiguration. The serving certificate
	// names the Service WebhookService of PolicyNamespace and CertExtraSANs (DNS names or IP
	// addresses); it lives CertValidity, the CA CAValidity.
	SelfSignedCerts      bool
	CertSecret           string
	WebhookConfiguration string
	WebhookService       string
	CertExtraSANs        []string
	CertValidity         time.Duration
	CAValidity           time.Duration
	// ReadTimeout and WriteTimeout bound reading a request and judging and answering it,
	// well under the API server's webhook timeout; MaxConnections bounds the connections
	// served at once (see ServerOptions).
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	MaxConnections int
	// ShutdownDelay is how long a stopping replica keeps serving while it is not ready, so
	// that the endpoints drop it before it stops accepting (kube-proxy and the API server's
	// connections follow the endpoints with a delay); ShutdownTimeout then bounds the wait
	// for requests in flight.
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
	// OptOutLabel and ExcludeNamespaces are the namespaces the webhook configurations skip
	// (their namespaceSelector: the label set to "true", the names listed); the audit and
	// the guard on AKO's ConfigMap skip the same, so that they report what admission judges.
	// The chart passes its webhook.optOutLabel and its excluded namespaces.
	OptOutLabel       string
	ExcludeNamespaces []string
	// Audit configures the continuous audit of the stored objects (PolicyReports); it
	// runs on the elected replica, with leader election on whenever it is enabled.
	Audit AuditOptions
}

// Defaults of the self-signed certificates.
const (
	// DefaultCertSecret is the Secret that holds them.
	DefaultCertSecret = "sctpguard-webhook-tls" //nolint:gosec // G101: the name of a Secret, not a credential

	// DefaultCertValidity: 90 days, renewed after 60, so the renewal runs often enough to be
	// known to work, and a leaked key is good for weeks, not years.
	DefaultCertValidity = 90 * 24 * time.Hour
	// DefaultCAValidity: 5 years (365-day years), rotated after 3 years 4 months.
	DefaultCAValidity = 5 * 365 * 24 * time.Hour
	// DefaultShutdownDelay covers the endpoints' propagation: the kubelet marks the pod not
	// ready within a readiness period (5 s in the chart), then the EndpointSlice controller and
	// kube-proxy follow within seconds.
	DefaultShutdownDelay = 10 * time.Second
	// MinCertValidity keeps a CA rotation's steps (a twelfth of the lifetime) seconds long
	// at least: the API server and the replicas must see each step before the next.
	MinCertValidity = time.Minute
)

// NewOptions returns the defaults. The service account defaults to the pod's, from the
// SCTPGUARD_NAMESPACE and SCTPGUARD_SERVICE_ACCOUNT environment variables the chart sets.
func NewOptions() *Options {
	o := &Options{
		Port: 9443, CertName: "tls.crt", KeyName: "tls.key",
		MetricsAddr: ":8443", MetricsSecure: true, HealthAddr: ":8081",
		AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config", AKOGuard: true, AKOGuardDeadline: DefaultAKOGuardDeadline,
		OptOutLabel: OptOutLabel, Platform: PlatformAuto, PolicyNamespace: "sctpguard",
		PolicyTimeout: rego.DefaultTimeout, OnPolicyError: string(policy.ActionWarn),
		CertSecret: DefaultCertSecret, WebhookConfiguration: "sctpguard", WebhookService: "sctpguard",
		CertValidity: DefaultCertValidity, CAValidity: DefaultCAValidity,
		ReadTimeout: DefaultReadTimeout, WriteTimeout: DefaultWriteTimeout, MaxConnections: DefaultMaxConnections,
		ShutdownDelay: DefaultShutdownDelay, ShutdownTimeout: DefaultShutdownTimeout,
	}
	o.Audit = AuditOptions{Enabled: true, Resync: audit.DefaultResync, MaxResults: audit.DefaultMaxResults}
	if ns := os.Getenv("SCTPGUARD_NAMESPACE"); ns != "" {
		o.PolicyNamespace = ns
		if sa := os.Getenv("SCTPGUARD_SERVICE_ACCOUNT"); sa != "" {
			o.ServiceAccount = ns + "/" + sa
		}
	}
	return o
}

// Validate checks the options.
func (o *Options) Validate() field.ErrorList {
	var errs field.ErrorList
	if o.Port < 1 || o.Port > 65535 {
		errs = append(errs, field.Invalid(field.NewPath("port"), o.Port, "must be between 1 and 65535"))
	}
	if o.AKOConfigMapNamespace == "" || o.AKOConfigMapName == "" {
		errs = append(errs, field.Required(field.NewPath("ako-configmap-name"), "AKO's ConfigMap needs a namespace and a name"))
	}
	for _, msg := range validation.IsQualifiedName(o.OptOutLabel) {
		errs = append(errs, field.Invalid(field.NewPath("opt-out-label"), o.OptOutLabel, msg))
	}
	if !slices.Contains([]string{PlatformAuto, PlatformNone, policy.PlatformOpenShift}, o.Platform) {
		errs = append(errs, field.NotSupported(field.NewPath("platform"), o.Platform, []string{PlatformAuto, policy.PlatformOpenShift, PlatformNone}))
	}
	if o.OnPolicyError != string(policy.ActionWarn) && o.OnPolicyError != string(policy.ActionDeny) {
		errs = append(errs, field.NotSupported(field.NewPath("on-policy-error"), o.OnPolicyError, []string{"warn", "deny"}))
	}
	if o.PolicyNamespace == "" {
		errs = append(errs, field.Required(field.NewPath("policy-namespace"), "the namespace of the policy ConfigMaps"))
	}
	if o.LeaderElection && o.LeaderElectionID == "" {
		errs = append(errs, field.Required(field.NewPath("leader-election-id"), "the Lease name of the leader election"))
	}
	if o.ServiceAccount != "" {
		if ns, name, ok := strings.Cut(o.ServiceAccount, "/"); !ok || ns == "" || name == "" {
			errs = append(errs, field.Invalid(field.NewPath("service-account"), o.ServiceAccount, "must be namespace/name"))
		}
	}
	if o.SelfSignedCerts {
		errs = append(errs, o.validateSelfSigned()...)
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"read-timeout", o.ReadTimeout}, {"write-timeout", o.WriteTimeout}} {
		if d.value < 200*time.Millisecond || d.value > 30*time.Second {
			errs = append(errs, field.Invalid(field.NewPath(d.name), d.value.String(), "must be between 200ms and 30s, under the webhook configurations' timeoutSeconds"))
		}
	}
	if o.AKOGuardDeadline <= 0 || o.AKOGuardDeadline > 29*time.Second {
		errs = append(errs, field.Invalid(field.NewPath("ako-guard-deadline"), o.AKOGuardDeadline.String(), "must be positive and under the guard's timeoutSeconds (at most 30s)"))
	}
	if o.MaxConnections < 1 {
		errs = append(errs, field.Invalid(field.NewPath("max-connections"), o.MaxConnections, "must be at least 1"))
	}
	if o.Audit.Enabled && o.Audit.Resync < time.Minute {
		errs = append(errs, field.Invalid(field.NewPath("audit-resync"), o.Audit.Resync.String(), "must be at least 1m: the audit follows every change, the resync is a safety net"))
	}
	if o.Audit.Enabled && (o.Audit.MaxResults < 1 || o.Audit.MaxResults > audit.MaxResultsLimit) {
		errs = append(errs, field.Invalid(field.NewPath("audit-max-results"), o.Audit.MaxResults,
			fmt.Sprintf("must be between 1 and %d: a PolicyReport of more results may outgrow etcd's object size", audit.MaxResultsLimit)))
	}
	if o.ShutdownDelay < 0 || o.ShutdownTimeout < 0 {
		errs = append(errs, field.Invalid(field.NewPath("shutdown-delay"), o.ShutdownDelay.String(), "shutdown durations cannot be negative"))
	}
	return errs
}

func (o *Options) validateSelfSigned() field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		path, value string
		check       func(string) []string
	}{
		{"cert-secret", o.CertSecret, validation.IsDNS1123Subdomain},
		{"webhook-configuration", o.WebhookConfiguration, validation.IsDNS1123Subdomain},
		{"webhook-service", o.WebhookService, validation.IsDNS1035Label},
	} {
		if f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.path), "needed with --self-signed-certs"))
			continue
		}
		for _, msg := range f.check(f.value) {
			errs = append(errs, field.Invalid(field.NewPath(f.path), f.value, msg))
		}
	}
	for i, san := range o.CertExtraSANs {
		if net.ParseIP(san) == nil && len(validation.IsDNS1123Subdomain(san)) > 0 && len(validation.IsWildcardDNS1123Subdomain(san)) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("cert-extra-sans").Index(i), san, "must be an IP address or a DNS name"))
		}
	}
	if o.CertValidity < MinCertValidity {
		errs = append(errs, field.Invalid(field.NewPath("cert-validity"), o.CertValidity.String(), "must be at least "+MinCertValidity.String()))
	}
	if o.CAValidity < 2*o.CertValidity {
		errs = append(errs, field.Invalid(field.NewPath("ca-validity"), o.CAValidity.String(), "must be at least twice --cert-validity ("+(2*o.CertValidity).String()+")"))
	}
	return errs
}

// CertConfig returns what the self-signed serving certificate names and how long the
// certificates live. The API server calls <service>.<namespace>.svc.
func (o *Options) CertConfig() CertConfig {
	c := CertConfig{
		DNSNames: []string{
			o.WebhookService + "." + o.PolicyNamespace + ".svc",
			o.WebhookService + "." + o.PolicyNamespace + ".svc.cluster.local",
		},
		CAValidity: o.CAValidity, CertValidity: o.CertValidity,
	}
	for _, san := range o.CertExtraSANs {
		if ip := net.ParseIP(san); ip != nil {
			c.IPs = append(c.IPs, ip)
		} else {
			c.DNSNames = append(c.DNSNames, san)
		}
	}
	return c
}

// self is the username of sctpguard's own service account.
func (o *Options) self() string {
	if o.ServiceAccount == "" {
		return ""
	}
	ns, name, _ := strings.Cut(o.ServiceAccount, "/")
	return "system:serviceaccount:" + ns + ":" + name
}

// skipped returns whether the webhook configurations skip a namespace: one excluded, or one
// whose OptOutLabel is "true" in inv.
func (o *Options) skipped(inv policy.Inventory) func(namespace string) bool {
	return func(namespace string) bool {
		if slices.Contains(o.ExcludeNamespaces, namespace) {
			return true
		}
		ns, err := inv.Namespace(namespace)
		return err == nil && ns != nil && ns.Labels[o.OptOutLabel] == "true"
	}
}

func (o *Options) restConfig() (*rest.Config, error) {
	if o.Kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	}
	return ctrl.GetConfig()
}

// PolicyConfig returns the rule configuration: the file's, plus the flags'.
func (o *Options) PolicyConfig() (policy.Config, error) {
	return policy.LoadConfig(o.ConfigFile, policy.Config{Disabled: o.Disable, Enable: o.Enable, Warn: o.Warn, ExemptNamespaces: o.ExemptNamespaces})
}

// Replica is the webhook server of one replica, built and not started: its manager, which
// other parts (the translator) join before Start, the cache they may read, and AKO's
// settings as followed.
type Replica struct {
	// Manager runs the webhooks, the followers and whatever joins it.
	Manager manager.Manager
	// Cache is the inventory backed by the manager's cache alone (no consistent reads): for
	// the translator's many reads.
	Cache policy.Inventory
	// PolicyConfig is the rule configuration in force.
	PolicyConfig policy.Config

	env  *Environment
	opts *Options
	log  logr.Logger
	// draining turns the replica not ready when a stop begins.
	draining *atomic.Bool
}

// Settings returns the settings the webhooks judge with: AKO's, as last read from its
// ConfigMap, the platform and the flags' CNI and controller version.
func (s *Replica) Settings() policy.Context { return s.env.Env().Context }

// Start serves until ctx is done. A stop leaves the endpoints first, then drains: on ctx's
// end the replica turns not ready and keeps serving for ShutdownDelay, while the endpoints
// drop it; only then does the manager stop, the webhook server letting requests in flight
// finish.
func (s *Replica) Start(ctx context.Context) error {
	o, log := s.opts, s.log
	mgrCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		select {
		case <-mgrCtx.Done():
			return
		case <-ctx.Done():
		}
		s.draining.Store(true)
		log.Info("stopping: not ready, serving on while the endpoints drop this replica", "shutdownDelay", o.ShutdownDelay)
		select {
		case <-time.After(o.ShutdownDelay):
		case <-mgrCtx.Done():
		}
		stop()
	}()
	log.Info("serving", "address", fmt.Sprintf("%s:%d", o.Host, o.Port), "validate", ValidatePath, "mutate", MutatePath, "akoConfigMap", o.AKOConfigMapNamespace+"/"+o.AKOConfigMapName)
	return s.Manager.Start(mgrCtx)
}

// New builds the webhook server of one replica: its manager (leader election when the
// options ask for it), certificates, user policies, AKO's settings, handlers and health.
func New(ctx context.Context, o *Options, log logr.Logger) (*Replica, error) {
	if errs := o.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	cfg, err := o.PolicyConfig()
	if err != nil {
		return nil, err
	}
	// The built-in rules are in force from the start; user policies join once loaded.
	engine, err := policy.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	leaderElection, leaseID := o.leaderElection()
	engines := &Engines{}
	engines.Set(engine)
	restConfig, err := o.restConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	clientset, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	metricsOpts := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: o.MetricsSecure}
	if o.MetricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	tlsOpts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }}
	var certs *SelfSigned
	if o.SelfSignedCerts {
		certs = &SelfSigned{
			Client: clientset, Namespace: o.PolicyNamespace, Secret: o.CertSecret, Configuration: o.WebhookConfiguration,
			Guard: AKOGuardName(o.WebhookConfiguration), Config: o.CertConfig(), Log: log.WithName("certs"),
		}
		// With GetCertificate set, the webhook server reads no certificate files.
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.GetCertificate = certs.GetCertificate })
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 policy.Scheme(),
		Logger:                 log,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.HealthAddr,
		WebhookServer: NewServer(ServerOptions{
			Host: o.Host, Port: o.Port, CertDir: o.CertDir, CertName: o.CertName, KeyName: o.KeyName,
			TLSOpts: tlsOpts, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, MaxConnections: o.MaxConnections,
			ShutdownTimeout: o.ShutdownTimeout,
		}, log.WithName("server")),
		// The manager's own wait covers the webhook server's.
		GracefulShutdownTimeout: ptr.To(o.ShutdownTimeout + 5*time.Second),
		// Only what rules read is kept, without managed fields.
		// ConfigMaps, Secrets and webhook configurations: only those read, by name or label.
		Cache:                   cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: CacheByObject(o)},
		LeaderElection:          leaderElection,
		LeaderElectionID:        leaseID,
		LeaderElectionNamespace: cmp.Or(o.LeaderElectionNamespace, o.PolicyNamespace),
		// Hand the Lease over at once on a clean shutdown (rolling update), instead of
		// letting the next leader wait out the lease.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	inv, err := NewCacheInventory(ctx, mgr, log.WithName("inventory"))
	if err != nil {
		return nil, err
	}
	log.Info("cluster", "serves", inv.Served())
	metrics, err := NewMetrics(crmetrics.Registry)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	base := policy.Context{CNI: o.CNI, ControllerVersion: o.ControllerVersion}
	if o.Platform == policy.PlatformOpenShift || (o.Platform == PlatformAuto && inv.OpenShift()) {
		base.Platform = policy.PlatformOpenShift
	}
	if errs := base.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	degradations, err := NewDegradations(crmetrics.Registry)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	env := &Environment{Inventory: QuorumInventory{Inventory: inv, Live: mgr.GetAPIReader()}}
	events := mgr.GetEventRecorder("sctpguard")
	if certs != nil {
		certs.Cache, certs.Degradations, certs.Events = mgr.GetCache(), degradations, events
		if err := mgr.Add(certs); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("serving-certificate", certs.Ready); err != nil {
			return nil, err
		}
	}
	follower := &akosettings.Follower{
		Cache: mgr.GetCache(), Namespace: o.AKOConfigMapNamespace, Name: o.AKOConfigMapName,
		Base: base, Events: events, Degradations: degradations, Reloaded: metrics.contextReload, Log: log.WithName("ako-context"),
	}
	env.Settings = follower.Current
	if err := mgr.Add(follower); err != nil {
		return nil, err
	}
	policies := &PolicyFollower{
		Cache: mgr.GetCache(), Namespace: o.PolicyNamespace, Config: cfg,
		Options: rego.Options{Timeout: o.PolicyTimeout, OnError: policy.Action(o.OnPolicyError)},
		Engines: engines, Inventory: inv, Events: events, Degradations: degradations, Log: log.WithName("policies"), Metrics: metrics,
	}
	if err := mgr.Add(policies); err != nil {
		return nil, err
	}
	if err := addAudit(mgr, o, inv, engines, follower, policies, degradations); err != nil {
		return nil, err
	}
	pol := engines.Get
	for _, m := range []Mode{Validate, Mutate} {
		path := ValidatePath
		if m == Mutate {
			path = MutatePath
		}
		mgr.GetWebhookServer().Register(path, &Handler{
			Mode: m, Policy: pol, Env: env, Scheme: policy.Scheme(), Self: o.self(),
			Degradations: degradations, Log: log.WithName(string(m)), Metrics: metrics,
		})
	}
	// The guard on AKO's ConfigMap: its own configuration decides whether it is called.
	if o.AKOGuard {
		if err := inv.WatchNetworkPolicies(mgr); err != nil {
			return nil, err
		}
		mgr.GetWebhookServer().Register(AKOGuardPath, &AKOGuard{
			Namespace: o.AKOConfigMapNamespace, Name: o.AKOConfigMapName, Policy: pol, Inventory: inv, Stored: inv, Skip: o.skipped(inv),
			Read: follower.Read, Deny: o.AKOGuardDeny, Deadline: o.AKOGuardDeadline, Log: log.WithName("ako-guard"), Metrics: metrics,
		})
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	// The cache is ready once the informers registered at start have synced. A kind whose CRD
	// is installed later is watched from then on and syncs in the background; it does not
	// turn the replica unready (a late CRD the account may not list would keep every replica
	// out of the endpoints, leaving the cluster to failurePolicy): until it syncs, reviews
	// that need it are denied with the reason.
	var cacheSynced atomic.Bool
	for name, check := range map[string]healthz.Checker{
		"webhook":     mgr.GetWebhookServer().StartedChecker(),
		"ako-context": follower.Ready,
		"policies":    policies.Ready,
		"cache": func(r *http.Request) error {
			if cacheSynced.Load() {
				return nil
			}
			if !mgr.GetCache().WaitForCacheSync(r.Context()) {
				return fmt.Errorf("cache not synced")
			}
			cacheSynced.Store(true)
			return nil
		},
	} {
		if err := mgr.AddReadyzCheck(name, check); err != nil {
			return nil, err
		}
	}
	// A stop turns the replica not ready first (Start).
	var draining atomic.Bool
	if err := mgr.AddReadyzCheck("shutdown", func(*http.Request) error {
		if draining.Load() {
			return errors.New("shutting down: leaving the endpoints before the webhook server stops")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return &Replica{Manager: mgr, Cache: inv, PolicyConfig: cfg, env: env, opts: o, log: log, draining: &draining}, nil
}
