package docstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeLintFailsOnUnformattedCode: `make lint` ("gofmt and go vet")
// fails, naming the file, when a Go file is not gofmt'ed, and passes once
// it is. (It printed the file and exited 0.) It runs the Makefile in a
// scratch repository of one Go file, with GO=true so that go vet is not run.
func TestMakeLintFailsOnUnformattedCode(t *testing.T) {
	root := moduleRoot(t)
	dir := t.TempDir()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Makefile", string(makefile))
	write("x.go", "package x\nfunc  X() {}\n")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("git", "init", "-q"); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if out, err := run("git", "add", "x.go"); err != nil {
		t.Fatalf("git add: %v\n%s", err, out)
	}
	out, err := run("make", "-s", "lint", "GO=true")
	if err == nil || !strings.Contains(out, "x.go") {
		t.Errorf("make lint with an unformatted x.go: %v, want a failure naming x.go\n%s", err, out)
	}
	write("x.go", "package x\n\nfunc X() {}\n")
	if out, err := run("make", "-s", "lint", "GO=true"); err != nil {
		t.Errorf("make lint with x.go formatted: %v\n%s", err, out)
	}
}
