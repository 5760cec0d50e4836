package selftest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// denial is the error the API server returns for sctpguard's denial of the known-bad Service.
var denial = apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, ServiceName,
	errors.New(`admission webhook "services.validate.sctpguard.io" denied the request: [sctp-npl-annotation] metadata.annotations: antrea NodePortLocal`))

// answering returns a clientset whose Service creates get err, and records the dry-run options.
func answering(err error, dryRun *[]string) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		*dryRun = ca.CreateOptions.DryRun
		if err != nil {
			return true, nil, err
		}
		return true, ca.Object.(*corev1.Service), nil
	})
	return c
}

func TestCheck(t *testing.T) {
	other := apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, ServiceName,
		errors.New(`admission webhook "other.example.com" denied the request: no`))
	unreachable := apierrors.NewInternalError(errors.New(`failed calling webhook "services.validate.sctpguard.io": connection refused`))
	for name, tc := range map[string]struct {
		answer  error
		want    string
		wantErr string
	}{
		"denied by sctpguard": {answer: denial, want: denial.Error()},
		"admitted":            {wantErr: ErrAdmitted.Error()},
		"denied by another webhook": {answer: other,
			wantErr: "dry run of the known-bad Service: " + other.Error()},
		"webhook unreachable": {answer: unreachable,
			wantErr: "dry run of the known-bad Service: " + unreachable.Error()},
	} {
		t.Run(name, func(t *testing.T) {
			var dryRun []string
			got, err := Check(context.Background(), answering(tc.answer, &dryRun), "telco")
			if got != tc.want {
				t.Errorf("denial %q, want %q", got, tc.want)
			}
			if errText(err) != tc.wantErr {
				t.Errorf("error %q, want %q", errText(err), tc.wantErr)
			}
			if diff := cmp.Diff([]string{"All"}, dryRun); diff != "" {
				t.Errorf("dry run (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunRetries: Run keeps asking until the denial comes, and gives up after the timeout.
func TestRunRetries(t *testing.T) {
	c := fake.NewClientset()
	calls := 0
	c.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if calls < 3 {
			return true, nil, apierrors.NewInternalError(errors.New("x509: certificate signed by unknown authority"))
		}
		return true, nil, denial
	})
	o := &Options{Namespace: "default", Timeout: 10 * time.Second, Interval: time.Millisecond}
	if got, err := Run(context.Background(), c, o); err != nil || got != denial.Error() || calls != 3 {
		t.Fatalf("Run: %q, %v after %d calls; want the denial after 3", got, err, calls)
	}
	var dryRun []string
	o.Timeout = 50 * time.Millisecond
	_, err := Run(context.Background(), answering(nil, &dryRun), o)
	if want := "no denial from sctpguard within 50ms: " + ErrAdmitted.Error(); errText(err) != want {
		t.Fatalf("Run: %q, want %q", errText(err), want)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
