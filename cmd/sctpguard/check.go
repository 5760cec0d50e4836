package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/policy/check"
)

func newCheckCommand() *cobra.Command {
	o := check.NewOptions()
	o.ToolVersion = version
	c := &cobra.Command{
		Use:   "check (-f PATH... | PATH... | --cluster [-n NS | -A] [-f PATH...]) [flags]",
		Short: "Check manifests offline with the webhook's rules (GitOps pre-flight)",
		Long: `Check reads manifests (files, directories, or - for standard input; multi-document YAML,
JSON and List kinds), applies the API server's defaults, and judges every object with the
rules the admission webhook runs, using the whole input set for cross-object rules.

Of files, it reads each document once and judges it as soon as it is decoded; of what it
judged it keeps the findings, not the object. An object whose rules look up others (a Service,
a Gateway) waits, held, until every input is read: a quarter of --memory-limit holds about
5,600 of them. Beyond that the rest are read again from their files to be judged (standard
input is held in memory in between). --mutate, --combine and user policies that read
data.inventory need every object at once: with them, check holds the whole set.

With --cluster it reads the objects stored in a cluster instead (read-only: every request it
sends is a GET): the kinds the webhook judges and what the cross-object rules read, in the
kubeconfig context's namespace, -n NS, or -A. AKO's settings come from the cluster's ConfigMap;
--ako-values or --ako-configmap replace them, to see what a change of AKO's settings would break
before anyone makes it. Findings name each object as cluster:<namespace>/<Kind>/<name>.

With --cluster and -f, it judges the files instead, against what the cluster holds in the
namespaces the files' objects are in (every namespace with -A): each object of the files
replaces the stored one of its kind and name, as kubectl apply would, and the stored objects
are the Gateways, backends and classes the files' objects are judged with. Only the files'
objects are reported: what would applying the files break.

Exit codes: 0 no denial (warnings allowed), 1 denied, 2 usage error or unreadable input.`,
		Example: `  sctpguard check -f manifests/ --ako-values ako-values.yaml
  kustomize build overlays/prod | sctpguard check -f - -o github
  sctpguard check -f svc.yaml --mutate > mutated.yaml
  sctpguard check --cluster -A
  sctpguard check --cluster -A --ako-values proposed-ako-values.yaml   # what would break
  sctpguard check --cluster -f change/   # the change judged against the cluster's objects`,
		// Paths may also be given as arguments, as pre-commit passes the staged files.
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.Files = append(o.Files, args...)
			if o.Cluster && !c.Flags().Changed("namespace") {
				o.Namespace = "" // the kubeconfig context's
			}
			if o.AllNamespaces && c.Flags().Changed("namespace") {
				return errors.New("give -n or --all-namespaces, not both")
			}
			code := check.Run(c.Context(), o, check.Streams{In: c.InOrStdin(), Out: c.OutOrStdout(), Err: c.ErrOrStderr()})
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "files or directories to check (directories recursively: *.yaml, *.yml, *.json), or - for standard input")
	f.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of namespaced objects that name none; with --cluster, the namespace read and, with -f, the files' objects' default (default: the kubeconfig context's)")
	f.BoolVar(&o.Cluster, "cluster", false, "judge the objects stored in a cluster (read-only); with -f, judge the files against them")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file for --cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&o.KubeContext, "context", "", "kubeconfig context for --cluster (default: the current context)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "with --cluster, read every namespace")
	f.StringVar(&o.AKOConfigMapNamespace, "ako-configmap-namespace", o.AKOConfigMapNamespace, "with --cluster, namespace of AKO's ConfigMap")
	f.StringVar(&o.AKOConfigMapName, "ako-configmap-name", o.AKOConfigMapName, "with --cluster, name of AKO's ConfigMap, read for AKO's settings unless --ako-values or --ako-configmap give others")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(check.Outputs, ", "))
	f.BoolVar(&o.Mutate, "mutate", false, "apply the mutating webhook's defaults, print the mutated manifests on standard output (report on standard error), and judge those")
	f.Int64Var(&o.MaxFileSize, "max-file-size", o.MaxFileSize, "largest file read (manifests, policies, AKO values, configuration) or standard input, in bytes")
	f.Int64Var(&o.MemoryLimit, "memory-limit", o.MemoryLimit, "soft limit of the heap in bytes, collected harder near it; a quarter of it bounds the objects held while they wait for the whole set (0: none; $GOMEMLIMIT wins for the heap)")

	addContextFlags(c, o)

	f.StringSliceVar(&o.PolicyDirs, "policy", nil, "directories of user policies: Rego modules (conftest conventions), Gatekeeper ConstraintTemplates and constraints")
	f.StringSliceVar(&o.Data, "data", nil, "data documents for the user policies (YAML or JSON files, or directories), as conftest's --data")
	f.StringVar(&o.RegoVersion, "rego-version", o.RegoVersion, "Rego version of the .rego modules: v1 or v0 (templates declare their own)")
	f.BoolVar(&o.Combine, "combine", false, "the Rego modules judge all documents at once, as conftest's --combine: input is an array of {path, contents}, one per file")
	f.StringSliceVar(&o.RegoPackages, "rego-package", nil, "run only the rules of the Rego packages matching these globs (conftest's --namespace; default: every package)")
	f.DurationVar(&o.PolicyTimeout, "policy-timeout", o.PolicyTimeout, "time the user policies may take to judge one object")
	f.StringVar(&o.OnPolicyError, "on-policy-error", o.OnPolicyError, "what a user policy that fails or runs out of time does: warn (admit) or deny")
	f.StringVar(&o.ConfigFile, "config", "", "rule configuration file (YAML: disabled, enable, warn, exemptNamespaces)")
	f.StringSliceVar(&o.Disable, "disable", nil, "rule or mutation IDs to switch off")
	f.StringSliceVar(&o.Enable, "enable", nil, "opt-in mutations to run (default-sctpguard-class)")
	f.StringSliceVar(&o.Warn, "warn", nil, "rule IDs to demote from deny to warn")
	f.StringSliceVar(&o.ExemptNamespaces, "exempt-namespace", nil, "namespaces to skip (a trailing * matches a prefix)")
	return c
}

// addContextFlags adds the AKO context flags check and translate share.
func addContextFlags(c *cobra.Command, o *check.Options) {
	f := c.Flags()
	f.StringVar(&o.AKOValues, "ako-values", "", "AKO's Helm values file, read as-is for the AKO settings")
	f.StringVar(&o.AKOConfigMap, "ako-configmap", "", "a file holding AKO's avi-k8s-config ConfigMap, read for the AKO settings")
	f.StringVar(&o.AKOServiceType, "ako-service-type", "", "AKO's L7Settings.serviceType: ClusterIP, NodePort or NodePortLocal")
	f.StringVar(&o.AKOServicesAPI, "ako-services-api", "", "AKO's AKOSettings.servicesAPI (true or false)")
	f.StringVar(&o.AKODefaultLBController, "ako-default-lb-controller", "", "AKO's L4Settings.defaultLBController (true or false)")
	f.StringVar(&o.AKOLayer7Only, "ako-layer7-only", "", "AKO's AKOSettings.layer7Only (true or false)")
	for _, name := range []string{"ako-services-api", "ako-default-lb-controller", "ako-layer7-only"} {
		f.Lookup(name).NoOptDefVal = "true"
	}
	f.StringVar(&o.ControllerVersion, "controller-version", "", "Avi Controller version, e.g. 22.1.3")
	f.StringVar(&o.Platform, "platform", "", "cluster platform: openshift, or empty")
	f.StringVar(&o.CNI, "cni", "", "cluster CNI: antrea, calico, canal, cilium, flannel, kube-router, ncp, openshift, ovn-kubernetes")
}
