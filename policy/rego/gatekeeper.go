package rego

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	corev1 "k8s.io/api/core/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sctpguard/sctpguard/policy"
)

// Gatekeeper's API groups and its one admission target.
const (
	templatesGroup   = "templates.gatekeeper.sh"
	constraintsGroup = "constraints.gatekeeper.sh"
	admissionTarget  = "admission.k8s.gatekeeper.sh"
)

// constraintTemplate is the part of a Gatekeeper ConstraintTemplate sctpguard reads.
type constraintTemplate struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		CRD struct {
			Spec struct {
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Validation *struct {
					OpenAPIV3Schema *apiextensionsv1.JSONSchemaProps `json:"openAPIV3Schema"`
				} `json:"validation"`
			} `json:"spec"`
		} `json:"crd"`
		Targets []struct {
			Target string   `json:"target"`
			Rego   string   `json:"rego"`
			Libs   []string `json:"libs"`
			Code   []struct {
				Engine string `json:"engine"`
				Source struct {
					Rego    string   `json:"rego"`
					Libs    []string `json:"libs"`
					Version string   `json:"version"`
				} `json:"source"`
			} `json:"code"`
		} `json:"targets"`
	} `json:"spec"`
}

// template is a compiled-ready ConstraintTemplate.
type template struct {
	name, kind string
	source     string
	// pkg is where the template's module lives after the rewrite: data.sctpguard.templates.<kind>.
	pkg     string
	modules []*ast.Module
	// params validates constraints' spec.parameters; nil accepts anything.
	params validation.SchemaValidator
	// perConstraint says whether each constraint can get its own copy of the modules with
	// input.parameters read from data (see forConstraint): not when the modules take
	// input whole, where parameters could be read any way.
	perConstraint bool
}

var inputParameters = ast.MustParseRef("input.parameters")

// readsInputWhole reports whether a module uses input other than through input.<key>
// references: passed to a function, iterated, compared whole.
func readsInputWhole(m *ast.Module) bool {
	input := ast.InputRootDocument.Value.(ast.Var)
	uses, keyed := 0, 0
	ast.WalkVars(m, func(v ast.Var) bool {
		if v.Equal(input) {
			uses++
		}
		return false
	})
	ast.WalkRefs(m, func(r ast.Ref) bool {
		if len(r) > 1 && r[0].Value.Compare(input) == 0 {
			if _, ok := r[1].Value.(ast.String); ok {
				keyed++
			}
		}
		return false
	})
	// with input... as: the constant cannot be a with target.
	ast.WalkExprs(m, func(e *ast.Expr) bool {
		for _, w := range e.With {
			if r, ok := w.Target.Value.(ast.Ref); ok && r[0].Value.Compare(input) == 0 {
				uses += 1 << 20
			}
		}
		return false
	})
	return uses > keyed
}

// forConstraint copies the template's modules into package pkg, with input.parameters read
// from params in data: then several constraints, each with its parameters, are evaluated
// by one query, and no input is rebuilt per constraint. (Not a constant: the type checker
// would refuse a reference to a parameter the constraint leaves out.)
func (t *template) forConstraint(pkg, params ast.Ref) ([]*ast.Module, error) {
	own := ast.MustParseRef("data." + t.pkg)
	out := make([]*ast.Module, 0, len(t.modules))
	for _, m := range t.modules {
		c := m.Copy()
		c.Package.Path = append(pkg.Copy(), c.Package.Path[len(own):]...)
		rewritten, err := transformRefs(c, func(r ast.Ref) (ast.Value, error) {
			switch {
			case r.HasPrefix(inputParameters):
				return append(params.Copy(), r[len(inputParameters):]...), nil
			case r.HasPrefix(own):
				return append(pkg.Copy(), r[len(own):]...), nil
			}
			return r, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rewritten)
	}
	return out, nil
}

// templateRego finds the Rego of a template: the legacy rego field wins over a code[] entry
// with engine Rego, as in Gatekeeper. It returns the text, libs, Rego version and the field
// path of the text (for line numbers).
func (ct *constraintTemplate) templateRego() (string, []string, ast.RegoVersion, string, error) {
	if len(ct.Spec.Targets) != 1 {
		return "", nil, 0, "", fmt.Errorf("spec.targets: a template has exactly one target, got %d", len(ct.Spec.Targets))
	}
	t := ct.Spec.Targets[0]
	if t.Target != admissionTarget {
		return "", nil, 0, "", fmt.Errorf("spec.targets[0].target: %q is not %s", t.Target, admissionTarget)
	}
	if t.Rego != "" {
		return t.Rego, t.Libs, ast.RegoV0, "spec.targets[0].rego", nil
	}
	var engines []string
	for i, c := range t.Code {
		engines = append(engines, c.Engine)
		if c.Engine != "Rego" {
			continue
		}
		version := ast.RegoV0
		switch c.Source.Version {
		case "", "v0":
		case "v1":
			version = ast.RegoV1
		default:
			return "", nil, 0, "", fmt.Errorf("spec.targets[0].code[%d].source.version: %q is not v0 or v1", i, c.Source.Version)
		}
		return c.Source.Rego, c.Source.Libs, version, fmt.Sprintf("spec.targets[0].code[%d].source.rego", i), nil
	}
	return "", nil, 0, "", fmt.Errorf("spec.targets[0]: no Rego (engines: %s); sctpguard runs Rego templates, not CEL", strings.Join(engines, ", "))
}

// parseTemplate turns a ConstraintTemplate into modules with rewritten packages: the main
// module becomes data.sctpguard.templates.<kind>, each lib data.sctpguard.templates.<kind>.lib.<name>,
// and references to data.lib follow. Only data.lib and data.inventory may be referenced, as
// in Gatekeeper (data.sctpguard.context is sctpguard's addition).
func parseTemplate(obj map[string]any, source string, lineOf func(string) int) (*template, error) {
	var ct constraintTemplate
	if err := fromMap(obj, &ct); err != nil {
		return nil, err
	}
	kind := ct.Spec.CRD.Spec.Names.Kind
	if kind == "" {
		return nil, fmt.Errorf("spec.crd.spec.names.kind: Required value")
	}
	if ct.Metadata.Name != strings.ToLower(kind) {
		return nil, fmt.Errorf("the ConstraintTemplate's name %q is not equal to the lowercase of CRD's Kind: %q", ct.Metadata.Name, strings.ToLower(kind))
	}
	text, libs, version, path, err := ct.templateRego()
	if err != nil {
		return nil, err
	}
	t := &template{name: ct.Metadata.Name, kind: kind, source: source, pkg: "sctpguard.templates." + strings.ToLower(kind)}
	if v := ct.Spec.CRD.Spec.Validation; v != nil && v.OpenAPIV3Schema != nil {
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.OpenAPIV3Schema, &internal, nil); err != nil {
			return nil, fmt.Errorf("spec.crd.spec.validation.openAPIV3Schema: %w", err)
		}
		if t.params, _, err = validation.NewSchemaValidator(&internal); err != nil {
			return nil, fmt.Errorf("spec.crd.spec.validation.openAPIV3Schema: %w", err)
		}
	}
	// The text of a block scalar starts on the line after its key; pad it so that row
	// numbers in errors are lines of the YAML file.
	pad := func(p, s string) string { return strings.Repeat("\n", lineOf(p)) + s }
	main, err := ast.ParseModuleWithOpts(source, pad(path, text), ast.ParserOptions{RegoVersion: version})
	if err != nil {
		return nil, err
	}
	if !hasRule(main, "violation") {
		return nil, fmt.Errorf("%s: missing required rules: [violation]", path)
	}
	main.Package.Path = ast.MustParseRef("data." + t.pkg)
	modules := []*ast.Module{main}
	libPrefix := libsPath(path)
	for i, lib := range libs {
		m, err := ast.ParseModuleWithOpts(source, pad(fmt.Sprintf("%s[%d]", libPrefix, i), lib), ast.ParserOptions{RegoVersion: version})
		if err != nil {
			return nil, err
		}
		name := m.Package.Path.String()
		if !strings.HasPrefix(name, "data.lib.") {
			return nil, fmt.Errorf("%s[%d]: package %s: libs must be in package lib.<name>", libPrefix, i, strings.TrimPrefix(name, "data."))
		}
		m.Package.Path = ast.MustParseRef("data." + t.pkg + "." + strings.TrimPrefix(name, "data."))
		modules = append(modules, m)
	}
	libRef := ast.MustParseRef("data.lib")
	newLib := ast.MustParseRef("data." + t.pkg + ".lib")
	allowed := []ast.Ref{newLib, ast.MustParseRef("data.inventory"), ast.MustParseRef("data.sctpguard.context"), ast.MustParseRef("data." + t.pkg)}
	for _, m := range modules {
		m, err = transformRefs(m, func(r ast.Ref) (ast.Value, error) {
			if r.HasPrefix(libRef) {
				return append(newLib.Copy(), r[len(libRef):]...), nil
			}
			return r, nil
		})
		if err != nil {
			return nil, err
		}
		var bad []string
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if !r.HasPrefix(ast.DefaultRootRef) || len(r) < 2 {
				return false
			}
			for _, a := range allowed {
				if r.HasPrefix(a) {
					return false
				}
			}
			bad = append(bad, fmt.Sprintf("%s (line %d)", r, r[0].Location.Row))
			return false
		})
		if len(bad) > 0 {
			return nil, fmt.Errorf("check refs failed on module: templates may reference only data.lib, data.inventory and data.sctpguard.context, not %s", strings.Join(bad, ", "))
		}
		t.modules = append(t.modules, m)
	}
	t.perConstraint = true
	for _, m := range t.modules {
		t.perConstraint = t.perConstraint && !readsInputWhole(m)
	}
	return t, nil
}

// transformRefs is ast.TransformRefs, which leaves the references inside `some x in xs`
// declarations alone, and the rewrite of those.
func transformRefs(m *ast.Module, f func(ast.Ref) (ast.Value, error)) (*ast.Module, error) {
	out, err := ast.TransformRefs(m, f)
	if err != nil {
		return nil, err
	}
	ast.WalkExprs(out, func(e *ast.Expr) bool {
		if decl, ok := e.Terms.(*ast.SomeDecl); ok {
			for i, sym := range decl.Symbols {
				switch t, terr := ast.TransformRefs(sym, f); t := t.(type) {
				case nil:
					err = terr
				case *ast.Term:
					decl.Symbols[i] = t
				case ast.Value:
					decl.Symbols[i].Value = t
				}
			}
		}
		return false
	})
	return out.(*ast.Module), err
}

func libsPath(regoPath string) string {
	return strings.TrimSuffix(strings.TrimSuffix(regoPath, ".rego"), "rego") + "libs"
}

func hasRule(m *ast.Module, name string) bool {
	for _, r := range m.Rules {
		if ruleName(r) == name {
			return true
		}
	}
	return false
}

// ruleName is the first term of a rule's head: deny for "deny contains msg if ...".
func ruleName(r *ast.Rule) string {
	if ref := r.Head.Ref(); len(ref) > 0 {
		return strings.Trim(ref[0].Value.String(), `"`)
	}
	return ""
}

// constraint is a Gatekeeper constraint: a template applied with parameters to what its
// match selects, with an enforcement action.
type constraint struct {
	name, kind string
	source     string
	template   *template
	match      match
	params     map[string]any
	action     policy.Action
}

type constraintObject struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Match                    match          `json:"match"`
		Parameters               map[string]any `json:"parameters"`
		EnforcementAction        string         `json:"enforcementAction"`
		ScopedEnforcementActions []struct {
			Action            string `json:"action"`
			EnforcementPoints []struct {
				Name string `json:"name"`
			} `json:"enforcementPoints"`
		} `json:"scopedEnforcementActions"`
	} `json:"spec"`
}

// validationPoint is the enforcement point sctpguard acts as, in the webhook and in check
// alike, so that a rule judges the same wherever it runs.
const validationPoint = "validation.gatekeeper.sh"

func parseConstraint(obj map[string]any, source string, templates map[string]*template) (*constraint, error) {
	var co constraintObject
	if err := fromMap(obj, &co); err != nil {
		return nil, err
	}
	kind, _ := obj["kind"].(string)
	t, ok := templates[kind]
	if !ok {
		return nil, fmt.Errorf("no ConstraintTemplate defines kind %s", kind)
	}
	c := &constraint{name: co.Metadata.Name, kind: kind, source: source, template: t, match: co.Spec.Match, params: co.Spec.Parameters}
	if c.params == nil {
		c.params = map[string]any{}
	}
	if t.params != nil {
		if errs := validation.ValidateCustomResource(field.NewPath("spec", "parameters"), c.params, t.params); len(errs) > 0 {
			return nil, fmt.Errorf("constraint %s does not match the schema of its template %s: %w", c.name, t.name, errs.ToAggregate())
		}
	}
	switch a := co.Spec.EnforcementAction; a {
	case "", "deny":
		c.action = policy.ActionDeny
	case "warn":
		c.action = policy.ActionWarn
	case "dryrun":
		c.action = policy.ActionDryRun
	case "scoped":
		c.action = policy.ActionDryRun
		for _, s := range co.Spec.ScopedEnforcementActions {
			for _, p := range s.EnforcementPoints {
				if p.Name == validationPoint || p.Name == "*" {
					switch s.Action {
					case "deny":
						c.action = policy.ActionDeny
					case "warn":
						c.action = policy.ActionWarn
					}
				}
			}
		}
	default:
		return nil, fmt.Errorf("spec.enforcementAction: %q is not deny, warn, dryrun or scoped", a)
	}
	return c, nil
}

// match is a constraint's spec.match.
type match struct {
	Kinds []struct {
		APIGroups []string `json:"apiGroups"`
		Kinds     []string `json:"kinds"`
	} `json:"kinds"`
	Scope              string                `json:"scope"`
	Namespaces         []string              `json:"namespaces"`
	ExcludedNamespaces []string              `json:"excludedNamespaces"`
	LabelSelector      *metav1.LabelSelector `json:"labelSelector"`
	NamespaceSelector  *metav1.LabelSelector `json:"namespaceSelector"`
	Name               string                `json:"name"`
}

// selectsKind reports whether the match's kinds select a kind, in any group.
func (m *match) selectsKind(kind string) bool {
	if len(m.Kinds) == 0 {
		return true
	}
	for _, k := range m.Kinds {
		if contains(k.Kinds, kind) || contains(k.Kinds, "*") {
			return true
		}
	}
	return false
}

// matches tells whether the constraint applies to an object, as Gatekeeper decides: every
// matcher present must match. ns is the object's Namespace (nil when absent or unknown).
func (m *match) matches(group, kind, namespace, name string, objLabels map[string]string, ns nsInfo) (bool, error) {
	if len(m.Kinds) > 0 {
		found := false
		for _, k := range m.Kinds {
			if (contains(k.APIGroups, group) || contains(k.APIGroups, "*")) && (contains(k.Kinds, kind) || contains(k.Kinds, "*")) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	clusterScoped := namespace == "" && kind != "Namespace"
	switch m.Scope {
	case "Cluster":
		if !clusterScoped && kind != "Namespace" {
			return false, nil
		}
	case "Namespaced":
		if clusterScoped || kind == "Namespace" {
			return false, nil
		}
	}
	// For a Namespace, the namespace matchers look at the Namespace itself.
	objNS := namespace
	if kind == "Namespace" {
		objNS = name
	}
	if objNS != "" || kind == "Namespace" {
		if len(m.Namespaces) > 0 && !globAny(m.Namespaces, objNS) {
			return false, nil
		}
		if globAny(m.ExcludedNamespaces, objNS) {
			return false, nil
		}
	}
	if m.Name != "" && !glob(m.Name, name) {
		return false, nil
	}
	if m.LabelSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(m.LabelSelector)
		if err != nil {
			return false, fmt.Errorf("spec.match.labelSelector: %w", err)
		}
		if !sel.Matches(labels.Set(objLabels)) {
			return false, nil
		}
	}
	if m.NamespaceSelector != nil && !clusterScoped {
		sel, err := metav1.LabelSelectorAsSelector(m.NamespaceSelector)
		if err != nil {
			return false, fmt.Errorf("spec.match.namespaceSelector: %w", err)
		}
		nsLabels := ns.labels
		if kind == "Namespace" {
			nsLabels = objLabels
		} else if !ns.found {
			return false, nil
		}
		if !sel.Matches(labels.Set(nsLabels)) {
			return false, nil
		}
	}
	return true, nil
}

// nsInfo is the Namespace of an object, as far as it is known.
type nsInfo struct {
	found  bool
	labels map[string]string
	object *corev1.Namespace
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// glob matches Gatekeeper's name patterns: exact, or a prefix ending in "*".
func glob(pattern, s string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pattern == s
}

func globAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// fromMap decodes a generic object into a struct by its json tags; fields sctpguard does
// not read are ignored, so templates written for newer Gatekeepers still load.
func fromMap(m map[string]any, out any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
