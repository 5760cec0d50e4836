package webhook

import (
	"testing"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/webhook/audit"
)

// TestRelevantMatchesConditions: the audit judges exactly the objects the webhook
// configurations' matchConditions send to the webhook, each condition evaluated with CEL as
// the API server evaluates it.
func TestRelevantMatchesConditions(t *testing.T) {
	env, err := cel.NewEnv(cel.Variable("object", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	eval := func(expr string, obj policy.Object) bool {
		t.Helper()
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := prg.Eval(map[string]any{"object": u})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return out.Value() == true
	}
	meta := func(labels, annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "x", Namespace: "ns", Labels: labels, Annotations: annotations}
	}
	svc := func(m metav1.ObjectMeta, protocols ...corev1.Protocol) *corev1.Service {
		s := &corev1.Service{ObjectMeta: m}
		for i, p := range protocols {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: int32(80 + i), Protocol: p})
		}
		return s
	}
	np := func(ingress, egress corev1.Protocol) *networkingv1.NetworkPolicy {
		n := &networkingv1.NetworkPolicy{ObjectMeta: meta(nil, nil)}
		n.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(ingress)}}}}
		n.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(egress)}}}, {}}
		return n
	}
	gw := func(m metav1.ObjectMeta, protocols ...gwv1.ProtocolType) *gwv1.Gateway {
		g := &gwv1.Gateway{ObjectMeta: m}
		for _, p := range protocols {
			g.Spec.Listeners = append(g.Spec.Listeners, gwv1.Listener{Name: "l", Port: 80, Protocol: p})
		}
		return g
	}
	ls := func(m metav1.ObjectMeta, protocols ...gwv1.ProtocolType) *gwv1.ListenerSet {
		l := &gwv1.ListenerSet{ObjectMeta: m}
		for _, p := range protocols {
			l.Spec.Listeners = append(l.Spec.Listeners, gwv1.ListenerEntry{Name: "l", Port: 80, Protocol: p})
		}
		return l
	}
	for _, tc := range []struct {
		name, condition string
		obj             policy.Object
		want            bool
	}{
		{"tcp service", serviceCondition, svc(meta(nil, nil), corev1.ProtocolTCP), false},
		{"no ports", serviceCondition, svc(meta(nil, nil)), false},
		{"sctp port", serviceCondition, svc(meta(nil, nil), corev1.ProtocolTCP, corev1.ProtocolSCTP), true},
		{"gateway-name label", serviceCondition, svc(meta(map[string]string{policy.LabelGatewayName: "g"}, nil), corev1.ProtocolTCP), true},
		{"gateway-namespace label", serviceCondition, svc(meta(map[string]string{policy.LabelGatewayNamespace: "g"}, nil)), true},
		{"sctp label", serviceCondition, svc(meta(map[string]string{policy.LabelSCTP: "true"}, nil)), true},
		{"other label", serviceCondition, svc(meta(map[string]string{"app": "x"}, map[string]string{"a": "b"}), corev1.ProtocolUDP), false},
		{"shared vip", serviceCondition, svc(meta(nil, map[string]string{policy.AnnotationSharedVIP: "k"})), true},
		{"np tcp", networkPolicyCondition, np(corev1.ProtocolTCP, corev1.ProtocolUDP), false},
		{"np sctp ingress", networkPolicyCondition, np(corev1.ProtocolSCTP, corev1.ProtocolUDP), true},
		{"np sctp egress", networkPolicyCondition, np(corev1.ProtocolTCP, corev1.ProtocolSCTP), true},
		{"gateway http", gatewayAPICondition, gw(meta(nil, nil), gwv1.HTTPProtocolType, gwv1.HTTPSProtocolType), false},
		{"gateway tcp", gatewayAPICondition, gw(meta(nil, nil), gwv1.HTTPProtocolType, gwv1.TCPProtocolType), true},
		{"gateway sctp label", gatewayAPICondition, gw(meta(map[string]string{policy.LabelSCTP: "true"}, nil), gwv1.HTTPProtocolType), true},
		{"listenerset http", gatewayAPICondition, ls(meta(nil, nil), gwv1.HTTPSProtocolType), false},
		{"listenerset sctp", gatewayAPICondition, ls(meta(nil, nil), "SCTP"), true},
		{"listenerset label", gatewayAPICondition, ls(meta(map[string]string{policy.LabelSCTP: ""}, nil)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := eval(tc.condition, tc.obj); got != tc.want {
				t.Fatalf("matchCondition: %t, want %t (the table is wrong)", got, tc.want)
			}
			if got := audit.Relevant(tc.obj); got != tc.want {
				t.Errorf("audit.Relevant: %t, the webhook's matchCondition: %t", got, tc.want)
			}
		})
	}
}
