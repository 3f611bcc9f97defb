package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestCommitsAreDurable: the database syncs every commit (synchronous=FULL,
// 2), so an approval and its deadline survive a power loss that follows the
// AWS call it preceded; WAL's usual NORMAL (1) does not promise that.
func TestCommitsAreDurable(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "sym.db"))
	defer s.Close()
	var sync int
	var mode string
	if err := s.db.QueryRowContext(context.Background(), `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if sync != 2 || mode != "wal" {
		t.Fatalf("synchronous=%d journal_mode=%s, want 2 (FULL) and wal", sync, mode)
	}
}
