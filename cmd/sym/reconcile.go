package main

import (
	"fmt"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/spf13/cobra"
)

func init() {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare AWS group members with sym's grant ledger now, and repair (admin)",
		Long: `Run one reconciler pass on the server now (it also runs at start and every
--reconcile-interval). For every group a target names, it reads the members
from AWS and compares them with the grant ledger:

  remove   a membership sym granted with no open grant (audit "reconciled")
  re-add   an open grant of an active request whose membership vanished
  report   a member sym did not add (audit "drift"), left alone unless the
           server runs with --reconcile=enforce and the group is under /sym/

With --dry-run it only reads, and prints what it would do.`,
		Example: `  sym reconcile --dry-run
  sym reconcile --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var rep engine.ReconcileReport
			if err := c.Do(ctx(), "POST", api.Query("/reconcile", "dry_run", fmt.Sprint(dryRun)), nil, &rep); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			out := cmd.OutOrStdout()
			verb := "did"
			if rep.DryRun {
				verb = "would do (dry run)"
			}
			fmt.Fprintf(out, "%d targets, %d members read in %s; %d actions sym %s:\n", rep.Targets, rep.Members, rep.Took, len(rep.Actions), verb)
			t := newTable("nothing to do", "ACTION", "GROUP", "MEMBER", "REQUEST", "WHY")
			for _, a := range rep.Actions {
				why := a.Reason
				if a.Error != "" {
					why += " (failed: " + a.Error + ")"
				}
				t.row(a.Action, a.Group, a.Member, a.RequestID, why)
			}
			if err := t.flush(out); err != nil {
				return err
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(out, "could not read %s\n", e)
			}
			if len(rep.Errors) > 0 {
				return fmt.Errorf("%d targets could not be read", len(rep.Errors))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only read, and print what it would do")
	root.AddCommand(clientFlags(cmd, true))
}
