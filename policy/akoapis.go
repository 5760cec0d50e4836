package policy

import (
	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
)

// AviInfraSettingV1beta1 reads a v1alpha1 AviInfraSetting as v1beta1, as the API server
// serves one version as the other: the fields are the same, v1beta1 adds some.
func AviInfraSettingV1beta1(in *akov1alpha1.AviInfraSetting) *akov1beta1.AviInfraSetting {
	out := &akov1beta1.AviInfraSetting{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.SetGroupVersionKind(akov1beta1.SchemeGroupVersion.WithKind("AviInfraSetting"))
	n := in.Spec.Network
	for _, v := range n.VipNetworks {
		out.Spec.Network.VipNetworks = append(out.Spec.Network.VipNetworks,
			akov1beta1.AviInfraSettingVipNetwork{NetworkName: v.NetworkName, Cidr: v.Cidr, V6Cidr: v.V6Cidr})
	}
	for _, v := range n.NodeNetworks {
		out.Spec.Network.NodeNetworks = append(out.Spec.Network.NodeNetworks,
			akov1beta1.AviInfraSettingNodeNetwork{NetworkName: v.NetworkName, Cidrs: append([]string(nil), v.Cidrs...)})
	}
	if n.EnableRhi != nil {
		out.Spec.Network.EnableRhi = new(*n.EnableRhi)
	}
	if n.EnablePublicIP != nil {
		out.Spec.Network.EnablePublicIP = new(*n.EnablePublicIP)
	}
	out.Spec.Network.BgpPeerLabels = append([]string(nil), n.BgpPeerLabels...)
	out.Spec.SeGroup.Name = in.Spec.SeGroup.Name
	out.Spec.L7Settings.ShardSize = in.Spec.L7Settings.ShardSize
	out.Status.Status, out.Status.Error = in.Status.Status, in.Status.Error
	return out
}
