package main

import (
	"fmt"
	"os"
	osuser "os/user"

	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/store"
	"github.com/spf13/cobra"
)

// newBackupCmd is `sym backup`: a consistent copy of the server's
// database, taken while it runs.
func newBackupCmd() *cobra.Command {
	var db, out string
	cmd := &cobra.Command{
		Use:   "backup --db PATH --out FILE",
		Short: "Copy the server's database consistently, while it runs, and check the copy",
		Long: `backup writes a copy of the server's SQLite database (--db) to a new file
(--out). It may run while the server runs: the copy is one snapshot of the
database (SQLite's VACUUM INTO, the write-ahead log included), which copying
the file with cp is not. The copy is checked (SQLite's integrity check and
the audit log's hash chain) before it is given its name, and is readable by
its owner only: it holds the grant ledger, users and token hashes.

It prints the number of audit events the copy holds and the newest one's
time: the copy holds every change sym made up to that moment.

Restoring a backup ('sym restore') brings back the state of that moment,
and only that: docs/operations.md says what that means for grants made
after it.`,
		Example: "  sym backup --db /var/lib/sym/sym.db --out /backups/sym-$(date -u +%Y%m%dT%H%M%SZ).db",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" || out == "" {
				return usageError{fmt.Errorf("--db (the server's SQLite file) and --out (a new file for the copy) are both required")}
			}
			if _, err := os.Stat(db); err != nil {
				return usageError{fmt.Errorf("--db %s: %w", db, err)}
			}
			if _, err := os.Stat(out); err == nil {
				return usageError{fmt.Errorf("--out %s exists: give a new file (a backup never overwrites one)", out)}
			}
			snap, err := store.Backup(ctx(), db, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of %s written to %s: %d audit events %s, %d requests; it holds every change up to %s (event %d)\n",
				db, snap.Path, snap.Events, verifiedText(snap), snap.Requests, stampOrNever(snap), snap.NewestSeq)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the sym server's SQLite database file")
	cmd.Flags().StringVar(&out, "out", "", "the new file to write the copy to")
	return cmd
}

// newRestoreCmd is `sym restore`: a backup put in place of the database,
// with the server stopped.
func newRestoreCmd() *cobra.Command {
	var db, from string
	var keepTokens bool
	cmd := &cobra.Command{
		Use:   "restore --from FILE --db PATH",
		Short: "Put a backup in place of the server's database (stop the server first)",
		Long: `restore checks the backup (--from: SQLite's integrity check and the audit
log's hash chain), moves the database at --db aside (to
PATH.replaced-<time>, with its -wal and -shm: nothing is deleted) and copies
the backup in its place. It refuses while a sym server uses --db.

The restored database records the restore (an audit event of type restore,
naming the backup and the database it replaced), and:

  - every API token, web session and sign-in link in it ends, since a
    revocation made after the backup would otherwise be undone
    (--keep-tokens keeps them); SYM_ADMIN_TOKEN still works, to issue new
    ones ('sym tokens issue');
  - a grant from before the restore whose access has vanished is not put
    back by the reconciler: its request ends (a revoke or an expiry after
    the backup may have removed it).

Grants made after the backup are not in it: the reconciler reports their
members as access sym did not add (audit drift). Read 'sym reconcile
--dry-run' once the server runs again; docs/operations.md has the steps.`,
		Example: "  sym restore --from /backups/sym-20261207T200000Z.db --db /var/lib/sym/sym.db",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" || from == "" {
				return usageError{fmt.Errorf("--from (the backup) and --db (the server's SQLite file) are both required")}
			}
			if _, err := os.Stat(from); err != nil {
				return usageError{fmt.Errorf("--from %s: %w", from, err)}
			}
			release, err := server.LockDatabase(db)
			if err != nil {
				return err
			}
			defer release()
			res, err := store.Restore(ctx(), from, db, keepTokens, restoreActor())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "restored %s from %s: %d audit events %s; it holds every change up to %s (event %d)\n",
				db, from, res.From.Events, verifiedText(res.From), stampOrNever(res.From), res.From.NewestSeq)
			if res.Replaced != "" {
				fmt.Fprintf(w, "the database that was there is now %s\n", res.Replaced)
			}
			if keepTokens {
				fmt.Fprintln(w, "API tokens and web sessions were kept (--keep-tokens): revocations made after the backup are undone")
			} else {
				fmt.Fprintf(w, "ended %d API tokens and %d web sessions: issue new tokens with SYM_ADMIN_TOKEN ('sym tokens issue')\n", res.TokensRevoked, res.SessionsEnded)
			}
			fmt.Fprintln(w, "next: start sym server, then run 'sym reconcile --dry-run': grants made after the backup show as members sym did not add")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup file ('sym backup --out')")
	cmd.Flags().StringVar(&db, "db", "", "the sym server's SQLite database file to replace (created when missing)")
	cmd.Flags().BoolVar(&keepTokens, "keep-tokens", false, "keep the backup's API tokens and web sessions (revocations made after the backup come undone)")
	return cmd
}

func stampOrNever(s *store.Snapshot) string {
	if s.NewestSeq == 0 {
		return "its creation (no audit event yet)"
	}
	return s.NewestAt.UTC().Format("2006-01-02T15:04:05.000Z")
}

// restoreActor names who ran sym restore in its audit event.
func restoreActor() string {
	name := "unknown"
	if u, err := osuser.Current(); err == nil {
		name = u.Username
	}
	return "sym restore (" + name + ")"
}

// verifiedText says what was checked of a backup's audit events.
func verifiedText(snap *store.Snapshot) string {
	if snap.Unchained {
		return fmt.Sprintf("(schema %d, from before the audit log was chained: nothing to verify; restoring seals them into the chain)", snap.Schema)
	}
	return "verified"
}
