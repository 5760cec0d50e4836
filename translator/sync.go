package translator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/go-logr/logr"

	"github.com/sctpguard/sctpguard/translator/avi"
)

// Backend is the Avi Controller as the syncer uses it; *avi.Client implements it.
type Backend interface {
	Lister
	GetByName(ctx context.Context, typ, name string, query url.Values) (avi.Object, error)
	Get(ctx context.Context, typ, uuid string, query url.Values) (avi.Object, error)
	Create(ctx context.Context, typ string, obj any) (avi.Object, error)
	Update(ctx context.Context, typ, uuid string, obj any) (avi.Object, error)
	Delete(ctx context.Context, typ, uuid string) error
}

var _ Backend = (*avi.Client)(nil)

// Reasons of sync failures, used as Event reasons.
const (
	ReasonOwnershipConflict       = "OwnershipConflict"
	ReasonNameCollision           = "NameCollision"
	ReasonDeleteBlocked           = "DeleteBlocked"
	ReasonControllerConfigMissing = "ControllerConfigMissing"
	ReasonSyncFailed              = "SyncFailed"
)

// SyncError is a failed sync with its Event reason and retry class.
type SyncError struct {
	Reason string
	Class  avi.Class
	Err    error
}

func (e *SyncError) Error() string { return e.Err.Error() }
func (e *SyncError) Unwrap() error { return e.Err }

// classify wraps an error from the controller with its reason and class.
func classify(err error) *SyncError {
	var se *SyncError
	if errors.As(err, &se) {
		return se
	}
	class := avi.Classify(err)
	reason := ReasonSyncFailed
	if avi.MissingConfigObject(err) != "" {
		reason = ReasonControllerConfigMissing
	}
	return &SyncError{Reason: reason, Class: class, Err: err}
}

// Outcome is what a sync or delete did.
type Outcome struct {
	// Created is true when the virtual service was created by this pass.
	Created bool
	// Writes counts the POST, PUT and DELETE requests that succeeded.
	Writes int
	// VIPs are the unit's addresses, IPv4 first; FQDNs its DNS names.
	VIPs  []string
	FQDNs []string
	// Members are the Services that carried the unit (for a delete: from the objects'
	// service_metadata), whose status is to be cleared.
	Members []types.NamespacedName
	// Events are warnings raised while syncing (DeleteBlocked on orphan pools).
	Events []Event
}

// Syncer applies units to the controller.
type Syncer struct {
	Client  Backend
	State   *State
	Cluster string
	// Cloud is AKO's cloud: name look-ups of cloud-scoped objects are limited to it.
	Cloud string
	Log   logr.Logger
}

func (s *Syncer) owner() string { return Owner(s.Cluster) }

// Sync makes the controller hold the unit's desired objects: pools, then the L4 policy
// set, then the VsVip, then the virtual service, then the deletion of the unit's pools no
// longer desired (avi-translation.md §8.1). A failed step aborts the rest, so the virtual
// service never references a child whose write failed. A skipped unit writes nothing.
func (s *Syncer) Sync(ctx context.Context, u *Unit) (*Outcome, error) {
	out := &Outcome{}
	if u.Skip != "" {
		out.VIPs, out.FQDNs = s.addresses(u.Name)
		return out, nil
	}
	if err := s.checkNames(u); err != nil {
		return out, err
	}
	prevL4 := s.State.Get(avi.TypeL4PolicySet, u.Name)
	referenced := poolsOf(prevL4)
	s.keepFrozenShares(u, prevL4)
	for _, p := range u.Pools() {
		if _, err := s.apply(ctx, u, avi.TypePool, p.Name, p, out); err != nil {
			return out, err
		}
	}
	if _, err := s.apply(ctx, u, avi.TypeL4PolicySet, u.Name, u.L4PolicySet(), out); err != nil {
		return out, err
	}
	if _, err := s.apply(ctx, u, avi.TypeVsVip, u.Name, u.VsVip(), out); err != nil {
		return out, err
	}
	created, err := s.apply(ctx, u, avi.TypeVirtualService, u.Name, u.VirtualService(), out)
	if err != nil {
		return out, err
	}
	out.Created = created
	// Orphans: our pools of this unit, or referenced by its previous policy set, that are
	// no longer selected.
	keep := map[string]bool{}
	for _, e := range u.Entries {
		if n := e.poolName(); n != "" {
			keep[n] = true
		}
	}
	orphans := append(s.State.UnitObjects(u.Key, avi.TypePool), referenced...)
	slices.Sort(orphans)
	var blocked error
	for _, name := range slices.Compact(orphans) {
		if keep[name] || s.frozenPool(u, name) {
			continue
		}
		if err := s.delete(ctx, avi.TypePool, name, out); err != nil {
			if se := classify(err); se.Reason == ReasonDeleteBlocked {
				blocked = err
				continue
			}
			return out, err
		}
	}
	out.VIPs, out.FQDNs = s.addresses(u.Name)
	return out, blocked
}

// Delete removes the unit's owned objects, virtual service first, then the VsVip, the L4
// policy set and the pools (avi-translation.md §8.3). A 404 counts as deleted. A child
// that something else still references is left, and reported as DeleteBlocked.
func (s *Syncer) Delete(ctx context.Context, key UnitKey, name string) (*Outcome, error) {
	out := &Outcome{}
	out.VIPs, out.FQDNs = s.addresses(name)
	out.Members = s.members(key, name)
	var blocked error
	for _, typ := range unitTypes {
		names := s.State.UnitObjects(key, typ)
		if typ != avi.TypePool && name != "" && !slices.Contains(names, name) && s.State.Get(typ, name) != nil {
			names = append(names, name)
		}
		for _, n := range names {
			if err := s.delete(ctx, typ, n, out); err != nil {
				if se := classify(err); se.Reason == ReasonDeleteBlocked {
					blocked = err
					continue
				}
				return out, err
			}
		}
	}
	return out, blocked
}

// delete deletes one owned object known to the state.
func (s *Syncer) delete(ctx context.Context, typ, name string, out *Outcome) error {
	cur := s.State.Get(typ, name)
	if cur == nil || !Owned(typ, cur, s.owner()) {
		return nil
	}
	err := s.Client.Delete(ctx, typ, cur.UUID())
	switch {
	case err == nil:
		out.Writes++
	case avi.IsNotFound(err):
	case avi.IsReferred(err):
		var ae *avi.APIError
		errors.As(err, &ae)
		return &SyncError{Reason: ReasonDeleteBlocked, Class: avi.ClassSlow, Err: fmt.Errorf("delete %s %s: %s still uses it: %w", typ, name, ae.Message, err)}
	default:
		return fmt.Errorf("delete %s %s: %w", typ, name, err)
	}
	s.State.Remove(typ, name)
	s.Log.V(1).Info("deleted", "type", typ, "name", name)
	return nil
}

// apply creates or updates one object; it reports whether it created it.
func (s *Syncer) apply(ctx context.Context, u *Unit, typ, name string, desired any, out *Outcome) (bool, error) {
	cur := s.State.Get(typ, name)
	if cur == nil {
		obj, err := s.Client.Create(ctx, typ, desired)
		switch {
		case err == nil:
			s.State.Put(typ, obj)
			out.Writes++
			s.Log.V(1).Info("created", "type", typ, "name", name)
			return true, nil
		case avi.IsAlreadyExists(err):
			// A leftover, or a create that landed before its answer was lost: adopt it if
			// it is ours and this unit's.
			if cur, err = s.adopt(ctx, u, typ, name); err != nil {
				return false, err
			}
		default:
			return false, fmt.Errorf("create %s %s: %w", typ, name, err)
		}
	}
	for attempt := 0; ; attempt++ {
		curNorm, err := s.State.normalized(typ, name)
		if err != nil {
			// The controller's object does not read into the model: it cannot be compared, and
			// a PUT would be sent on every pass. Say so, and write nothing until an input
			// changes or a full sync reads it again.
			s.Log.Error(err, "the controller's object cannot be compared with the desired one", "type", typ, "name", name)
			return false, &SyncError{Reason: ReasonSyncFailed, Class: avi.ClassNone,
				Err: fmt.Errorf("compare %s %s: the object as the controller holds it cannot be read: %w", typ, name, err)}
		}
		same, err := equal(typ, desired, cur, curNorm)
		if err != nil {
			return false, fmt.Errorf("compare %s %s: %w", typ, name, err)
		}
		if same {
			return false, nil
		}
		body, err := putBody(cur, desired)
		if err != nil {
			return false, err
		}
		obj, err := s.Client.Update(ctx, typ, cur.UUID(), body)
		switch {
		case err == nil:
			s.State.Put(typ, obj)
			out.Writes++
			s.Log.V(1).Info("updated", "type", typ, "name", name)
			return false, nil
		case avi.IsStale(err) && attempt == 0:
			// Changed behind our back: re-read, and rebuild the PUT once.
			if cur, err = s.Client.Get(ctx, typ, cur.UUID(), url.Values{"include_name": {"true"}}); err != nil {
				return false, fmt.Errorf("re-read %s %s: %w", typ, name, err)
			}
			s.State.Put(typ, cur)
		case avi.IsNotFound(err):
			// Deleted behind our back: forget it; the retry creates it.
			s.State.Remove(typ, name)
			return false, fmt.Errorf("update %s %s: %w", typ, name, err)
		default:
			return false, fmt.Errorf("update %s %s: %w", typ, name, err)
		}
	}
}

// adopt reads the object holding a name after a 409 and takes it over if it is owned and
// belongs to the unit.
func (s *Syncer) adopt(ctx context.Context, u *Unit, typ, name string) (avi.Object, error) {
	q := cloudQuery(typ, s.Cloud)
	q.Set("include_name", "true")
	cur, err := s.Client.GetByName(ctx, typ, name, q)
	if err != nil {
		return nil, fmt.Errorf("read %s %s after 409: %w", typ, name, err)
	}
	if cur == nil {
		return nil, &SyncError{Reason: ReasonSyncFailed, Class: avi.ClassFast, Err: fmt.Errorf("create %s %s: 409 already exists, but no object of that name is visible in the tenant", typ, name)}
	}
	if err := s.checkOwner(u, typ, cur); err != nil {
		return nil, err
	}
	s.State.Put(typ, cur)
	s.Log.Info("adopted leftover object", "type", typ, "name", name, "unit", u.Key.String())
	return cur, nil
}

// checkOwner refuses an object that is not owned, or that belongs to another unit.
func (s *Syncer) checkOwner(u *Unit, typ string, o avi.Object) error {
	if !Owned(typ, o, s.owner()) {
		holder, _ := o["created_by"].(string)
		if holder == "" {
			holder = "unknown (no created_by)"
		}
		return &SyncError{Reason: ReasonOwnershipConflict, Class: avi.ClassSlow,
			Err: fmt.Errorf("%s %s already exists and is not sctpguard's (created_by: %s); it is left alone", typ, o.Name(), holder)}
	}
	if key, ok := unitOfMarkers(o.Markers()); !ok || key != u.Key {
		return &SyncError{Reason: ReasonNameCollision, Class: avi.ClassSlow,
			Err: fmt.Errorf("%s %s already belongs to unit %s; names of different objects collide", typ, o.Name(), key)}
	}
	return nil
}

// checkNames checks, before any write, that the owned objects holding the unit's names are
// the unit's own.
func (s *Syncer) checkNames(u *Unit) error {
	check := func(typ, name string) error {
		if cur := s.State.Get(typ, name); cur != nil {
			return s.checkOwner(u, typ, cur)
		}
		return nil
	}
	for _, p := range u.Pools() {
		if err := check(avi.TypePool, p.Name); err != nil {
			return err
		}
	}
	for _, typ := range []string{avi.TypeL4PolicySet, avi.TypeVsVip, avi.TypeVirtualService} {
		if err := check(typ, u.Name); err != nil {
			return err
		}
	}
	return nil
}

// keepFrozenShares adds to the unit the L4 rules (and, for shared VIPs, the ports) of its
// frozen members as the controller holds them, so that their pools stay selected and are
// not deleted (avi-translation.md §2.0).
func (s *Syncer) keepFrozenShares(u *Unit, prevL4 avi.Object) {
	if len(u.frozenMembers) == 0 || prevL4 == nil {
		return
	}
	var l4 avi.L4PolicySet
	if err := prevL4.Decode(&l4); err != nil || l4.L4ConnectionPolicy == nil {
		return
	}
	for _, r := range l4.L4ConnectionPolicy.Rules {
		if r.Match == nil || r.Match.Port == nil || len(r.Match.Port.Ports) == 0 || r.Match.Protocol == nil ||
			r.Action == nil || r.Action.SelectPool == nil {
			continue
		}
		pr, err := avi.ParseRef(r.Action.SelectPool.PoolRef)
		if err != nil || !s.frozenPool(u, pr.Name) {
			continue
		}
		proto := k8sProtocol(r.Match.Protocol.Protocol)
		port := r.Match.Port.Ports[0]
		i := slices.IndexFunc(u.Entries, func(e Entry) bool { return e.Protocol == proto && e.Port == port })
		switch {
		case i < 0 && u.Key.Kind == KindSharedVIP:
			u.Entries = append(u.Entries, Entry{Protocol: proto, Port: port, KeptPool: pr.Name})
		case i >= 0 && u.Entries[i].Pool == nil && u.Entries[i].KeptPool == "":
			u.Entries[i].KeptPool = pr.Name
		}
	}
	sortEntries(u.Entries)
}

// frozenPool reports whether an owned pool belongs to a frozen member of the unit.
func (s *Syncer) frozenPool(u *Unit, name string) bool {
	p := s.State.Get(avi.TypePool, name)
	if p == nil {
		return false
	}
	svc := p.Markers()[MarkerService]
	return len(svc) > 0 && u.frozenMember(svc[0])
}

func k8sProtocol(p string) corev1.Protocol {
	switch p {
	case avi.ProtocolSCTP:
		return corev1.ProtocolSCTP
	case avi.ProtocolUDP:
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

// poolsOf returns the pools an L4 policy set selects.
func poolsOf(l4 avi.Object) []string {
	if l4 == nil {
		return nil
	}
	var set avi.L4PolicySet
	if err := l4.Decode(&set); err != nil || set.L4ConnectionPolicy == nil {
		return nil
	}
	var out []string
	for _, r := range set.L4ConnectionPolicy.Rules {
		if r.Action != nil && r.Action.SelectPool != nil {
			if pr, err := avi.ParseRef(r.Action.SelectPool.PoolRef); err == nil && pr.Name != "" {
				out = append(out, pr.Name)
			}
		}
	}
	return out
}

// addresses returns the VIPs (IPv4 first) and FQDNs of the unit's VsVip as last read.
func (s *Syncer) addresses(name string) (vips, fqdns []string) {
	o := s.State.Get(avi.TypeVsVip, name)
	if o == nil {
		return nil, nil
	}
	var vv avi.VsVip
	if err := o.Decode(&vv); err != nil {
		return nil, nil
	}
	var v6 []string
	for _, v := range vv.VIP {
		if v.IPAddress != nil && v.IPAddress.Addr != "" {
			vips = append(vips, v.IPAddress.Addr)
		}
		if v.IP6Address != nil && v.IP6Address.Addr != "" {
			v6 = append(v6, v.IP6Address.Addr)
		}
	}
	for _, d := range vv.DNSInfo {
		fqdns = append(fqdns, d.FQDN)
	}
	return append(vips, v6...), fqdns
}

// members returns the Services the unit's objects were synced for, from service_metadata.
func (s *Syncer) members(key UnitKey, name string) []types.NamespacedName {
	var out []types.NamespacedName
	add := func(o avi.Object) {
		if o == nil {
			return
		}
		md, _ := o["service_metadata"].(string)
		for _, m := range metadataServices(md) {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	add(s.State.Get(avi.TypeVirtualService, name))
	for _, p := range s.State.UnitObjects(key, avi.TypePool) {
		add(s.State.Get(avi.TypePool, p))
	}
	if key.Kind == KindService && !slices.Contains(out, types.NamespacedName{Namespace: key.Namespace, Name: key.Name}) {
		out = append(out, types.NamespacedName{Namespace: key.Namespace, Name: key.Name})
	}
	slices.SortFunc(out, func(a, b types.NamespacedName) int {
		if a.String() < b.String() {
			return -1
		}
		if a.String() > b.String() {
			return 1
		}
		return 0
	})
	return out
}

// metadataServices reads namespace_svc_name from a service_metadata string.
func metadataServices(md string) []types.NamespacedName {
	var m struct {
		Services []string `json:"namespace_svc_name"`
	}
	if md == "" || json.Unmarshal([]byte(md), &m) != nil {
		return nil
	}
	var out []types.NamespacedName
	for _, s := range m.Services {
		if ns, name, ok := strings.Cut(s, "/"); ok {
			out = append(out, types.NamespacedName{Namespace: ns, Name: name})
		}
	}
	return out
}
