package webhook

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/sctpguard/sctpguard/internal/akosettings"
	"github.com/sctpguard/sctpguard/webhook/audit"
)

// AuditLeaseName is the Lease of the leader election that picks the replica that audits,
// when the translator (whose Lease it then shares) is off.
const AuditLeaseName = "sctpguard-audit"

// AuditOptions configure the continuous audit of `sctpguard serve` (package audit).
type AuditOptions struct {
	// Enabled runs the audit on the elected replica.
	Enabled bool
	// Resync is the period of the audit's full pass.
	Resync time.Duration
	// MaxResults bounds the results of one PolicyReport: a namespace with more gets more
	// reports (sctpguard, sctpguard-2, ...). Smaller reports are cheaper to rewrite and to
	// watch; at most audit.MaxResultsLimit, for etcd's object size.
	MaxResults int
}

// leaderElection returns whether the manager elects a leader, and its Lease: the
// translator's when it runs, AuditLeaseName for the audit alone.
func (o *Options) leaderElection() (bool, string) {
	if o.LeaderElection || !o.Audit.Enabled {
		return o.LeaderElection, o.LeaderElectionID
	}
	return true, AuditLeaseName
}

// addAudit joins the audit to the manager: it judges with the webhook's engine, settings
// and inventory, and pauses while AKO's settings are unknown or the policies refused.
func addAudit(mgr manager.Manager, o *Options, inv *CacheInventory, engines *Engines, follower *akosettings.Follower,
	policies *PolicyFollower, degradations *Degradations) error {
	if !o.Audit.Enabled {
		return nil
	}
	metrics, err := audit.NewMetrics(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	reports, err := client.New(mgr.GetConfig(), client.Options{HTTPClient: mgr.GetHTTPClient(), Scheme: audit.Scheme()})
	if err != nil {
		return fmt.Errorf("audit: report client: %w", err)
	}
	akoConfigMap := &corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: o.AKOConfigMapNamespace, Name: o.AKOConfigMapName}
	return mgr.Add(&audit.Auditor{
		Cache: mgr.GetCache(), Mapper: mgr.GetRESTMapper(), Reports: reports, Inventory: inv,
		Policy: func() audit.Policy { return engines.Get() }, Settings: follower.Current,
		Paused: func() audit.Pause {
			where := o.AKOConfigMapNamespace + "/" + o.AKOConfigMapName
			if _, ok := follower.Settings(); !ok {
				return audit.Pause{Cause: audit.PausedSettings, Message: "AKO's settings from ConfigMap " + where + " are not read yet", Regarding: akoConfigMap}
			}
			if degradations.Has(DegradedAKOConfigMapAbsent) {
				return audit.Pause{Cause: audit.PausedSettings, Message: "AKO's ConfigMap " + where + " is absent: the rules that need AKO's mode cannot judge"}
			}
			if err := policies.Ready(nil); err != nil {
				return audit.Pause{Cause: audit.PausedPolicies, Message: err.Error()}
			}
			if degradations.Has(DegradedPolicies) {
				return audit.Pause{Cause: audit.PausedPolicies, Message: "the user policies in " + o.PolicyNamespace +
					" were refused (see the PolicyRefused Events): the last good set is not what the team asked for"}
			}
			return audit.Pause{}
		},
		Skip:   o.skipped(inv),
		Events: mgr.GetEventRecorder("sctpguard-audit"), Metrics: metrics, Resync: o.Audit.Resync, MaxResults: o.Audit.MaxResults,
		Log: mgr.GetLogger().WithName("audit"),
	})
}
