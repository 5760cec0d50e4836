package chart

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func intOrString(s string) intstr.IntOrString { return intstr.FromString(s) }

func ptrIntOrString(i int) *intstr.IntOrString {
	v := intstr.FromInt32(int32(i))
	return &v
}

func labelSelector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}

// resourceList builds a ResourceList from name, quantity pairs.
func resourceList(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// runtimeDecode decodes the fields of an object that into names, ignoring the others.
func runtimeDecode(o *unstructured.Unstructured, into any) error {
	data, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}
