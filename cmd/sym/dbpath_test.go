package main_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
)

// TestServerDatabasePath: `sym server` on a fresh machine, without --db,
// creates its database where the help says (the directory included, 0700)
// and starts; so does one given a --db in a directory that does not exist
// yet. A database it cannot write, in a directory it cannot write, is
// refused with the file, the directory and what to change, not SQLite's
// "attempt to write a readonly database" alone.
func TestServerDatabasePath(t *testing.T) {
	bin := testenv.SymBinary(t)
	dir := t.TempDir()

	// No --db: $HOME/.local/share/sym/sym.db, in directories that do not
	// exist yet.
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = append(append(os.Environ(), noAWS(dir)...), "HOME="+home, "XDG_DATA_HOME=", "SYM_ADMIN_TOKEN=test-admin-token-0123456789")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	healthy := false
	for !healthy {
		select {
		case err := <-exited:
			t.Fatalf("sym server without --db on a fresh machine: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port)); err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == 200
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("stop: %v\n%s", err, out.String())
	}
	dataDir := filepath.Join(home, ".local", "share", "sym")
	if fi, err := os.Stat(filepath.Join(dataDir, "sym.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the default database: %v %v", fi, err)
	}
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the default database's directory: %v %v", fi, err)
	}

	// A --db in a directory that does not exist yet.
	nested := filepath.Join(dir, "var", "lib", "sym", "sym.db")
	p := testenv.StartSymProcess(t, nested, testenv.FreePort(t), noAWS(dir))
	if err := p.Stop(); err != nil {
		t.Fatalf("sym server --db %s: %v\n%s", nested, err, p.Log.String())
	}

	// A database the server's user owns, in a directory it cannot write
	// (SQLite writes sym.db-wal and sym.db-shm beside it). Root writes
	// anywhere: as root, the server runs as nobody.
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(ro, "sym.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(db + suffix)
	}
	// The lock file beside it is left from an earlier start.
	if err := os.WriteFile(db+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "server", "--db", db, "--listen", "127.0.0.1:0")
	run.Env = append(append(os.Environ(), noAWS(dir)...), "SYM_ADMIN_TOKEN=test-admin-token-0123456789")
	if os.Getuid() == 0 {
		const nobody = 65534
		own := filepath.Join(dir, "bin")
		if err := os.Mkdir(own, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		run.Path = filepath.Join(own, "sym")
		if err := os.WriteFile(run.Path, b, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{db, db + ".lock"} {
			if err := os.Chown(f, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		run.Dir = own
		run.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	} else if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	b, err := run.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("sym server on a database in a directory it cannot write: %v, want exit 1\n%s", err, b)
	}
	for _, want := range []string{db, "write access to " + ro} {
		if !strings.Contains(string(b), want) {
			t.Errorf("sym server on a database in a directory it cannot write says\n%s\nwant it to name %q", b, want)
		}
	}
}
