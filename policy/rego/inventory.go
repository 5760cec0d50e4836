package rego

import (
	"context"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/resolver"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sctpguard/sctpguard/policy"
)

// Inventory is data.inventory: objects in Gatekeeper's layout,
// cluster[groupVersion][kind][name] and namespace[ns][groupVersion][kind][name], as Rego
// values. The webhook keeps one current from its informers' events, so that a review reads
// it as it stands instead of copying the cache; check and the test suites build one per
// manifest set or case. It is safe for concurrent use: a review holds a read lock while it
// evaluates, and sees no change half made.
type Inventory struct {
	mu   sync.RWMutex
	root ast.Object // {"cluster": {...}, "namespace": {...}}
	n    int
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
	return &Inventory{root: ast.NewObject(
		[2]*ast.Term{clusterKey, ast.ObjectTerm()},
		[2]*ast.Term{namespaceKey, ast.ObjectTerm()},
	)}
}

// Len is the number of objects held.
func (i *Inventory) Len() int {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.n
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
	path := i.path(gvk, obj.GetNamespace(), obj.GetName())
	i.mu.Lock()
	defer i.mu.Unlock()
	if set(i.root, path, ast.NewTerm(v)) {
		i.n++
	}
	return nil
}

// Delete removes an object; removing one that is absent does nothing.
func (i *Inventory) Delete(gvk schema.GroupVersionKind, namespace, name string) {
	path := i.path(gvk, namespace, name)
	i.mu.Lock()
	defer i.mu.Unlock()
	top, _ := termObject(i.root.Get(path[0]))
	if rest, removed := without(top, path[1:]); removed {
		// cluster and namespace stay, empty or not.
		i.root.Insert(path[0], ast.NewTerm(rest))
		i.n--
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

// Eval implements resolver.Resolver for data.inventory: the inventory as it stands. The
// caller holds the read lock for the whole evaluation.
func (i *Inventory) Eval(context.Context, resolver.Input) (resolver.Result, error) {
	return resolver.Result{Value: i.root}, nil
}

var _ resolver.Resolver = (*Inventory)(nil)

// rlock takes the read lock for an evaluation and returns its release.
func (i *Inventory) rlock() func() {
	i.mu.RLock()
	return i.mu.RUnlock
}
