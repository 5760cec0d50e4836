package webhook

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/policy"
	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
)

// addAKOKinds adds AKO's CRDs to the optional kinds: AviInfraSetting in v1beta1, as AKO reads
// it, else the older v1alpha1, and L4Rule v1alpha2. Like the other optional kinds, a CRD
// installed after start is watched from the first lookup that needs it.
func (i *CacheInventory) addAKOKinds() {
	infra := schema.GroupKind{Group: akov1beta1.SchemeGroupVersion.Group, Kind: "AviInfraSetting"}
	i.infraSettings = &optionalKind{
		name: "ako.vmware.com AviInfraSettings", gk: infra, version: akov1beta1.SchemeGroupVersion.Version,
		watch: []client.Object{&akov1beta1.AviInfraSetting{}},
	}
	i.infraSettingsV1alpha1 = &optionalKind{
		name: "ako.vmware.com v1alpha1 AviInfraSettings", gk: infra, version: akov1alpha1.SchemeGroupVersion.Version,
		unless: i.infraSettings, watch: []client.Object{&akov1alpha1.AviInfraSetting{}},
	}
	i.l4Rules = &optionalKind{
		name: "ako.vmware.com L4Rules", gk: schema.GroupKind{Group: akov1alpha2.SchemeGroupVersion.Group, Kind: "L4Rule"},
		version: akov1alpha2.SchemeGroupVersion.Version, watch: []client.Object{&akov1alpha2.L4Rule{}},
	}
}

// AviInfraSetting implements policy.Inventory.
func (i *CacheInventory) AviInfraSetting(name string) (*akov1beta1.AviInfraSetting, error) {
	key := client.ObjectKey{Name: name}
	ok, err := i.has(i.infraSettings)
	switch {
	case err != nil:
		return nil, err
	case ok:
		var s akov1beta1.AviInfraSetting
		if ok, err := i.get(key, &s); !ok {
			return nil, err
		}
		return &s, nil
	}
	s, err := optionalGet[akov1alpha1.AviInfraSetting](i, i.infraSettingsV1alpha1, key)
	if s == nil {
		return nil, err
	}
	return policy.AviInfraSettingV1beta1(s), nil
}

// L4Rule implements policy.Inventory.
func (i *CacheInventory) L4Rule(namespace, name string) (*akov1alpha2.L4Rule, error) {
	return optionalGet[akov1alpha2.L4Rule](i, i.l4Rules, client.ObjectKey{Namespace: namespace, Name: name})
}
