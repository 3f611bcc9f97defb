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
		Short: "Compare what AWS says with sym's grant ledger now, and repair (admin)",
		Long: `Run one reconciler pass on the server now (it also runs at start and every
--reconcile-interval). For every IAM group, Identity Center permission set
(in its account) and identity-store group a target names, it reads who holds
it from AWS and compares that with the grant ledger:

  remove   access sym granted with no open grant (audit "reconciled")
  re-add   an open grant of an active request whose access vanished
  end      the same, when AWS refuses it back (the IAM user or group no
           longer exists, or the group left --allowed-group-paths) or the
           grant was made before the database was restored from a backup
           ('sym restore'): the request ends instead
  report   access sym did not grant (audit "drift"), left alone unless the
           server runs with --reconcile=enforce and the IAM group is under
           /sym/ (Identity Center access sym did not grant is never removed)

With --dry-run it only reads, and prints what it would do.

Exit codes: 0 the pass ran (with --dry-run: whatever it would do); 1 a target
could not be read or an action failed (both are tried again on the next
pass), or the server refused (only admins may reconcile); 2 a wrong command
line.`,
		Example: `  sym reconcile --dry-run
  sym reconcile --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var rep engine.ReconcileReport
			if err := c.Do(ctx(), "POST", api.Query("/reconcile", "dry_run", fmt.Sprint(dryRun)), nil, &rep); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := printJSON(out, rep); err != nil {
					return err
				}
				return reconcileFailed(rep)
			}
			verb := "did"
			if rep.DryRun {
				verb = "would do (dry run)"
			}
			fmt.Fprintf(out, "%d targets, %d members read in %s; %d actions sym %s:\n", rep.Targets, rep.Members, rep.Took, len(rep.Actions), verb)
			t := newTable("nothing to do", "ACTION", "TARGET", "MEMBER", "REQUEST", "WHY")
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
			return reconcileFailed(rep)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only read, and print what it would do")
	root.AddCommand(clientFlags(cmd, true))
}

// reconcileFailed is the command's error when the pass could not read a
// target or an action failed: exit code 1, though the report was printed.
func reconcileFailed(rep engine.ReconcileReport) error {
	failed := 0
	for _, a := range rep.Actions {
		if a.Error != "" {
			failed++
		}
	}
	switch {
	case len(rep.Errors) > 0 && failed > 0:
		return fmt.Errorf("%d targets could not be read and %d actions failed; the next pass tries again", len(rep.Errors), failed)
	case len(rep.Errors) > 0:
		return fmt.Errorf("%d targets could not be read; the next pass tries again", len(rep.Errors))
	case failed > 0:
		return fmt.Errorf("%d actions failed; the next pass tries again", failed)
	}
	return nil
}
