package avi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRef(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "https://10.0.0.1/api/pool/pool-1a2b#cluster--default-server-SCTP-80", want: Ref{Type: "pool", UUID: "pool-1a2b", Name: "cluster--default-server-SCTP-80"}},
		{in: "https://[2001:db8::1]:8443/api/vsvip/vsvip-9", want: Ref{Type: "vsvip", UUID: "vsvip-9"}},
		{in: "/api/tenant/admin", want: Ref{Type: "tenant", UUID: "admin"}},
		{in: "/api/pool/?name=a%20b", want: Ref{Type: "pool", Name: "a b"}},
		{in: "/api/cloud?name=Default-Cloud", want: Ref{Type: "cloud", Name: "Default-Cloud"}},
		{in: "/api/networkprofile/?name=System-SCTP-Proxy&cloud=Default-Cloud", want: Ref{Type: "networkprofile", Name: "System-SCTP-Proxy"}},
		{in: "pool-1a2b", wantErr: `ref "pool-1a2b": no /api/ path`},
		{in: "/api/", wantErr: `ref "/api/": want /api/<type>/<uuid> or /api/<type>?name=<name>`},
		{in: "/api/pool/a/b", wantErr: `ref "/api/pool/a/b": want /api/<type>/<uuid> or /api/<type>?name=<name>`},
		{in: "/api/pool?cloud=x", wantErr: `ref "/api/pool?cloud=x": neither a uuid nor a name`},
	} {
		got, err := ParseRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseRef(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRef(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	if got := NameRef("pool", "a b/c"); got != "/api/pool/?name=a+b%2Fc" {
		t.Errorf("NameRef = %q", got)
	}
}
