// Package userpolicies holds user policies, as platform teams write them, that the
// benchmarks load and the tests share: sets of ConstraintTemplates, constraints and conftest
// modules over several kinds, and a template that reads data.inventory.
package userpolicies

import (
	"fmt"

	"github.com/sctpguard/sctpguard/policy/rego"
)

// UniqueSCTPPortTemplate keeps SCTP ports unique in a namespace, reading the other Services
// from data.inventory (the cluster's, in the webhook).
const UniqueSCTPPortTemplate = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8suniquesctpport}
spec:
  crd:
    spec:
      names: {kind: K8sUniqueSCTPPort}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniquesctpport

        violation[{"msg": msg}] {
          port := input.review.object.spec.ports[_]
          port.protocol == "SCTP"
          ns := input.review.object.metadata.namespace
          other := data.inventory.namespace[ns]["v1"]["Service"][name]
          name != input.review.object.metadata.name
          other.spec.ports[_].port == port.port
          msg := sprintf("SCTP port %v is taken by Service %v", [port.port, name])
        }
`

// UniqueSCTPPortConstraint applies UniqueSCTPPortTemplate to every Service.
const UniqueSCTPPortConstraint = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueSCTPPort
metadata: {name: unique-sctp-port}
spec:
  match:
    kinds: [{apiGroups: [""], kinds: ["Service"]}]
`

// Mixed is 20 policies over several kinds, of which 5 judge a Service: 10 constraints of
// 10 ConstraintTemplates (labels required, from parameters) and 10 conftest modules. With
// inventory, the last Service constraint is UniqueSCTPPort's, which reads data.inventory.
func Mixed(inventory bool) []rego.Source {
	kinds := []string{"Namespace", "Pod", "Pod", "Service", "Service", "Ingress", "Deployment", "Pod", "Pod", "Service"}
	var out []rego.Source
	for i, kind := range kinds {
		if inventory && i == len(kinds)-1 {
			out = append(out, source("unique.yaml", UniqueSCTPPortTemplate+"---\n"+UniqueSCTPPortConstraint))
			continue
		}
		group := map[string]string{"Deployment": "apps", "Ingress": "networking.k8s.io"}[kind]
		out = append(out, source(fmt.Sprintf("t%d.yaml", i), fmt.Sprintf(`apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8smixed%d}
spec:
  crd:
    spec:
      names: {kind: K8sMixed%d}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels: {type: array, items: {type: string}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8smixed%d

        violation[{"msg": msg}] {
          provided := {l | input.review.object.metadata.labels[l]}
          required := {l | l := input.parameters.labels[_]}
          missing := required - provided
          count(missing) > 0
          msg := sprintf("missing labels %%v", [missing])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sMixed%d
metadata: {name: mixed-%d}
spec:
  match:
    kinds: [{apiGroups: [%q], kinds: [%q]}]
    excludedNamespaces: ["kube-*"]
  parameters: {labels: ["team%d"]}
`, i, i, i, i, i, group, kind, i)))
	}
	for i, kind := range []string{"Deployment", "Deployment", "Deployment", "Pod", "Pod", "ConfigMap", "Ingress", "NetworkPolicy", "Service", "Service"} {
		out = append(out, source(fmt.Sprintf("m%d.rego", i), fmt.Sprintf(`package mixed%d

deny contains msg if {
	input.kind == %q
	not input.metadata.labels["policy%d.example.com/ok"]
	msg := "policy %d"
}
`, i, kind, i, i)))
	}
	return out
}

func source(name, data string) rego.Source { return rego.Source{Name: name, Data: []byte(data)} }
