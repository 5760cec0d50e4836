package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/sctpguard/sctpguard/webhook"
)

// defaults is the chart installed as the README says, with cert-manager.
var defaults = release{name: "sctpguard", namespace: "sctpguard"}

// selfSigned is the chart without cert-manager: the binary manages its certificates.
var selfSigned = release{name: "sctpguard", namespace: "sctpguard", values: "certManager: {enabled: false}\n"}

// TestLint: helm lint passes, strictly, with cert-manager and without.
func TestLint(t *testing.T) {
	for _, r := range []release{defaults, selfSigned} {
		if out, stderr, code := r.helm(t, "lint", "--strict", chartDir, "--namespace", r.namespace); code != 0 {
			t.Errorf("helm lint with %q: exit %d\n%s%s", r.values, code, out, stderr)
		}
	}
}

// TestWebhookConfigurationsMatchGo: the rendered webhook configurations are
// webhook.Configurations()'s, webhook for webhook and field for field (rules, CEL
// matchConditions, sideEffects, matchPolicy, namespaceSelector, timeoutSeconds,
// failurePolicy, admissionReviewVersions, the Service), for the defaults and for values that
// change each knob, so the chart cannot drift from the Go source of truth.
func TestWebhookConfigurationsMatchGo(t *testing.T) {
	for name, tc := range map[string]struct {
		r    release
		want webhook.ConfigurationOptions
		// noConditions: matchConditions switched off.
		noConditions bool
	}{
		"defaults": {r: defaults, want: webhook.ConfigurationOptions{
			Name: "sctpguard", FailurePolicy: admissionregistrationv1.Fail, TimeoutSeconds: 3,
			ExcludeNamespaces: []string{"sctpguard"},
		}},
		"without cert-manager": {r: selfSigned, want: webhook.ConfigurationOptions{
			Name: "sctpguard", FailurePolicy: admissionregistrationv1.Fail, TimeoutSeconds: 3,
			ExcludeNamespaces: []string{"sctpguard"},
		}},
		"Ignore, 10s, more exclusions, another name and namespace": {
			r: release{name: "guard", namespace: "ops", values: `
webhook:
  failurePolicy: Ignore
  timeoutSeconds: 10
  excludeNamespaces: [kube-system, ops, telco-lab]
  optOutLabel: example.com/no-sctpguard
`},
			want: webhook.ConfigurationOptions{
				Name: "guard-sctpguard", FailurePolicy: admissionregistrationv1.Ignore, TimeoutSeconds: 10,
				ExcludeNamespaces: []string{"ops", "kube-system", "telco-lab"}, OptOutLabel: "example.com/no-sctpguard",
			},
		},
		"own namespace not excluded": {
			r: release{name: "sctpguard", namespace: "sctpguard", values: "webhook: {excludeReleaseNamespace: false}\n"},
			want: webhook.ConfigurationOptions{
				Name: "sctpguard", FailurePolicy: admissionregistrationv1.Fail, TimeoutSeconds: 3,
			},
		},
		"match conditions off": {
			r: release{name: "sctpguard", namespace: "sctpguard", values: "webhook: {matchConditions: {enabled: false}}\n"},
			want: webhook.ConfigurationOptions{
				Name: "sctpguard", FailurePolicy: admissionregistrationv1.Fail, TimeoutSeconds: 3,
				ExcludeNamespaces: []string{"sctpguard"},
			},
			noConditions: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := tc.r.objects(t)
			o := tc.want
			o.Service = &admissionregistrationv1.ServiceReference{Namespace: tc.r.namespace, Name: o.Name, Port: ptr.To[int32](443)}
			wantMutating, wantValidating := webhook.Configurations(o)
			if tc.noConditions {
				for i := range wantMutating.Webhooks {
					wantMutating.Webhooks[i].MatchConditions = nil
				}
				for i := range wantValidating.Webhooks {
					wantValidating.Webhooks[i].MatchConditions = nil
				}
			}
			var mutating admissionregistrationv1.MutatingWebhookConfiguration
			mustDecode(t, objs.get(t, "MutatingWebhookConfiguration", o.Name), &mutating)
			var validating admissionregistrationv1.ValidatingWebhookConfiguration
			mustDecode(t, objs.get(t, "ValidatingWebhookConfiguration", o.Name), &validating)
			if diff := cmp.Diff(wantMutating.Webhooks, mutating.Webhooks); diff != "" {
				t.Errorf("mutating webhooks (-webhook.Configurations +chart):\n%s", diff)
			}
			if diff := cmp.Diff(wantValidating.Webhooks, validating.Webhooks); diff != "" {
				t.Errorf("validating webhooks (-webhook.Configurations +chart):\n%s", diff)
			}
			// The binary skips, in the audit and the guard, the namespaces its flags name: the
			// same as the configurations' namespaceSelector.
			var d appsv1.Deployment
			mustDecode(t, objs.get(t, "Deployment", o.Name), &d)
			var fromArgs webhook.ConfigurationOptions
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if v, ok := strings.CutPrefix(a, "--opt-out-label="); ok {
					fromArgs.OptOutLabel = v
				}
				if v, ok := strings.CutPrefix(a, "--exclude-namespace="); ok {
					fromArgs.ExcludeNamespaces = append(fromArgs.ExcludeNamespaces, v)
				}
			}
			_, skipped := webhook.Configurations(fromArgs)
			for i, w := range validating.Webhooks {
				if diff := cmp.Diff(skipped.Webhooks[i].NamespaceSelector, w.NamespaceSelector); diff != "" {
					t.Errorf("%s: namespaceSelector (-sctpguard serve's flags +chart):\n%s", w.Name, diff)
				}
			}
		})
	}
}

// TestAKOGuardMatchesGo: the guard's configuration is webhook.AKOGuardConfiguration()'s, in
// its own configuration with failurePolicy Ignore, for the configured ConfigMap; the guard's
// deadline is half its timeout, and deny is passed on. Without cert-manager it is not
// installed (its CA would never be injected).
func TestAKOGuardMatchesGo(t *testing.T) {
	for name, tc := range map[string]struct {
		r        release
		want     webhook.AKOGuardOptions
		wantArgs []string
	}{
		"defaults": {r: defaults, want: webhook.AKOGuardOptions{Namespace: "avi-system", Name: "avi-k8s-config", TimeoutSeconds: 3},
			wantArgs: []string{"--ako-guard-deadline=1500ms"}},
		"another ConfigMap, 8s, deny": {
			r:        release{name: "sctpguard", namespace: "sctpguard", values: "ako: {namespace: ako, configMapName: ako-config}\nakoGuard: {deny: true, timeoutSeconds: 8}\n"},
			want:     webhook.AKOGuardOptions{Namespace: "ako", Name: "ako-config", TimeoutSeconds: 8},
			wantArgs: []string{"--ako-guard-deadline=4000ms", "--ako-guard-deny"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := tc.r.objects(t)
			o := webhook.ConfigurationOptions{Name: "sctpguard",
				Service: &admissionregistrationv1.ServiceReference{Namespace: tc.r.namespace, Name: "sctpguard", Port: ptr.To[int32](443)}}
			want := webhook.AKOGuardConfiguration(o, tc.want)
			var got admissionregistrationv1.ValidatingWebhookConfiguration
			mustDecode(t, objs.get(t, "ValidatingWebhookConfiguration", want.Name), &got)
			if diff := cmp.Diff(want.Webhooks, got.Webhooks); diff != "" {
				t.Errorf("guard webhook (-webhook.AKOGuardConfiguration +chart):\n%s", diff)
			}
			var d appsv1.Deployment
			mustDecode(t, objs.get(t, "Deployment", "sctpguard"), &d)
			var args []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--ako-guard") {
					args = append(args, a)
				}
			}
			if diff := cmp.Diff(tc.wantArgs, args); diff != "" {
				t.Errorf("guard flags (-want +got):\n%s", diff)
			}
		})
	}
	// Off: no configuration, and sctpguard serve neither serves nor feeds the guard.
	off := release{name: "sctpguard", namespace: "sctpguard", values: "akoGuard: {enabled: false}\n"}
	var d appsv1.Deployment
	offObjs := off.objects(t)
	mustDecode(t, offObjs.get(t, "Deployment", "sctpguard"), &d)
	var args []string
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--ako-guard") {
			args = append(args, a)
		}
	}
	if want := []string{"--ako-guard=false"}; !slices.Equal(args, want) {
		t.Errorf("guard off: flags %q, want %q", args, want)
	}
	if slices.Contains(offObjs.names(), "ValidatingWebhookConfiguration/sctpguard-ako-guard") {
		t.Error("guard off: its configuration is rendered")
	}
	// Without cert-manager the guard is there too, its caBundle left to sctpguard.
	var guards []string
	for _, o := range selfSigned.objects(t) {
		if o.GetName() == "sctpguard-ako-guard" {
			guards = append(guards, fmt.Sprintf("%s %v", o.GetKind(), o.GetAnnotations()))
		}
	}
	if want := []string{"ValidatingWebhookConfiguration map[]"}; !slices.Equal(guards, want) {
		t.Errorf("without cert-manager: guards %q, want %q", guards, want)
	}
}

// TestExtraMatchConditions: extra conditions follow the built-in one on every webhook.
func TestExtraMatchConditions(t *testing.T) {
	r := release{name: "sctpguard", namespace: "sctpguard", values: `
webhook:
  matchConditions:
    extra:
      - name: not-argocd
        expression: "request.userInfo.username != 'system:serviceaccount:argocd:argocd-application-controller'"
`}
	var validating admissionregistrationv1.ValidatingWebhookConfiguration
	mustDecode(t, r.objects(t).get(t, "ValidatingWebhookConfiguration", "sctpguard"), &validating)
	got := map[string][]string{}
	for _, w := range validating.Webhooks {
		for _, c := range w.MatchConditions {
			got[w.Name] = append(got[w.Name], c.Name)
		}
	}
	both := []string{"sctp-relevant", "not-argocd"}
	want := map[string][]string{
		"services.validate.sctpguard.io": both, "networkpolicies.validate.sctpguard.io": both,
		"gateways.validate.sctpguard.io": {"not-argocd"}, "gatewayapi.validate.sctpguard.io": both,
		"listenersets.validate.sctpguard.io": both,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("match conditions (-want +got):\n%s", diff)
	}
}

// TestDeployment: the container's arguments for each mode, the environment serve reads, the
// probes, the security context, the volumes.
func TestDeployment(t *testing.T) {
	common := []string{
		"serve", "--port=9443", "--cert-dir=/etc/sctpguard/tls", "--health-probe-bind-address=:8081",
		"--metrics-bind-address=:8443", "--metrics-secure=true", "--ako-configmap-namespace=avi-system",
		"--ako-configmap-name=avi-k8s-config", "--ako-guard-deadline=1500ms",
		"--opt-out-label=sctpguard.io/ignore", "--exclude-namespace=sctpguard", "--platform=auto", "--policy-timeout=500ms",
		"--on-policy-error=warn", "--zap-log-level=info", "--read-timeout=2000ms", "--write-timeout=2000ms", "--shutdown-delay=10s",
	}
	audit := []string{"--audit-resync=10m", "--audit-max-results=500"}
	tlsSecret := corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: "sctpguard-webhook-tls", DefaultMode: ptr.To[int32](0o440)}}}
	for name, tc := range map[string]struct {
		r       release
		args    []string
		volumes []corev1.Volume
		mounts  []corev1.VolumeMount
	}{
		"defaults": {r: defaults, args: slices.Concat(common, audit), volumes: []corev1.Volume{tlsSecret},
			mounts: []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/sctpguard/tls", ReadOnly: true}}},
		// The certificates live in memory and in the Secret serve manages: nothing mounted.
		"without cert-manager": {r: release{name: selfSigned.name, namespace: selfSigned.namespace,
			values: selfSigned.values + "audit: {resync: 1h, maxResultsPerReport: 1000}\nwebhook: {excludeNamespaces: [kube-system], optOutLabel: example.com/no-sctpguard}\n"},
			args: append(slices.Concat(
				slices.DeleteFunc(slices.Clone(common[:9]), func(a string) bool { return a == "--cert-dir=/etc/sctpguard/tls" }),
				[]string{"--opt-out-label=example.com/no-sctpguard", "--exclude-namespace=sctpguard", "--exclude-namespace=kube-system"},
				common[11:]),
				"--self-signed-certs", "--cert-secret=sctpguard-webhook-tls",
				"--webhook-configuration=sctpguard", "--webhook-service=sctpguard", "--audit-resync=1h", "--audit-max-results=1000")},
		"translator and rules": {r: release{name: "sctpguard", namespace: "sctpguard", values: `
translator: {enabled: true, controller: avi.example:443, workers: 8, timeout: 20s, classes: sctpguard-and-ako, dryRun: true}
avi: {existingSecret: avi-credentials}
rules: {disable: [port-range, duplicate-host-port], enable: [default-sctpguard-class], warn: [backend-type], exemptNamespaces: [lab-*]}
cni: antrea
controllerVersion: 22.1.5
metrics: {secure: false}
logLevel: debug
extraArgs: [--policy-namespace=sctpguard]
audit: {enabled: false}
`},
			args: []string{
				"serve", "--port=9443", "--cert-dir=/etc/sctpguard/tls", "--health-probe-bind-address=:8081",
				"--metrics-bind-address=:8443", "--metrics-secure=false", "--ako-configmap-namespace=avi-system",
				"--ako-configmap-name=avi-k8s-config", "--ako-guard-deadline=1500ms",
				"--opt-out-label=sctpguard.io/ignore", "--exclude-namespace=sctpguard", "--platform=auto", "--policy-timeout=500ms",
				"--on-policy-error=warn", "--zap-log-level=debug", "--read-timeout=2000ms", "--write-timeout=2000ms", "--shutdown-delay=10s",
				"--cni=antrea", "--controller-version=22.1.5",
				"--disable=port-range,duplicate-host-port", "--enable=default-sctpguard-class", "--warn=backend-type", "--exempt-namespace=lab-*",
				"--translator", "--avi-credentials-dir=/etc/sctpguard/avi", "--translator-workers=8",
				"--translator-sync-ako-class", "--translator-dry-run", "--avi-controller=avi.example:443", "--avi-timeout=20s", "--audit=false", "--policy-namespace=sctpguard",
			},
			volumes: []corev1.Volume{tlsSecret, {Name: "avi", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: "avi-credentials", DefaultMode: ptr.To[int32](0o440)}}}},
			mounts: []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/sctpguard/tls", ReadOnly: true},
				{Name: "avi", MountPath: "/etc/sctpguard/avi", ReadOnly: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			var d appsv1.Deployment
			mustDecode(t, tc.r.objects(t).get(t, "Deployment", "sctpguard"), &d)
			spec := d.Spec.Template.Spec
			if len(spec.Containers) != 1 {
				t.Fatalf("containers: %d", len(spec.Containers))
			}
			c := spec.Containers[0]
			if diff := cmp.Diff(tc.args, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.volumes, spec.Volumes); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.mounts, c.VolumeMounts); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
		})
	}

	var d appsv1.Deployment
	mustDecode(t, defaults.objects(t).get(t, "Deployment", "sctpguard"), &d)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	got := map[string]any{
		"replicas": *d.Spec.Replicas, "strategy": d.Spec.Strategy, "serviceAccount": spec.ServiceAccountName,
		"podSecurityContext": spec.SecurityContext, "securityContext": c.SecurityContext, "env": c.Env,
		"liveness": c.LivenessProbe.HTTPGet, "readiness": c.ReadinessProbe.HTTPGet, "ports": c.Ports,
		"image": c.Image, "affinity": spec.Affinity, "resources": c.Resources.String(),
		"terminationGracePeriodSeconds": *spec.TerminationGracePeriodSeconds,
	}
	selector := map[string]string{"app.kubernetes.io/name": "sctpguard", "app.kubernetes.io/instance": "sctpguard"}
	want := map[string]any{
		"replicas": int32(2),
		"strategy": appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptrIntOrString(0), MaxSurge: ptrIntOrString(1)}},
		"serviceAccount": "sctpguard",
		"podSecurityContext": &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
			RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		"securityContext": &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		"env": []corev1.EnvVar{
			{Name: "SCTPGUARD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "SCTPGUARD_SERVICE_ACCOUNT", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "sctpguard", Resource: "limits.memory"}}},
			{Name: "GOGC", Value: "400"},
		},
		"liveness":  &corev1.HTTPGetAction{Path: "/healthz", Port: intOrString("health")},
		"readiness": &corev1.HTTPGetAction{Path: "/readyz", Port: intOrString("health")},
		"ports": []corev1.ContainerPort{{Name: "webhook", ContainerPort: 9443, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: 8443, Protocol: corev1.ProtocolTCP}, {Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}},
		"image": "ghcr.io/sctpguard/sctpguard:0.1.0",
		"affinity": &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: labelSelector(selector)}}}}},
		"resources":                     (&corev1.ResourceRequirements{Requests: resourceList("cpu", "50m", "memory", "128Mi"), Limits: resourceList("memory", "512Mi")}).String(),
		"terminationGracePeriodSeconds": int64(45),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deployment (-want +got):\n%s", diff)
	}
}

// TestPodDisruptionBudget: one pod stays up through voluntary disruptions.
func TestPodDisruptionBudget(t *testing.T) {
	pdb := defaults.objects(t).get(t, "PodDisruptionBudget", "sctpguard")
	want := map[string]any{"minAvailable": int64(1), "selector": map[string]any{"matchLabels": map[string]any{
		"app.kubernetes.io/name": "sctpguard", "app.kubernetes.io/instance": "sctpguard"}}}
	if diff := cmp.Diff(want, pdb.Object["spec"]); diff != "" {
		t.Errorf("PDB spec (-want +got):\n%s", diff)
	}
}

// TestPoliciesConfigMap: policies from values land in a ConfigMap sctpguard loads.
func TestPoliciesConfigMap(t *testing.T) {
	rego := "package sctpguard.diameter\n\nimport rego.v1\n\ndeny contains msg if {\n  input.kind == \"Service\"\n  msg := \"no\"\n}\n"
	r := release{name: "sctpguard", namespace: "sctpguard", values: "policies:\n  diameter.rego: |\n" + indent(rego, "    ")}
	cm := r.objects(t).get(t, "ConfigMap", "sctpguard-policies")
	if got := cm.GetLabels()[webhook.PolicyLabel]; got != "true" {
		t.Errorf("label %s=%q, want true", webhook.PolicyLabel, got)
	}
	if diff := cmp.Diff(map[string]any{"diameter.rego": rego}, cm.Object["data"]); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if cms := defaults.objects(t).ofKind("ConfigMap"); len(cms) != 0 {
		t.Errorf("without policies, ConfigMaps %s", cms.names())
	}
}

// TestCertManagerObjects: the cert-manager objects decode strictly into cert-manager's Go
// types, and they hang together: inject-ca-from names the serving Certificate, whose Issuer
// is the CA Issuer backed by the CA Certificate's Secret, issued by the self-signed Issuer;
// the serving certificate covers the webhook Service and is the Secret the pods mount.
func TestCertManagerObjects(t *testing.T) {
	objs := defaults.objects(t)
	var got []string
	for _, o := range objs {
		if strings.HasPrefix(o.GetAPIVersion(), "cert-manager.io/") {
			got = append(got, o.GetKind()+"/"+o.GetName())
		}
	}
	want := []string{"Certificate/sctpguard-ca", "Certificate/sctpguard-webhook", "Issuer/sctpguard-selfsigned", "Issuer/sctpguard-ca"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("cert-manager objects (-want +got):\n%s", diff)
	}
	var selfsigned, caIssuer cmapi.Issuer
	var ca, serving cmapi.Certificate
	mustDecode(t, objs.get(t, "Issuer", "sctpguard-selfsigned"), &selfsigned)
	mustDecode(t, objs.get(t, "Issuer", "sctpguard-ca"), &caIssuer)
	mustDecode(t, objs.get(t, "Certificate", "sctpguard-ca"), &ca)
	mustDecode(t, objs.get(t, "Certificate", "sctpguard-webhook"), &serving)

	if selfsigned.Spec.SelfSigned == nil {
		t.Errorf("Issuer %s is not self-signed: %+v", selfsigned.Name, selfsigned.Spec)
	}
	ref := func(i cmapi.Issuer) cmmeta.IssuerReference {
		return cmmeta.IssuerReference{Name: i.Name, Kind: cmapi.IssuerKind, Group: "cert-manager.io"}
	}
	if !ca.Spec.IsCA || ca.Spec.IssuerRef != ref(selfsigned) {
		t.Errorf("CA Certificate: isCA %v, issuer %+v; want a CA issued by %s", ca.Spec.IsCA, ca.Spec.IssuerRef, selfsigned.Name)
	}
	if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName {
		t.Errorf("CA Issuer %+v does not use the CA Certificate's Secret %s", caIssuer.Spec.CA, ca.Spec.SecretName)
	}
	if serving.Spec.IssuerRef != ref(caIssuer) || serving.Spec.IsCA {
		t.Errorf("serving Certificate: issuer %+v, isCA %v; want a leaf of %s", serving.Spec.IssuerRef, serving.Spec.IsCA, caIssuer.Name)
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfg := objs.get(t, kind, "sctpguard")
		if got, want := cfg.GetAnnotations()[cmapi.WantInjectAnnotation], serving.Namespace+"/"+serving.Name; got != want {
			t.Errorf("%s %s: %s=%q, want %q", kind, cfg.GetName(), cmapi.WantInjectAnnotation, got, want)
		}
		hooks, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
		for _, h := range hooks {
			svc, _, _ := unstructured.NestedString(h.(map[string]any), "clientConfig", "service", "name")
			ns, _, _ := unstructured.NestedString(h.(map[string]any), "clientConfig", "service", "namespace")
			name := svc + "." + ns + ".svc"
			if diff := cmp.Diff([]string{name, name + ".cluster.local"}, serving.Spec.DNSNames); diff != "" {
				t.Errorf("serving certificate names for %s (-want +got):\n%s", name, diff)
			}
		}
	}
	var d appsv1.Deployment
	mustDecode(t, objs.get(t, "Deployment", "sctpguard"), &d)
	if s := d.Spec.Template.Spec.Volumes[0].Secret; s == nil || s.SecretName != serving.Spec.SecretName {
		t.Errorf("the pods mount %+v, not the serving certificate's Secret %s", d.Spec.Template.Spec.Volumes[0], serving.Spec.SecretName)
	}
	wantUsages := []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment}
	if diff := cmp.Diff(wantUsages, serving.Spec.Usages); diff != "" {
		t.Errorf("usages (-want +got):\n%s", diff)
	}

	// An existing issuer replaces the chart's chain.
	r := release{name: "sctpguard", namespace: "sctpguard", values: "certManager:\n  issuerRef: {name: corp-ca, kind: ClusterIssuer, group: cert-manager.io}\n"}
	objs = r.objects(t)
	mustDecode(t, objs.get(t, "Certificate", "sctpguard-webhook"), &serving)
	if want := (cmmeta.IssuerReference{Name: "corp-ca", Kind: cmapi.ClusterIssuerKind, Group: "cert-manager.io"}); serving.Spec.IssuerRef != want {
		t.Errorf("with issuerRef: serving certificate issuer %+v, want %+v", serving.Spec.IssuerRef, want)
	}
	if n := append(objs.ofKind("Issuer"), objs.ofKind("Certificate")...).names(); !slices.Equal(n, []string{"Certificate/sctpguard-webhook"}) {
		t.Errorf("with issuerRef: %s, want the serving Certificate only", n)
	}

	// Without cert-manager: no cert-manager object and no CA injection.
	for _, o := range selfSigned.objects(t) {
		if strings.HasPrefix(o.GetAPIVersion(), "cert-manager.io/") || o.GetAnnotations()[cmapi.WantInjectAnnotation] != "" {
			t.Errorf("without cert-manager: %s %s", o.GetKind(), o.GetName())
		}
	}
}

// TestProbeRendersTheExample: probe.okdVerification renders examples/probe/okd-verification.yaml,
// object for object, apart from the chart's labels, the namespace and the image.
func TestProbeRendersTheExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "examples", "probe", "okd-verification.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeManifests(string(data))
	if err != nil {
		t.Fatal(err)
	}
	r := release{name: "sctpguard", namespace: "telco-lab", values: "image: {tag: latest}\nprobe: {okdVerification: {enabled: true}}\n"}
	var got manifests
	for _, o := range r.objects(t) {
		if strings.HasPrefix(o.GetName(), "sctpprobe-") || o.GetName() == "sctpservice" {
			if o.GetNamespace() != r.namespace {
				t.Errorf("%s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
			}
			unstructured.RemoveNestedField(o.Object, "metadata", "namespace")
			labels := o.GetLabels()
			for k := range labels {
				if strings.HasPrefix(k, "app.kubernetes.io/") || k == "helm.sh/chart" {
					delete(labels, k)
				}
			}
			o.SetLabels(labels)
			got = append(got, o)
		}
	}
	if diff := cmp.Diff(want.yaml(), got.yaml()); diff != "" {
		t.Errorf("probe objects (-example +chart):\n%s", diff)
	}

	// One target: no init containers, no headless Service, no NodePort.
	r.values = "probe: {okdVerification: {enabled: true, targets: [clusterIP], port: 5000}}\n"
	objs := r.objects(t)
	var job struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := runtimeDecode(objs.get(t, "Job", "sctpprobe-client"), &job); err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	var args [][]string
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		args = append(args, append([]string{c.Name}, c.Args...))
	}
	if diff := cmp.Diff([][]string{{"cluster-ip", "probe", "connect", "sctpservice:5000", "--count", "3", "--timeout", "10s", "-o", "json"}}, args); diff != "" {
		t.Errorf("containers (-want +got):\n%s", diff)
	}
	var svc corev1.Service
	mustDecode(t, objs.get(t, "Service", "sctpservice"), &svc)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].NodePort != 0 {
		t.Errorf("sctpservice: %s, nodePort %d; want ClusterIP without a nodePort", svc.Spec.Type, svc.Spec.Ports[0].NodePort)
	}
	for _, o := range objs {
		if o.GetName() == "sctpprobe-server-pod" {
			t.Errorf("the headless Service is rendered without the podIP target")
		}
	}
}

// schemaError is one line of helm's report of values that fail values.schema.json.
var schemaError = regexp.MustCompile(`(?m)- at '[^']*': .*$`)

// TestSchemaRejectsBadValues: helm lint and helm template refuse bad values, and the message
// names the value and what is wrong with it.
func TestSchemaRejectsBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		values string
		want   []string
	}{
		"no replicas":            {"replicaCount: 0\n", []string{"- at '/replicaCount': minimum: got 0, want 1"}},
		"unknown failurePolicy":  {"webhook: {failurePolicy: Never}\n", []string{"- at '/webhook/failurePolicy': value must be one of 'Fail', 'Ignore'"}},
		"timeout over 30s":       {"webhook: {timeoutSeconds: 31}\n", []string{"- at '/webhook/timeoutSeconds': maximum: got 31, want 30"}},
		"misspelt top-level key": {"replicas: 3\n", []string{"- at '': additional properties 'replicas' not allowed"}},
		"misspelt nested key":    {"certManager: {enable: false}\n", []string{"- at '/certManager': additional properties 'enable' not allowed"}},
		"translator without the Avi Secret": {"translator: {enabled: true}\n",
			[]string{"- at '/avi/existingSecret': minLength: got 0, want 1"}},
		"unknown translator classes": {"translator: {classes: ako}\n",
			[]string{"- at '/translator/classes': value must be one of 'sctpguard', 'sctpguard-and-ako'"}},
		"credentials in values": {"avi: {existingSecret: avi-secret, password: hunter2}\n",
			[]string{"- at '/avi': additional properties 'password' not allowed"}},
		"bad excluded namespace": {"webhook: {excludeNamespaces: [Telco_NS]}\n",
			[]string{"- at '/webhook/excludeNamespaces/0': 'Telco_NS' does not match pattern '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"}},
		"unknown probe target": {"probe: {okdVerification: {targets: [podIP, ingress]}}\n",
			[]string{"- at '/probe/okdVerification/targets/1': value must be one of 'podIP', 'clusterIP', 'nodePort'"}},
		"nodePort out of range": {"probe: {okdVerification: {nodePort: 80}}\n",
			[]string{"- at '/probe/okdVerification/nodePort': minimum: got 80, want 30,000"}},
		"duration without unit": {"policy: {timeout: \"500\"}\n",
			[]string{"- at '/policy/timeout': '500' does not match pattern '^([0-9]+(ns|us|µs|ms|s|m|h))+$'"}},
		"reports over etcd's size": {"audit: {maxResultsPerReport: 5000}\n",
			[]string{"- at '/audit/maxResultsPerReport': maximum: got 5,000, want 1,000"}},
		"issuerRef without name": {"certManager: {issuerRef: {kind: ClusterIssuer}}\n",
			[]string{"- at '/certManager/issuerRef': missing property 'name'"}},
		"two at once": {"replicaCount: 0\nplatform: aws\n", []string{
			"- at '/platform': value must be one of 'auto', 'openshift', 'none'",
			"- at '/replicaCount': minimum: got 0, want 1",
		}},
	} {
		t.Run(name, func(t *testing.T) {
			r := release{name: "sctpguard", namespace: "sctpguard", values: tc.values}
			for _, cmd := range [][]string{
				{"template", r.name, chartDir, "--namespace", r.namespace},
				{"lint", chartDir, "--namespace", r.namespace},
			} {
				out, stderr, code := r.helm(t, cmd...)
				if code == 0 {
					t.Errorf("helm %s accepted %q", cmd[0], tc.values)
					continue
				}
				got := slices.Compact(slices.Sorted(slices.Values(schemaError.FindAllString(out+stderr, -1))))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("helm %s: schema errors (-want +got):\n%s\n%s%s", cmd[0], diff, out, stderr)
				}
			}
		})
	}
}

// TestTestNamespaceIsJudged: the helm test's dry run is never in the release's namespace,
// which the webhooks skip: the test could never pass there.
func TestTestNamespaceIsJudged(t *testing.T) {
	r := release{name: "sctpguard", namespace: "sctpguard", values: "tests: {namespace: sctpguard}\n"}
	_, stderr, code := r.helm(t, "template", r.name, chartDir, "--namespace", r.namespace)
	first, _, _ := strings.Cut(stderr, "\n")
	got := regexp.MustCompile(`^Error: execution error at \(sctpguard/templates/tests/selftest.yaml:\d+:\d+\): `).ReplaceAllString(first, "")
	want := "tests.namespace: sctpguard is the release's namespace, which the webhooks skip; the helm test needs another"
	if code == 0 || got != want {
		t.Errorf("helm template: exit %d, %q; want the error %q", code, stderr, want)
	}

	// By default the dry run is in default, or in kube-public for a release in default.
	for ns, want := range map[string]string{"sctpguard": "default", "default": "kube-public"} {
		r := release{name: "sctpguard", namespace: ns}
		var pod corev1.Pod
		objs := r.objects(t)
		mustDecode(t, objs.get(t, "Pod", "sctpguard-test"), &pod)
		if diff := cmp.Diff([]string{"selftest", "--namespace=" + want, "--timeout=2m"}, pod.Spec.Containers[0].Args); diff != "" {
			t.Errorf("release in %s: selftest args (-want +got):\n%s", ns, diff)
		}
		if role := objs.get(t, "Role", "sctpguard-test"); role.GetNamespace() != want {
			t.Errorf("release in %s: the test's Role is in %s, want %s", ns, role.GetNamespace(), want)
		}
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestPolicyReportCRDs: the audit's CRDs are rendered, kept on uninstall and labelled, when
// the cluster does not serve them; not when it does (Kyverno's), nor without the audit or
// with installCRDs off.
func TestPolicyReportCRDs(t *testing.T) {
	crds := func(r release, args ...string) []string {
		t.Helper()
		out, stderr, code := r.helm(t, append([]string{"template", r.name, chartDir, "--namespace", r.namespace}, args...)...)
		if code != 0 {
			t.Fatalf("helm template: %s", stderr)
		}
		objs, err := decodeManifests(out)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range objs.ofKind("CustomResourceDefinition") {
			if o.GetAnnotations()["helm.sh/resource-policy"] != "keep" || o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("CRD %s: annotations %v, labels %v", o.GetName(), o.GetAnnotations(), o.GetLabels())
			}
			names = append(names, o.GetName())
		}
		return names
	}
	both := []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"}
	for _, tc := range []struct {
		name string
		r    release
		args []string
		want []string
	}{
		{"cluster without them", defaults, nil, both},
		{"cluster with PolicyReports", defaults, []string{"--api-versions", "wgpolicyk8s.io/v1alpha2/PolicyReport"}, both[1:]},
		{"cluster with both", defaults, []string{"--api-versions", "wgpolicyk8s.io/v1alpha2/PolicyReport", "--api-versions", "wgpolicyk8s.io/v1alpha2/ClusterPolicyReport"}, nil},
		{"installCRDs off", release{name: "sctpguard", namespace: "sctpguard", values: "audit: {installCRDs: false}\n"}, nil, nil},
		{"audit off", release{name: "sctpguard", namespace: "sctpguard", values: "audit: {enabled: false}\n"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, crds(tc.r, tc.args...)); diff != "" {
				t.Errorf("CRDs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNetworkPolicyGrant: NetworkPolicies are listed and watched only where the audit or the
// guard on AKO's ConfigMap judges them (the webhooks read none).
func TestNetworkPolicyGrant(t *testing.T) {
	for _, tc := range []struct {
		values string
		want   []grant
	}{
		{"", []grant{{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "list"}, {Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "watch"}}},
		{"audit: {enabled: false}\n", []grant{{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "list"}, {Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "watch"}}},
		{"akoGuard: {enabled: false}\n", []grant{{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "list"}, {Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "watch"}}},
		{"audit: {enabled: false}\nakoGuard: {enabled: false}\n", []grant{}},
	} {
		r := release{name: "sctpguard", namespace: "sctpguard", values: tc.values}
		got := slices.DeleteFunc(grants(t, r.objects(t), "sctpguard", "sctpguard"), func(g grant) bool { return g.Resource != "networkpolicies" })
		sortGrants(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("values %q: NetworkPolicy grants (-want +got):\n%s", tc.values, diff)
		}
	}
}
