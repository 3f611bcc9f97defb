package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/model"
)

// TestDatabaseFilesArePrivate: the database the store creates, and the
// write-ahead log beside it, are readable by their owner only, whatever
// the umask: they hold token hashes and the grant ledger.
func TestDatabaseFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sym.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendEvent(ctx, &model.AuditEvent{Type: "user.create", Actor: "admin-bot"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// TestInspectRefusesWhatIsNotABackup: a restore checks its file first: a
// file that is not SQLite, and a sym database whose audit log was edited,
// are refused, naming why.
func TestInspectRefusesWhatIsNotABackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database, just some text that is long enough to be read as a header......"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(ctx, junk); err == nil {
		t.Fatal("Inspect accepted a text file")
	}
	path := filepath.Join(dir, "sym.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.AppendEvent(ctx, &model.AuditEvent{Type: "user.create", Actor: "admin-bot"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec(`UPDATE events SET actor='mallory' WHERE seq=2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Inspect(ctx, path); err == nil {
		t.Fatal("Inspect accepted an edited audit log")
	} else if _, ok := err.(*TamperError); !ok {
		t.Fatalf("Inspect of an edited audit log: %v, want the tampered event named", err)
	}
	if _, err := Restore(ctx, path, filepath.Join(dir, "new.db"), false, "test"); err == nil {
		t.Fatal("Restore accepted an edited audit log")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left a database behind: %v", err)
	}
}

// TestRestoreThatFailsChangesNothing: a restore that fails after the copy
// (here the restored file cannot be migrated) leaves the database at its
// path as it was: nothing moved aside, no half-restored copy left behind.
func TestRestoreThatFailsChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	current, backup := filepath.Join(dir, "sym.db"), filepath.Join(dir, "backup.db")
	for _, p := range []string{current, backup} {
		s, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvent(ctx, &model.AuditEvent{Type: "user.create", Actor: filepath.Base(p)}); err != nil {
			t.Fatal(err)
		}
		if p == backup {
			// The newest migration reads as not applied, though its
			// table exists: migrating the copy fails.
			if _, err := s.db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	if _, err := Restore(ctx, backup, current, false, "test"); err == nil {
		t.Fatal("the restore of a copy that cannot be migrated succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range left {
		// (Reading the backup, read only, may leave its own -wal and -shm.)
		if b := filepath.Base(f); b != "sym.db" && !strings.HasPrefix(b, "backup.db") {
			t.Errorf("a failed restore left %s behind", b)
		}
	}
	s, err := Open(ctx, current)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.Events(ctx, "", 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Actor != "sym.db" {
		t.Fatalf("the database after a failed restore: %+v %v, want its own one event", evs, err)
	}
}

// TestRestoreOfAnOlderSchema: a copy of a database from before the audit
// log was chained (schema 4: no hashes, no head, tokens without ids) is
// restored like any backup: migrated, its events sealed into a chain that
// then verifies, the restore recorded and its tokens ended. (Refused, it was
// told to "open it once with this sym server": a server on the old copy
// itself, which would act on AWS from the old state, the very thing a
// restore prevents.)
func TestRestoreOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	current, old := filepath.Join(dir, "sym.db"), filepath.Join(dir, "old.db")
	for _, p := range []string{current, old} {
		s, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, &User{Email: "alice@example.com", Role: RoleMember}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddToken(ctx, "alice@example.com", "alice-token-0123456789"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := s.AppendEvent(ctx, &model.AuditEvent{Type: "user.create", Actor: filepath.Base(p)}); err != nil {
				t.Fatal(err)
			}
		}
		if p == old {
			// Back to schema 4, as a sym of then left it.
			if _, err := s.db.Exec(`DROP TABLE slack_signatures; DROP TABLE restores; DROP TABLE audit_head; DROP INDEX tokens_id;
				ALTER TABLE web_sessions DROP COLUMN token_id;
				ALTER TABLE events DROP COLUMN prev_hash; ALTER TABLE events DROP COLUMN hash;
				ALTER TABLE tokens DROP COLUMN id; ALTER TABLE tokens DROP COLUMN issuer; ALTER TABLE tokens DROP COLUMN expires_at;
				ALTER TABLE tokens DROP COLUMN last_used_at; ALTER TABLE tokens DROP COLUMN revoked_at;
				DELETE FROM schema_migrations WHERE version > 4`); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	res, err := Restore(ctx, old, current, false, "test")
	if err != nil {
		t.Fatalf("restore of a schema 4 copy: %v", err)
	}
	if res.From.Schema != 4 || res.TokensRevoked != 1 {
		t.Fatalf("restored %+v (from %+v), want schema 4 and its one token ended", res, res.From)
	}
	if n, err := VerifyAudit(ctx, current); err != nil || n != 4 {
		t.Fatalf("the restored database's audit chain: %d verified, %v; want its 3 events and the restore", n, err)
	}
	s, err := Open(ctx, current)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if at, err := s.LastRestore(ctx); err != nil || at.IsZero() {
		t.Fatalf("the restore is not recorded: %v %v", at, err)
	}
	if u, err := s.UserForToken(ctx, "alice-token-0123456789"); err == nil && u != nil {
		t.Fatal("the old copy's token still works")
	}
}
