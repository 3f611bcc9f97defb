// Package demotest runs `make demo`'s script and checks what it shows a
// newcomer: the engineer in the IAM group during the grant, gone after
// expiry; the IAM Identity Center permission set assigned to the engineer's
// identity-store user during the grant, gone after the revoke; both audit
// trails in order; and nothing left running.
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
		// The IAM grant lasts long enough that a slow aws CLI read, and the
		// Identity Center part that runs meanwhile, fall inside it on a
		// loaded machine (12 s did not, once).
		cmd.Env = append(os.Environ(), "SYM_BIN="+bin, "SYM_DEMO_DIR="+dir, "SYM_DEMO_DURATION=25s")
		b, err := cmd.CombinedOutput()
		out := string(b)
		if err != nil {
			t.Fatalf("run %d: demo failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{
			"members of demo-s3-readonly now (from IAM): []",
			"members of demo-s3-readonly during the grant (from IAM): [alice]",
			"members of demo-s3-readonly after expiry (from IAM): []",
			"flow sandbox-sso-access, target readonly (permission set ReadOnly in account 123456789012)",
			"SSO connector role     arn:aws:iam::123456789012:role/sym/SymSSOSandbox",
			"assignments of ReadOnly in account 123456789012 now (from IAM Identity Center): []",
			"assignments of ReadOnly in account 123456789012 after the revoke (from IAM Identity Center): []",
			"revoked by alice@example.com: done",
			"To use it with your AWS account",
			"one-time sign-in link for alice@example.com (15 minutes): http://127.0.0.1:",
			"/login/link?code=",
			"demo: OK",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("run %d: the demo did not say %q:\n%s", run, want, out)
			}
		}
		// Both projects applied, and their roles verified.
		for _, p := range []string{"aws-iam", "aws-sso"} {
			if !regexp.MustCompile(`Apply complete! Resources: \d+ added, 0 changed, 0 destroyed\. \(` + p + `\)`).MatchString(out) {
				t.Fatalf("run %d: the demo did not apply the %s project:\n%s", run, p, out)
			}
		}
		if n := strings.Count(out, "verified: every connector role is exactly as narrow as its module promises"); n != 2 {
			t.Fatalf("run %d: %d connector verifications passed, want 2:\n%s", run, n, out)
		}
		// The permission set was assigned to alice's identity-store user,
		// as Identity Center itself lists it, during the grant.
		m := regexp.MustCompile(`identity-store user alice: (\S+) `).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("run %d: the demo did not show alice's identity-store user:\n%s", run, out)
		}
		if want := "assignments of ReadOnly in account 123456789012 during the grant (from IAM Identity Center): [alice (" + m[1] + ")]"; !strings.Contains(out, want) {
			t.Fatalf("run %d: the demo did not say %q:\n%s", run, want, out)
		}
		// The audit trails, in order: the IAM request's ends at its
		// deadline, the Identity Center request's by revoke.
		iamAudit, ssoAudit, ok := strings.Cut(out[strings.Index(out, "==> The audit trail"):], "The audit trail of the Identity Center request")
		if !ok {
			t.Fatalf("run %d: the demo did not print the Identity Center request's audit trail:\n%s", run, out)
		}
		for _, c := range []struct {
			text string
			want []string
		}{
			{iamAudit, []string{"request", "approve", "escalate", "deescalate"}},
			{ssoAudit, []string{"request", "approve", "escalate", "revoke", "deescalate"}},
		} {
			if events := auditEvents(c.text); !slices.Equal(events, c.want) {
				t.Fatalf("run %d: audit events %v, want %v\n%s", run, events, c.want, c.text)
			}
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

// auditEvents reads the EVENT column of `sym audit`'s table rows in text.
func auditEvents(text string) []string {
	var events []string
	date := regexp.MustCompile(`^\d{4}-\d\d-\d\d$`)
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && date.MatchString(f[0]) {
			events = append(events, f[2])
		}
	}
	return events
}
