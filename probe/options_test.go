package probe

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestConnectOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(o *ConnectOptions)
		want []string
	}{
		{name: "defaults with a target", mod: func(o *ConnectOptions) {}},
		{name: "multi-homed IPv6 target and bind", mod: func(o *ConnectOptions) {
			o.Target, o.Bind = "[fd00::1]/[fd00::2]:3868", []string{"fd00::5", "fd00::6"}
		}},
		{name: "everything wrong", mod: func(o *ConnectOptions) {
			o.Target, o.Bind, o.Message, o.Count, o.Timeout, o.Output = "nohost", []string{"10.0.0.1", "host.example", "10.0.0.1"}, "", -1, 0, "yaml"
		}, want: []string{
			`target: Invalid value: "nohost": want HOST:PORT: address nohost: missing port in address`,
			`bind[1]: Invalid value: "host.example": must be an IP address`,
			`bind[2]: Duplicate value: "10.0.0.1"`,
			`message: Invalid value: 0: length must be from 1 to 16384 bytes`,
			`count: Invalid value: -1: must be from 1 to 10000`,
			`timeout: Invalid value: "0s": must be from 1ms to 24h`,
			`output: Unsupported value: "yaml": supported values: "text", "json"`,
		}},
		{name: "no target", mod: func(o *ConnectOptions) { o.Target = "" }, want: []string{`target: Required value: give HOST:PORT`}},
		{name: "port out of range", mod: func(o *ConnectOptions) { o.Target = "h:70000" },
			want: []string{`target: Invalid value: "h:70000": port "70000" must be a number from 1 to 65535`}},
		{name: "empty host of a multi-homed target", mod: func(o *ConnectOptions) { o.Target = "10.0.0.1/:80" },
			want: []string{`target: Invalid value: "10.0.0.1/:80": empty host`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewConnectOptions()
			o.Target = "10.0.0.1:30102"
			tt.mod(o)
			if diff := cmp.Diff(tt.want, errStrings(o.Validate())); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListenOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(o *ListenOptions)
		want []string
	}{
		{name: "defaults", mod: func(o *ListenOptions) {}},
		{name: "everything wrong", mod: func(o *ListenOptions) {
			o.Port, o.Bind, o.IdleTimeout, o.Output = 65536, []string{"127.0.0.1/8"}, time.Microsecond, ""
		}, want: []string{
			`port: Invalid value: 65536: must be from 1 to 65535`,
			`bind[0]: Invalid value: "127.0.0.1/8": must be an IP address`,
			`idle-timeout: Invalid value: "1µs": must be from 1ms to 24h`,
			`output: Unsupported value: "": supported values: "text", "json"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewListenOptions()
			tt.mod(o)
			if diff := cmp.Diff(tt.want, errStrings(o.Validate())); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := map[string]Target{
		"sctpservice:30102":                  {Hosts: []string{"sctpservice"}, Port: 30102},
		"10.0.0.1/10.0.0.2:3868":             {Hosts: []string{"10.0.0.1", "10.0.0.2"}, Port: 3868},
		"[fd00::1]:3868":                     {Hosts: []string{"fd00::1"}, Port: 3868},
		"[fd00::1]/[fd00::2]:3868":           {Hosts: []string{"fd00::1", "fd00::2"}, Port: 3868},
		"sctpservice.ns.svc.cluster.local:1": {Hosts: []string{"sctpservice.ns.svc.cluster.local"}, Port: 1},
	}
	got := map[string]Target{}
	for s := range tests {
		tg, err := ParseTarget(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
		}
		got[s] = tg
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEndpointString(t *testing.T) {
	got := []string{
		Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}, Port: 3868}.String(),
		Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("fd00::1")}, Port: 80}.String(),
		Endpoint{Addrs: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.1")}, Port: 80}.String(),
		Endpoint{Port: 30102}.String(),
	}
	want := []string{"10.0.0.1/10.0.0.2:3868", "[fd00::1]:80", "10.0.0.1:80", ":30102"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
