package store

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// TestBackupIsNeverOpenToOthers: a backup holds token hashes and the grant
// ledger, and docs/operations.md promises it is written mode 0600. No file
// of it (the copy being written, nor anything beside it) may be readable
// by others at any moment, whatever the umask; the backup directory is
// often shared (/backups). The directory is watched while the copy of a
// database of some size is written.
func TestBackupIsNeverOpenToOthers(t *testing.T) {
	ctx := context.Background()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	src := filepath.Join(dir, "sym.db")
	s := open(t, src)
	if _, err := s.db.Exec(`CREATE TABLE filler (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 4000)
		INSERT INTO filler SELECT randomblob(8192) FROM n`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var open []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, _ := os.ReadDir(out)
			for _, e := range entries {
				if fi, err := e.Info(); err == nil && fi.Mode().Perm()&0o077 != 0 {
					open = append(open, e.Name()+" "+fi.Mode().Perm().String())
				}
			}
		}
	}()
	_, err := Backup(ctx, src, filepath.Join(out, "sym-backup.db"))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(open) > 0 {
		t.Fatalf("while the backup was written, others could read: %v", open[:min(5, len(open))])
	}
}
