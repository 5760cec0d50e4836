package main

import (
	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/policy/check"
	"github.com/sctpguard/sctpguard/translator"
)

func newTranslateCommand() *cobra.Command {
	o, in := translator.NewTranslateOptions(), check.NewOptions()
	c := &cobra.Command{
		Use:   "translate -f PATH... [flags]",
		Short: "Print the Avi objects the translator would create for manifests, or its plan against a controller",
		Long: `Translate reads manifests as check does and prints, for every SCTP LoadBalancer Service,
shared-VIP group and networking.x-k8s.io Gateway the translator syncs (sctpguard's class,
sctpguard.io/avi-sctp; AKO's too with --sync-ako-class), the Avi objects the translator would
create on an empty controller, in creation order: pools, L4 policy set, VsVip, virtual
service. Pool servers come from the EndpointSlices and Nodes in the input, if any. A unit that
would not be synced (an input the rules deny, a name too long) is listed with the reason.

With --controller, it prints instead the plan against that Avi Controller: per unit, every
object to create, to update (with each field that differs, before and after), to delete, or
left unchanged, as a sync would apply it. It only reads (the login and GETs), and logs out.

Exit codes: 0 every unit renders, 1 a unit would not be synced, 2 usage error or unreadable input.`,
		Example: `  sctpguard translate -f manifests/ --ako-values ako-values.yaml
  kustomize build overlays/prod | sctpguard translate -f - --cluster-name prod -o json
  sctpguard translate -f manifests/ --ako-values ako-values.yaml --controller avi.example.com --avi-credentials-dir ./avi-secret`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			read := func() (*translator.Inputs, error) {
				r, err := check.ReadInputs(in, c.InOrStdin())
				if err != nil {
					return nil, err
				}
				return &translator.Inputs{Objects: r.Objects, Context: r.Context, Config: r.Config, Errors: r.Errors}, nil
			}
			if code := translator.Translate(c.Context(), o, read, c.OutOrStdout(), c.ErrOrStderr()); code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringSliceVarP(&in.Files, "filename", "f", nil, "files or directories to read (directories recursively: *.yaml, *.yml, *.json), or - for standard input")
	f.StringVarP(&in.Namespace, "namespace", "n", in.Namespace, "namespace of namespaced objects that name none")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: yaml (default) or json; with --controller text (default) or json")
	f.Int64Var(&in.MaxFileSize, "max-file-size", in.MaxFileSize, "largest file read (manifests, policies, AKO values, configuration) or standard input, in bytes")
	f.StringVar(&o.ClusterName, "cluster-name", "", "AKO's clusterName, overriding the AKO settings (every object name starts with it)")
	f.BoolVar(&o.SyncAKOClass, "sync-ako-class", false, "translate AKO's class (ako.vmware.com/avi-lb, or none with AKO the default) too, as serve --translator-sync-ako-class syncs it")
	f.StringVar(&o.Controller, "controller", "", "print the plan against this Avi Controller (host[:port]) instead of the objects; read-only")
	f.StringVar(&o.CredentialsDir, "avi-credentials-dir", o.CredentialsDir, "with --controller: directory with the files username, password and optionally certificateAuthorityData")
	f.BoolVar(&o.InsecureSkipVerify, "avi-insecure-skip-verify", false, "with --controller: do not verify the controller's certificate")
	f.DurationVar(&o.Timeout, "avi-timeout", o.Timeout, "with --controller: bound of one request to the controller")
	addContextFlags(c, in)
	f.StringVar(&in.ConfigFile, "config", "", "rule configuration file (YAML: disabled, enable, warn, exemptNamespaces)")
	f.StringSliceVar(&in.Disable, "disable", nil, "rule IDs to switch off")
	f.StringSliceVar(&in.Enable, "enable", nil, "opt-in mutations to run (default-sctpguard-class)")
	f.StringSliceVar(&in.Warn, "warn", nil, "rule IDs to demote from deny to warn")
	f.StringSliceVar(&in.ExemptNamespaces, "exempt-namespace", nil, "namespaces to skip (a trailing * matches a prefix)")
	return c
}
