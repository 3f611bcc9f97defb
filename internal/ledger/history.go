package ledger

import "context"

// ForTarget lists what the reconciler compares one target key with: every
// open entry, and the newest entry of each identity the ledger has for it
// (whether sym ever granted a member, and how), oldest first. Older closed
// entries are left out: a target's history grows with every grant, and a
// pass reads this for every target.
func (l *Ledger) ForTarget(ctx context.Context, target string) ([]*Entry, error) {
	// The open entries through the status index ("+" keeps SQLite from
	// walking the target's whole history in grants_holder instead); the
	// newest per identity from grants_holder alone (a covering index).
	return l.query(ctx, `WHERE rowid IN (
		SELECT rowid FROM grants WHERE status IN ('intended','granted') AND +target_key=?
		UNION SELECT MAX(rowid) FROM grants WHERE target_key=? GROUP BY identity_key) ORDER BY rowid`, target, target)
}
