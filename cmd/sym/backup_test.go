package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
)

// TestRestoreTokens: `sym restore` ends the backup's tokens unless
// --keep-tokens, and both commands name what is missing on a wrong command
// line (exit 2). TestBackupAndRestore (internal/server) runs them beside a
// real server and AWS.
func TestRestoreTokens(t *testing.T) {
	ctx := context.Background()
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sym.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, "alice@example.com", "alice-token-0123456789"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	backup := filepath.Join(dir, "backup.db")
	if out, code := symRun(bin, "", "", "backup", "--db", db, "--out", backup); code != 0 || !strings.Contains(out, "audit events verified") {
		t.Fatalf("sym backup (exit %d): %s", code, out)
	}
	tokenWorks := func(path string) bool {
		t.Helper()
		st, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		u, err := st.UserForToken(ctx, "alice-token-0123456789")
		return err == nil && u != nil
	}
	kept := filepath.Join(dir, "kept.db")
	out, code := symRun(bin, "", "", "restore", "--from", backup, "--db", kept, "--keep-tokens")
	if code != 0 || !strings.Contains(out, "kept (--keep-tokens)") || !tokenWorks(kept) {
		t.Fatalf("restore --keep-tokens (exit %d, the token must still work): %s", code, out)
	}
	out, code = symRun(bin, "", "", "restore", "--from", backup, "--db", db)
	if code != 0 || !strings.Contains(out, "ended 1 API tokens") || tokenWorks(db) {
		t.Fatalf("restore (exit %d, the token must be ended): %s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--db", db}, "--out"},
		{[]string{"backup", "--db", filepath.Join(dir, "missing.db"), "--out", filepath.Join(dir, "x.db")}, "missing.db"},
		{[]string{"backup", "--db", db, "--out", backup}, "exists"},
		{[]string{"restore", "--db", db}, "--from"},
		{[]string{"restore", "--from", filepath.Join(dir, "missing.db"), "--db", db}, "missing.db"},
	} {
		if out, code := symRun(bin, "", "", c.args...); code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("sym %s: exit %d, want 2 naming %s: %s", strings.Join(c.args, " "), code, c.want, out)
		}
	}
}

// TestServerWarnsOfAnOpenDatabaseFile: a database another user may read
// (made by an older sym, or copied with cp) is named at the server's start
// with the fix; one the server creates is 0600 and draws no warning.
func TestServerWarnsOfAnOpenDatabaseFile(t *testing.T) {
	m := testenv.StartMoto(t)
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.db")
	p := testenv.StartSymProcess(t, fresh, testenv.FreePort(t), m.Env())
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("a database the server created: %v %v, want mode 0600", fi, err)
	}
	if p.LogContains("chmod 600") {
		t.Fatalf("a 0600 database drew the warning:\n%s", p.Log.String())
	}
	if err := os.Chmod(fresh, 0o644); err != nil {
		t.Fatal(err)
	}
	p = testenv.StartSymProcess(t, fresh, testenv.FreePort(t), m.Env())
	if !p.LogContains("chmod 600") || !p.LogContains(fresh) {
		t.Fatalf("a 0644 database drew no warning naming it:\n%s", p.Log.String())
	}
}
