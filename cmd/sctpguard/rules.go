package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/policy"
)

func newRulesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the built-in rules and mutations with their IDs and default actions",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tACTION\tOBJECTS\tSUMMARY")
			for _, r := range policy.Catalogue() {
				action := string(r.Action)
				switch {
				case r.OptIn:
					action = "opt-in" // a mutation that runs only when the configuration enables it
				case r.Mutation:
					action = "mutate"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.ID, action, r.Objects, r.Summary)
			}
			return w.Flush()
		},
	}
}
