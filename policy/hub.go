package policy

import (
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// Gateway API serves some kinds in several versions: gateway.networking.k8s.io Gateways in v1
// and v1beta1, distinct Go types with the same fields. The rules and mutations read one
// version of each kind, the hub (v1), and every other served version is converted to it
// first, so that a request in any version the API server sends is judged the same way. A new
// version of a kind belongs here, and TestConfigurationsReachRules (webhook) fails until it is.

// toHub returns obj as the version the rules read. The hub shares obj's memory (v1beta1's
// Gateway is declared as v1's), and keeps obj's apiVersion, so findings name the object as
// the user wrote it. Objects of other kinds are returned as they are.
func toHub(obj Object) Object {
	switch o := obj.(type) {
	case *gwv1beta1.Gateway:
		return (*gwv1.Gateway)(o)
	}
	return obj
}

// fromHub converts a hub object back to the version of like, the object it was made from.
func fromHub(hub, like Object) Object {
	switch like.(type) {
	case *gwv1beta1.Gateway:
		if g, ok := hub.(*gwv1.Gateway); ok {
			return (*gwv1beta1.Gateway)(g)
		}
	}
	return hub
}

// Hub returns obj converted to the version the rules read (gateway.networking.k8s.io v1 for
// a v1beta1 Gateway), sharing its memory; objects of other kinds are returned as they are.
// Inventories store related objects in that version.
func Hub(obj Object) Object { return toHub(obj) }
