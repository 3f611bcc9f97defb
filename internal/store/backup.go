package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opensym/sym/internal/model"
)

// Snapshot is what a backup file holds, read from the file itself.
type Snapshot struct {
	Path      string
	Events    int64     // audit events, their hash chain verified
	NewestSeq int64     // the newest audit event's seq (0 when none)
	NewestAt  time.Time // and when it was written: the backup holds every change up to it
	Requests  int64
	Schema    int // migrations applied
	// Unchained says the file is from before the audit log was chained
	// (schema below chainedSchema): its events were counted, not verified.
	// Restoring it seals them into the chain.
	Unchained bool
}

// chainedSchema is the first schema version with the audit log's hash
// chain.
const chainedSchema = 5

// Backup writes a consistent copy of the database at src to dst while a
// server may be using src: SQLite's VACUUM INTO reads one snapshot of it
// (the WAL included), so the copy holds every commit up to one moment and
// none after. A cp of the file alone would miss the commits still in the
// WAL, or copy a page that was half written. The copy is written beside
// dst, checked (Inspect) and only then renamed to dst, mode 0600; dst must
// not exist.
func Backup(ctx context.Context, src, dst string) (*Snapshot, error) {
	if _, err := os.Stat(src); err != nil {
		return nil, err
	}
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("%s exists: give a new file (a backup never overwrites one)", dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The copy is written in a directory of its own, mode 0700, beside
	// dst: VACUUM INTO creates the file with the umask's mode (0644, say),
	// and it holds token hashes and the ledger from its first page.
	private, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(private)
	tmpPath := filepath.Join(private, filepath.Base(dst))
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", src, err)
	}
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmpPath)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return nil, err
	}
	snap, err := Inspect(ctx, tmpPath)
	if err != nil {
		return nil, fmt.Errorf("the copy of %s does not check out: %w", src, err)
	}
	if err := syncFile(tmpPath); err != nil {
		return nil, err
	}
	// A hard link, not a rename: it fails if dst appeared meanwhile.
	if err := os.Link(tmpPath, dst); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	snap.Path = dst
	return snap, nil
}

// Inspect opens a sym database read only and checks it: SQLite's
// integrity check, then the audit log's hash chain (VerifyAudit). It
// returns what the file holds.
func Inspect(ctx context.Context, path string) (*Snapshot, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&ok); err != nil {
		return nil, fmt.Errorf("%s is not a SQLite database: %w", path, err)
	}
	if ok != "ok" {
		return nil, fmt.Errorf("%s is damaged: %s", path, ok)
	}
	snap := &Snapshot{Path: path}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&snap.Schema); err != nil {
		return nil, fmt.Errorf("%s is not a sym database: %w", path, err)
	}
	if snap.Schema > len(migrations) {
		return nil, fmt.Errorf("%s has schema version %d, newer than this sym knows (%d): use the sym that wrote it", path, snap.Schema, len(migrations))
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests`).Scan(&snap.Requests); err != nil {
		return nil, fmt.Errorf("%s is not a sym database: %w", path, err)
	}
	var at sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), (SELECT at FROM events ORDER BY seq DESC LIMIT 1) FROM events`).Scan(&snap.NewestSeq, &at); err != nil {
		return nil, err
	}
	snap.NewestAt = parseStamp(at.String)
	if snap.Schema < chainedSchema {
		// No chain to verify; the store seals these events when it opens
		// the file (a restore does, on its copy).
		snap.Unchained = true
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&snap.Events)
		return snap, err
	}
	db.Close()
	n, err := VerifyAudit(ctx, path)
	if err != nil {
		return nil, err
	}
	snap.Events = n
	return snap, nil
}

// Restored is what Restore did.
type Restored struct {
	From          *Snapshot
	Replaced      string // where the database that was at the path went ("" when there was none)
	TokensRevoked int64
	SessionsEnded int64
}

// Restore puts the backup at from in place of the database at path, while
// no server uses it (the caller holds the database's lock). Nothing is
// deleted: the database that was there (with its -wal and -shm) is renamed
// to path.replaced-<time>. The restored database records the restore (a
// restore audit event and a row in restores, which the engine reads: a
// grant made before a restore is never re-added by the reconciler, its
// membership may have been taken away after the backup). Unless keepTokens,
// every API token, web session and sign-in link in it ends: a revocation
// made after the backup would otherwise be undone.
func Restore(ctx context.Context, from, path string, keepTokens bool, actor string) (*Restored, error) {
	snap, err := Inspect(ctx, from)
	if err != nil {
		return nil, err
	}
	if abs(from) == abs(path) {
		return nil, fmt.Errorf("the backup and the database are the same file (%s)", path)
	}
	res := &Restored{From: snap}
	stampNow := time.Now().UTC().Format("20060102T150405Z")
	if _, err := os.Stat(path); err == nil {
		res.Replaced = path + ".replaced-" + stampNow
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The restored database is made whole (copied, migrated, the restore
	// recorded) beside path first: a failure on the way leaves the
	// database at path as it was, never a copy without its restore record.
	staged := path + ".restoring-" + stampNow
	files := []string{"", "-wal", "-shm"}
	defer func() {
		for _, suffix := range files {
			os.Remove(staged + suffix)
		}
	}()
	if err := copyFile(from, staged); err != nil {
		return nil, err
	}
	if err := recordRestore(ctx, staged, from, snap, res, keepTokens, actor); err != nil {
		return nil, fmt.Errorf("record the restore: %w", err)
	}
	if res.Replaced != "" {
		for _, suffix := range files {
			if err := os.Rename(path+suffix, res.Replaced+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("move the current database aside: %w", err)
			}
		}
	}
	for _, suffix := range files {
		if err := os.Rename(staged+suffix, path+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("put the restored database in place: %w", err)
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return res, nil
}

// recordRestore opens the copy at staged (migrating it) and records the
// restore in it, in one transaction: a restores row, the backup's tokens,
// web sessions and sign-in links ended unless keepTokens, and the restore
// audit event.
func recordRestore(ctx context.Context, staged, from string, snap *Snapshot, res *Restored, keepTokens bool, actor string) error {
	st, err := Open(ctx, staged)
	if err != nil {
		return err
	}
	defer st.Close()
	now := st.now().UTC()
	return st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO restores (at, source, newest_seq, newest_at) VALUES (?,?,?,?)`,
			stamp(now), abs(from), snap.NewestSeq, stamp(snap.NewestAt)); err != nil {
			return err
		}
		details := map[string]string{"from": abs(from), "backup_newest_seq": fmt.Sprint(snap.NewestSeq),
			"backup_newest_at": snap.NewestAt.UTC().Format(time.RFC3339Nano)}
		if res.Replaced != "" {
			details["replaced"] = abs(res.Replaced)
		}
		if keepTokens {
			details["tokens"] = "kept"
		} else {
			r, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at=? WHERE revoked_at=''`, stamp(now))
			if err != nil {
				return err
			}
			res.TokensRevoked, _ = r.RowsAffected()
			r, err = tx.ExecContext(ctx, `DELETE FROM web_sessions`)
			if err != nil {
				return err
			}
			res.SessionsEnded, _ = r.RowsAffected()
			if _, err := tx.ExecContext(ctx, `DELETE FROM web_login_links`); err != nil {
				return err
			}
			details["tokens_revoked"] = fmt.Sprint(res.TokensRevoked)
			details["web_sessions_ended"] = fmt.Sprint(res.SessionsEnded)
		}
		return appendEvent(ctx, tx, &model.AuditEvent{Type: EventRestore, Actor: actor, Details: details}, now)
	})
}

// EventRestore is the audit event a restore writes into the restored
// database.
const EventRestore = "restore"

// LastRestore is when the database was last restored from a backup (zero
// when never).
func (s *Store) LastRestore(ctx context.Context) (time.Time, error) {
	var at sql.NullString
	if err := s.rdb.QueryRowContext(ctx, `SELECT MAX(at) FROM restores`).Scan(&at); err != nil {
		return time.Time{}, err
	}
	return parseStamp(at.String), nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// copyFile copies from to a new file at to (mode 0600) through a
// temporary file beside it, synced before it is renamed into place.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(0o600); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(out.Name(), to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
