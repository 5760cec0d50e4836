package main

import (
	goflag "flag"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/sctpguard/sctpguard/translator"
	"github.com/sctpguard/sctpguard/webhook"
)

func newServeCommand() *cobra.Command {
	o := webhook.NewOptions()
	t := translator.NewOptions()
	logOpts := zap.Options{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the admission webhooks and, with --translator, sync SCTP objects to Avi",
		Long: `Serve runs the admission webhooks over TLS (certificates reloaded when they change), follows
AKO's ConfigMap for its settings, and reads related objects from a watch cache. Health checks
are served on /healthz and /readyz, Prometheus metrics on the metrics address.

With --translator, the replica that holds the Lease sctpguard-translator also syncs the SCTP
LoadBalancer Services and networking.x-k8s.io Gateways of sctpguard's class,
sctpguard.io/avi-sctp (and of AKO's with --translator-sync-ako-class, where AKO does not run),
to the Avi Controller (AKO's controllerHost, or --avi-controller), with the credentials files of
--avi-credentials-dir (username, password, optional certificateAuthorityData: AKO's
avi-secret mounted as a volume), and writes their status back.

With --audit (the default), the elected replica (Lease sctpguard-audit, or the translator's)
judges the objects already stored, at start, on every change of them, of a related object, of
AKO's settings or of the policies, and every --audit-resync, and writes the findings as
wgpolicyk8s.io/v1alpha2 PolicyReports named sctpguard in each namespace.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			log := zap.New(zap.UseFlagOptions(&logOpts)).WithValues("version", version)
			ctrl.SetLogger(log) // controller-runtime's own components log through it
			if t.Enabled {
				o.LeaderElection, o.LeaderElectionID = true, translator.LeaseName
			}
			replica, err := webhook.New(c.Context(), o, log)
			if err != nil {
				return err
			}
			if t.Enabled {
				if err := translator.Setup(c.Context(), replica.Manager, t, replica.Cache, replica.PolicyConfig, replica.Settings, log.WithName("translator")); err != nil {
					return err
				}
			}
			return replica.Start(c.Context())
		},
	}
	f := c.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, or $KUBECONFIG)")
	f.StringVar(&o.Host, "host", o.Host, "address the webhook server listens on (empty: all)")
	f.IntVar(&o.Port, "port", o.Port, "port of the webhook server")
	f.StringVar(&o.CertDir, "cert-dir", o.CertDir, "directory of the serving certificate and key (default: the system temp dir's k8s-webhook-server/serving-certs)")
	f.StringVar(&o.CertName, "cert-name", o.CertName, "certificate file name in --cert-dir")
	f.StringVar(&o.KeyName, "key-name", o.KeyName, "key file name in --cert-dir")
	f.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, `address of the metrics endpoint ("0" disables it)`)
	f.BoolVar(&o.MetricsSecure, "metrics-secure", o.MetricsSecure, "serve metrics over HTTPS to authenticated and authorized clients only")
	f.StringVar(&o.HealthAddr, "health-probe-bind-address", o.HealthAddr, "address of /healthz and /readyz")
	f.StringVar(&o.AKOConfigMapNamespace, "ako-configmap-namespace", o.AKOConfigMapNamespace, "namespace of AKO's ConfigMap")
	f.StringVar(&o.AKOConfigMapName, "ako-configmap-name", o.AKOConfigMapName, "name of AKO's ConfigMap, followed for AKO's settings")
	f.BoolVar(&o.AKOGuard, "ako-guard", o.AKOGuard, "serve the guard on AKO's ConfigMap at "+webhook.AKOGuardPath+" (its webhook configuration calls it), watching the NetworkPolicies it judges besides the webhooks' kinds")
	f.BoolVar(&o.AKOGuardDeny, "ako-guard-deny", false, "the guard on AKO's ConfigMap refuses a change of AKO's settings that breaks stored objects (default: it warns)")
	f.DurationVar(&o.AKOGuardDeadline, "ako-guard-deadline", o.AKOGuardDeadline, "time the guard on AKO's ConfigMap judges the stored objects before it answers, under its timeoutSeconds")
	f.StringVar(&o.OptOutLabel, "opt-out-label", o.OptOutLabel, `label that opts a namespace out of the webhooks when "true", as their namespaceSelector says: the audit and the guard skip such namespaces too`)
	f.StringSliceVar(&o.ExcludeNamespaces, "exclude-namespace", nil, "namespaces the webhook configurations exclude (their namespaceSelector): the audit and the guard skip them too")
	// The flag's name before the guard skipped the same namespaces as the audit.
	f.StringSliceVar(&o.ExcludeNamespaces, "audit-exclude-namespace", nil, "")
	_ = f.MarkDeprecated("audit-exclude-namespace", "use --exclude-namespace: the audit and the guard skip the same namespaces") // defined just above: no error
	f.StringVar(&o.Platform, "platform", o.Platform, "cluster platform: auto (detect OpenShift), openshift or none")
	f.StringVar(&o.CNI, "cni", "", "cluster CNI, overriding AKO's cniPlugin")
	f.StringVar(&o.ControllerVersion, "controller-version", "", "Avi Controller version, overriding AKO's ConfigMap")
	f.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "namespace/name of sctpguard's own service account, whose requests are allowed")
	f.StringVar(&o.PolicyNamespace, "policy-namespace", o.PolicyNamespace, "namespace of the ConfigMaps labelled sctpguard.io/policy that hold user policies (default: sctpguard's own, from $SCTPGUARD_NAMESPACE)")
	f.DurationVar(&o.PolicyTimeout, "policy-timeout", o.PolicyTimeout, "time the user policies may take to judge one request")
	f.StringVar(&o.OnPolicyError, "on-policy-error", o.OnPolicyError, "what a user policy that fails or runs out of time does: warn (admit with a warning) or deny")
	f.StringVar(&o.ConfigFile, "config", "", "rule configuration file (YAML: disabled, warn, exemptNamespaces)")
	f.StringSliceVar(&o.Disable, "disable", nil, "rule or mutation IDs to switch off")
	f.StringSliceVar(&o.Enable, "enable", nil, "opt-in mutations to run (default-sctpguard-class)")
	f.StringSliceVar(&o.Warn, "warn", nil, "rule IDs to demote from deny to warn")
	f.StringSliceVar(&o.ExemptNamespaces, "exempt-namespace", nil, "namespaces to skip (a trailing * matches a prefix)")
	f.BoolVar(&o.SelfSignedCerts, "self-signed-certs", false, "issue and rotate the webhook's own CA and serving certificate (kept in --cert-secret, shared by the replicas) and patch the caBundle of the webhook configurations; --cert-dir is not used")
	f.StringVar(&o.CertSecret, "cert-secret", o.CertSecret, "with --self-signed-certs: the Secret in sctpguard's namespace that holds the CA and the serving certificate")
	f.StringVar(&o.WebhookConfiguration, "webhook-configuration", o.WebhookConfiguration, "with --self-signed-certs: name of the mutating and the validating webhook configuration whose caBundle sctpguard sets")
	f.StringVar(&o.WebhookService, "webhook-service", o.WebhookService, "with --self-signed-certs: the Service in sctpguard's namespace the API server calls; the certificate names <service>.<namespace>.svc")
	f.StringSliceVar(&o.CertExtraSANs, "cert-extra-sans", nil, "with --self-signed-certs: more DNS names or IP addresses for the serving certificate")
	f.DurationVar(&o.CertValidity, "cert-validity", o.CertValidity, "with --self-signed-certs: lifetime of the serving certificate, renewed at two thirds")
	f.DurationVar(&o.CAValidity, "ca-validity", o.CAValidity, "with --self-signed-certs: lifetime of the CA, rotated at two thirds with an overlap; at least twice --cert-validity")
	f.DurationVar(&o.ReadTimeout, "read-timeout", o.ReadTimeout, "time a client may take to send a webhook request, headers and body; well under the webhook configurations' timeoutSeconds")
	f.DurationVar(&o.WriteTimeout, "write-timeout", o.WriteTimeout, "time to judge a webhook request and write the answer; a review still running near it ends in a denial")
	f.IntVar(&o.MaxConnections, "max-connections", o.MaxConnections, "webhook connections served at once; more wait to be accepted")
	f.DurationVar(&o.ShutdownDelay, "shutdown-delay", o.ShutdownDelay, "on SIGTERM, how long to keep serving while not ready, so the endpoints drop this replica before it stops accepting")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "after the delay, how long requests in flight may take to finish")
	f.BoolVar(&t.Enabled, "translator", false, "sync admitted SCTP Services and Gateways to the Avi Controller (leader only)")
	f.StringVar(&t.Controller, "avi-controller", "", "Avi Controller address (default: AKO's ControllerSettings.controllerHost)")
	f.StringVar(&t.CredentialsDir, "avi-credentials-dir", t.CredentialsDir, "directory of the Avi credentials files: username, password, optional certificateAuthorityData")
	f.BoolVar(&t.InsecureSkipVerify, "avi-insecure-skip-verify", false, "do not verify the Avi Controller's certificate (not for production)")
	f.BoolVar(&t.BasicAuth, "avi-basic-auth", false, "send the credentials with every request instead of logging in (the controller must allow basic authentication)")
	f.StringVar(&t.APIVersion, "avi-api-version", t.APIVersion, "X-Avi-Version sent to the controller; 22.1.3 or later")
	f.DurationVar(&t.Timeout, "avi-timeout", t.Timeout, "timeout of one request to the Avi Controller")
	f.IntVar(&t.Workers, "translator-workers", t.Workers, "units synced at once")
	f.BoolVar(&t.SyncAKOClass, "translator-sync-ako-class", false, "also sync AKO's class (ako.vmware.com/avi-lb, or none with AKO the default), only where AKO does not run; sctpguard's class sctpguard.io/avi-sctp is always synced")
	f.BoolVar(&t.DryRun, "translator-dry-run", false, "compute and report the plans (log lines, Would... Events, metrics), and write nothing to the Avi Controller or to the objects' status")
	f.DurationVar(&t.SlowRetry, "translator-slow-retry", t.SlowRetry, "retry period of failures that will not clear soon (controller unreachable, no free IPs)")
	f.BoolVar(&o.Audit.Enabled, "audit", o.Audit.Enabled, "audit the stored objects continuously on the elected replica and write the findings as wgpolicyk8s.io PolicyReports")
	f.DurationVar(&o.Audit.Resync, "audit-resync", o.Audit.Resync, "period of the audit's full pass (changes are judged as they come)")
	f.IntVar(&o.Audit.MaxResults, "audit-max-results", o.Audit.MaxResults, "results of one PolicyReport: a namespace with more gets more reports (sctpguard, sctpguard-2, ...); at most 1000")
	gf := goflag.NewFlagSet("log", goflag.ContinueOnError)
	logOpts.BindFlags(gf)
	f.AddGoFlagSet(gf)
	return c
}
