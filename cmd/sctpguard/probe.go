package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/probe"
)

const probeKernelHelp = `Kernel SCTP:
  Before opening a socket the probe reads /proc/net/sctp (present when SCTP is registered),
  /sys/module/sctp and /proc/modules (loaded), /lib/modules/$(uname -r) (installed or built
  in), /etc/modprobe.d and the kernel command line (blacklisted). Creating an SCTP socket
  makes the kernel load sctp.ko unless it is blacklisted, so when SCTP is not registered the
  probe stops with exit code 3 unless --allow-module-load is given. To enable SCTP, load the
  module on the node (modprobe sctp, and remove "blacklist sctp" from /etc/modprobe.d); on
  OpenShift apply the load-sctp-module MachineConfig (examples/seeds/okd-load-sctp-module.yaml).`

// allowModuleLoadHelp documents --allow-module-load on both subcommands.
const allowModuleLoadHelp = "open the socket even when SCTP is not registered, which loads sctp.ko where it is not blacklisted"

// probeLong is a probe command's long help: what it does, then the kernel check and the
// exit codes, which all probe commands share.
func probeLong(what string) string {
	return what + "\n\n" + probeKernelHelp + "\n\n" + probe.ExitCodesHelp
}

func newProbeCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "probe",
		Short: "Check SCTP connectivity: an echo listener and a client that times each round trip",
		Long: probeLong(`Probe checks SCTP connectivity the way the OKD verification procedure does with nc, without
installing anything: run "probe listen --echo" in one pod and "probe connect" in another.
Every blocking step is bounded by a timeout, and each kind of failure has its own exit code.`),
		Example: `  sctpguard probe listen --port 30102 --echo
  sctpguard probe connect sctpservice:30102 --count 5 -o json
  kubectl apply -f examples/probe/okd-verification.yaml`,
	}
	c.AddCommand(newProbeListenCommand(), newProbeConnectCommand())
	return c
}

func newProbeListenCommand() *cobra.Command {
	o := probe.NewListenOptions()
	c := &cobra.Command{
		Use:   "listen [flags]",
		Short: "Accept SCTP associations, log them and optionally echo every message",
		Long: probeLong(`Listen accepts SCTP associations on --port, logs each one (remote and local addresses,
messages and bytes when it closes) and with --echo sends every message back. It runs until
SIGTERM or SIGINT, then closes every association and exits 0.`),
		Example: `  sctpguard probe listen --port 30102 --echo
  sctpguard probe listen --port 3868 --bind 10.0.0.1,10.0.1.1 --echo -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return probeExit(probe.RunListen(c.Context(), o, probe.HostEnv(), c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	f := c.Flags()
	f.IntVar(&o.Port, "port", o.Port, "SCTP port to listen on")
	f.StringSliceVar(&o.Bind, "bind", nil, "local IP addresses to listen on, comma-separated for a multi-homed endpoint (default: all)")
	f.BoolVar(&o.Echo, "echo", false, "send every message back on its association")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "close an association that sends nothing for this long")
	f.StringVarP(&o.Output, "output", "o", o.Output, "log format: "+strings.Join(probe.Outputs, ", ")+" (one object per line)")
	f.BoolVar(&o.AllowModuleLoad, "allow-module-load", false, allowModuleLoadHelp)
	return c
}

func newProbeConnectCommand() *cobra.Command {
	o := probe.NewConnectOptions()
	c := &cobra.Command{
		Use:   "connect HOST:PORT [flags]",
		Short: "Set up an SCTP association, send messages and check their echo",
		Long: probeLong(`Connect sets up an SCTP association with HOST:PORT (HOST/HOST:PORT for a multi-homed peer),
sends --message --count times, waits for each to come back unchanged and reports the
association's addresses and the round-trip times, as text or JSON. --timeout bounds each
step: name resolution, association set-up, each round trip. The first failure ends the run.`),
		Example: `  sctpguard probe connect 10.0.0.9:30102
  sctpguard probe connect sctpservice:30102 --count 10 --timeout 2s -o json
  sctpguard probe connect 10.0.0.9/10.0.1.9:3868 --bind 10.0.0.5,10.0.1.5`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Target = args[0]
			return probeExit(probe.RunConnect(c.Context(), o, probe.HostEnv(), c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	f := c.Flags()
	f.StringSliceVar(&o.Bind, "bind", nil, "local IP addresses of the association, comma-separated for multi-homing (default: the kernel chooses)")
	f.StringVar(&o.Message, "message", o.Message, "message to send")
	f.IntVar(&o.Count, "count", o.Count, "how many times to send the message")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound on each step: name resolution, association set-up, each round trip")
	f.BoolVar(&o.ExpectEcho, "expect-echo", o.ExpectEcho, "require every message back unchanged (--expect-echo=false only sends)")
	f.StringVarP(&o.Output, "output", "o", o.Output, "summary format: "+strings.Join(probe.Outputs, ", "))
	f.BoolVar(&o.AllowModuleLoad, "allow-module-load", false, allowModuleLoadHelp)
	return c
}

// probeExit passes a probe's exit code to main.
func probeExit(code probe.ExitCode) error {
	if code == probe.ExitOK {
		return nil
	}
	return exitError{code: int(code)}
}
