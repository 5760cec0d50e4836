package probe

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// Fixture trees of the files FSKernel reads, one per case a node can be in.
var (
	dir     = &fstest.MapFile{Mode: fs.ModeDir | 0o555}
	release = &fstest.MapFile{Data: []byte("6.1.0-28-amd64\n")}
	modDep  = &fstest.MapFile{Data: []byte("kernel/net/dccp/dccp.ko.xz:\nkernel/net/sctp/sctp.ko.xz: kernel/lib/libcrc32c.ko.xz\n")}
	noSCTP  = &fstest.MapFile{Data: []byte("kernel/net/dccp/dccp.ko.xz:\n")}
)

func text(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestFSKernel(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want KernelStatus
	}{
		{
			name: "module loaded",
			fs: fstest.MapFS{
				"proc/net/sctp/assocs": text(""), "sys/module/sctp": dir,
				"proc/modules": text("nf_tables 1 0 - Live 0x0\nsctp 446464 4 - Live 0x0\n"),
			},
			want: KernelStatus{State: KernelRegistered, Evidence: []string{"/proc/net/sctp present", "/sys/module/sctp present", "/proc/modules lists sctp"}},
		},
		{
			name: "loaded, /proc/net of another network namespace",
			fs:   fstest.MapFS{"proc/modules": text("sctp 446464 4 - Live 0x0\n"), "proc/net/tcp": text("")},
			want: KernelStatus{State: KernelLoaded, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent", "/proc/modules lists sctp"}},
		},
		{
			name: "built in",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":                  release,
				"lib/modules/6.1.0-28-amd64/modules.builtin": text("kernel/net/ipv4/tcp.ko\nkernel/net/sctp/sctp.ko\n"),
			},
			want: KernelStatus{State: KernelBuiltin, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64/modules.builtin lists sctp.ko"}},
		},
		{
			name: "blacklisted in /etc/modprobe.d (RHCOS)",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":              release,
				"lib/modules/6.1.0-28-amd64/modules.dep": modDep,
				"etc/modprobe.d/sctp-blacklist.conf":     text("# Disable SCTP\n\nblacklist  sctp\n"),
				"etc/modprobe.d/other.conf":              text("blacklist dccp\n# blacklist sctp\noptions sctp foo=1\n"),
			},
			want: KernelStatus{State: KernelBlacklisted, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64/kernel/net/sctp/sctp.ko.xz present", "/etc/modprobe.d/sctp-blacklist.conf: blacklist sctp"}},
		},
		{
			name: "install sctp /bin/false in /usr/lib and the kernel command line",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":              release,
				"lib/modules/6.1.0-28-amd64/modules.dep": modDep,
				"usr/lib/modprobe.d/disable.conf":        text("install sctp /bin/false\ninstall dccp /bin/true\n"),
				"proc/cmdline":                           text("ro quiet module_blacklist=dccp,sctp\n"),
			},
			want: KernelStatus{State: KernelBlacklisted, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64/kernel/net/sctp/sctp.ko.xz present", "/usr/lib/modprobe.d/disable.conf: install sctp /bin/false",
				"/proc/cmdline: module_blacklist=dccp,sctp"}},
		},
		{
			name: "blacklist lifted by an empty file of the same name in /etc (load-sctp-module MachineConfig)",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":              release,
				"lib/modules/6.1.0-28-amd64/modules.dep": modDep,
				"usr/lib/modprobe.d/sctp-blacklist.conf": text("blacklist sctp\n"),
				"etc/modprobe.d/sctp-blacklist.conf":     text(""),
			},
			want: KernelStatus{State: KernelLoadable, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64/kernel/net/sctp/sctp.ko.xz present"}},
		},
		{
			name: "installed, no modules.dep",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":                              release,
				"lib/modules/6.1.0-28-amd64/kernel/net/sctp/sctp.ko.zst": text(""),
			},
			want: KernelStatus{State: KernelLoadable, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64/kernel/net/sctp/sctp.ko.zst present"}},
		},
		{
			name: "absent from the module tree",
			fs: fstest.MapFS{
				"proc/sys/kernel/osrelease":              release,
				"lib/modules/6.1.0-28-amd64/modules.dep": noSCTP,
			},
			want: KernelStatus{State: KernelAbsent, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64 has no sctp.ko"}},
		},
		{
			name: "container: no module tree",
			fs:   fstest.MapFS{"proc/sys/kernel/osrelease": release},
			want: KernelStatus{State: KernelUnknown, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/lib/modules/6.1.0-28-amd64 absent"}},
		},
		{
			name: "nothing readable",
			fs:   fstest.MapFS{},
			want: KernelStatus{State: KernelUnknown, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent",
				"/proc/sys/kernel/osrelease unreadable"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FSKernel{FS: tt.fs}.SCTP()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKernelStatusMessages(t *testing.T) {
	type texts struct {
		Available       bool
		Reason, Message string
	}
	tests := []struct {
		name   string
		status KernelStatus
		want   texts
	}{
		{
			name:   "registered",
			status: KernelStatus{State: KernelRegistered, Evidence: []string{"/proc/net/sctp present", "/sys/module/sctp present"}},
			want:   texts{Available: true, Reason: "kernel SCTP available: /proc/net/sctp present, /sys/module/sctp present"},
		},
		{
			name:   "blacklisted",
			status: KernelStatus{State: KernelBlacklisted, Evidence: []string{"/proc/net/sctp absent", "/etc/modprobe.d/x.conf: blacklist sctp"}},
			want: texts{Reason: "kernel SCTP unavailable: /proc/net/sctp absent, /etc/modprobe.d/x.conf: blacklist sctp",
				Message: "kernel SCTP unavailable: module not loaded or blacklisted (/proc/net/sctp absent, /etc/modprobe.d/x.conf: blacklist sctp); see 'sctpguard probe --help' (Kernel SCTP)"},
		},
		{
			name:   "loadable",
			status: KernelStatus{State: KernelLoadable, Evidence: []string{"/proc/net/sctp absent", "/sys/module/sctp absent"}},
			want: texts{Reason: "kernel SCTP unavailable: /proc/net/sctp absent, /sys/module/sctp absent",
				Message: "kernel SCTP unavailable: module not loaded or blacklisted (/proc/net/sctp absent, /sys/module/sctp absent); " +
					"--allow-module-load lets the probe's socket load sctp.ko; see 'sctpguard probe --help' (Kernel SCTP)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts{Available: tt.status.Available(), Reason: tt.status.Reason(), Message: tt.status.Message()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
