package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
)

// ClusterSourcePrefix starts the source name of an object read from a cluster:
// "cluster:<namespace>/<Kind>/<name>", or "cluster:<Kind>/<name>" for cluster-scoped kinds.
const ClusterSourcePrefix = "cluster:"

// clusterPageSize is the page of a list: a cluster of 100,000 Services is listed in pages,
// as kubectl get lists them, never in one answer.
const clusterPageSize = 500

// clusterKinds are what check --cluster lists: the kinds the webhooks judge (Services,
// NetworkPolicies, both Gateway APIs' Gateways, ListenerSets) and what the cross-object
// rules read (Namespaces, GatewayClasses, AKO's AviInfraSettings and L4Rules, OpenShift's
// MachineConfigs). Routes are not listed: no rule reads them. Workloads are not either: their
// rules mirror the API server's own validation, which stored objects passed. Kinds the
// cluster does not serve are skipped with a note.
var clusterKinds = []schema.GroupKind{
	{Kind: "Namespace"},
	{Kind: "Service"},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
	{Group: "networking.x-k8s.io", Kind: "GatewayClass"},
	{Group: "networking.x-k8s.io", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"},
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Kind: "ListenerSet"},
	{Group: "ako.vmware.com", Kind: "AviInfraSetting"},
	{Group: "ako.vmware.com", Kind: "L4Rule"},
	{Group: policy.MachineConfigGroup, Kind: policy.MachineConfigKind},
}

// ClusterReader is what check --cluster needs of a cluster: reads only. The client behind it
// is read-only as well (readOnlyTransport), so no code path can write.
type ClusterReader interface {
	client.Reader
	RESTMapper() meta.RESTMapper
}

// clusterSnapshot is what a cluster holds of the kinds check judges, as documents, and AKO's
// settings as its ConfigMap says.
type clusterSnapshot struct {
	docs   []*manifest.Document
	errors []*manifest.Error
	notes  []string
	// settings are AKO's, read from its ConfigMap (no AKO settings when it is absent), and
	// the platform: OpenShift when the cluster serves MachineConfigs.
	settings policy.Context
}

// ClusterConfig loads the client configuration as kubectl does: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config, else in-cluster; --context picks the context. It returns
// the namespace of the context too (default when it names none).
func ClusterConfig(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, ns, nil
}

// ReadOnly makes every request of cfg's clients a read: any other method fails before it
// is sent. check --cluster never writes; this makes it so whatever the code paths do.
func ReadOnly(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return readOnlyTransport{rt} })
	return cfg
}

type readOnlyTransport struct{ next http.RoundTripper }

// ErrNotRead is the error of a request that is not a read.
var ErrNotRead = errors.New("sctpguard check --cluster only reads: request refused")

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s %s", ErrNotRead, r.Method, r.URL.Path)
	}
	return t.next.RoundTrip(r)
}

// NewClusterReader returns a read-only client of the cluster cfg points at.
func NewClusterReader(cfg *rest.Config) (ClusterReader, error) {
	c, err := client.New(ReadOnly(cfg), client.Options{Scheme: policy.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// clusterReader returns the reader of the options (tests set Reader) and the namespace of
// the options: -n, else the kubeconfig context's.
func (o *Options) clusterReader() (ClusterReader, string, error) {
	if o.ClusterReader != nil {
		return o.ClusterReader, o.Namespace, nil
	}
	cfg, ns, err := ClusterConfig(o.Kubeconfig, o.KubeContext)
	if err != nil {
		return nil, "", err
	}
	r, err := NewClusterReader(cfg)
	if err != nil {
		return nil, "", err
	}
	if o.Namespace != "" {
		ns = o.Namespace
	}
	return r, ns, nil
}

// readCluster lists the kinds check judges, read-only, in the namespaces given ("" for
// all), and reads AKO's ConfigMap. With files (forFiles), a namespace the cluster does not
// have is a note, not an error: the files may create it.
func (o *Options) readCluster(ctx context.Context, r ClusterReader, namespaces []string, forFiles bool) (*clusterSnapshot, error) {
	snap := &clusterSnapshot{}
	dec := manifest.NewDecoder(policy.Scheme(), "default")
	for _, gk := range clusterKinds {
		mapping, err := servedMapping(r.RESTMapper(), gk)
		if err != nil {
			if meta.IsNoMatchError(err) {
				snap.notes = append(snap.notes, fmt.Sprintf("the cluster does not serve %s: skipped", kindName(gk)))
				continue
			}
			return nil, fmt.Errorf("discover %s: %w", kindName(gk), err)
		}
		if gk.Group == policy.MachineConfigGroup {
			snap.settings.Platform = policy.PlatformOpenShift
		}
		in := namespaces
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace && gk != (schema.GroupKind{Kind: "Namespace"}) {
			in = []string{""} // cluster-scoped: one list whatever the namespaces
		}
		for _, namespace := range in {
			objs, err := listKind(ctx, r, mapping, namespace)
			if err != nil {
				switch {
				case errors.As(err, new(noNamespace)) && forFiles:
					snap.notes = append(snap.notes, fmt.Sprintf("namespace %q is not in the cluster: the objects of the files there are judged against the files alone", namespace))
				case apierrors.IsNotFound(err): // its CRD went away since discovery
					snap.notes = append(snap.notes, fmt.Sprintf("the cluster does not serve %s: skipped", kindName(gk)))
				default:
					snap.errors = append(snap.errors, &manifest.Error{Source: ClusterSourcePrefix + mapping.Resource.GroupResource().String(), Err: err})
				}
				continue
			}
			for _, obj := range objs {
				docs, errs := dec.Decode(clusterSource(obj, mapping), storedManifest(obj))
				snap.docs, snap.errors = append(snap.docs, docs...), append(snap.errors, errs...)
			}
		}
	}
	if o.AKOValues == "" && o.AKOConfigMap == "" {
		if err := snap.readAKO(ctx, r, o.AKOConfigMapNamespace, o.AKOConfigMapName); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// namespacesRead says where check --cluster -f read the cluster, for its note.
func namespacesRead(o *Options, namespaces []string) string {
	if o.AllNamespaces {
		return "every namespace"
	}
	if len(namespaces) == 1 {
		return "namespace " + namespaces[0]
	}
	return "namespaces " + strings.Join(namespaces, ", ")
}

// clusterNamespaces are the namespaces to read for the files' documents: those their objects
// are in, namespace (-n's, else the kubeconfig context's) when they name none.
func clusterNamespaces(namespace string, files []*manifest.Document) []string {
	var in []string
	for _, d := range files {
		if d.Typed != nil && d.Typed.GetNamespace() != "" {
			in = append(in, d.Typed.GetNamespace())
		}
	}
	slices.Sort(in)
	if in = slices.Compact(in); len(in) == 0 {
		in = []string{namespace}
	}
	return in
}

// readAKO reads AKO's settings from its ConfigMap key by key, as the webhook does: a key that
// does not read takes AKO's own reading, with a note.
func (s *clusterSnapshot) readAKO(ctx context.Context, r client.Reader, namespace, name string) error {
	var cm corev1.ConfigMap
	err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		s.notes = append(s.notes, fmt.Sprintf("AKO's ConfigMap %s/%s not found: rules that need AKO's settings are silent (give --ako-values or --ako-configmap)", namespace, name))
		return nil
	case err != nil:
		return fmt.Errorf("read AKO's ConfigMap %s/%s: %w", namespace, name, err)
	}
	settings, problems := policy.ReadAKOConfigMap(cm.Data)
	for _, p := range problems {
		s.notes = append(s.notes, fmt.Sprintf("AKO's ConfigMap %s/%s: %s", namespace, name, p))
	}
	settings.Platform = s.settings.Platform
	s.settings = settings
	return nil
}

// servedMapping returns the version of the kind the cluster serves that sctpguard decodes,
// preferring the cluster's preferred version; a kind sctpguard has no types for (OpenShift's
// MachineConfig) in the preferred version.
func servedMapping(m meta.RESTMapper, gk schema.GroupKind) (*meta.RESTMapping, error) {
	mappings, err := m.RESTMappings(gk)
	if err != nil {
		return nil, err
	}
	if len(mappings) == 0 {
		return nil, &meta.NoKindMatchError{GroupKind: gk}
	}
	scheme := policy.Scheme()
	if i := slices.IndexFunc(mappings, func(mp *meta.RESTMapping) bool { return scheme.Recognizes(mp.GroupVersionKind) }); i >= 0 {
		return mappings[i], nil
	}
	return mappings[0], nil
}

// noNamespace is listKind's error for a namespace the cluster does not have.
type noNamespace string

func (n noNamespace) Error() string { return fmt.Sprintf("namespace %q not found", string(n)) }

// listKind lists a kind in pages, in namespace ("" for all). The Namespaces of one namespace
// are that namespace alone, read by name: a user of one namespace may not list them all.
func listKind(ctx context.Context, r client.Reader, mapping *meta.RESTMapping, namespace string) ([]unstructured.Unstructured, error) {
	gvk := mapping.GroupVersionKind
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	if gvk.Group == "" && gvk.Kind == "Namespace" && namespace != "" {
		obj := unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		if err := r.Get(ctx, types.NamespacedName{Name: namespace}, &obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, noNamespace(namespace)
			}
			return nil, err
		}
		return []unstructured.Unstructured{obj}, nil
	}
	var out []unstructured.Unstructured
	opts := []client.ListOption{client.Limit(clusterPageSize)}
	if namespaced && namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	for cont := ""; ; {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := r.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return nil, err
		}
		out = append(out, list.Items...)
		if cont = list.GetContinue(); cont == "" {
			return out, nil
		}
	}
}

// clusterSource names a stored object: cluster:<namespace>/<Kind>/<name>.
func clusterSource(obj unstructured.Unstructured, mapping *meta.RESTMapping) string {
	name := mapping.GroupVersionKind.Kind + "/" + obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return ClusterSourcePrefix + name
}

// serverMetadata are the metadata fields the API server sets; a manifest holds none of them.
var serverMetadata = []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// lastApplied is the annotation kubectl apply keeps the applied manifest in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// storedManifest turns a stored object back into the manifest it came from, as far as it
// can: without the fields the API server sets (status, the server's metadata, kubectl's
// last-applied annotation), so that it is judged as `check -f` judges the manifest. Fields
// the API server defaulted stay; sctpguard applies the same defaults to manifests.
func storedManifest(obj unstructured.Unstructured) []byte {
	o := obj.DeepCopy().Object
	delete(o, "status")
	if md, ok := o["metadata"].(map[string]any); ok {
		for _, f := range serverMetadata {
			delete(md, f)
		}
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, lastApplied)
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	// One line of JSON: the lines of findings are all 1, the object's; a stored object has
	// no lines of its own.
	data, err := json.Marshal(o)
	if err != nil {
		// An object decoded from JSON marshals back.
		panic(fmt.Sprintf("marshal stored object: %v", err))
	}
	return data
}

// kindName names a kind in notes, in the plural: "NetworkPolicies (networking.k8s.io)".
func kindName(gk schema.GroupKind) string {
	name := gk.Kind + "s"
	switch {
	case strings.HasSuffix(gk.Kind, "y") && !strings.ContainsAny(gk.Kind[len(gk.Kind)-2:len(gk.Kind)-1], "aeiou"):
		name = strings.TrimSuffix(gk.Kind, "y") + "ies"
	case strings.HasSuffix(gk.Kind, "s"):
		name = gk.Kind + "es"
	}
	if gk.Group == "" {
		return name
	}
	return name + " (" + gk.Group + ")"
}
