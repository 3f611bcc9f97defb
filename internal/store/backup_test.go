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
