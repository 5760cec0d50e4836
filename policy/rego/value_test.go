package rego

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/sctpguard/sctpguard/policy"
)

// TestToValueIsJSON: for every kind sctpguard decodes, filled at random, the direct
// conversion gives exactly the Rego value of the object's JSON text.
func TestToValueIsJSON(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	f := randfill.NewWithSeed(seed).NilChance(0.3).NumElements(0, 2).MaxDepth(8).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(c.Int63n(1<<40), resource.DecimalSI)
		},
		func(is *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*is = intstr.FromInt32(c.Int31())
			} else {
				*is = intstr.FromString(c.String(8))
			}
		},
		func(tm *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*tm = metav1.Unix(c.Int63n(1<<32), 0)
			}
		},
		func(tm *metav1.MicroTime, c randfill.Continue) {
			if c.Bool() {
				*tm = metav1.NewMicroTime(time.Unix(c.Int63n(1<<32), c.Int63n(1e9)))
			}
		},
		func(re *runtime.RawExtension, c randfill.Continue) {
			if c.Bool() {
				re.Raw = []byte(`{"a":[1,"b",null,2.5]}`)
			}
		},
		func(m *metav1.FieldsV1, c randfill.Continue) { m.SetRawBytes([]byte(`{"f:spec":{}}`)) },
		func(f *float64, c randfill.Continue) { *f = float64(c.Int31()) / 7 },
		func(v *any, c randfill.Continue) {}, // free-form fields are JSON from the wire, not Go values
	)
	for gvk, typ := range policy.Scheme().AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		for range 3 {
			obj := reflect.New(typ).Interface()
			f.Fill(obj)
			text, err := json.Marshal(obj)
			if err != nil {
				continue // randfill made something JSON cannot hold; not the converter's concern
			}
			want, err := ast.ValueFromReader(bytes.NewReader(text))
			if err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
			got, err := toValue(obj, schema.GroupVersionKind{})
			if err != nil {
				t.Fatalf("%s: %v", gvk, err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s (seed %d):\n got %s\nwant %s", gvk, seed, got, want)
			}
		}
	}
}
