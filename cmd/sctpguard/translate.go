package main

import (
	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/translator"
)

func newTranslateCommand() *cobra.Command {
	o := translator.NewTranslateOptions()
	c := &cobra.Command{
		Use:   "translate -f PATH... [flags]",
		Short: "Print the Avi objects the translator would create for manifests (GitOps review)",
		Long: `Translate reads manifests as check does and prints, for every SCTP LoadBalancer Service,
shared-VIP group and networking.x-k8s.io Gateway that AKO would handle, the Avi objects the
translator would create on an empty controller, in creation order: pools, L4 policy set,
VsVip, virtual service. Pool servers come from the EndpointSlices and Nodes in the input, if
any. A unit that would not be synced (an input the rules deny, a name too long) is listed
with the reason.

Exit codes: 0 every unit renders, 1 a unit would not be synced, 2 usage error or unreadable input.`,
		Example: `  sctpguard translate -f manifests/ --ako-values ako-values.yaml
  kustomize build overlays/prod | sctpguard translate -f - --cluster-name prod -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if code := translator.Translate(c.Context(), o, c.InOrStdin(), c.OutOrStdout(), c.ErrOrStderr()); code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "files or directories to read (directories recursively: *.yaml, *.yml, *.json), or - for standard input")
	f.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of namespaced objects that name none")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: yaml or json")
	f.Int64Var(&o.MaxFileSize, "max-file-size", o.MaxFileSize, "largest file read (manifests, policies, AKO values, configuration) or standard input, in bytes")
	f.StringVar(&o.ClusterName, "cluster-name", "", "AKO's clusterName, overriding the AKO settings (every object name starts with it)")
	addContextFlags(c, o.Options)
	f.StringVar(&o.ConfigFile, "config", "", "rule configuration file (YAML: disabled, warn, exemptNamespaces)")
	f.StringSliceVar(&o.Disable, "disable", nil, "rule IDs to switch off")
	f.StringSliceVar(&o.Warn, "warn", nil, "rule IDs to demote from deny to warn")
	f.StringSliceVar(&o.ExemptNamespaces, "exempt-namespace", nil, "namespaces to skip (a trailing * matches a prefix)")
	return c
}
