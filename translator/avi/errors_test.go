package avi

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	api := func(status int, msg string) error {
		return fmt.Errorf("create pool p: %w", &APIError{Status: status, Method: "POST", Path: "/api/pool", Message: msg})
	}
	for _, tt := range []struct {
		name          string
		err           error
		want          Class
		missingConfig string
	}{
		{"bad credentials stop writes", api(401, "Invalid credentials"), ClassSlow, ""},
		{"session expired after re-login", api(401, "Authentication credentials were not provided."), ClassFast, ""},
		{"419", api(419, ""), ClassFast, ""},
		{"no free IPs", api(400, "No available free IPs"), ClassSlow, ""},
		{"missing cloud (400)", api(400, "Cloud object not found!"), ClassSlow, "Cloud"},
		{"missing VRF (404)", api(404, "VrfContext object not found!"), ClassSlow, "VrfContext"},
		{"missing system monitor", api(400, "HealthMonitor object not found!"), ClassSlow, "HealthMonitor"},
		{"missing child pool", api(404, "Pool object not found!"), ClassFast, ""},
		{"upgrade", api(403, "Configuration is disallowed during upgrade"), ClassSlow, ""},
		{"tenant", api(403, "Tenant 'telco' does not exist!"), ClassSlow, ""},
		{"referred", api(403, "Cannot delete, object is referred by: ['VirtualService x']"), ClassSlow, ""},
		{"rbac", api(403, "User does not have permission"), ClassNone, ""},
		{"408", api(408, ""), ClassFast, ""},
		{"409 duplicate", api(409, "Pool with this Name, Tenant ref and Cloud ref already exists."), ClassFast, ""},
		{"412", api(412, "Need to reload object data VsVip"), ClassFast, ""},
		{"500", api(500, "record not found"), ClassFast, ""},
		{"503", api(503, ""), ClassFast, ""},
		{"validation", api(400, "Invalid value for receive_timeout"), ClassNone, ""},
		{"422", api(422, "bad"), ClassNone, ""},
		{"transport", errors.New("dial tcp 10.0.0.1:443: connect: connection refused"), ClassSlow, ""},
	} {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
		if got := MissingConfigObject(tt.err); got != tt.missingConfig {
			t.Errorf("%s: MissingConfigObject = %q, want %q", tt.name, got, tt.missingConfig)
		}
	}
	e := &APIError{Status: 401, Method: "POST", Path: "/api/pool", Message: "CSRF token missing or incorrect."}
	if got := e.Error(); got != "POST /api/pool: 401: CSRF token missing or incorrect." {
		t.Errorf("Error() = %q", got)
	}
}
