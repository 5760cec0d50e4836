package certs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sctpguard/sctpguard/test/cluster"
)

// Lifetimes short enough for a test to see rotations: the serving certificate is renewed
// every 40 seconds, the CA rotation starts at 80 seconds, in steps of 5 seconds.
const (
	certValidity = time.Minute
	caValidity   = 2 * time.Minute
)

// serviceAccount is the identity sctpguard runs as, bound to testdata/rbac.yaml.
const serviceAccount = "system:serviceaccount:sctpguard:sctpguard"

var (
	// skipReason is why the tests cannot run here; empty when they can.
	skipReason string
	cl         *cluster.Cluster
	serveLog   cluster.SyncBuffer
	// started is when sctpguard issued the first certificates, about.
	started time.Time
)

func TestMain(m *testing.M) {
	cluster.Main(m, cluster.Suite{
		Name: "certs", Root: "../../..", Log: &serveLog,
		Options: cluster.Options{
			Namespaces: []string{"sctpguard", "avi-system", "load"},
			SelfSigned: true, Replicas: 2, ServeUser: serviceAccount,
			// The audit's grants (its Lease, reports) are the chart's subject (test/chart's
			// RBAC comparison), not this test's.
			ServeArgs: []string{"--cert-validity", certValidity.String(), "--ca-validity", caValidity.String(), "--audit=false"},
		},
		Setup: setup,
	}, &cl, &skipReason)
}

// setup adds the objects sctpguard starts with: its RBAC and AKO's ConfigMap, so that the
// replicas judge armed (without it, every verdict carries the degraded warning that it is
// absent).
func setup(o *cluster.Options) (func(), error) {
	rbac, err := readObjects("testdata/rbac.yaml")
	if err != nil {
		return nil, err
	}
	o.Objects = append(rbac, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "avi-system", Name: "avi-k8s-config"},
		Data:       map[string]string{"serviceType": "ClusterIP", "clusterName": "certs"},
	})
	started = time.Now()
	return nil, nil
}

// requireCluster skips a test, with the reason, where the control plane is not available.
func requireCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// readObjects reads the objects of a multi-document YAML file.
func readObjects(path string) ([]client.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}
