package rego

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sctpguard/sctpguard/policy"
)

// Inventory is data.inventory: objects in Gatekeeper's layout,
// cluster[groupVersion][kind][name] and namespace[ns][groupVersion][kind][name], as Rego
// values. The webhook keeps one current from its informers' events, so that a review reads
// it as it stands instead of copying the cache; check and the test suites build one per
// manifest set or case.
//
// It is safe for concurrent use, and a change never holds a review back: the inventory is
// kept twice (the objects' values are shared, the maps that lead to them are not), and
// reviews read one copy while a change is made to the other, then to the first once the
// reviews that were reading it are done (the left-right technique of Ramalhete and
// Correia). A read-write lock held by every review for its evaluation did hold them back:
// a change waiting for the reviews in flight blocked every review that came after it, and
// on a busy node each update event stalled the webhook for the length of the slowest
// review then running.
type Inventory struct {
	mu      sync.Mutex    // serialises changes
	roots   [2]ast.Object // {"cluster": {...}, "namespace": {...}}, the same content
	active  atomic.Int32  // the root reviews read
	readers [2]atomic.Int64
	n       int
}

// InventorySource is implemented by inventories that keep their own data.inventory current
// (the webhook's, from its informers' events). An error means the inventory cannot say what
// the cluster holds, and the review fails. Other inventories that can list their objects
// (policy.Lister) get a snapshot, taken again whenever their generation changes.
type InventorySource interface {
	RegoInventory() (*Inventory, error)
}

var (
	clusterKey   = ast.StringTerm("cluster")
	namespaceKey = ast.StringTerm("namespace")
)

// NewInventory returns an empty inventory.
func NewInventory() *Inventory {
	i := &Inventory{}
	for r := range i.roots {
		i.roots[r] = ast.NewObject(
			[2]*ast.Term{clusterKey, ast.ObjectTerm()},
			[2]*ast.Term{namespaceKey, ast.ObjectTerm()},
		)
	}
	return i
}

// Len is the number of objects held.
func (i *Inventory) Len() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.n
}

// read returns the inventory as it stands, unchanged until release is called.
func (i *Inventory) read() (root ast.Object, release func()) {
	for {
		r := i.active.Load()
		i.readers[r].Add(1)
		if i.active.Load() == r {
			return i.roots[r], func() { i.readers[r].Add(-1) }
		}
		// A change switched the copies meanwhile: read the other one.
		i.readers[r].Add(-1)
	}
}

// change applies a change to both copies, the one no review reads first, and returns what
// it returned for the first.
func (i *Inventory) change(apply func(root ast.Object) (ast.Object, bool)) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	read := i.active.Load()
	// Since the last change, no review reads the other copy.
	var changed bool
	i.roots[1-read], changed = apply(i.roots[1-read])
	if !changed {
		return false
	}
	i.active.Store(1 - read)
	// New reviews read the changed copy; the reviews still reading the old one finish.
	for wait := time.Microsecond; i.readers[read].Load() != 0; wait = min(2*wait, time.Millisecond) {
		time.Sleep(wait)
	}
	i.roots[read], _ = apply(i.roots[read])
	return true
}

// Put adds or replaces an object. gvk is its kind, which typed objects from an informer's
// cache do not carry; empty means the object's own.
func (i *Inventory) Put(obj policy.Object, gvk schema.GroupVersionKind) error {
	if gvk.Empty() {
		gvk = obj.GetObjectKind().GroupVersionKind()
	}
	if gvk.Kind == "" {
		return fmt.Errorf("inventory: %s/%s has no kind", obj.GetNamespace(), obj.GetName())
	}
	v, err := toValue(obj, gvk)
	if err != nil {
		return fmt.Errorf("inventory: %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	path, t := i.path(gvk, obj.GetNamespace(), obj.GetName()), ast.NewTerm(v)
	added := false
	i.change(func(root ast.Object) (ast.Object, bool) {
		added = set(root, path, t)
		return root, true
	})
	if added {
		i.mu.Lock()
		i.n++
		i.mu.Unlock()
	}
	return nil
}

// Delete removes an object; removing one that is absent does nothing.
func (i *Inventory) Delete(gvk schema.GroupVersionKind, namespace, name string) {
	path := i.path(gvk, namespace, name)
	removed := i.change(func(root ast.Object) (ast.Object, bool) {
		top, _ := termObject(root.Get(path[0]))
		rest, removed := without(top, path[1:])
		if removed {
			// cluster and namespace stay, empty or not.
			root.Insert(path[0], ast.NewTerm(rest))
		}
		return root, removed
	})
	if removed {
		i.mu.Lock()
		i.n--
		i.mu.Unlock()
	}
}

func (i *Inventory) path(gvk schema.GroupVersionKind, namespace, name string) []*ast.Term {
	gv := ast.StringTerm(gvk.GroupVersion().String())
	if namespace == "" {
		return []*ast.Term{clusterKey, gv, ast.StringTerm(gvk.Kind), ast.StringTerm(name)}
	}
	return []*ast.Term{namespaceKey, ast.StringTerm(namespace), gv, ast.StringTerm(gvk.Kind), ast.StringTerm(name)}
}

// set puts v at path under obj, making the objects on the way; true when the key is new.
// Every object on the path is inserted again into its parent: an object caches its hash,
// which must follow its contents.
func set(obj ast.Object, path []*ast.Term, v *ast.Term) bool {
	if len(path) == 1 {
		added := obj.Get(path[0]) == nil
		obj.Insert(path[0], v)
		return added
	}
	child, ok := termObject(obj.Get(path[0]))
	if !ok {
		child = ast.NewObject()
	}
	added := set(child, path[1:], v)
	obj.Insert(path[0], ast.NewTerm(child))
	return added
}

// without returns obj without path, and the objects the removal leaves empty, and whether
// path was there. ast.Object cannot delete a key: an object losing one is rebuilt.
func without(obj ast.Object, path []*ast.Term) (ast.Object, bool) {
	child := obj.Get(path[0])
	if child == nil {
		return obj, false
	}
	if len(path) > 1 {
		c, ok := termObject(child)
		if !ok {
			return obj, false
		}
		rest, removed := without(c, path[1:])
		if !removed {
			return obj, false
		}
		if rest.Len() > 0 {
			obj.Insert(path[0], ast.NewTerm(rest))
			return obj, true
		}
	}
	keep := make([][2]*ast.Term, 0, obj.Len())
	obj.Foreach(func(k, v *ast.Term) {
		if !k.Equal(path[0]) {
			keep = append(keep, [2]*ast.Term{k, v})
		}
	})
	return ast.NewObject(keep...), true
}

func termObject(t *ast.Term) (ast.Object, bool) {
	if t == nil {
		return nil, false
	}
	o, ok := t.Value.(ast.Object)
	return o, ok
}
