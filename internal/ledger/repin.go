package ledger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opensym/sym/internal/strategy"
)

// Unpinned lists the entries of a strategy type, open and closed, oldest
// first, whose grant has no principal id pinned: rows written before the
// strategy pinned one (strategy.Pinner).
func (l *Ledger) Unpinned(ctx context.Context, strategyType string) ([]*Entry, error) {
	return l.query(ctx, `WHERE strategy_type=? AND COALESCE(json_extract(pinned, '$.principal_id'), '')='' ORDER BY rowid`, strategyType)
}

// Repin records the principal id resolved for an entry written without
// one, and the key that id gives (status and history are unchanged). Only
// an entry without a pinned principal id is rewritten: a pinned id is never
// replaced.
func (l *Ledger) Repin(ctx context.Context, id string, g strategy.Grant, k strategy.Key) error {
	if g.PrincipalID == "" || k.Identity == "" || k.Target == "" {
		return fmt.Errorf("repin ledger entry %s: no principal id or key", id)
	}
	pinned, err := json.Marshal(g)
	if err != nil {
		return err
	}
	res, err := l.db.ExecContext(ctx, `UPDATE grants SET pinned=?, identity_key=?, target_key=?, updated_at=?
		WHERE id=? AND COALESCE(json_extract(pinned, '$.principal_id'), '')=''`, string(pinned), k.Identity, k.Target, stamp(l.now()), id)
	if err != nil {
		return fmt.Errorf("repin ledger entry %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ledger entry %s already has a principal id: %w", id, ErrNotFound)
	}
	return nil
}
