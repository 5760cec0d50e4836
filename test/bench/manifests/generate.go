// Package manifests generates a deterministic manifest set for benchmarks: Services (SCTP
// and TCP, LoadBalancers, Gateway backends), v1alpha1 Gateways, NetworkPolicies and
// Deployments, like a telco GitOps repository.
package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Write writes files files of docs documents each under dir and returns their paths.
func Write(dir string, files, docs int) ([]string, error) {
	var paths []string
	n := 0
	for f := range files {
		var b strings.Builder
		for d := range docs {
			if d > 0 {
				b.WriteString("---\n")
			}
			b.WriteString(document(n))
			n++
		}
		p := filepath.Join(dir, fmt.Sprintf("app-%03d.yaml", f))
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// document returns the i-th document: a quarter each of Services, Gateways (with their
// class), NetworkPolicies and Deployments. A few are wrong on purpose, so that findings
// are produced and reported as in real use.
func document(i int) string {
	ns := fmt.Sprintf("telco-%d", i%50)
	switch i % 4 {
	case 0:
		proto, typ := "SCTP", "LoadBalancer"
		if i%12 == 0 {
			proto = "TCP"
		}
		if i%8 == 4 {
			typ = "ClusterIP"
		}
		name := ""
		if i%20 != 0 {
			name = fmt.Sprintf("    name: ngap-%d\n", i)
		}
		return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: amf-%d
  namespace: %s
  labels:
    app: amf-%d
    ako.vmware.com/gateway-name: gw-%d
    ako.vmware.com/gateway-namespace: %s
spec:
  type: %s
  selector:
    app: amf-%d
  ports:
  - protocol: %s
%s    port: %d
    targetPort: 38412
  - name: http
    protocol: TCP
    port: 8080
`, i, ns, i, i+1, ns, typ, i, proto, name, 30000+i%1000)
	case 1:
		return fmt.Sprintf(`apiVersion: networking.x-k8s.io/v1alpha1
kind: Gateway
metadata:
  name: gw-%d
  namespace: %s
spec:
  gatewayClassName: avi-lb
  listeners:
  - port: %d
    protocol: SCTP
    routes:
      group: v1
      kind: services
      selector:
        matchLabels:
          ako.vmware.com/gateway-name: gw-%d
          ako.vmware.com/gateway-namespace: %s
`, i, ns, 30000+(i-1)%1000, i, ns)
	case 2:
		return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-sctp-%d
  namespace: %s
spec:
  podSelector:
    matchLabels:
      app: amf-%d
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          project: ran
    ports:
    - protocol: SCTP
      port: 38412
      endPort: 38420
    - protocol: TCP
      port: 8080
`, i, ns, i-2)
	default:
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: amf-%d
  namespace: %s
  labels:
    app: amf-%d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: amf-%d
  template:
    metadata:
      labels:
        app: amf-%d
    spec:
      containers:
      - name: amf
        image: registry.example/amf:1.%d
        resources:
          requests: {cpu: 100m, memory: 128Mi}
        ports:
        - name: ngap
          containerPort: 38412
          protocol: SCTP
        - name: http
          containerPort: 8080
`, i, ns, i, i, i, i%10)
	}
}

// GatewayClass is the AKO GatewayClass the generated Gateways use.
const GatewayClass = `apiVersion: networking.x-k8s.io/v1alpha1
kind: GatewayClass
metadata:
  name: avi-lb
spec:
  controller: ako.vmware.com/avi-lb
`

// WriteConfigMap writes one ConfigMap of keys data keys to path: the largest single
// object the benchmarks read.
func WriteConfigMap(path string, keys int) error {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: telco\ndata:\n")
	for i := range keys {
		fmt.Fprintf(&b, "  key-%07d: value\n", i)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// WriteServices writes n small SCTP Services to one file, about 110 bytes each: the most
// objects one file holds in the benchmarks.
func WriteServices(path string, n int) error {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%d\nspec:\n  ports:\n  - port: 38412\n    protocol: SCTP\n", i)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
