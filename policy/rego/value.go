package rego

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// toValue converts an object to the Rego value of its JSON form, as the API server would
// send it, without writing JSON or an intermediate map: each Go type gets an encoder, built
// once from its json tags by encoding/json's rules (omitempty, omitzero, inline structs,
// Marshalers), that builds the Rego terms directly. Every review's object goes through it;
// going through unstructured maps instead cost a third of a review. A non-empty gvk sets
// apiVersion and kind, which typed objects from an informer's cache do not carry.
func toValue(obj any, gvk schema.GroupVersionKind) (ast.Value, error) {
	var v ast.Value
	if u, ok := obj.(*unstructured.Unstructured); ok {
		var err error
		if v, err = ast.InterfaceToValue(u.Object); err != nil {
			return nil, err
		}
	} else {
		rv := reflect.ValueOf(obj)
		t, err := encoderFor(rv.Type())(rv)
		if err != nil {
			return nil, err
		}
		v = t.Value
	}
	if o, ok := v.(ast.Object); ok && !gvk.Empty() {
		apiVersion, kind := gvk.ToAPIVersionAndKind()
		o.Insert(apiVersionKey, ast.StringTerm(apiVersion))
		o.Insert(kindKey, ast.StringTerm(kind))
	}
	return v, nil
}

var (
	apiVersionKey = ast.StringTerm("apiVersion")
	kindKey       = ast.StringTerm("kind")
)

// encoder builds the Rego term of a Go value of one type.
type encoder func(reflect.Value) (*ast.Term, error)

// structs caches the JSON fields of each struct type.
var structs sync.Map // reflect.Type -> []jsonField

// fieldsOf returns the JSON fields of a struct type, without their encoders.
func fieldsOf(t reflect.Type) []jsonField {
	if f, ok := structs.Load(t); ok {
		return f.([]jsonField)
	}
	fields := structFields(t, nil, map[string]bool{})
	for i := range fields {
		fields[i].typ = fieldType(t, fields[i].index)
	}
	f, _ := structs.LoadOrStore(t, fields)
	return f.([]jsonField)
}

// encoders caches an encoder per type. While a type's encoder is being built, it holds one
// that forwards to it, so that recursive types (JSONSchemaProps) terminate.
var encoders sync.Map // reflect.Type -> encoder

func encoderFor(t reflect.Type) encoder {
	if e, ok := encoders.Load(t); ok {
		return e.(encoder)
	}
	var (
		wg sync.WaitGroup
		f  encoder
	)
	wg.Add(1)
	forward, loaded := encoders.LoadOrStore(t, encoder(func(v reflect.Value) (*ast.Term, error) {
		wg.Wait()
		return f(v)
	}))
	if loaded {
		return forward.(encoder)
	}
	f = newEncoder(t)
	wg.Done()
	encoders.Store(t, f)
	return f
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	nullTerm      = ast.NullTerm()
)

// known are the types of Kubernetes objects with a MarshalJSON, encoded without calling it.
var known = map[reflect.Type]encoder{
	reflect.TypeFor[metav1.Time](): func(v reflect.Value) (*ast.Term, error) {
		t := v.Interface().(metav1.Time)
		if t.IsZero() {
			return nullTerm, nil
		}
		return ast.StringTerm(t.UTC().Format(time.RFC3339)), nil
	},
	reflect.TypeFor[metav1.MicroTime](): func(v reflect.Value) (*ast.Term, error) {
		t := v.Interface().(metav1.MicroTime)
		if t.IsZero() {
			return nullTerm, nil
		}
		return ast.StringTerm(t.UTC().Format(metav1.RFC3339Micro)), nil
	},
	reflect.TypeFor[intstr.IntOrString](): func(v reflect.Value) (*ast.Term, error) {
		is := v.Interface().(intstr.IntOrString)
		switch is.Type {
		case intstr.Int:
			return ast.InternedTerm(int64(is.IntVal)), nil
		case intstr.String:
			return ast.StringTerm(is.StrVal), nil
		}
		return nil, fmt.Errorf("impossible IntOrString.Type %d", is.Type)
	},
	reflect.TypeFor[resource.Quantity](): func(v reflect.Value) (*ast.Term, error) {
		q := v.Interface().(resource.Quantity)
		b, err := q.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return ast.StringTerm(string(b[1 : len(b)-1])), nil
	},
}

func newEncoder(t reflect.Type) encoder {
	if e, ok := known[t]; ok {
		return e
	}
	// encoding/json calls a pointer receiver's MarshalJSON on addressable values; objects
	// are converted through pointers, so their fields are addressable.
	if implements(t, jsonMarshaler) {
		return marshaler(t, func(v reflect.Value) (*ast.Term, error) {
			b, err := v.Interface().(json.Marshaler).MarshalJSON()
			if err != nil {
				return nil, err
			}
			return jsonTerm(b)
		})
	}
	if t.Kind() != reflect.String && implements(t, textMarshaler) {
		return marshaler(t, func(v reflect.Value) (*ast.Term, error) {
			text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			return ast.StringTerm(string(text)), err
		})
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(v reflect.Value) (*ast.Term, error) { return ast.InternedTerm(v.Bool()), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) (*ast.Term, error) { return ast.InternedTerm(v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) (*ast.Term, error) {
			return ast.NumberTerm(json.Number(strconv.FormatUint(v.Uint(), 10))), nil
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value) (*ast.Term, error) {
			// encoding/json's formatting, so that sprintf prints what the API server sent.
			var b []byte
			var err error
			if bits == 32 {
				b, err = json.Marshal(float32(v.Float()))
			} else {
				b, err = json.Marshal(v.Float())
			}
			if err != nil {
				return nil, err
			}
			return ast.NumberTerm(json.Number(b)), nil
		}
	case reflect.String:
		return func(v reflect.Value) (*ast.Term, error) { return ast.StringTerm(v.String()), nil }
	case reflect.Interface:
		return func(v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			e := v.Elem()
			return encoderFor(e.Type())(e)
		}
	case reflect.Pointer:
		elem := encoderFor(t.Elem())
		return func(v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			return elem(v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !implements(t.Elem(), jsonMarshaler) && !implements(t.Elem(), textMarshaler) {
			return func(v reflect.Value) (*ast.Term, error) {
				if v.IsNil() {
					return nullTerm, nil
				}
				return ast.StringTerm(base64.StdEncoding.EncodeToString(v.Bytes())), nil
			}
		}
		elem := encoderFor(t.Elem())
		return func(v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			return arrayTerm(v, elem)
		}
	case reflect.Array:
		elem := encoderFor(t.Elem())
		return func(v reflect.Value) (*ast.Term, error) { return arrayTerm(v, elem) }
	case reflect.Map:
		if t.Key().Kind() != reflect.String || implements(t.Key(), textMarshaler) {
			return viaJSON
		}
		elem := encoderFor(t.Elem())
		return func(v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			items := make([][2]*ast.Term, 0, v.Len())
			for it := v.MapRange(); it.Next(); {
				val, err := elem(it.Value())
				if err != nil {
					return nil, err
				}
				items = append(items, [2]*ast.Term{ast.StringTerm(it.Key().String()), val})
			}
			return ast.ObjectTerm(items...), nil
		}
	case reflect.Struct:
		return structEncoder(t)
	}
	return viaJSON
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface))
}

// marshaler calls a marshalling method, on an addressable copy when its receiver is a
// pointer and the value is not addressable.
func marshaler(t reflect.Type, f encoder) encoder {
	if t.Kind() == reflect.Pointer {
		return func(v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			return f(v)
		}
	}
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
		return f
	}
	return func(v reflect.Value) (*ast.Term, error) {
		if v.CanAddr() {
			return f(v.Addr())
		}
		p := reflect.New(t)
		p.Elem().Set(v)
		return f(p)
	}
}

func arrayTerm(v reflect.Value, elem encoder) (*ast.Term, error) {
	terms := make([]*ast.Term, v.Len())
	for i := range terms {
		var err error
		if terms[i], err = elem(v.Index(i)); err != nil {
			return nil, err
		}
	}
	return ast.ArrayTerm(terms...), nil
}

// viaJSON is the fallback for types outside the JSON model of Kubernetes objects: their
// JSON text, parsed.
func viaJSON(v reflect.Value) (*ast.Term, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	return jsonTerm(b)
}

func jsonTerm(b []byte) (*ast.Term, error) {
	v, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(v), nil
}

// jsonField is one JSON field of a struct: where it is, its name, when it is left out.
type jsonField struct {
	name      *ast.Term
	key       string
	typ       reflect.Type
	index     []int
	enc       encoder
	omitEmpty bool
	omitZero  func(reflect.Value) bool
}

// structEncoder encodes a struct's exported fields by their json tags, with the fields of
// embedded structs without a name inlined, as encoding/json does.
func structEncoder(t reflect.Type) encoder {
	fields := slices.Clone(fieldsOf(t))
	for i := range fields {
		fields[i].enc = encoderFor(fields[i].typ)
	}
	return func(v reflect.Value) (*ast.Term, error) {
		items := make([][2]*ast.Term, 0, len(fields))
		for i := range fields {
			f := &fields[i]
			fv, ok := fieldByIndex(v, f.index)
			if !ok || (f.omitEmpty && isEmpty(fv)) || (f.omitZero != nil && f.omitZero(fv)) {
				continue
			}
			val, err := f.enc(fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name.Value.(ast.String), err)
			}
			items = append(items, [2]*ast.Term{f.name, val})
		}
		return ast.ObjectTerm(items...), nil
	}
}

func structFields(t reflect.Type, prefix []int, seen map[string]bool) []jsonField {
	var out []jsonField
	var inline []reflect.StructField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				sf.Index = index
				inline = append(inline, sf)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		f := jsonField{name: ast.StringTerm(name), key: name, index: index}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = zeroTest(sf.Type)
			}
		}
		out = append(out, f)
	}
	// The fields of embedded structs come after the struct's own, which they cannot shadow.
	for _, sf := range inline {
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		out = append(out, structFields(ft, sf.Index, seen)...)
	}
	return out
}

// fieldType is the type of the field at an index path, through embedded pointers.
func fieldType(t reflect.Type, index []int) reflect.Type {
	for i, x := range index {
		if i > 0 && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		t = t.Field(x).Type
	}
	return t
}

// fieldByIndex follows an index path through embedded pointers; false when one is nil.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 {
		return v.Field(index[0]), true
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

var isZeroer = reflect.TypeFor[interface{ IsZero() bool }]()

// zeroTest is omitzero's test: the type's IsZero method when it has one, else the zero value.
func zeroTest(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Implements(isZeroer):
		return func(v reflect.Value) bool {
			if t.Kind() == reflect.Pointer && v.IsNil() {
				return true
			}
			return v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case reflect.PointerTo(t).Implements(isZeroer):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				p := reflect.New(t)
				p.Elem().Set(v)
				v = p.Elem()
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// isEmpty is omitempty's test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
