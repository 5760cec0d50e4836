package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// typeMismatch is a value whose JSON type does not fit its Go field.
type typeMismatch struct {
	path string
	msg  string
}

var (
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	quantityType    = reflect.TypeFor[resource.Quantity]()
	timeType        = reflect.TypeFor[metav1.Time]()
	microTimeType   = reflect.TypeFor[metav1.MicroTime]()
	rawType         = reflect.TypeFor[runtime.RawExtension]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// findTypeMismatch walks a value alongside the Go type it is decoded into and returns the
// first value of the wrong JSON type, with its field path. The unstructured converter only
// says that a conversion failed; this says where, so the user sees the field and its line.
func findTypeMismatch(v any, t reflect.Type, path string) *typeMismatch {
	if v == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case intOrStringType:
		switch v.(type) {
		case string, int64, float64:
			return nil
		}
		return mismatch(path, "an integer or a string", v)
	case quantityType:
		switch v.(type) {
		case string, int64, float64:
			return nil
		}
		return mismatch(path, "a quantity such as 100m or 1Gi", v)
	case timeType, microTimeType:
		if _, ok := v.(string); ok {
			return nil
		}
		return mismatch(path, "an RFC 3339 time string", v)
	case rawType:
		return nil
	}
	if t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType) && t.Kind() == reflect.Struct {
		return nil // custom JSON decoding; trust the converter's own error
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, "an object", v)
		}
		for key, val := range m {
			if ft, ok := jsonField(t, key); ok {
				if mm := findTypeMismatch(val, ft, join(path, key)); mm != nil {
					return mm
				}
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, "an object", v)
		}
		for key, val := range m {
			if mm := findTypeMismatch(val, t.Elem(), fmt.Sprintf("%s[%s]", path, key)); mm != nil {
				return mm
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); ok {
				return nil
			}
			return mismatch(path, "a base64 string", v)
		}
		s, ok := v.([]any)
		if !ok {
			return mismatch(path, "a list", v)
		}
		for i, item := range s {
			if mm := findTypeMismatch(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); mm != nil {
				return mm
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return mismatch(path, "a string", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mismatch(path, "a boolean", v)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch n := v.(type) {
		case int64:
			if overflows(t, n) {
				return &typeMismatch{path, fmt.Sprintf("%d does not fit in %s", n, t.Kind())}
			}
		case float64:
			if n != math.Trunc(n) {
				return mismatch(path, "an integer", v)
			}
		default:
			return mismatch(path, "an integer", v)
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			return mismatch(path, "a number", v)
		}
	}
	return nil
}

func overflows(t reflect.Type, n int64) bool {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return n < 0 || reflect.New(t).Elem().OverflowUint(uint64(n))
	}
	return reflect.New(t).Elem().OverflowInt(n)
}

func mismatch(path, want string, got any) *typeMismatch {
	var desc string
	switch g := got.(type) {
	case string:
		desc = "string " + strconv.Quote(g)
	case int64, float64:
		desc = fmt.Sprintf("number %v", g)
	case bool:
		desc = fmt.Sprintf("boolean %v", g)
	case []any:
		desc = "a list"
	case map[string]any:
		desc = "an object"
	default:
		desc = fmt.Sprintf("%T", g)
	}
	return &typeMismatch{path: path, msg: fmt.Sprintf("expected %s, got %s", want, desc)}
}

// jsonField finds the field of struct t named key in JSON, looking into inlined structs.
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && name == "") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if found, ok := jsonField(ft, key); ok {
					return found, true
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
