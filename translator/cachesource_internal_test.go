package translator

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestDiscoverLateKinds: each optional kind is watched once, from the look after its CRD is
// served; a watch that fails is tried again at the next look; AviInfraSetting v1alpha1 gives
// way to v1beta1 when both are served at one look.
func TestDiscoverLateKinds(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	s := &CacheSource{mapper: mapper}
	if err := s.addOptionalKinds(); err != nil {
		t.Fatal(err)
	}
	serve := func(gvks ...schema.GroupVersionKind) {
		for _, gvk := range gvks {
			mapper.Add(gvk, meta.RESTScopeNamespace)
		}
	}
	var failing string
	look := func() []string {
		t.Helper()
		var watched []string
		err := s.Discover(func(o client.Object) error {
			name := fmt.Sprintf("%T", o)
			if name == failing {
				return errors.New("informer refused")
			}
			watched = append(watched, name)
			return nil
		})
		if failing != "" && err == nil {
			t.Errorf("the failed watch of %s is not an error", failing)
		}
		return watched
	}
	steps := []struct {
		name    string
		serve   []schema.GroupVersionKind
		failing string
		want    []string
		gateway bool
	}{
		{name: "nothing served"},
		{
			name:  "AKO's CRDs, both AviInfraSetting versions; L4Rule's watch fails",
			serve: []schema.GroupVersionKind{s.infraSettings.gvk, s.infraSettingsV1alpha1.gvk, s.l4Rules.gvk}, failing: "*v1alpha2.L4Rule",
			want: []string{"*v1beta1.AviInfraSetting"},
		},
		{name: "L4Rule tried again", want: []string{"*v1alpha2.L4Rule"}},
		{
			name: "networking.x-k8s.io", serve: []schema.GroupVersionKind{s.gateways.gvk, s.gatewayClasses.gvk},
			want: []string{"*v1alpha1.Gateway", "*v1alpha1.GatewayClass"}, gateway: true,
		},
		{name: "all watched: nothing more", gateway: true},
	}
	for _, step := range steps {
		serve(step.serve...)
		failing = step.failing
		if diff := cmp.Diff(step.want, look()); diff != "" {
			t.Errorf("%s: watched (-want +got):\n%s", step.name, diff)
		}
		if got := s.ServesServiceAPIs(); got != step.gateway {
			t.Errorf("%s: ServesServiceAPIs() = %v", step.name, got)
		}
	}
}
