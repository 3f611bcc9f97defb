// Package ledger is the one place that knows what sym did to AWS. Before any
// AWS call that grants access, the engine opens an entry: the request, the
// strategy type, the exact runtime role and External ID, the connector role,
// account and region, the identity, the target settings (a strategy.Grant,
// pinned), and whether the identity already held that access (a standing
// member). Removal and the reconciler act on entries only, never on what the
// entities say today.
//
// An entry is open while access may exist: Intended (written before the
// grant call; its outcome is unknown until AWS answers, and an unknown
// outcome counts as landed) or Granted (AWS confirmed). It is closed when
// AWS confirmed the removal (Removed), when sym left the access to another
// open grant of the same identity and target or to a standing membership
// (Released), or when AWS refused the grant in a way that proves nothing
// landed (NotGranted). Closed entries are kept: they are the history.
//
// Entries are grouped by strategy.Key (identity, target): access is removed
// only when the last open entry of a key closes, and never when the
// identity was a standing member before sym granted.
//
// The ledger never calls AWS and never decides a request's state.
package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/strategy"
)

// Status is where an entry stands.
type Status string

// Statuses; Intended and Granted are open.
const (
	Intended   Status = "intended"    // recorded before the grant call; treated as landed
	Granted    Status = "granted"     // AWS confirmed the grant
	Removed    Status = "removed"     // AWS confirmed the removal
	Released   Status = "released"    // closed without a removal: another open grant or a standing membership keeps the access
	NotGranted Status = "not_granted" // AWS refused the grant; nothing landed
)

// Open reports whether access may exist for an entry in s.
func (s Status) Open() bool { return s == Intended || s == Granted }

// ErrNotFound says there is no such entry.
var ErrNotFound = errors.New("no such ledger entry")

// Intent is what the engine records before it grants.
type Intent struct {
	// Grant is what the strategy is called with, pinned: removal uses it
	// as recorded.
	Grant strategy.Grant
	// Key is the strategy's canonical (identity, target) of the grant.
	Key strategy.Key
	// Standing says the identity held the access before sym granted it
	// (or another open entry of the same key that is standing does): sym
	// never removes it.
	Standing bool
}

// Entry is one row of the ledger.
type Entry struct {
	ID string
	Intent
	Status    Status
	Note      string // why the entry closed as it did
	CreatedAt time.Time
	UpdatedAt time.Time
	GrantedAt time.Time // zero until AWS confirmed
	ClosedAt  time.Time // zero while open
}

// RequestID is the request the entry belongs to.
func (e *Entry) RequestID() string { return e.Grant.RequestID }

// Ledger reads and writes the grants table of sym's database (created by
// the store's migrations).
type Ledger struct {
	db  conn // writes, and reads inside a transaction
	rd  conn // reads outside one
	now func() time.Time
}

// conn is the database or one transaction of it.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// New wraps the database; now may be nil (time.Now).
func New(db *sql.DB, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{db: db, rd: db, now: now}
}

// ReadFrom is the ledger reading (outside a transaction) from rdb, a
// read-only pool of the same database (store.ReadDB): reads then go on
// while a commit waits for the disk. A read sees every commit made
// before it began.
func (l *Ledger) ReadFrom(rdb *sql.DB) *Ledger { return &Ledger{db: l.db, rd: rdb, now: l.now} }

// In is the ledger read and written inside tx: its writes commit (and are
// durable) with tx, together with whatever else tx writes (the request's
// state and audit event), so that a step costs one commit.
func (l *Ledger) In(tx *sql.Tx) *Ledger { return &Ledger{db: tx, rd: tx, now: l.now} }

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parse(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Open records an intent (status Intended) and returns its entry. The row
// is committed when Open returns (or, on a ledger In a transaction, when
// that commits): the commit comes before the AWS call that grants.
func (l *Ledger) Open(ctx context.Context, in Intent) (*Entry, error) {
	if in.Grant.RequestID == "" || in.Grant.StrategyType == "" {
		return nil, fmt.Errorf("ledger intent needs a request and a strategy type")
	}
	if in.Key.Identity == "" || in.Key.Target == "" {
		return nil, fmt.Errorf("ledger intent for request %s has no identity or target key", in.Grant.RequestID)
	}
	pinned, err := json.Marshal(in.Grant)
	if err != nil {
		return nil, err
	}
	now := l.now().UTC()
	e := &Entry{ID: uuid.NewString(), Intent: in, Status: Intended, CreatedAt: now, UpdatedAt: now}
	_, err = l.db.ExecContext(ctx, `INSERT INTO grants (id, request_id, status, strategy_type, identity_key, target_key, standing, pinned, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, e.ID, in.Grant.RequestID, string(Intended), in.Grant.StrategyType, in.Key.Identity, in.Key.Target,
		in.Standing, string(pinned), stamp(now), stamp(now))
	if err != nil {
		return nil, fmt.Errorf("record grant intent for request %s: %w", in.Grant.RequestID, err)
	}
	return e, nil
}

// MarkGranted records that AWS confirmed the grant of an open entry.
func (l *Ledger) MarkGranted(ctx context.Context, id string) error {
	now := stamp(l.now())
	return l.update(ctx, id, `UPDATE grants SET status=?, updated_at=?, granted_at=? WHERE id=? AND status IN ('intended','granted')`,
		string(Granted), now, now, id)
}

// Close closes an open entry as Removed, Released or NotGranted, with a
// note saying why. Closing a closed entry is an error (ErrNotFound).
func (l *Ledger) Close(ctx context.Context, id string, to Status, note string) error {
	if to.Open() || to == "" {
		return fmt.Errorf("close ledger entry %s: %q is not a closed status", id, to)
	}
	now := stamp(l.now())
	return l.update(ctx, id, `UPDATE grants SET status=?, note=?, updated_at=?, closed_at=? WHERE id=? AND status IN ('intended','granted')`,
		string(to), note, now, now, id)
}

func (l *Ledger) update(ctx context.Context, id, query string, args ...any) error {
	res, err := l.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update ledger entry %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ledger entry %s is not open: %w", id, ErrNotFound)
	}
	return nil
}

// Get reads one entry.
func (l *Ledger) Get(ctx context.Context, id string) (*Entry, error) {
	es, err := l.query(ctx, `WHERE id=?`, id)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	return es[0], nil
}

// OpenEntries lists every open entry, oldest first.
func (l *Ledger) OpenEntries(ctx context.Context) ([]*Entry, error) {
	return l.query(ctx, `WHERE status IN ('intended','granted') ORDER BY rowid`)
}

// OpenFor lists the open entries of one (identity, target) key, oldest
// first.
func (l *Ledger) OpenFor(ctx context.Context, k strategy.Key) ([]*Entry, error) {
	return l.query(ctx, `WHERE target_key=? AND identity_key=? AND status IN ('intended','granted') ORDER BY rowid`, k.Target, k.Identity)
}

// OpenForTarget lists the open entries of one target key, every identity.
func (l *Ledger) OpenForTarget(ctx context.Context, target string) ([]*Entry, error) {
	return l.query(ctx, `WHERE target_key=? AND status IN ('intended','granted') ORDER BY rowid`, target)
}

// ForRequest lists a request's entries, open and closed, oldest first.
func (l *Ledger) ForRequest(ctx context.Context, requestID string) ([]*Entry, error) {
	return l.query(ctx, `WHERE request_id=? ORDER BY rowid`, requestID)
}

// OpenForRequest is the request's open entry, or nil when it has none. The
// engine keeps at most one open entry per request.
func (l *Ledger) OpenForRequest(ctx context.Context, requestID string) (*Entry, error) {
	es, err := l.query(ctx, `WHERE request_id=? AND status IN ('intended','granted') ORDER BY rowid`, requestID)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return es[len(es)-1], nil
}

// Targets lists one entry per distinct target key that sym ever granted,
// the newest (open or not): its pinned roles reach the target (the
// reconciler reads the members through them).
func (l *Ledger) Targets(ctx context.Context) ([]*Entry, error) {
	return l.query(ctx, `WHERE rowid IN (SELECT MAX(rowid) FROM grants GROUP BY target_key) ORDER BY target_key`)
}

func (l *Ledger) query(ctx context.Context, where string, args ...any) ([]*Entry, error) {
	rows, err := l.rd.QueryContext(ctx, `SELECT id, status, identity_key, target_key, standing, pinned, note, created_at, updated_at, granted_at, closed_at FROM grants `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read the grant ledger: %w", err)
	}
	defer rows.Close()
	var out []*Entry
	for rows.Next() {
		var e Entry
		var status, pinned, created, updated, granted, closed string
		if err := rows.Scan(&e.ID, &status, &e.Key.Identity, &e.Key.Target, &e.Standing, &pinned, &e.Note, &created, &updated, &granted, &closed); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(pinned), &e.Grant); err != nil {
			return nil, fmt.Errorf("ledger entry %s: corrupt pinned grant: %w", e.ID, err)
		}
		e.Status = Status(status)
		e.CreatedAt, e.UpdatedAt, e.GrantedAt, e.ClosedAt = parse(created), parse(updated), parse(granted), parse(closed)
		out = append(out, &e)
	}
	return out, rows.Err()
}
