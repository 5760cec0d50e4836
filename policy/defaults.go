package policy

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ApplyDefaults sets the defaults the API server applies before admission that the rules
// depend on (k8s.io/kubernetes pkg/apis/core/v1/defaults.go and friends), so an offline check
// judges the object the webhook would see. Consequence: an omitted protocol is TCP, never SCTP.
// Objects from the API server are already defaulted; applying the defaults again is a no-op.
func ApplyDefaults(obj Object) {
	switch o := obj.(type) {
	case *corev1.Service:
		defaultService(o)
	case *corev1.Endpoints: //nolint:staticcheck // still served; the API server still validates it
		for i := range o.Subsets {
			for j := range o.Subsets[i].Ports {
				if o.Subsets[i].Ports[j].Protocol == "" {
					o.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
		}
	case *discoveryv1.EndpointSlice:
		for i := range o.Ports {
			if o.Ports[i].Name == nil {
				o.Ports[i].Name = ptr.To("")
			}
			if o.Ports[i].Protocol == nil {
				o.Ports[i].Protocol = ptr.To(corev1.ProtocolTCP)
			}
		}
	case *networkingv1.NetworkPolicy:
		for i := range o.Spec.Ingress {
			defaultNetworkPolicyPorts(o.Spec.Ingress[i].Ports)
		}
		for i := range o.Spec.Egress {
			defaultNetworkPolicyPorts(o.Spec.Egress[i].Ports)
		}
	case *corev1.Pod:
		defaultPodSpec(&o.Spec, true)
	default:
		if spec, _ := podSpecOf(obj); spec != nil {
			defaultPodSpec(spec, false)
		}
	}
}

func defaultService(svc *corev1.Service) {
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if svc.Spec.SessionAffinity == "" {
		svc.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		if svc.Spec.ExternalTrafficPolicy == "" {
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.AllocateLoadBalancerNodePorts == nil {
		svc.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
	}
}

func defaultNetworkPolicyPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			ports[i].Protocol = ptr.To(corev1.ProtocolTCP)
		}
	}
}

// defaultPodSpec defaults container port protocols and, for Pods only (not templates, since
// Kubernetes 1.28), a hostNetwork pod's zero hostPort to its containerPort.
func defaultPodSpec(spec *corev1.PodSpec, isPod bool) {
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			for j := range containers[i].Ports {
				p := &containers[i].Ports[j]
				if p.Protocol == "" {
					p.Protocol = corev1.ProtocolTCP
				}
				if isPod && spec.HostNetwork && p.HostPort == 0 {
					p.HostPort = p.ContainerPort
				}
			}
		}
	}
}

// podSpecOf returns the pod spec of a Pod or workload and the path to it.
func podSpecOf(obj Object) (*corev1.PodSpec, []string) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec, []string{"spec"}
	case *corev1.PodTemplate:
		return &o.Template.Spec, []string{"template", "spec"}
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, nil
		}
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *batchv1.Job:
		return &o.Spec.Template.Spec, []string{"spec", "template", "spec"}
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec, []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	return nil, nil
}
