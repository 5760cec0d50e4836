package webhook

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy"
	akov1beta1 "github.com/sctpguard/sctpguard/policy/apis/ako/v1beta1"
	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// reachFixture is an object of one kind and version that the built-in rules deny, and the
// denial expected: the proof that a request of that version reaches a rule.
type reachFixture struct {
	object string
	denial string
}

// akoL4 is gatewayapi-ako-l4's message for a listener, as on a Gateway.
func akoL4(listener, protocol, classNote string) string {
	return fmt.Sprintf(`[gatewayapi-ako-l4] spec.listeners[0].protocol: listener %q is %s, but AKO's Gateway API implementation%s serves only HTTP and HTTPS `+
		"and would not program it; for L4 and SCTP use a Service of type LoadBalancer, or a networking.x-k8s.io/v1alpha1 Gateway of an AKO GatewayClass",
		listener, protocol, classNote)
}

func gatewayAPIGateway(apiVersion, protocol string) string {
	return `{"apiVersion":"gateway.networking.k8s.io/` + apiVersion + `","kind":"Gateway","metadata":{"name":"gw","namespace":"telco"},
"spec":{"gatewayClassName":"avi","listeners":[{"name":"ngap","port":38412,"protocol":"` + protocol + `"}]}}`
}

// reachFixtures holds one fixture per group, version and kind the webhook configurations
// send. A kind or version added to the configurations needs one here, and a rule.
var reachFixtures = map[schema.GroupVersionKind]reachFixture{
	{Version: "v1", Kind: "Service"}: {
		object: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"amf","namespace":"telco"},"spec":{"type":"LoadBalancer","ports":[{"name":"ngap","port":38412,"protocol":"SCTP"}]}}`,
		denial: "[sctp-nodeportlocal] spec.ports[0].protocol: port 38412/SCTP: AKO runs in NodePortLocal mode (L7Settings.serviceType), which does not support SCTP; " +
			"AKO would log a warning and skip the whole virtual service, its TCP and UDP ports too, and leave an existing one stale. " +
			"Run AKO in ClusterIP or NodePort mode for SCTP workloads, or expose this port over TCP or UDP",
	},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}: {
		object: `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"np","namespace":"telco"},
"spec":{"podSelector":{},"ingress":[{"ports":[{"protocol":"SCTP","port":38412,"endPort":38400}]}]}}`,
		denial: "[networkpolicy-endport] spec.ingress[0].ports[0].endPort: Invalid value: 38412: must be greater than or equal to `port`",
	},
	{Group: "networking.x-k8s.io", Version: "v1alpha1", Kind: "Gateway"}: {
		object: `{"apiVersion":"networking.x-k8s.io/v1alpha1","kind":"Gateway","metadata":{"name":"gw","namespace":"telco"},
"spec":{"gatewayClassName":"avi-lb","listeners":[{"port":38412,"protocol":"sctp","routes":{"kind":"services","group":"v1",
"selector":{"matchLabels":{"ako.vmware.com/gateway-name":"gw","ako.vmware.com/gateway-namespace":"telco"}}}}]}}`,
		denial: `[gateway-listener-protocol] spec.listeners[0].protocol: protocol "sctp" is not TCP, UDP or SCTP: AKO matches backend Service ports by exact protocol, ` +
			`so no pool can ever match and it says nothing; use "SCTP" (protocols are case-sensitive)`,
	},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}: {
		object: gatewayAPIGateway("v1", "SCTP"), denial: akoL4("ngap", "SCTP", ""),
	},
	{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "Gateway"}: {
		object: gatewayAPIGateway("v1beta1", "example.com/sctp"), denial: akoL4("ngap", "example.com/sctp", ""),
	},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "ListenerSet"}: {
		object: `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"ListenerSet","metadata":{"name":"extra","namespace":"telco"},
"spec":{"parentRef":{"name":"parent"},"listeners":[{"name":"diameter","port":3868,"protocol":"TCP"}]}}`,
		denial: akoL4("diameter", "TCP", " (the class of its Gateway telco/parent)"),
	},
}

// reachInventory holds the classes and the parent Gateway the fixtures refer to.
func reachInventory() *policy.MemoryInventory {
	return policy.NewMemoryInventory(
		&svcapi.GatewayClass{ObjectMeta: objectMeta("", "avi-lb"), Spec: svcapi.GatewayClassSpec{Controller: policy.AKOController}},
		&gwv1.GatewayClass{ObjectMeta: objectMeta("", "avi"), Spec: gwv1.GatewayClassSpec{ControllerName: policy.AKOController}},
		&gwv1.Gateway{ObjectMeta: objectMeta("telco", "parent"), Spec: gwv1.GatewaySpec{GatewayClassName: "avi",
			Listeners: []gwv1.Listener{{Name: "web", Port: 80, Protocol: gwv1.HTTPProtocolType}}}},
	)
}

// sentKinds returns every group, version and kind the rules of the webhooks send, with the
// webhooks that send each: resources are mapped to kinds by the CRDs' names, or for built-in
// kinds by the scheme (whose naive plural fits them), and each must decode through the scheme.
func sentKinds(t *testing.T, rules map[string][]admissionregistrationv1.RuleWithOperations, crds []apiextensionsv1.CustomResourceDefinition) map[schema.GroupVersionKind][]string {
	t.Helper()
	scheme := policy.Scheme()
	crdKinds := map[schema.GroupResource]string{}
	for _, crd := range crds {
		crdKinds[schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural}] = crd.Spec.Names.Kind
	}
	out := map[schema.GroupVersionKind][]string{}
	for hook, rs := range rules {
		for _, r := range rs {
			for _, group := range r.APIGroups {
				for _, version := range r.APIVersions {
					for _, resource := range r.Resources {
						resource, _, _ = strings.Cut(resource, "/") // a subresource carries the whole object
						var found []schema.GroupVersionKind
						if kind, ok := crdKinds[schema.GroupResource{Group: group, Resource: resource}]; ok {
							if gvk := (schema.GroupVersionKind{Group: group, Version: version, Kind: kind}); scheme.Recognizes(gvk) {
								found = append(found, gvk)
							}
						}
						for gvk := range scheme.AllKnownTypes() {
							if _, crd := crdKinds[schema.GroupResource{Group: group, Resource: resource}]; crd {
								break
							}
							if gvk.Group != group || gvk.Version != version || strings.HasSuffix(gvk.Kind, "List") {
								continue
							}
							if plural, _ := meta.UnsafeGuessKindToResource(gvk); plural.Resource == resource {
								found = append(found, gvk)
							}
						}
						if len(found) != 1 {
							t.Errorf("%s sends %s/%s %s, which the scheme decodes as %v: the webhook could not judge it", hook, group, version, resource, found)
							continue
						}
						out[found[0]] = append(out[found[0]], hook)
					}
				}
			}
		}
	}
	return out
}

// TestConfigurationsReachRules walks the rules of both webhook configurations against the
// scheme, the CRDs and the built-in rules: every resource they send decodes to one kind,
// every version the CRDs serve of a resource they send is listed, and an object of every
// group, version and kind they send is denied by the validating webhook (and labelled by the
// mutating one), so no version is waved through unjudged.
func TestConfigurationsReachRules(t *testing.T) {
	mutating, validating := Configurations(ConfigurationOptions{Name: "sctpguard", URL: "https://127.0.0.1"})
	allCRDs := crds(t)
	rules := map[string][]admissionregistrationv1.RuleWithOperations{}
	for _, w := range validating.Webhooks {
		rules[w.Name] = w.Rules
	}
	validated := sentKinds(t, rules, allCRDs)
	rules = map[string][]admissionregistrationv1.RuleWithOperations{}
	for _, w := range mutating.Webhooks {
		rules[w.Name] = w.Rules
	}
	mutated := sentKinds(t, rules, allCRDs)

	t.Run("every served version is listed", func(t *testing.T) {
		listed := map[schema.GroupResource][]string{}
		for _, w := range validating.Webhooks {
			for _, r := range w.Rules {
				for _, res := range r.Resources {
					res, _, _ = strings.Cut(res, "/")
					gr := schema.GroupResource{Group: r.APIGroups[0], Resource: res}
					listed[gr] = append(listed[gr], r.APIVersions...)
				}
			}
		}
		checked := 0
		for _, crd := range allCRDs {
			gr := schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural}
			versions, ok := listed[gr]
			if !ok {
				continue
			}
			checked++
			for _, v := range crd.Spec.Versions {
				if v.Served && !slices.Contains(versions, v.Name) {
					t.Errorf("CRD %s serves %s, which the webhooks do not list (they list %v)", crd.Name, v.Name, versions)
				}
			}
		}
		if checked == 0 {
			t.Fatal("no CRD of a resource the webhooks send was found")
		}
	})

	// The kinds the rules look up rather than judge (Gateway API classes and parents, AKO's
	// AviInfraSettings and L4Rules) are optional kinds of the inventory: each is read in a
	// version its CRD serves, and each CRD's kind is one the inventory knows.
	t.Run("every looked-up kind is read in a served version", func(t *testing.T) {
		inv := &CacheInventory{}
		inv.addOptionalKinds()
		read := map[schema.GroupKind]bool{}
		for _, k := range inv.optional() {
			for _, o := range k.watch {
				gvk, err := apiutil.GVKForObject(o, policy.Scheme())
				if err != nil {
					t.Fatalf("%s: %v", k.name, err)
				}
				read[gvk.GroupKind()] = true
				if k.version != "" && gvk.Version != k.version {
					t.Errorf("%s: discovered in %s, watched in %s", k.name, k.version, gvk.Version)
				}
				for _, crd := range allCRDs {
					if crd.Spec.Group != gvk.Group || crd.Spec.Names.Kind != gvk.Kind {
						continue
					}
					if !slices.ContainsFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool {
						return v.Served && v.Name == gvk.Version
					}) {
						t.Errorf("%s: %s is read in %s, which CRD %s does not serve", k.name, gvk.Kind, gvk.Version, crd.Name)
					}
				}
			}
		}
		for _, crd := range allCRDs {
			gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
			if (gk.Group == akov1beta1.SchemeGroupVersion.Group || gk.Group == svcapi.GroupName) && !read[gk] {
				t.Errorf("CRD %s: the inventory does not watch %s", crd.Name, gk)
			}
		}
		for _, gk := range []schema.GroupKind{
			{Group: akov1beta1.SchemeGroupVersion.Group, Kind: "AviInfraSetting"}, {Group: akov1beta1.SchemeGroupVersion.Group, Kind: "L4Rule"},
			{Group: gwv1.GroupName, Kind: "GatewayClass"}, {Group: gwv1.GroupName, Kind: "Gateway"}, {Group: gwv1.GroupName, Kind: "ListenerSet"},
		} {
			if !read[gk] {
				t.Errorf("the inventory does not watch %s", gk)
			}
		}
	})

	env := policy.Env{Context: npl.Context, Inventory: reachInventory()}
	for gvk := range validated {
		t.Run("validate "+gvk.String(), func(t *testing.T) {
			fx, ok := reachFixtures[gvk]
			if !ok {
				t.Fatalf("the configurations send %s but no fixture proves a rule judges it; add one to reachFixtures (and the rule)", gvk)
			}
			got := serve(t, handler(t, Validate, policy.Config{Disabled: []string{"sctp-openshift-module"}}, env), reviewOf(gvk, fx.object))
			if got.Allowed || got.Result == nil || got.Result.Message != fx.denial {
				t.Errorf("%s: want denied with\n%s\ngot allowed=%t %+v", gvk, fx.denial, got.Allowed, got.Result)
			}
		})
	}
	for gvk := range mutated {
		t.Run("mutate "+gvk.String(), func(t *testing.T) {
			fx, ok := reachFixtures[gvk]
			if !ok {
				t.Fatalf("the configurations send %s but no fixture; add one to reachFixtures", gvk)
			}
			// Every port or listener made SCTP: the label-sctp mutation must reach every kind.
			obj := protocols.ReplaceAllString(fx.object, `"protocol":"SCTP"`)
			got := serve(t, handler(t, Mutate, policy.Config{}, env), reviewOf(gvk, obj))
			if !got.Allowed || !bytes.Contains(got.Patch, []byte(`{"op":"add","path":"/metadata/labels","value":{"sctpguard.io/sctp":"true"}}`)) {
				t.Errorf("%s: want the sctpguard.io/sctp label added, got allowed=%t patch %s", gvk, got.Allowed, got.Patch)
			}
		})
	}
	var want, got []string
	for gvk := range reachFixtures {
		want = append(want, gvk.String())
	}
	for gvk := range validated {
		got = append(got, gvk.String())
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds the validating webhooks send (-fixtures +configurations):\n%s", diff)
	}
}

var protocols = regexp.MustCompile(`"protocol":"[^"]*"`)

// reviewOf wraps an object in a CREATE AdmissionReview of its kind.
func reviewOf(gvk schema.GroupVersionKind, object string) []byte {
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return []byte(fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1",`+
		`"kind":{"group":%q,"version":%q,"kind":%q},"resource":{"group":%q,"version":%q,"resource":%q},`+
		`"namespace":"telco","name":"x","operation":"CREATE","userInfo":{"username":"alice"},"object":%s}}`,
		gvk.Group, gvk.Version, gvk.Kind, gvk.Group, gvk.Version, plural.Resource, object))
}

// crds reads the CRDs of the kinds sctpguard judges: Gateway API's, both channels, from the
// module sctpguard builds with, and the chart's.
func crds(t *testing.T) []apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("find the gateway-api module: %v", err)
	}
	var files []string
	for _, pattern := range []string{
		filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "*", "*.yaml"),
		filepath.Join("..", "charts", "sctpguard", "crds", "*.yaml"),
	} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	var out []apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(doc, &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
				continue
			}
			out = append(out, crd)
		}
	}
	return out
}

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
