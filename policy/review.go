package policy

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Operation is the admission operation of a review.
type Operation string

// Admission operations.
const (
	OperationCreate  Operation = "CREATE"
	OperationUpdate  Operation = "UPDATE"
	OperationDelete  Operation = "DELETE"
	OperationConnect Operation = "CONNECT"
)

// Object is a typed Kubernetes object: every kind the rules read implements it.
type Object interface {
	metav1.Object
	runtime.Object
}

// Review is one object under review: what the webhook receives as an AdmissionRequest, and
// what `check` builds for each manifest (a CREATE without user).
type Review struct {
	Operation Operation
	// Object is the typed object with the API server's defaults applied; nil on DELETE.
	Object Object
	// OldObject is the stored object on UPDATE; nil otherwise.
	OldObject Object
	// UserInfo is the requesting user; empty offline.
	UserInfo authenticationv1.UserInfo
	// DryRun is true for server-side dry-run requests.
	DryRun bool
}

// Ref returns the reference of an object for findings.
func Ref(obj Object) ObjectRef {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return ObjectRef{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Namespace:  obj.GetNamespace(),
		Name:       obj.GetName(),
	}
}
