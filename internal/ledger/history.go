package ledger

import "context"

// ForTarget lists every entry of one target key, open and closed, oldest
// first: the reconciler reads from it whether sym ever granted a member.
func (l *Ledger) ForTarget(ctx context.Context, target string) ([]*Entry, error) {
	return l.query(ctx, `WHERE target_key=? ORDER BY rowid`, target)
}
