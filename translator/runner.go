package translator

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Controller is the Avi Controller as the runner uses it: the syncer's Backend plus the
// session and the calls of the gate.
type Controller interface {
	Backend
	// Session returns the session in force, logging in only when there is none.
	Session(ctx context.Context) (avi.LoginInfo, error)
	SystemConfiguration(ctx context.Context) (avi.SystemConfiguration, error)
	Logout(ctx context.Context) error
}

var _ Controller = (*avi.Client)(nil)

// logoutTimeout bounds the logout at shutdown or reconnect: a controller that is down must
// not hold up the release of the Lease.
const logoutTimeout = time.Second

// Gate checks that the controller can serve SCTP (avi-translation.md §12): version 22.1.3
// or later, and an Enterprise licence tier. It uses the session in force, logging in only
// when there is none. A non-nil error with unsupported false and an empty version means the
// controller could not be asked at all.
func Gate(ctx context.Context, c Controller) (version string, unsupported bool, err error) {
	info, err := c.Session(ctx)
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
//
// One client, and so one session, serves every pass while the connection settings stay: a
// real controller caps the sessions a user may hold. The session is kept alive between
// passes (a request every half api_idle_timeout) so that it lapses only at the
// controller's hard limit, and it is logged out at shutdown and when the settings move to
// another controller.
type Runner struct {
	Reconciler *Reconciler
	// NewController returns a client for the settings; it is called when there is none yet
	// and when the connection settings change.
	NewController func(policy.Context) (Controller, error)
	// Trigger feeds unit keys to the controller's queue.
	Trigger chan<- event.TypedGenericEvent[UnitKey]
	// WaitForCache blocks until the informers are synced.
	WaitForCache func(context.Context) bool
	Log          logr.Logger
	// PollInterval is how often the AKO settings are compared for changes; default 2 s.
	PollInterval time.Duration
	// Clock drives the full sync, the retries and the keep-alive; default the real clock.
	Clock clock.WithTicker

	// idle, when set, is called each time the runner is about to wait (tests that drive Clock).
	idle func()
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

func (r *Runner) clock() clock.WithTicker {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

// Start runs until ctx is done, then logs out.
func (r *Runner) Start(ctx context.Context) error {
	if r.WaitForCache != nil && !r.WaitForCache(ctx) {
		return ctx.Err()
	}
	poll := r.PollInterval
	if poll <= 0 {
		poll = 2 * time.Second
	}
	rec := r.Reconciler
	var (
		ctrl    Controller
		ctrlFor [4]string
	)
	defer func() { r.logout(ctx, ctrl) }()
	for ctx.Err() == nil {
		settings := rec.Context()
		if ctrl != nil && connectionSettings(settings) != ctrlFor {
			r.Log.Info("AKO connection settings changed; reconnecting")
			rec.conn.Store(nil)
			r.logout(ctx, ctrl)
			ctrl = nil
		}
		var (
			conn *connection
			err  error
		)
		if ctrl == nil {
			ctrl, err = r.newController(settings)
			ctrlFor = connectionSettings(settings)
		}
		if ctrl != nil {
			conn, err = r.connect(ctx, ctrl, settings)
		}
		if err != nil && ctx.Err() == nil {
			r.Log.Error(err, "not syncing to the Avi Controller; retrying", "in", rec.slowRetry())
		}
		if conn != nil {
			rec.conn.Store(conn)
			rec.Metrics.setConnected(conn.gateErr == nil)
			r.enqueueAll(ctx, conn)
		}
		wait := rec.slowRetry()
		if conn != nil && conn.gateErr == nil {
			wait = time.Duration(settings.AKO.FullSync()) * time.Second
		}
		var keepAlive time.Duration
		if conn != nil && conn.version != "" {
			keepAlive = conn.idle / 2
		}
		r.waitForChange(ctx, ctrl, settings, wait, poll, keepAlive)
	}
	return nil
}

// newController returns a client for the settings.
func (r *Runner) newController(settings policy.Context) (Controller, error) {
	if a := settings.AKO; a == nil || a.ClusterName == "" {
		return nil, errors.New("AKO's clusterName is not known yet (AKO's ConfigMap avi-k8s-config)")
	}
	return r.NewController(settings)
}

// logout ends the session, within logoutTimeout even when ctx is done.
func (r *Runner) logout(ctx context.Context, ctrl Controller) {
	if ctrl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
	defer cancel()
	if err := ctrl.Logout(ctx); err != nil {
		r.Log.V(1).Info("logout from the Avi Controller failed", "error", err.Error())
	}
}

// waitForChange returns after wait (a full sync is due; 0 means never), when the
// connection is lost, or when the AKO settings change. A settings change that leaves the
// connection alone only enqueues every unit. Every keepAlive (0: never) it reads the
// licence tier, which keeps the session from lapsing for idleness.
func (r *Runner) waitForChange(ctx context.Context, ctrl Controller, settings policy.Context, wait, poll, keepAlive time.Duration) {
	clk := r.clock()
	var due <-chan time.Time
	if wait > 0 {
		t := clk.NewTimer(wait)
		defer t.Stop()
		due = t.C()
	}
	ticker := clk.NewTicker(poll)
	defer ticker.Stop()
	var alive <-chan time.Time
	if keepAlive > 0 && ctrl != nil {
		t := clk.NewTicker(keepAlive)
		defer t.Stop()
		alive = t.C()
	}
	rec := r.Reconciler
	last := settings
	for {
		if r.idle != nil {
			r.idle()
		}
		select {
		case <-ctx.Done():
			return
		case <-due:
			return
		case <-alive:
			if _, err := ctrl.SystemConfiguration(ctx); err != nil && ctx.Err() == nil {
				r.Log.V(1).Info("keep-alive request to the Avi Controller failed", "error", err.Error())
			}
		case <-ticker.C():
			cur := rec.Context()
			if c := rec.conn.Load(); c != nil && c.gateErr != nil && c.syncer != nil {
				return // disconnected by a reconcile (bad credentials)
			}
			if reflect.DeepEqual(cur, last) {
				continue
			}
			if connectionSettings(cur) != connectionSettings(settings) {
				return
			}
			r.Log.Info("AKO settings changed; resyncing every unit")
			last = cur
			if c := rec.conn.Load(); c != nil {
				r.enqueueAll(ctx, c)
			}
		}
	}
}

// connect runs the gate over the session and loads the owned objects. It returns the
// connection to install (one with gateErr set writes nothing), or nil when not even that is
// possible.
func (r *Runner) connect(ctx context.Context, ctrl Controller, settings policy.Context) (*connection, error) {
	a := settings.AKO
	version, unsupported, err := Gate(ctx, ctrl)
	if err != nil {
		if version == "" {
			// The controller could not be asked: nothing is known, nothing is written.
			return &connection{gateErr: err}, err
		}
		return &connection{version: version, gateErr: err, unsupported: unsupported, idle: sessionIdle(ctx, ctrl)}, err
	}
	cloud, err := readCloud(ctx, ctrl, a)
	if err != nil {
		return &connection{version: version, gateErr: err, idle: sessionIdle(ctx, ctrl)}, err
	}
	state := NewState(Owner(a.ClusterName))
	if err := state.Load(ctx, ctrl, a.ClusterName, a.Cloud()); err != nil {
		return &connection{version: version, gateErr: err, idle: sessionIdle(ctx, ctrl)}, fmt.Errorf("read the owned objects: %w", err)
	}
	r.Log.V(1).Info("connected to the Avi Controller", "version", version, "cloud", cloud.Type, "owned", state.Len())
	return &connection{
		syncer:  &Syncer{Client: ctrl, State: state, Cluster: a.ClusterName, Cloud: a.Cloud(), Log: r.Log.WithName("sync")},
		version: version,
		cloud:   cloud,
		idle:    sessionIdle(ctx, ctrl),
	}, nil
}

// readCloud reads what AKO reads of its cloud at boot: its type and whether it has a DNS
// provider (AKO: internal/cache/controller_obj_cache.go AviCloudPropertiesPopulate), and in
// ClusterIP mode without vrfName the VRF of the first VIP network, which AKO then uses for
// every object (checkAndSetVRFFromNetwork).
func readCloud(ctx context.Context, c Controller, a *policy.AKOSettings) (*policy.AviCloud, error) {
	q := url.Values{"include_name": {"true"}}
	cl, err := c.GetByName(ctx, avi.TypeCloud, a.Cloud(), q)
	if err != nil {
		return nil, fmt.Errorf("read the cloud %s: %w", a.Cloud(), err)
	}
	if cl == nil {
		return nil, fmt.Errorf("the Avi Controller has no cloud %q (AKO's ControllerSettings.cloudName)", a.Cloud())
	}
	vtype, _ := cl["vtype"].(string)
	dns, _ := cl["dns_provider_ref"].(string)
	out := &policy.AviCloud{Type: vtype, DNSProvider: dns != ""}
	if a.VRFName != "" || a.ServiceType == policy.ServiceTypeNodePort || len(a.VIPNetworks) == 0 {
		return out, nil
	}
	n := a.VIPNetworks[0]
	var network avi.Object
	if n.NetworkUUID != "" {
		network, err = c.Get(ctx, avi.TypeNetwork, n.NetworkUUID, q)
	} else {
		network, err = c.GetByName(ctx, avi.TypeNetwork, n.NetworkName, cloudQueryWith(a.Cloud(), q))
	}
	if err != nil {
		return nil, fmt.Errorf("read the VIP network %s for its VRF: %w", n.NetworkName+n.NetworkUUID, err)
	}
	if network == nil {
		return nil, fmt.Errorf("the Avi Controller has no network %q in cloud %s (AKO's NetworkSettings.vipNetworkList)", n.NetworkName, a.Cloud())
	}
	ref, _ := network["vrf_context_ref"].(string)
	if r, err := avi.ParseRef(ref); err == nil && r.Name != "" {
		out.NetworkVRF = r.Name
	}
	return out, nil
}

// cloudQueryWith adds cloud_ref.name to a query of a cloud-scoped type.
func cloudQueryWith(cloud string, q url.Values) url.Values {
	out := cloudQuery(avi.TypeNetwork, cloud)
	for k, v := range q {
		out[k] = v
	}
	return out
}

// sessionIdle is the idle timeout of the session in force.
func sessionIdle(ctx context.Context, ctrl Controller) time.Duration {
	info, err := ctrl.Session(ctx)
	if err != nil || info.IdleTimeout <= 0 {
		return avi.DefaultIdleTimeout
	}
	return info.IdleTimeout
}

// enqueueAll enqueues every unit that may be in scope and every unit the state holds
// objects of (garbage collection: those out of scope are deleted), resetting their retry
// counters. It gives up when ctx is done: at shutdown nobody reads the queue any more.
func (r *Runner) enqueueAll(ctx context.Context, c *connection) {
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
		select {
		case r.Trigger <- event.TypedGenericEvent[UnitKey]{Object: k}:
		case <-ctx.Done():
			return
		}
	}
}
