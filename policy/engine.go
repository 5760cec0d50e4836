package policy

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	svcapi "github.com/sctpguard/sctpguard/policy/apis/serviceapis/v1alpha1"
)

// Env is what a review is judged against besides the object: the cluster context and the
// inventory of related objects.
type Env struct {
	Context   Context
	Inventory Inventory
}

// Evaluator is a source of findings besides the built-in rules: the user's Rego policies. Its
// findings go through the same configuration (disable, demote, exempt) as the built-in ones.
type Evaluator interface {
	// Evaluate judges a review. Objects of kinds sctpguard does not know reach it as
	// *unstructured.Unstructured.
	Evaluate(ctx context.Context, r *Review, env Env) ([]Finding, error)
	// RuleIDs lists the IDs of the findings it can return, for the configuration.
	RuleIDs() []string
}

// FindingsAppender is an Evaluator that can append its findings to a slice the caller
// gives, as the engine gathers a review's findings in one slice: AppendEvaluate(ctx, dst, r,
// env) is dst followed by Evaluate(ctx, r, env)'s findings.
type FindingsAppender interface {
	AppendEvaluate(ctx context.Context, dst []Finding, r *Review, env Env) ([]Finding, error)
}

// Engine runs the built-in rules and mutations, and any evaluators, under a configuration.
// It is safe for concurrent use.
type Engine struct {
	cfg        compiledConfig
	scheme     *runtime.Scheme
	evaluators []Evaluator
}

// NewEngine returns an engine for the configuration and evaluators.
func NewEngine(cfg Config, evaluators ...Evaluator) (*Engine, error) {
	var extra []string
	for _, e := range evaluators {
		extra = append(extra, e.RuleIDs()...)
	}
	cc, err := compileConfig(cfg, extra...)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cc, scheme: Scheme(), evaluators: evaluators}, nil
}

// Exempt reports whether the configuration exempts a namespace from rules and mutations.
func (e *Engine) Exempt(namespace string) bool { return e.cfg.exempt(namespace) }

// Validate judges the object of a review and returns every finding, ordered by field path.
// DELETE and CONNECT reviews, and objects in exempt namespaces, give no findings. An error
// means the review could not be judged (the inventory failed), not that the object is bad.
//
// An UPDATE ratchets, as the API server's own validation does: only what the update
// introduces or worsens is denied. A denying finding the old object has too (same rule, same
// message, judged now in the same environment) is standing: it becomes a warning marked so,
// and so does every finding of an object being deleted, so that existing objects can still be
// labelled, and shed their finalizers, after AKO's mode or a neighbour changed.
func (e *Engine) Validate(ctx context.Context, r *Review, env Env) ([]Finding, error) {
	if r.Object == nil || r.Operation == OperationDelete || r.Operation == OperationConnect || e.Exempt(r.Object.GetNamespace()) {
		return nil, nil
	}
	findings, err := e.judge(ctx, r, env)
	if err != nil || r.Operation != OperationUpdate || r.OldObject == nil || !Denied(findings) {
		return findings, err
	}
	if r.Object.GetDeletionTimestamp() != nil {
		return ratchet(findings, nil, true), nil
	}
	old := &Review{Operation: OperationUpdate, Object: r.OldObject, OldObject: r.OldObject, UserInfo: r.UserInfo, DryRun: r.DryRun}
	standing, err := e.judge(ctx, old, env)
	if err != nil {
		return nil, err
	}
	return ratchet(findings, standing, false), nil
}

// judge runs the built-in rules and the evaluators on a review, under the configuration.
func (e *Engine) judge(ctx context.Context, r *Review, env Env) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	findings, err := builtinFindings(r, env)
	if err != nil {
		return nil, err
	}
	for _, ev := range e.evaluators {
		if a, ok := ev.(FindingsAppender); ok {
			if findings, err = a.AppendEvaluate(ctx, findings, r, env); err != nil {
				return nil, err
			}
			continue
		}
		more, err := ev.Evaluate(ctx, r, env)
		if err != nil {
			return nil, err
		}
		findings = append(findings, more...)
	}
	return e.finish(r.Object, findings), nil
}

// ratchet demotes the denying findings of an update that the old object has too (each
// matched once, by rule and message: messages name ports and listeners by value, so an
// insertion that shifts indexes does not make old findings new), or all of them when the
// object is being deleted.
func ratchet(findings, old []Finding, deleting bool) []Finding {
	type key struct{ rule, message string }
	stood := map[key]int{}
	for _, f := range old {
		if f.Action == ActionDeny {
			stood[key{f.Rule, f.Message}]++
		}
	}
	for i, f := range findings {
		if f.Action != ActionDeny {
			continue
		}
		k := key{f.Rule, f.Message}
		if deleting || stood[k] > 0 {
			stood[k]--
			findings[i].Action, findings[i].Standing = ActionWarn, true
		}
	}
	return findings
}

// UnknownFieldFindings turns the unknown field paths found while decoding a manifest into
// unknown-field warnings, as kubectl's strict field validation would print them. The API
// server drops unknown fields before admission, so only the offline check sees them.
func (e *Engine) UnknownFieldFindings(obj Object, paths []string) []Finding {
	if e.Exempt(obj.GetNamespace()) {
		return nil
	}
	out := make([]Finding, 0, len(paths))
	for _, p := range paths {
		f := newFinding(RuleUnknownField, nil, "unknown field %q", p)
		f.Path = p
		f.Summary = f.Message
		out = append(out, f)
	}
	return e.finish(obj, out)
}

// Configure applies the configuration (disabled rules, rules demoted to warn) to findings
// that are about no one object: those of user policies judging all documents at once
// (check --combine). It reuses the slice.
func (e *Engine) Configure(findings []Finding) []Finding {
	out := findings[:0]
	for _, f := range findings {
		if e.cfg.disabled.Has(f.Rule) {
			continue
		}
		if e.cfg.warn.Has(f.Rule) && f.Action == ActionDeny {
			f.Action = ActionWarn
		}
		out = append(out, f)
	}
	return out
}

// finish names the object on every finding, applies the configuration and sorts.
func (e *Engine) finish(obj Object, findings []Finding) []Finding {
	ref := e.ref(obj)
	out := e.Configure(findings)
	for i := range out {
		out[i].Object = ref
	}
	SortFindings(out)
	return out
}

// ref names an object, taking its kind from the scheme when the object does not carry it.
func (e *Engine) ref(obj Object) ObjectRef {
	ref := Ref(obj)
	if ref.Kind == "" {
		if gvks, _, err := e.scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
			ref.APIVersion, ref.Kind = gvks[0].GroupVersion().String(), gvks[0].Kind
		}
	}
	return ref
}

// Paths every review of a Service reads, made once: a field.Path is never changed, only
// extended by new ones pointing to it.
var (
	specPortsPath = field.NewPath("spec", "ports")
	specTypePath  = field.NewPath("spec", "type")
)

// servicePortField is the path of a field of the i-th Service port as field.Path renders
// specPortsPath.Index(i).Child(name), "spec.ports[0].protocol", made in one allocation.
func servicePortField(i int, name string) string {
	var buf [48]byte
	b := append(buf[:0], "spec.ports["...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "]."...)
	return string(append(b, name...))
}

// joinFindings is append(out, more...), or more itself when out is empty: a rule's
// findings are a slice of its own, taken rather than copied.
func joinFindings(out, more []Finding) []Finding {
	if len(out) == 0 && len(more) > 0 {
		return more
	}
	return append(out, more...)
}

// builtinFindings dispatches to the rules of the object's kind, in its hub version.
func builtinFindings(r *Review, env Env) ([]Finding, error) {
	settings, inv := env.Context, env.Inventory
	var out []Finding
	var sctp *field.Path // the first SCTP port, for the platform rule
	switch o := toHub(r.Object).(type) {
	case *corev1.Service:
		old, _ := r.OldObject.(*corev1.Service)
		out = validateServicePorts(o)
		backendOf, err := backendImplementation(o, inv)
		if err != nil {
			return nil, err
		}
		out = joinFindings(out, validateServiceSCTP(o, settings, backendOf))
		out = joinFindings(out, validateLoadBalancerIP(o, settings))
		shared, err := validateSharedVIP(o, old, inv)
		if err != nil {
			return nil, err
		}
		backend, err := validateBackendService(o, old, settings, inv)
		if err != nil {
			return nil, err
		}
		inputs, err := validateServiceAKOInputs(o, settings, inv)
		if err != nil {
			return nil, err
		}
		out = joinFindings(joinFindings(joinFindings(out, shared), backend), inputs)
		for i, p := range o.Spec.Ports {
			// The platform rule reads the path only on OpenShift: not made for nothing.
			if p.Protocol == corev1.ProtocolSCTP && settings.Platform == PlatformOpenShift {
				sctp = specPortsPath.Index(i).Child("protocol")
				break
			}
		}
	case *networkingv1.NetworkPolicy:
		out = validateNetworkPolicyPorts(o, settings)
		sctp = firstSCTPNetworkPolicyPort(o)
	case *discoveryv1.EndpointSlice:
		out = validateEndpointSlice(o)
	case *corev1.Endpoints: //nolint:staticcheck // still served; the API server still validates it
		out = validateEndpoints(o)
	case *svcapi.Gateway:
		return validateGateway(o, settings, inv)
	case *gwv1.Gateway:
		return validateGatewayAPIGateway(o, inv)
	case *gwv1.ListenerSet:
		return validateListenerSet(o, inv)
	default:
		spec, at := podSpecOf(r.Object)
		if spec == nil {
			return nil, nil
		}
		p := field.NewPath(at[0], at[1:]...)
		out = validatePodSpec(spec, p)
		sctp = firstSCTPContainerPort(spec, p)
	}
	module, err := validateOpenShiftModule(sctp, settings, inv)
	if err != nil {
		return nil, err
	}
	return append(out, module...), nil
}

// String describes the context for logs.
func (c Context) String() string {
	if c.AKO == nil {
		return fmt.Sprintf("ako=unknown controllerVersion=%q platform=%q cni=%q", c.ControllerVersion, c.Platform, c.CNI)
	}
	return fmt.Sprintf("ako.serviceType=%s ako.servicesAPI=%t ako.defaultLBController=%t ako.layer7Only=%t controllerVersion=%q platform=%q cni=%q",
		c.AKO.ServiceType, c.AKO.ServicesAPI, c.AKO.DefaultLBController, c.AKO.Layer7Only, c.ControllerVersion, c.Platform, c.CNI)
}
