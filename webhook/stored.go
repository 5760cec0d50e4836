package webhook

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// The stored objects and how one is judged: what the guard on AKO's ConfigMap reads. (The
// audit of issue 15 shares the same need; the two are meant to become one.)

// StoredSource lists the stored objects of the kinds the validating webhook judges.
type StoredSource interface {
	Stored(ctx context.Context) ([]policy.Object, error)
}

var _ StoredSource = (*CacheInventory)(nil)

// Stored lists, from the cache, the stored objects of the kinds the validating webhook judges
// that the cache holds: Services, and the Gateways and ListenerSets of the Gateway APIs the
// cluster serves (NetworkPolicies are not cached; the rules that read AKO's settings do not
// judge them). They are copies, with their kind set and the API server's defaults, sorted by
// kind, namespace and name.
func (i *CacheInventory) Stored(ctx context.Context) ([]policy.Object, error) {
	var out []policy.Object
	add := func(list client.ObjectList, items func() []policy.Object) error {
		if err := i.cache.List(ctx, list); err != nil {
			return fmt.Errorf("list %T: %w", list, err)
		}
		out = append(out, items()...)
		return nil
	}
	var services corev1.ServiceList
	if err := add(&services, func() []policy.Object { return objects(services.Items) }); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		kind *optionalKind
		list client.ObjectList
		objs func(client.ObjectList) []policy.Object
	}{
		{i.serviceAPIs, &svcapi.GatewayList{}, func(l client.ObjectList) []policy.Object { return objects(l.(*svcapi.GatewayList).Items) }},
		{i.gatewayAPI, &gwv1.GatewayList{}, func(l client.ObjectList) []policy.Object { return objects(l.(*gwv1.GatewayList).Items) }},
		{i.listenerSets, &gwv1.ListenerSetList{}, func(l client.ObjectList) []policy.Object { return objects(l.(*gwv1.ListenerSetList).Items) }},
	} {
		served, err := i.has(k.kind)
		if err != nil {
			return nil, err
		}
		if !served {
			continue
		}
		if err := add(k.list, func() []policy.Object { return k.objs(k.list) }); err != nil {
			return nil, err
		}
	}
	scheme := policy.Scheme()
	for _, o := range out {
		if gvks, _, err := scheme.ObjectKinds(o); err == nil && len(gvks) > 0 {
			o.GetObjectKind().SetGroupVersionKind(gvks[0])
		}
		policy.ApplyDefaults(o)
	}
	slices.SortStableFunc(out, func(a, b policy.Object) int {
		ra, rb := policy.Ref(a), policy.Ref(b)
		return cmp.Or(strings.Compare(ra.Kind, rb.Kind), strings.Compare(ra.Namespace, rb.Namespace), strings.Compare(ra.Name, rb.Name))
	})
	return out, nil
}

// objects copies the items of a list: what the cache holds must not change.
func objects[T any, P interface {
	*T
	policy.Object
}](items []T) []policy.Object {
	out := make([]policy.Object, len(items))
	for i := range items {
		out[i] = P(&items[i]).DeepCopyObject().(policy.Object)
	}
	return out
}

// judgeStored judges a stored object as the validating webhook judges its creation.
func judgeStored(ctx context.Context, pol Policy, obj policy.Object, env policy.Env) ([]policy.Finding, error) {
	return pol.Validate(ctx, &policy.Review{Operation: policy.OperationCreate, Object: obj}, env)
}
