package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sctpguard/sctpguard/policy/input"
	"github.com/sctpguard/sctpguard/policy/rego"
)

func newTestCommand() *cobra.Command {
	o := rego.TestOptions{MaxFileSize: input.DefaultMaxSize}
	c := &cobra.Command{
		Use:   "test DIR",
		Short: "Run the tests of user policies: Rego unit tests and gator suites",
		Long: `Test runs, for a directory of policies, the Rego unit tests (test_ rules in *_test.rego files,
as opa test and conftest verify do) and the gator suites (kind: Suite, apiVersion:
test.gatekeeper.sh/v1alpha1), each case judged by sctpguard's own Rego engine.

Exit codes: 0 all passed, 1 a test failed, 2 no tests found or a policy does not load.`,
		Example: `  sctpguard test examples/policies
  sctpguard test policies/ --run 'telco'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			results, err := rego.RunTests(c.Context(), args[0], o, c.OutOrStdout())
			if err != nil {
				return err
			}
			failed, skipped := 0, 0
			for _, r := range results {
				switch {
				case r.Failure != "":
					failed++
				case r.Skipped:
					skipped++
				}
			}
			fmt.Fprintf(c.OutOrStdout(), "%d tests, %d passed, %d failed, %d skipped\n", len(results), len(results)-failed-skipped, failed, skipped)
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.Run, "run", "", "run only the tests whose names, as printed, match this regular expression")
	c.Flags().StringVar(&o.RegoVersion, "rego-version", rego.RegoV1, "Rego version of the .rego files: v1 or v0 (templates declare their own)")
	c.Flags().StringSliceVar(&o.Data, "data", nil, "data documents for the Rego unit tests (YAML or JSON files, or directories), as conftest's --data")
	c.Flags().StringSliceVar(&o.Packages, "rego-package", nil, "run only the Rego unit tests of the packages matching these globs")
	c.Flags().BoolVar(&o.ShowBuiltinErrors, "show-builtin-errors", false, "fail a Rego unit test whose builtin call errs, instead of leaving the call undefined (as opa test does)")
	c.Flags().Int64Var(&o.MaxFileSize, "max-file-size", o.MaxFileSize, "largest file read, in bytes")
	return c
}
