// Package store keeps the platform's state: entities, users and tokens,
// access requests and the audit log. SQLite (one file, no cgo) is the
// embedded default. The store never calls AWS and never decides a
// transition: it applies the ones the engine hands it, atomically with their
// audit events.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/model"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// Errors the callers tell apart.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrStale says a request was not in the state a transition expected.
	ErrStale = errors.New("request changed state meanwhile")
)

// Store is the SQLite store.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// gen counts entity writes, so that readers can cache what they derive
	// from entities and know when it went stale.
	gen atomic.Int64
	// appended signals committed audit events to the delivery loop.
	appended chan struct{}
	// group runs Tx's work, several callers' per commit (groupcommit.go).
	group *committer
	// rdb reads beside the one writer (WAL lets readers go on while a
	// commit waits for the disk): the reads of the request path and of
	// removals, which would otherwise queue behind every fsync.
	rdb *sql.DB
}

// EntityGeneration changes whenever an entity is created, updated or
// deleted through this store.
func (s *Store) EntityGeneration() int64 { return s.gen.Load() }

// migrations are applied in order, each once; the schema_migrations table
// records which ran. Append, never edit.
var migrations = []string{
	`CREATE TABLE entities (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		type TEXT NOT NULL DEFAULT '',
		slug TEXT NOT NULL DEFAULT '',
		slug_key TEXT NOT NULL DEFAULT '',
		body TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE UNIQUE INDEX entities_name ON entities(kind, type, slug_key) WHERE slug_key <> '';
	CREATE TABLE users (
		email TEXT PRIMARY KEY,
		role TEXT NOT NULL,
		identities TEXT NOT NULL DEFAULT '{}',
		created_at TEXT NOT NULL
	);
	CREATE TABLE tokens (
		hash TEXT PRIMARY KEY,
		user_email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
		created_at TEXT NOT NULL
	);
	CREATE TABLE requests (
		id TEXT PRIMARY KEY,
		state TEXT NOT NULL,
		body TEXT NOT NULL,
		requester TEXT NOT NULL,
		expires_at INTEGER NOT NULL,
		deadline INTEGER,
		created_at TEXT NOT NULL
	);
	CREATE INDEX requests_state ON requests(state);
	CREATE TABLE events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		id TEXT NOT NULL UNIQUE,
		request_id TEXT NOT NULL DEFAULT '',
		type TEXT NOT NULL,
		actor TEXT NOT NULL,
		at TEXT NOT NULL,
		details TEXT NOT NULL DEFAULT '{}'
	);
	CREATE INDEX events_request ON events(request_id);`,
	// The web app's sessions and one-time sign-in links (by hash, as
	// tokens), the Slack messages that update in place, and the cursors of
	// the audit log's readers (notifiers).
	`CREATE TABLE web_sessions (
		hash TEXT PRIMARY KEY,
		user_email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
		csrf TEXT NOT NULL,
		via TEXT NOT NULL,
		created_at TEXT NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE web_login_links (
		hash TEXT PRIMARY KEY,
		user_email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE slack_messages (
		request_id TEXT NOT NULL,
		channel TEXT NOT NULL,
		ts TEXT NOT NULL,
		PRIMARY KEY (request_id, channel)
	);
	CREATE TABLE event_cursors (
		name TEXT PRIMARY KEY,
		seq INTEGER NOT NULL
	);`,
	// The outbox: one row per (audit event, destination), written in the
	// event's own transaction, so that delivery is at least once.
	`CREATE TABLE outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		destination_id TEXT NOT NULL,
		role TEXT NOT NULL,
		event_seq INTEGER NOT NULL,
		request_id TEXT NOT NULL DEFAULT '',
		environment_id TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		delivered_at INTEGER
	);
	CREATE INDEX outbox_pending ON outbox(destination_id, id) WHERE delivered_at IS NULL;
	CREATE INDEX outbox_delivered ON outbox(delivered_at) WHERE delivered_at IS NOT NULL;
	CREATE TABLE outbox_destinations (
		destination_id TEXT PRIMARY KEY,
		role TEXT NOT NULL,
		delivered_total INTEGER NOT NULL DEFAULT 0,
		failures_total INTEGER NOT NULL DEFAULT 0,
		attempts INTEGER NOT NULL DEFAULT 0,
		last_delivered_at INTEGER,
		last_error TEXT NOT NULL DEFAULT '',
		last_error_at INTEGER,
		next_attempt_at INTEGER
	);`,
	// The grant ledger (package ledger owns the table and its queries):
	// one row per grant sym made or was about to make, with the roles,
	// identity and target it was pinned to.
	`CREATE TABLE grants (
		id TEXT PRIMARY KEY,
		request_id TEXT NOT NULL,
		status TEXT NOT NULL,
		strategy_type TEXT NOT NULL,
		identity_key TEXT NOT NULL,
		target_key TEXT NOT NULL,
		standing INTEGER NOT NULL DEFAULT 0,
		pinned TEXT NOT NULL,
		note TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		granted_at TEXT NOT NULL DEFAULT '',
		closed_at TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX grants_status ON grants(status);
	CREATE INDEX grants_holder ON grants(target_key, identity_key);
	CREATE INDEX grants_request ON grants(request_id);`,
	// Tokens that expire and are revoked one by one (issue 9); the audit
	// log as a hash chain with its head kept beside it (package audit
	// verifies it offline). Tokens made before get an id and 30 days.
	`ALTER TABLE tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN last_used_at TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN revoked_at TEXT NOT NULL DEFAULT '';
	UPDATE tokens SET id = 'tok_' || lower(hex(randomblob(8))) WHERE id = '';
	UPDATE tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+30 days') WHERE expires_at = '';
	CREATE UNIQUE INDEX tokens_id ON tokens(id);
	ALTER TABLE events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
	ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
	CREATE TABLE audit_head (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		seq INTEGER NOT NULL,
		hash TEXT NOT NULL,
		count INTEGER NOT NULL
	);`,
	// A web session signed in with a sym token names it, so that the
	// session ends when the token is revoked or expires.
	`ALTER TABLE web_sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';`,
	// Restores from a backup (sym restore): when, from which file, and
	// the newest audit event the backup held.
	`CREATE TABLE restores (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at TEXT NOT NULL,
		source TEXT NOT NULL,
		newest_seq INTEGER NOT NULL,
		newest_at TEXT NOT NULL
	);`,
	// Slack request signatures already received, kept until their
	// timestamp is too old to pass verification, so that a replay is
	// refused across a restart too.
	`CREATE TABLE slack_signatures (
		signature TEXT PRIMARY KEY,
		until_ms INTEGER NOT NULL
	);
	CREATE INDEX slack_signatures_until ON slack_signatures(until_ms);`,
}

// DefaultPath is where the database lives when --db is not given: the
// user's data directory, or the working directory when there is none.
func DefaultPath() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "sym", "sym.db")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "sym", "sym.db")
	}
	return "sym.db"
}

// Open opens (creating it if needed) the SQLite database at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	// The file holds token hashes and the grant ledger: its owner's alone.
	// SQLite would create it (and its -wal and -shm, which take the main
	// file's mode) as the umask allows, 0644 commonly.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create database %s: %w", path, err)
	}
	// synchronous=FULL: a commit (an approval with its deadline, a grant
	// intent) is on disk before the AWS call that follows it, even across a
	// power loss; NORMAL in WAL mode can lose the last commits.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	db := openDB(dsn)
	// One connection: SQLite has one writer anyway, and this keeps every
	// transaction free of SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, now: time.Now, appended: make(chan struct{}, 1), group: newCommitter()}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.sealUnchained(ctx); err != nil {
		db.Close()
		return nil, err
	}
	rdb := openDB("file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	s.rdb = rdb
	return s, nil
}

// readers is how many connections read beside the writer.
const readers = 4

// ReadDB is the database's read-only pool, for the packages that own a
// table in it (ledger): reads that need not see an open transaction's
// writes.
func (s *Store) ReadDB() *sql.DB { return s.rdb }

// DB is the database, for the packages that own a table in it (ledger).
// Their tables are created by this store's migrations, so that the schema
// has one ordered history.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	s.stopCommitter()
	if s.rdb != nil {
		s.rdb.Close()
	}
	return s.db.Close()
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema is version %d, newer than this sym knows (%d): upgrade sym", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?)`, v, stamp(s.now())); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

// SchemaVersion is the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseStamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// ---- entities ----

// EntityRow is a stored entity: its id and its fields as JSON.
type EntityRow struct {
	ID   string
	Kind string
	Body map[string]any
}

func nameOf(k *model.Kind, fields map[string]any) (typ, slug string) {
	if k.Typed {
		typ, _ = fields["type"].(string)
	}
	if k.Slug != "" {
		slug, _ = fields[k.Slug].(string)
	}
	if k.Singleton {
		// The unique index on (kind, type, slug) keeps it to one.
		slug = k.Name
	}
	return typ, slug
}

// CreateEntity stores a new entity and returns its id; ErrConflict when its
// name is taken.
// The audit events evs are written in the same transaction (their
// details get "entity_id" = the new id): no entity changes without its
// audit row.
func (s *Store) CreateEntity(ctx context.Context, k *model.Kind, fields map[string]any, evs ...*model.AuditEvent) (string, error) {
	id := uuid.NewString()
	body, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	typ, slug := nameOf(k, fields)
	now := stamp(s.now())
	defer s.gen.Add(1)
	for _, ev := range evs {
		if ev.Details == nil {
			ev.Details = map[string]string{}
		}
		ev.Details["entity_id"] = id
	}
	err = s.audited(ctx, evs, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO entities (id, kind, type, slug, slug_key, body, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)`,
			id, k.Name, typ, slug, strings.ToLower(slug), string(body), now, now)
		return err
	})
	if isUnique(err) {
		return "", ErrConflict
	}
	if err != nil {
		return "", fmt.Errorf("insert %s: %w", k.Name, err)
	}
	return id, nil
}

// UpdateEntity replaces an entity's fields.
func (s *Store) UpdateEntity(ctx context.Context, k *model.Kind, id string, fields map[string]any, evs ...*model.AuditEvent) error {
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	typ, slug := nameOf(k, fields)
	defer s.gen.Add(1)
	err = s.audited(ctx, evs, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE entities SET type=?, slug=?, slug_key=?, body=?, updated_at=? WHERE id=? AND kind=?`,
			typ, slug, strings.ToLower(slug), string(body), stamp(s.now()), id, k.Name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil && err != ErrNotFound {
		return fmt.Errorf("update %s %s: %w", k.Name, id, err)
	}
	return err
}

// DeleteEntity removes an entity.
func (s *Store) DeleteEntity(ctx context.Context, kind, id string, evs ...*model.AuditEvent) error {
	defer s.gen.Add(1)
	err := s.audited(ctx, evs, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM entities WHERE id=? AND kind=?`, id, kind)
		if err != nil {
			return fmt.Errorf("delete %s %s: %w", kind, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	return err
}

// audited runs write and appends evs in one transaction: both land or
// neither does, so the server never acts without its audit row.
func (s *Store) audited(ctx context.Context, evs []*model.AuditEvent, write func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := write(tx); err != nil {
		return err
	}
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		if err := appendEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// GetEntity reads one entity of a kind by id.
func (s *Store) GetEntity(ctx context.Context, kind, id string) (*EntityRow, error) {
	rows, err := s.queryEntities(ctx, `WHERE kind=? AND id=?`, kind, id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// FindEntities lists entities of a kind; slug (case-insensitive) and typ
// narrow it when not empty.
func (s *Store) FindEntities(ctx context.Context, kind, slug, typ string) ([]EntityRow, error) {
	where := `WHERE kind=?`
	args := []any{kind}
	if slug != "" {
		where += ` AND slug_key=?`
		args = append(args, strings.ToLower(slug))
	}
	if typ != "" {
		where += ` AND type=?`
		args = append(args, typ)
	}
	return s.queryEntities(ctx, where+` ORDER BY created_at, id`, args...)
}

// AllEntities lists every entity, for reference checks.
func (s *Store) AllEntities(ctx context.Context) ([]EntityRow, error) {
	return s.queryEntities(ctx, `ORDER BY created_at`)
}

func (s *Store) queryEntities(ctx context.Context, where string, args ...any) ([]EntityRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, kind, body FROM entities `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query entities: %w", err)
	}
	defer rows.Close()
	var out []EntityRow
	for rows.Next() {
		var r EntityRow
		var body string
		if err := rows.Scan(&r.ID, &r.Kind, &body); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &r.Body); err != nil {
			return nil, fmt.Errorf("entity %s: corrupt body: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
