package policy

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	akov1alpha1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha1"
	akov1alpha2 "github.com/sctpguard/sctpguard/policy/apis/ako/v1alpha2"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Scheme returns the shared scheme of every kind sctpguard decodes, built on first use.
// It must not be modified; a caller that needs more kinds builds its own with NewScheme.
var Scheme = sync.OnceValue(NewScheme)

// NewScheme returns a scheme with every kind sctpguard decodes: the built-in Kubernetes
// kinds, gateway.networking.k8s.io v1 and v1beta1, networking.x-k8s.io v1alpha1, and AKO's
// AviInfraSetting (ako.vmware.com v1alpha1 and v1beta1) and L4Rule (v1alpha2).
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, gwv1.Install, gwv1beta1.Install, svcapi.AddToScheme,
		akov1alpha1.AddToScheme, akov1beta1.AddToScheme, akov1alpha2.AddToScheme,
	} {
		if err := add(s); err != nil {
			// Registration only fails on programming errors (conflicting types).
			panic(fmt.Sprintf("build scheme: %v", err))
		}
	}
	return s
}
