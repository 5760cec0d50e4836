package policy_test

import (
	"slices"
	"testing"

	"github.com/sctpguard/sctpguard/policy"
)

// TestRelatedKinds: every kind of the scheme whose objects the rules look up is named by
// RelatedKinds (check decodes only those in its first pass), and every kind named is one.
func TestRelatedKinds(t *testing.T) {
	scheme := policy.Scheme()
	related := map[string]bool{policy.MachineConfigKind: true}
	for gvk := range scheme.AllKnownTypes() {
		obj, err := scheme.New(gvk)
		if err != nil {
			continue
		}
		if o, ok := obj.(policy.Object); ok && policy.Related(o) {
			related[gvk.Kind] = true
			if !slices.Contains(policy.RelatedKinds(), gvk.Kind) {
				t.Errorf("%s is related, but RelatedKinds does not name it", gvk)
			}
		}
	}
	for _, k := range policy.RelatedKinds() {
		if !related[k] {
			t.Errorf("RelatedKinds names %s, which no related type of the scheme has", k)
		}
	}
}
