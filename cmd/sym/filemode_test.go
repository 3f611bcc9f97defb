package main_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestTokenFilesAreOwnerOnly: `sym generate` then `sym init` write a
// project in which the one file meant to hold a token (sym.env, SYM_JWT)
// is mode 0600 on disk, also when it existed before with a wider mode and
// is rewritten with --force; the rest of the project is not writable by
// others.
func TestTokenFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o002) // a permissive umask must not widen sym.env
	defer syscall.Umask(old)
	bin := testenv.SymBinary(t)
	dir := filepath.Join(t.TempDir(), "access")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SYM_API_URL=", "SYM_JWT=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sym %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("generate", "aws-iam", "--dir", dir)
	envDir := filepath.Join(dir, "environments", "prod")
	run("init", "--dir", envDir, "--api-url", "http://127.0.0.1:8420")

	holdsToken := regexp.MustCompile(`(?m)^\s*(export\s+)?SYM_JWT=`)
	check := func(when string) {
		t.Helper()
		tokenFiles := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := info.Mode().Perm()
			if holdsToken.Match(b) {
				tokenFiles++
				if mode != 0o600 {
					t.Errorf("%s: %s holds SYM_JWT and has mode %o, want 600", when, p, mode)
				}
			}
			if mode&0o022 != 0 {
				t.Errorf("%s: %s is writable by others (mode %o)", when, p, mode)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(envDir, "sym.env"))
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: sym.env has mode %o on disk, want 600", when, info.Mode().Perm())
		}
		if tokenFiles != 1 {
			t.Errorf("%s: %d files hold SYM_JWT, want 1 (sym.env)", when, tokenFiles)
		}
	}
	check("fresh project")

	// A sym.env someone made world-readable and filled in is rewritten
	// owner-only.
	envFile := filepath.Join(envDir, "sym.env")
	if err := os.WriteFile(envFile, []byte("SYM_JWT=sym_secret_value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(envFile, 0o644); err != nil {
		t.Fatal(err)
	}
	run("init", "--dir", envDir, "--api-url", "http://127.0.0.1:8420", "--force")
	check("rewritten with --force")
}
