package webhook

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
	"github.com/sctpguard/sctpguard/webhook/audit"
)

// The stored objects and how one is judged: what the guard on AKO's ConfigMap reads, listed
// as the audit lists them (audit.Stored).

// StoredSource lists the stored objects of the kinds the validating webhook judges.
type StoredSource interface {
	Stored(ctx context.Context) ([]policy.Object, error)
}

var _ StoredSource = (*CacheInventory)(nil)

// Stored lists, from the cache, the stored objects the validating webhook would judge (those
// its matchConditions select, audit.Relevant) of the kinds it judges that the cache holds:
// Services, NetworkPolicies once watched (WatchNetworkPolicies), and the Gateways and
// ListenerSets of the Gateway APIs the cluster serves: the audit's kinds. They are copies, with their kind set and the API server's defaults, ordered as the audit's
// reports: by kind, namespace and name. A Gateway API whose cache is still syncing is an error.
func (i *CacheInventory) Stored(ctx context.Context) ([]policy.Object, error) {
	served := map[schema.GroupVersionKind]bool{corev1.SchemeGroupVersion.WithKind("Service"): true}
	if informer := i.networkPolicies.Load(); informer != nil {
		if !(*informer).HasSynced() {
			return nil, errors.New("NetworkPolicies are not cached yet (may sctpguard list and watch them? the chart grants it with akoGuard.enabled)")
		}
		served[networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")] = true
	}
	for gvk, k := range map[schema.GroupVersionKind]*optionalKind{
		svcapi.SchemeGroupVersion.WithKind("Gateway"):               i.serviceAPIs,
		{Group: gwv1.GroupName, Version: "v1", Kind: "Gateway"}:     i.gatewayAPI,
		{Group: gwv1.GroupName, Version: "v1", Kind: "ListenerSet"}: i.listenerSets,
	} {
		ok, err := i.has(k)
		if err != nil {
			return nil, err
		}
		served[gvk] = ok
	}
	out, err := audit.Stored(ctx, i.cache, func(gvk schema.GroupVersionKind) bool { return served[gvk] })
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		policy.ApplyDefaults(o)
	}
	return out, nil
}

// judgeStored judges a stored object as the validating webhook judges its creation.
func judgeStored(ctx context.Context, pol Policy, obj policy.Object, env policy.Env) ([]policy.Finding, error) {
	return pol.Validate(ctx, &policy.Review{Operation: policy.OperationCreate, Object: obj}, env)
}
