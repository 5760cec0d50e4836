package chart

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

// grant is one (API group, resource, verb) that RBAC allows a service account, in one
// namespace or, with Namespace "", cluster-wide.
type grant struct {
	Group, Resource, Verb, Namespace string
}

func (g grant) String() string {
	scope := "cluster-wide"
	if g.Namespace != "" {
		scope = "in " + g.Namespace
	}
	group := g.Group
	if group == "" {
		group = "core"
	}
	return fmt.Sprintf("%s %s/%s %s", g.Verb, group, g.Resource, scope)
}

// request is one API request of a service account, from the audit log.
type request struct {
	grant
	// Name is the object's name (for lists and watches: from a metadata.name field selector).
	Name string
	// Forbidden: RBAC refused it (as opposed to an admission webhook's 403).
	Forbidden bool
}

// grants returns what a release's RBAC grants the service account namespace/name: the
// rules of the ClusterRoles bound by its ClusterRoleBindings (cluster-wide) and of the Roles
// bound by its RoleBindings (in their namespace), one entry per group, resource and verb.
func grants(t *testing.T, objs manifests, namespace, name string) []grant {
	t.Helper()
	isSubject := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Namespace == namespace && s.Name == name
		})
	}
	rules := func(kind, roleName, ns string) []rbacv1.PolicyRule {
		for _, o := range objs.ofKind(kind) {
			if o.GetName() == roleName && o.GetNamespace() == ns {
				var role rbacv1.ClusterRole // a Role's fields are a subset
				mustDecode(t, o, &role)
				return role.Rules
			}
		}
		t.Fatalf("the chart binds %s %s/%s, which it does not render", kind, ns, roleName)
		return nil
	}
	var out []grant
	add := func(rs []rbacv1.PolicyRule, ns string) {
		for _, r := range rs {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						out = append(out, grant{Group: g, Resource: res, Verb: v, Namespace: ns})
					}
				}
			}
		}
	}
	for _, o := range objs.ofKind("ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		mustDecode(t, o, &b)
		if isSubject(b.Subjects) {
			add(rules("ClusterRole", b.RoleRef.Name, ""), "")
		}
	}
	for _, o := range objs.ofKind("RoleBinding") {
		var b rbacv1.RoleBinding
		mustDecode(t, o, &b)
		if isSubject(b.Subjects) {
			add(rules(b.RoleRef.Kind, b.RoleRef.Name, map[string]string{"Role": b.Namespace}[b.RoleRef.Kind]), b.Namespace)
		}
	}
	sortGrants(out)
	return slices.Compact(out)
}

// auditEvent is the part of an audit.k8s.io/v1 Event the comparison reads.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	Annotations map[string]string `json:"annotations"`
}

// readAudit returns the resource requests of each user in an audit log (JSON lines).
// Non-resource requests (discovery) are left out: every authenticated user may make them.
func readAudit(path string) (map[string][]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]request{}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for s.Scan() {
		var e auditEvent
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if e.ObjectRef == nil {
			continue
		}
		res := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			res += "/" + e.ObjectRef.Subresource
		}
		out[e.User.Username] = append(out[e.User.Username], request{
			grant: grant{Group: e.ObjectRef.APIGroup, Resource: res, Verb: e.Verb, Namespace: e.ObjectRef.Namespace},
			Name:  e.ObjectRef.Name, Forbidden: e.Annotations["authorization.k8s.io/decision"] == "forbid",
		})
	}
	return out, s.Err()
}

// usedBy reports whether a request (allowed) used the grant's group, resource and verb,
// wherever. A server-side apply that creates its object is logged as a patch, and
// authorized as a patch and a create: it uses both.
func (g grant) usedBy(r request) bool {
	return !r.Forbidden && r.Group == g.Group && r.Resource == g.Resource && (r.Verb == g.Verb || (r.Verb == "patch" && g.Verb == "create"))
}

// rbacFindings compares what RBAC grants with what the code asked for.
type rbacFindings struct {
	// Forbidden are requests RBAC refused: the code needs a grant the chart lacks.
	Forbidden []string
	// Unused are grants no request used: the chart grants too much.
	Unused []string
	// TooWide are cluster-wide grants used only in namespaces the chart knows at install
	// time (its own, AKO's): a Role there would do.
	TooWide []string
}

// compareRBAC compares grants with requests. known are the namespaces the chart knows at
// install time; a cluster-wide grant of a namespaced resource is justified only by a request
// across all namespaces or in a namespace the chart cannot know (a user's).
func compareRBAC(gs []grant, reqs []request, known []string) rbacFindings {
	var f rbacFindings
	for _, r := range reqs {
		if r.Forbidden {
			f.Forbidden = append(f.Forbidden, fmt.Sprintf("%s (name %q)", r.grant, r.Name))
		}
	}
	for _, g := range gs {
		var used, wide bool
		for _, r := range reqs {
			if !g.usedBy(r) {
				continue
			}
			switch {
			case g.Namespace != "" && r.Namespace == g.Namespace:
				used = true
			case g.Namespace == "":
				used = true
				wide = wide || r.Namespace == "" || !slices.Contains(known, r.Namespace)
			}
		}
		switch {
		case !used:
			f.Unused = append(f.Unused, g.String())
		case g.Namespace == "" && !wide:
			f.TooWide = append(f.TooWide, g.String())
		}
	}
	slices.Sort(f.Forbidden)
	f.Forbidden = slices.Compact(f.Forbidden)
	return f
}

// TestCompareRBAC: the comparison flags a request the chart does not grant, a grant nothing
// uses, and a cluster-wide grant used only where a Role would do.
func TestCompareRBAC(t *testing.T) {
	gs := []grant{
		{Resource: "services", Verb: "list"},
		{Resource: "services", Verb: "delete"},
		{Group: "events.k8s.io", Resource: "events", Verb: "create"},
		{Group: "events.k8s.io", Resource: "events", Verb: "patch"},
		{Resource: "configmaps", Verb: "list", Namespace: "avi-system"},
		{Resource: "configmaps", Verb: "watch", Namespace: "avi-system"},
	}
	reqs := []request{
		{grant: grant{Resource: "services", Verb: "list"}},
		{grant: grant{Group: "events.k8s.io", Resource: "events", Verb: "create", Namespace: "telco"}},
		{grant: grant{Group: "events.k8s.io", Resource: "events", Verb: "patch", Namespace: "sctpguard"}},
		{grant: grant{Resource: "configmaps", Verb: "list", Namespace: "avi-system"}, Name: "avi-k8s-config"},
		{grant: grant{Resource: "configmaps", Verb: "watch", Namespace: "kube-system"}},
		{grant: grant{Resource: "nodes", Verb: "list"}, Forbidden: true},
		{grant: grant{Resource: "nodes", Verb: "list"}, Forbidden: true},
	}
	want := rbacFindings{
		Forbidden: []string{`list core/nodes cluster-wide (name "")`},
		Unused:    []string{"delete core/services cluster-wide", "watch core/configmaps in avi-system"},
		TooWide:   []string{"patch events.k8s.io/events cluster-wide"},
	}
	if diff := cmp.Diff(want, compareRBAC(gs, reqs, []string{"sctpguard", "avi-system"})); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
