package policy

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestServicePortField: the Service port paths written as strings are field.Path's.
func TestServicePortField(t *testing.T) {
	for _, i := range []int{0, 1, 9, 10, 99, 100, 12345, math.MaxInt32} {
		for _, name := range []string{"protocol", "name", "appProtocol", "targetPort", "a.b"} {
			if got, want := servicePortField(i, name), specPortsPath.Index(i).Child(name).String(); got != want {
				t.Errorf("servicePortField(%d, %q) = %q, field.Path renders %q", i, name, got, want)
			}
		}
	}
}

// TestPortKeyString: a port's key renders as "%d/%s" formats it.
func TestPortKeyString(t *testing.T) {
	for _, k := range []portKey{{"SCTP", 38412}, {"TCP", 0}, {"UDP", -1}, {"", math.MaxInt32}, {"sctp é", math.MinInt32}} {
		if got, want := k.String(), fmt.Sprintf("%d/%s", k.Port, k.Protocol); got != want {
			t.Errorf("%#v: %q, want %q", k, got, want)
		}
	}
}

// TestPortNumFindings: a port number's findings, its path made only when it is out of range,
// are validatePortNum's.
func TestPortNumFindings(t *testing.T) {
	made := 0
	at := func() *field.Path { made++; return specPortsPath.Index(3) }
	for _, port := range []int32{math.MinInt32, -1, 0, 1, 80, 65535, 65536, math.MaxInt32} {
		made = 0
		got := portNumFindings(port, at, "targetPort")
		want := validatePortNum(port, specPortsPath.Index(3).Child("targetPort"))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("port %d (-validatePortNum +portNumFindings):\n%s", port, diff)
		}
		if valid := len(want) == 0; valid && made > 0 {
			t.Errorf("port %d: the path was made for a valid port", port)
		}
	}
}

// TestJoinFindings: joining takes a rule's findings rather than copy them, and gives what
// append gave, nil where it gave nil.
func TestJoinFindings(t *testing.T) {
	a := []Finding{{Rule: "a"}}
	b := []Finding{{Rule: "b"}, {Rule: "c"}}
	for _, tt := range []struct{ out, more []Finding }{
		{nil, nil}, {nil, []Finding{}}, {[]Finding{}, nil}, {nil, b}, {[]Finding{}, b}, {a, nil}, {a, b}, {make([]Finding, 0, 4), b},
	} {
		want := append(slices.Clip(tt.out), tt.more...) // what builtinFindings did
		got := joinFindings(tt.out, tt.more)
		if diff := cmp.Diff(want, got); diff != "" || (want == nil) != (got == nil) {
			t.Errorf("joinFindings(%v, %v) = %#v, want %#v", tt.out, tt.more, got, want)
		}
	}
}
