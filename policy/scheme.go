package policy

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Scheme returns the shared scheme of every kind sctpguard decodes, built on first use.
// It must not be modified; a caller that needs more kinds builds its own with NewScheme.
var Scheme = sync.OnceValue(NewScheme)

// NewScheme returns a scheme with every kind sctpguard decodes: the built-in Kubernetes
// kinds, gateway.networking.k8s.io v1 and v1beta1, and networking.x-k8s.io v1alpha1.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, gwv1.Install, gwv1beta1.Install, svcapi.AddToScheme,
	} {
		if err := add(s); err != nil {
			// Registration only fails on programming errors (conflicting types).
			panic(fmt.Sprintf("build scheme: %v", err))
		}
	}
	return s
}
