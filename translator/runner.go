package translator

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Controller is the Avi Controller as the runner uses it: the syncer's Backend plus the
// calls of the gate.
type Controller interface {
	Backend
	Login(ctx context.Context) (avi.LoginInfo, error)
	SystemConfiguration(ctx context.Context) (avi.SystemConfiguration, error)
	Logout(ctx context.Context) error
}

var _ Controller = (*avi.Client)(nil)

// Gate checks that the controller can serve SCTP (avi-translation.md §12): version 22.1.3
// or later, and an Enterprise licence tier. It logs in. A non-nil error with unsupported
// false and an empty version means the controller could not be asked at all.
func Gate(ctx context.Context, c Controller) (version string, unsupported bool, err error) {
	info, err := c.Login(ctx)
	if err != nil {
		return "", false, err
	}
	version = info.ControllerVersion
	cmp, err := avi.CompareVersions(version, avi.MinSCTPVersion)
	if err != nil {
		return version, false, fmt.Errorf("the Avi Controller reports version %q: %w", version, err)
	}
	if cmp < 0 {
		// The wording of avi-translation.md §12; it starts with the product's name.
		return version, false, fmt.Errorf("Avi Controller %s does not support SCTP; %s or later is required", version, avi.MinSCTPVersion) //nolint:staticcheck // ST1005: a proper noun
	}
	sc, err := c.SystemConfiguration(ctx)
	if err != nil {
		return "", false, fmt.Errorf("read the licence tier: %w", err)
	}
	switch sc.DefaultLicenseTier {
	case avi.LicenseEnterprise, avi.LicenseEnterpriseSaaS:
		return version, false, nil
	}
	return version, true, fmt.Errorf("the Avi Controller's licence tier %s does not include SCTP (the SCTP network profile, the SCTP health monitor and L4 protocol matching need %s)",
		sc.DefaultLicenseTier, avi.LicenseEnterprise)
}

// Runner is the leader's loop around the Reconciler: it connects to the controller, runs
// the gate, loads the state of the owned objects, then enqueues every unit (full sync,
// which also collects the garbage of units no longer in scope) at start, every
// fullSyncFrequency, and whenever the AKO settings change.
type Runner struct {
	Reconciler *Reconciler
	// NewController returns a client for the settings; it is called at every (re)connect.
	NewController func(policy.Context) (Controller, error)
	// Trigger feeds unit keys to the controller's queue.
	Trigger chan<- event.TypedGenericEvent[UnitKey]
	// WaitForCache blocks until the informers are synced.
	WaitForCache func(context.Context) bool
	Log          logr.Logger
	// PollInterval is how often the AKO settings are compared for changes; default 2 s.
	PollInterval time.Duration
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the leader talks to
// the controller.
func (r *Runner) NeedLeaderElection() bool { return true }

// connectionSettings are the settings a change of which needs a new session and state.
func connectionSettings(c policy.Context) [4]string {
	if c.AKO == nil {
		return [4]string{}
	}
	return [4]string{c.AKO.ClusterName, c.AKO.ControllerHost, c.AKO.Tenant(), c.AKO.Cloud()}
}

// Start runs until ctx is done.
func (r *Runner) Start(ctx context.Context) error {
	if r.WaitForCache != nil && !r.WaitForCache(ctx) {
		return ctx.Err()
	}
	poll := r.PollInterval
	if poll <= 0 {
		poll = 2 * time.Second
	}
	rec := r.Reconciler
	for ctx.Err() == nil {
		settings := rec.Context()
		ctrl, conn, err := r.connect(ctx, settings)
		if err != nil {
			r.Log.Error(err, "not syncing to the Avi Controller; retrying", "in", rec.slowRetry())
		}
		if conn != nil {
			rec.conn.Store(conn)
			rec.Metrics.setConnected(conn.gateErr == nil)
			r.enqueueAll(conn)
		}
		wait := rec.slowRetry()
		if conn != nil && conn.gateErr == nil {
			wait = time.Duration(settings.AKO.FullSync()) * time.Second
		}
		r.waitForChange(ctx, settings, wait, poll)
		if ctrl != nil && !reflect.DeepEqual(connectionSettings(rec.Context()), connectionSettings(settings)) {
			logoutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = ctrl.Logout(logoutCtx)
			cancel()
			rec.conn.Store(nil)
		}
	}
	return nil
}

// waitForChange returns after wait (a full sync is due; 0 means never), when the
// connection is lost, or when the AKO settings change. A settings change that leaves the
// connection alone only enqueues every unit.
func (r *Runner) waitForChange(ctx context.Context, settings policy.Context, wait, poll time.Duration) {
	var due <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		due = t.C
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	rec := r.Reconciler
	last := settings
	for {
		select {
		case <-ctx.Done():
			return
		case <-due:
			return
		case <-ticker.C:
			cur := rec.Context()
			if c := rec.conn.Load(); c != nil && c.gateErr != nil && c.syncer != nil {
				return // disconnected by a reconcile (bad credentials)
			}
			if reflect.DeepEqual(cur, last) {
				continue
			}
			if !reflect.DeepEqual(connectionSettings(cur), connectionSettings(settings)) {
				r.Log.Info("AKO connection settings changed; reconnecting")
				return
			}
			r.Log.Info("AKO settings changed; resyncing every unit")
			last = cur
			if c := rec.conn.Load(); c != nil {
				r.enqueueAll(c)
			}
		}
	}
}

// connect logs in, runs the gate and loads the owned objects. It returns the connection
// to install (one with gateErr set writes nothing), or nil when not even that is possible.
func (r *Runner) connect(ctx context.Context, settings policy.Context) (Controller, *connection, error) {
	a := settings.AKO
	if a == nil || a.ClusterName == "" {
		return nil, nil, errors.New("AKO's clusterName is not known yet (AKO's ConfigMap avi-k8s-config)")
	}
	ctrl, err := r.NewController(settings)
	if err != nil {
		return nil, nil, err
	}
	version, unsupported, err := Gate(ctx, ctrl)
	if err != nil {
		if version == "" {
			// The controller could not be asked: nothing is known, nothing is written.
			return ctrl, &connection{gateErr: err}, err
		}
		return ctrl, &connection{version: version, gateErr: err, unsupported: unsupported}, err
	}
	state := NewState(Owner(a.ClusterName))
	if err := state.Load(ctx, ctrl, a.ClusterName, a.Cloud()); err != nil {
		return ctrl, &connection{version: version, gateErr: err}, fmt.Errorf("read the owned objects: %w", err)
	}
	r.Log.Info("connected to the Avi Controller", "version", version, "owned", state.Len())
	return ctrl, &connection{
		syncer:  &Syncer{Client: ctrl, State: state, Cluster: a.ClusterName, Cloud: a.Cloud(), Log: r.Log.WithName("sync")},
		version: version,
	}, nil
}

// enqueueAll enqueues every unit that may be in scope and every unit the state holds
// objects of (garbage collection: those out of scope are deleted), resetting their retry
// counters.
func (r *Runner) enqueueAll(c *connection) {
	rec := r.Reconciler
	keys, err := rec.builder(c).Keys()
	if err != nil {
		r.Log.Error(err, "list the units")
	}
	if c.syncer != nil {
		keys = append(keys, c.syncer.State.Units()...)
	}
	rec.mu.Lock()
	rec.failures = map[UnitKey]int{}
	rec.mu.Unlock()
	for _, k := range keys {
		r.Trigger <- event.TypedGenericEvent[UnitKey]{Object: k}
	}
}
