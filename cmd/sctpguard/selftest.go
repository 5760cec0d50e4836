package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sctpguard/sctpguard/webhook/selftest"
)

// newSelftestCommand is the chart's helm test: hidden, since users run it through helm test.
func newSelftestCommand() *cobra.Command {
	o := selftest.NewOptions()
	var kubeconfig string
	c := &cobra.Command{
		Use:    "selftest",
		Short:  "Prove the webhook is live: a server-side dry run of a Service sctpguard must deny",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := ctrl.GetConfig()
			if kubeconfig != "" {
				cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
			}
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			denial, err := selftest.Run(c.Context(), client, o)
			if err != nil {
				fmt.Fprintf(c.ErrOrStderr(), "FAIL: %v\n", err)
				return exitError{code: 1}
			}
			fmt.Fprintf(c.OutOrStdout(), "ok: sctpguard denied the known-bad Service %s/%s: %s\n", o.Namespace, selftest.ServiceName, denial)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, or $KUBECONFIG)")
	f.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the dry run; not sctpguard's own, which the webhooks skip")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to retry until the webhook denies")
	return c
}
