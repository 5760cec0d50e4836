package webhook

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
)

// discoverAKO finds out whether the cluster serves AKO's AviInfraSetting (v1beta1, as AKO
// reads it, else the older v1alpha1) and L4Rule (v1alpha2).
func (i *CacheInventory) discoverAKO(mapper meta.RESTMapper) error {
	gk := schema.GroupKind{Group: akov1beta1.SchemeGroupVersion.Group, Kind: "AviInfraSetting"}
	for _, v := range []string{akov1beta1.SchemeGroupVersion.Version, akov1alpha1.SchemeGroupVersion.Version} {
		_, err := mapper.RESTMapping(gk, v)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("discover %s: %w", gk, err)
		}
		i.infraSetting = v
		break
	}
	gk.Kind = "L4Rule"
	_, err := mapper.RESTMapping(gk, akov1alpha2.SchemeGroupVersion.Version)
	switch {
	case meta.IsNoMatchError(err):
	case err != nil:
		return fmt.Errorf("discover %s: %w", gk, err)
	default:
		i.l4Rules = true
	}
	return nil
}

// akoObjects are the AKO kinds to watch.
func (i *CacheInventory) akoObjects() []client.Object {
	var out []client.Object
	switch i.infraSetting {
	case akov1beta1.SchemeGroupVersion.Version:
		out = append(out, &akov1beta1.AviInfraSetting{})
	case akov1alpha1.SchemeGroupVersion.Version:
		out = append(out, &akov1alpha1.AviInfraSetting{})
	}
	if i.l4Rules {
		out = append(out, &akov1alpha2.L4Rule{})
	}
	return out
}

// AviInfraSetting implements policy.Inventory.
func (i *CacheInventory) AviInfraSetting(name string) (*akov1beta1.AviInfraSetting, error) {
	switch i.infraSetting {
	case akov1beta1.SchemeGroupVersion.Version:
		var s akov1beta1.AviInfraSetting
		if ok, err := i.get(client.ObjectKey{Name: name}, &s); !ok {
			return nil, err
		}
		return &s, nil
	case akov1alpha1.SchemeGroupVersion.Version:
		var s akov1alpha1.AviInfraSetting
		if ok, err := i.get(client.ObjectKey{Name: name}, &s); !ok {
			return nil, err
		}
		return policy.AviInfraSettingV1beta1(&s), nil
	}
	return nil, nil
}

// L4Rule implements policy.Inventory.
func (i *CacheInventory) L4Rule(namespace, name string) (*akov1alpha2.L4Rule, error) {
	if !i.l4Rules {
		return nil, nil
	}
	var r akov1alpha2.L4Rule
	if ok, err := i.get(client.ObjectKey{Namespace: namespace, Name: name}, &r); !ok {
		return nil, err
	}
	return &r, nil
}
