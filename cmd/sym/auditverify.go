package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/opensym/sym/internal/store"
	"github.com/spf13/cobra"
)

// newAuditVerifyCmd is `sym audit verify`: the offline check of the
// audit log's hash chain.
func newAuditVerifyCmd() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "verify --db PATH",
		Short: "Check offline that no audit event was edited, deleted, inserted or reordered",
		Long: `verify reads the server's SQLite database (read only; no server needed, and
a running one is not disturbed) and walks the audit log's hash chain: every
event stores the SHA-256 of its own content and of the event before it, and
the database keeps the newest hash and the number of events beside them.

It prints "N events verified" and exits 0, or names the first event whose
content, order or presence changed and exits 1.`,
		Example: "  sym audit verify --db /var/lib/sym/sym.db",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if db == "" {
				return usageError{fmt.Errorf("--db is required: the server's SQLite file (sym server --db)")}
			}
			if _, err := os.Stat(db); err != nil {
				return usageError{fmt.Errorf("--db %s: %w", db, err)}
			}
			n, err := store.VerifyAudit(ctx(), db)
			var te *store.TamperError
			if errors.As(err, &te) {
				return fmt.Errorf("%w (%d events before it verified)", te, n)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d events verified\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the sym server's SQLite database file")
	return cmd
}
