package rego

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// projection is the part of an object that the policies of a set can read: a policy reads
// input only through references (input taken whole aside, which reads it all), so what no
// reference reaches cannot change a finding, and is not converted to Rego. A Service's
// status, managedFields or annotations cost a review nothing when no policy names them.
type projection struct {
	// whole: everything below is read.
	whole bool
	// keys are the keys read by name, each as far as it is read.
	keys map[string]*projection
	// any is what is read below every key or index, where a reference has a variable (or
	// a number: array indexes are not told apart).
	any *projection
}

// wholeProjection reads everything.
var wholeProjection = &projection{whole: true}

// add marks a path as read, and everything below its end.
func (p *projection) add(path ast.Ref) {
	if p.whole {
		return
	}
	if len(path) == 0 {
		*p = projection{whole: true}
		return
	}
	var child *projection
	if k, ok := path[0].Value.(ast.String); ok {
		if p.keys == nil {
			p.keys = map[string]*projection{}
		}
		if child = p.keys[string(k)]; child == nil {
			child = &projection{}
			p.keys[string(k)] = child
		}
	} else {
		if p.any == nil {
			p.any = &projection{}
		}
		child = p.any
	}
	child.add(path[1:])
}

// union merges q into p.
func (p *projection) union(q *projection) {
	if p.whole || q == nil {
		return
	}
	if q.whole {
		*p = projection{whole: true}
		return
	}
	for k, c := range q.keys {
		if p.keys == nil {
			p.keys = map[string]*projection{}
		}
		if mine := p.keys[k]; mine != nil {
			mine.union(c)
		} else {
			p.keys[k] = c.clone()
		}
	}
	if q.any != nil {
		if p.any == nil {
			p.any = &projection{}
		}
		p.any.union(q.any)
	}
}

func (p *projection) clone() *projection {
	c := &projection{}
	c.union(p)
	return c
}

// finish folds what is read below every key into each key read by name, so that child
// needs one lookup.
func (p *projection) finish() *projection {
	if p.whole {
		return wholeProjection
	}
	for k, c := range p.keys {
		c.union(p.any)
		p.keys[k] = c.finish()
	}
	if p.any != nil {
		p.any = p.any.finish()
	}
	return p
}

// child is what is read below key; nil when nothing is.
func (p *projection) child(key string) *projection {
	if p.whole {
		return p
	}
	if c, ok := p.keys[key]; ok {
		return c
	}
	return p.any
}

// toValueProjected converts an object as toValue does, keeping only what p reaches.
func toValueProjected(obj any, p *projection) (ast.Value, error) {
	if p == nil || p.whole {
		return toValue(obj, schema.GroupVersionKind{})
	}
	v := reflect.ValueOf(obj)
	if u, ok := obj.(*unstructured.Unstructured); ok {
		v = reflect.ValueOf(u.Object)
	}
	t, err := project(v, p)
	if err != nil {
		return nil, err
	}
	return t.Value, nil
}

// project converts v, keeping what p reaches; p is neither nil nor whole.
func project(v reflect.Value, p *projection) (*ast.Term, error) {
	if p.whole {
		return encoderFor(v.Type())(v)
	}
	t := v.Type()
	if leaf(t) {
		return encoderFor(t)(v)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nullTerm, nil
		}
		return project(v.Elem(), p)
	case reflect.Struct:
		fields := fieldsOf(t)
		items := make([][2]*ast.Term, 0, len(fields))
		for i := range fields {
			f := &fields[i]
			c := p.child(f.key)
			if c == nil {
				continue
			}
			fv, ok := fieldByIndex(v, f.index)
			if !ok || (f.omitEmpty && isEmpty(fv)) || (f.omitZero != nil && f.omitZero(fv)) {
				continue
			}
			val, err := project(fv, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.key, err)
			}
			items = append(items, [2]*ast.Term{f.name, val})
		}
		return ast.ObjectTerm(items...), nil
	case reflect.Map:
		if v.IsNil() {
			return nullTerm, nil
		}
		items := make([][2]*ast.Term, 0, min(v.Len(), len(p.keys)+1))
		for it := v.MapRange(); it.Next(); {
			c := p.child(it.Key().String())
			if c == nil {
				continue
			}
			val, err := project(it.Value(), c)
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{ast.StringTerm(it.Key().String()), val})
		}
		return ast.ObjectTerm(items...), nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && v.IsNil() {
			return nullTerm, nil
		}
		// Elements keep their places: their indexes are what a policy sees.
		elem := p.any
		terms := make([]*ast.Term, v.Len())
		for i := range terms {
			if elem == nil {
				terms[i] = nullTerm
				continue
			}
			var err error
			if terms[i], err = project(v.Index(i), elem); err != nil {
				return nil, err
			}
		}
		return ast.ArrayTerm(terms...), nil
	}
	return encoderFor(t)(v)
}

// leafTypes caches leaf by type: it is asked for every value projected, and the method
// sets behind its answer take reflection to search.
var leafTypes sync.Map // reflect.Type -> bool

// leaf reports whether values of a type convert as one piece: scalars, byte slices, and
// the types with their own JSON form.
func leaf(t reflect.Type) bool {
	if l, ok := leafTypes.Load(t); ok {
		return l.(bool)
	}
	l := isLeaf(t)
	leafTypes.Store(t, l)
	return l
}

func isLeaf(t reflect.Type) bool {
	if _, ok := known[t]; ok {
		return true
	}
	if implements(t, jsonMarshaler) || (t.Kind() != reflect.String && implements(t, textMarshaler)) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Array:
		return false
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8
	case reflect.Map:
		return t.Key().Kind() != reflect.String || implements(t.Key(), textMarshaler)
	}
	return true
}
