package translator

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"

	"github.com/sctpguard/sctpguard/translator/avi"
)

// unitTypes are the object types of a unit, in deletion order.
var unitTypes = []string{avi.TypeVirtualService, avi.TypeVsVip, avi.TypeL4PolicySet, avi.TypePool}

// State is the translator's copy of the Avi objects it owns, keyed by type and name. It is
// loaded by listing at leader start and at every full sync, and updated from the answer of
// every write, so a pass over unchanged inputs reads nothing and writes nothing. (AKO keeps
// the same kind of cache.) A stale entry shows as a 412 or 404 on the next write, which
// re-reads the object.
type State struct {
	mu     sync.RWMutex
	owner  string
	objs   map[string]map[string]*entry
	byUnit map[UnitKey]map[objectID]bool
}

// entry is an object as read, with what comparisons need computed once, when first needed
// (most objects written in a pass are not compared again before the next full sync).
type entry struct {
	typ  string
	obj  avi.Object
	once sync.Once
	// norm is the normalized form (normalize.go), or normErr why it could not be computed.
	norm    []byte
	normErr error
}

func (e *entry) normalized() ([]byte, error) {
	e.once.Do(func() { e.norm, e.normErr = normalized(e.typ, e.obj) })
	return e.norm, e.normErr
}

type objectID struct{ typ, name string }

// NewState returns an empty state for the owner string sctpguard-<cluster>.
func NewState(owner string) *State {
	s := &State{owner: owner}
	s.reset()
	return s
}

func (s *State) reset() {
	s.objs = map[string]map[string]*entry{}
	for _, t := range unitTypes {
		s.objs[t] = map[string]*entry{}
	}
	s.byUnit = map[UnitKey]map[objectID]bool{}
}

// Owned reports whether an object is sctpguard's: the managed_by marker names the owner
// and, where the type has the field (not VsVip), created_by equals it.
func Owned(typ string, o avi.Object, owner string) bool {
	if !slices.Contains(o.Markers()[MarkerManagedBy], owner) {
		return false
	}
	if typ == avi.TypeVsVip {
		return true
	}
	cb, _ := o["created_by"].(string)
	return cb == owner
}

// Lister is the part of the client that loading the state needs.
type Lister interface {
	List(ctx context.Context, typ string, query url.Values) ([]avi.Object, error)
}

// Load replaces the state with the owned objects on the controller: the virtual services,
// pools and L4 policy sets created by the owner, and the VsVips named "<cluster>--..." that
// carry the owner's managed_by marker; those of the cloud types only in AKO's cloud.
func (s *State) Load(ctx context.Context, c Lister, cluster, cloud string) error {
	objs := map[string][]avi.Object{}
	for _, typ := range unitTypes {
		q := cloudQuery(typ, cloud)
		q.Set("include_name", "true")
		if typ == avi.TypeVsVip {
			q.Set("name.contains", cluster+"--")
		} else {
			q.Set("created_by", s.owner)
		}
		list, err := c.List(ctx, typ, q)
		if err != nil {
			return fmt.Errorf("list %s: %w", typ, err)
		}
		objs[typ] = list
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	for typ, list := range objs {
		for _, o := range list {
			if Owned(typ, o, s.owner) {
				s.putLocked(typ, o)
			}
		}
	}
	return nil
}

// Get returns the owned object of a type and name, or nil.
func (s *State) Get(typ, name string) avi.Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.objs[typ][name]; e != nil {
		return e.obj
	}
	return nil
}

// normalized returns the normalized form of an object held (nil when none is), or why the
// object as the controller returned it cannot be read into the model.
func (s *State) normalized(typ, name string) ([]byte, error) {
	s.mu.RLock()
	e := s.objs[typ][name]
	s.mu.RUnlock()
	if e == nil {
		return nil, nil
	}
	return e.normalized()
}

// Put records an object as the controller returned it.
func (s *State) Put(typ string, o avi.Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(typ, o)
}

func (s *State) putLocked(typ string, o avi.Object) {
	s.removeLocked(typ, o.Name())
	s.objs[typ][o.Name()] = &entry{typ: typ, obj: o}
	if key, ok := unitOfMarkers(o.Markers()); ok {
		if s.byUnit[key] == nil {
			s.byUnit[key] = map[objectID]bool{}
		}
		s.byUnit[key][objectID{typ, o.Name()}] = true
	}
}

// Remove forgets an object.
func (s *State) Remove(typ, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(typ, name)
}

func (s *State) removeLocked(typ, name string) {
	old, ok := s.objs[typ][name]
	if !ok {
		return
	}
	delete(s.objs[typ], name)
	if key, ok := unitOfMarkers(old.obj.Markers()); ok {
		delete(s.byUnit[key], objectID{typ, name})
		if len(s.byUnit[key]) == 0 {
			delete(s.byUnit, key)
		}
	}
}

// UnitObjects returns the names of the objects of a type whose markers name the unit.
func (s *State) UnitObjects(key UnitKey, typ string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for id := range s.byUnit[key] {
		if id.typ == typ {
			out = append(out, id.name)
		}
	}
	slices.Sort(out)
	return out
}

// Units returns every unit some owned object names, sorted.
func (s *State) Units() []UnitKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]UnitKey, 0, len(s.byUnit))
	for k := range s.byUnit {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b UnitKey) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out
}

// Len returns the number of objects held, by type.
func (s *State) Len() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	for t, m := range s.objs {
		out[t] = len(m)
	}
	return out
}

// cloudQuery filters a read of a cloud-scoped type (virtual service, VsVip, pool) to a cloud,
// as AKO's look-ups do with cloud_ref.name: one tenant may hold objects of one name in two
// clouds. L4 policy sets have no cloud. An empty cloud filters nothing.
func cloudQuery(typ, cloud string) url.Values {
	q := url.Values{}
	if cloud != "" && typ != avi.TypeL4PolicySet {
		q.Set("cloud_ref.name", cloud)
	}
	return q
}
