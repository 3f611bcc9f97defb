// Package demotest runs `make demo`'s script and checks what it shows a
// newcomer: the engineer in the IAM group during the grant, gone after
// expiry, the audit trail in order, and nothing left running.
package demotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

func TestDemoScript(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := testenv.SymBinary(t)
	dir := filepath.Join(t.TempDir(), "demo")
	// Twice in a row, in the same directory: the second run must start clean.
	for run := 1; run <= 2; run++ {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "SYM_BIN="+bin, "SYM_DEMO_DIR="+dir, "SYM_DEMO_DURATION=12s")
		b, err := cmd.CombinedOutput()
		out := string(b)
		if err != nil {
			t.Fatalf("run %d: demo failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{
			"members of demo-s3-readonly now (from IAM): []",
			"members of demo-s3-readonly during the grant (from IAM): [alice]",
			"members of demo-s3-readonly after expiry (from IAM): []",
			"verified: every connector role is exactly as narrow as its module promises",
			"To use it with your AWS account",
			"one-time sign-in link for alice@example.com (15 minutes): http://127.0.0.1:",
			"/login/link?code=",
			"demo: OK",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("run %d: the demo did not say %q:\n%s", run, want, out)
			}
		}
		// The audit trail, in order.
		audit := out[strings.Index(out, "The audit trail"):]
		var events []string
		for _, line := range strings.Split(audit, "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(f[0]) {
				events = append(events, f[2])
			}
		}
		if want := []string{"request", "approve", "escalate", "deescalate"}; !slices.Equal(events, want) {
			t.Fatalf("run %d: audit events %v, want %v\n%s", run, events, want, audit)
		}
		// Nothing it started is still running.
		for _, m := range regexp.MustCompile(`\(pid (\d+)`).FindAllStringSubmatch(out, -1) {
			pid, _ := strconv.Atoi(m[1])
			if syscall.Kill(pid, 0) == nil {
				t.Fatalf("run %d: process %d the demo started is still running", run, pid)
			}
		}
	}
}
