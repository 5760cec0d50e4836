package probe

import (
	"bufio"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// Kernel tells whether this host's kernel can do SCTP.
type Kernel interface {
	SCTP() KernelStatus
}

// KernelState is what the passive checks found, most decisive first.
type KernelState string

// Kernel states. Only the first three let a probe open a socket without side effects.
const (
	// KernelRegistered: /proc/net/sctp exists, so the protocol is registered in this network
	// namespace (module loaded or built in).
	KernelRegistered KernelState = "registered"
	// KernelLoaded: /sys/module/sctp or a sctp line in /proc/modules.
	KernelLoaded KernelState = "loaded"
	// KernelBuiltin: modules.builtin lists sctp.ko.
	KernelBuiltin KernelState = "builtin"
	// KernelBlacklisted: not loaded, and modprobe configuration or the kernel command line
	// forbids loading it.
	KernelBlacklisted KernelState = "blacklisted"
	// KernelLoadable: not loaded, sctp.ko is installed and not blacklisted: the first SCTP
	// socket would load it.
	KernelLoadable KernelState = "loadable"
	// KernelAbsent: not loaded, and the module tree of the running kernel has no sctp.ko.
	KernelAbsent KernelState = "absent"
	// KernelUnknown: not loaded, and the module tree is not readable (as in most containers).
	KernelUnknown KernelState = "unknown"
)

// KernelStatus is the result of the passive checks.
type KernelStatus struct {
	State KernelState `json:"state"`
	// Evidence lists what was looked at and found, in a fixed order, each item naming its
	// file: "/proc/net/sctp absent", "/etc/modprobe.d/sctp-blacklist.conf: blacklist sctp".
	Evidence []string `json:"evidence"`
}

// Available reports whether SCTP sockets work without loading anything.
func (s KernelStatus) Available() bool {
	return s.State == KernelRegistered || s.State == KernelLoaded || s.State == KernelBuiltin
}

// Reason is a one-line account of the status, for test skips and logs:
// "kernel SCTP unavailable: /proc/net/sctp absent, /sys/module/sctp absent".
func (s KernelStatus) Reason() string {
	word := "unavailable"
	if s.Available() {
		word = "available"
	}
	return "kernel SCTP " + word + ": " + strings.Join(s.Evidence, ", ")
}

// Message is what a user reads when the probe stops because of the status; "" when SCTP
// is available.
func (s KernelStatus) Message() string {
	if s.Available() {
		return ""
	}
	msg := "kernel SCTP unavailable: module not loaded or blacklisted (" + strings.Join(s.Evidence, ", ") + ")"
	if s.State == KernelLoadable || s.State == KernelUnknown {
		msg += "; --allow-module-load lets the probe's socket load sctp.ko"
	}
	return msg + "; " + KernelHint
}

// KernelHint ends every "kernel SCTP unavailable" message.
const KernelHint = "see 'sctpguard probe --help' (Kernel SCTP)"

// FSKernel detects SCTP by reading files only, never opening a socket: creating an SCTP
// socket makes the kernel load sctp.ko (inet_create's request_module), the side effect the
// Kubernetes e2e module guard forbids. FS is rooted at "/".
type FSKernel struct {
	FS fs.FS
}

var _ Kernel = FSKernel{}

// HostKernel reads this host's /proc, /sys, /lib/modules and modprobe configuration.
func HostKernel() FSKernel { return FSKernel{FS: os.DirFS("/")} }

// modprobeDirs are searched in modprobe's order: a file in an earlier directory hides the
// file of the same name in a later one, which is how OpenShift's load-sctp-module
// MachineConfig lifts the blacklist (an empty /etc/modprobe.d/sctp-blacklist.conf).
var modprobeDirs = []string{"etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"}

// SCTP runs the passive checks.
func (k FSKernel) SCTP() KernelStatus {
	var s KernelStatus
	note := func(name, what string) { s.Evidence = append(s.Evidence, "/"+name+" "+what) }

	registered := exists(k.FS, "proc/net/sctp")
	note("proc/net/sctp", presence(registered))
	sysModule := exists(k.FS, "sys/module/sctp")
	note("sys/module/sctp", presence(sysModule))
	procModules := false
	if data, err := fs.ReadFile(k.FS, "proc/modules"); err == nil {
		procModules = slices.ContainsFunc(strings.Split(string(data), "\n"), func(l string) bool { return strings.HasPrefix(l, "sctp ") })
		if procModules {
			note("proc/modules", "lists sctp")
		}
	}
	switch {
	case registered:
		s.State = KernelRegistered
		return s
	case sysModule || procModules:
		s.State = KernelLoaded
		return s
	}

	release := ""
	if data, err := fs.ReadFile(k.FS, "proc/sys/kernel/osrelease"); err == nil {
		release = strings.TrimSpace(string(data))
	}
	module, builtin, tree := k.moduleFile(release)
	switch {
	case builtin:
		// Built in yet not registered: /proc/net is not this network namespace's, or not
		// mounted. The socket works all the same.
		note(path.Join("lib/modules", release, "modules.builtin"), "lists sctp.ko")
		s.State = KernelBuiltin
		return s
	case module != "":
		s.Evidence = append(s.Evidence, module+" present")
	case tree:
		note(path.Join("lib/modules", release), "has no sctp.ko")
	case release != "":
		note(path.Join("lib/modules", release), "absent")
	default:
		note("proc/sys/kernel/osrelease", "unreadable")
	}

	blacklist := k.blacklist()
	s.Evidence = append(s.Evidence, blacklist...)
	switch {
	case len(blacklist) > 0:
		s.State = KernelBlacklisted
	case module != "":
		s.State = KernelLoadable
	case tree:
		s.State = KernelAbsent
	default:
		s.State = KernelUnknown
	}
	return s
}

func presence(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// moduleFile looks for sctp.ko in the running kernel's module tree: the file's path (with
// a leading slash) when installed, whether it is built in, and whether the tree was readable.
func (k FSKernel) moduleFile(release string) (module string, builtin, tree bool) {
	if release == "" {
		return "", false, false
	}
	dir := path.Join("lib/modules", release)
	if !exists(k.FS, dir) {
		return "", false, false
	}
	const ko = "kernel/net/sctp/sctp.ko"
	if data, err := fs.ReadFile(k.FS, path.Join(dir, "modules.builtin")); err == nil {
		if slices.Contains(strings.Split(string(data), "\n"), ko) {
			return "", true, true
		}
	}
	if data, err := fs.ReadFile(k.FS, path.Join(dir, "modules.dep")); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			name, _, _ := strings.Cut(line, ":")
			if name == ko || strings.HasPrefix(name, ko+".") {
				return "/" + path.Join(dir, name), false, true
			}
		}
		return "", false, true
	}
	// No modules.dep (a tree being installed): look for the file with any compression.
	for _, suffix := range []string{"", ".xz", ".zst", ".gz"} {
		if name := path.Join(dir, ko+suffix); exists(k.FS, name) {
			return "/" + name, false, true
		}
	}
	return "", false, true
}

// blacklist returns where loading sctp is forbidden: "blacklist sctp" (which stops the
// autoload by alias) or "install sctp /bin/false" in modprobe configuration, and
// module_blacklist= or modprobe.blacklist= on the kernel command line.
func (k FSKernel) blacklist() []string {
	var found []string
	seen := map[string]bool{}
	for _, dir := range modprobeDirs {
		entries, err := fs.ReadDir(k.FS, dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") || seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			name := path.Join(dir, e.Name())
			for _, line := range modprobeLines(k.FS, name) {
				found = append(found, "/"+name+": "+line)
			}
		}
	}
	if data, err := fs.ReadFile(k.FS, "proc/cmdline"); err == nil {
		for _, arg := range strings.Fields(string(data)) {
			key, list, ok := strings.Cut(arg, "=")
			if ok && (key == "module_blacklist" || key == "modprobe.blacklist") && slices.Contains(strings.Split(list, ","), "sctp") {
				found = append(found, "/proc/cmdline: "+arg)
			}
		}
	}
	return found
}

// modprobeLines returns the lines of one modprobe.d file that keep sctp from loading.
func modprobeLines(fsys fs.FS, name string) []string {
	f, err := fsys.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close() //nolint:errcheck // read-only
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || fields[1] != "sctp" {
			continue
		}
		switch {
		case fields[0] == "blacklist":
		case fields[0] == "install" && len(fields) >= 3 && slices.Contains([]string{"/bin/false", "/usr/bin/false", "/bin/true", "/usr/bin/true"}, fields[2]):
		default:
			continue
		}
		lines = append(lines, strings.Join(fields, " "))
	}
	return lines
}
