package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// TestCLI drives the sym binary as a person would, against a server wired
// to moto: users and tokens, request, approve, list, revoke, audit.
func TestCLI(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Users: []string{"bob@example.com"},
		Vars: map[string]string{"approvers": "bob@example.com, carol@example.com"}})
	bin := testenv.SymBinary(t)
	run := func(token string, wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SYM_API_URL="+srv.URL, "SYM_JWT="+token)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("sym %s: err %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	admin := srv.AdminToken
	// Users and identities, as an admin manages them.
	out := run(admin, true, "users", "create", "carol@example.com", "--identity", "aws_iam=bob")
	if !strings.Contains(out, "created carol@example.com (member) aws_iam=bob") {
		t.Fatalf("users create said: %s", out)
	}
	out = run(admin, true, "users", "set-identity", "carol@example.com", "aws_iam=carol-iam")
	if !strings.Contains(out, "aws_iam=carol-iam") {
		t.Fatalf("set-identity said: %s", out)
	}
	out = run(admin, true, "users", "list")
	if !strings.Contains(out, "carol@example.com") || !strings.Contains(out, "bob@example.com") {
		t.Fatalf("users list said: %s", out)
	}
	run(admin, false, "users", "create", "not-an-email")
	bobToken := strings.TrimSpace(run(admin, true, "tokens", "issue", "bob@example.com"))
	if !strings.HasPrefix(bobToken, "sym_") {
		t.Fatalf("token %q", bobToken)
	}
	run(bobToken, false, "tokens", "issue", "bob@example.com") // members cannot
	carolToken := strings.TrimSpace(run(admin, true, "tokens", "issue", "carol@example.com"))

	// bob asks with --json; carol, an approver, approves (self-approval is
	// off, and no automation token decides).
	out = run(bobToken, true, "request", f.Flow, "--target", f.Targets[0], "--reason", "debug prod", "--duration", "1h", "--json")
	var r struct{ ID, State, Requester string }
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.State != "pending" || r.Requester != "bob@example.com" {
		t.Fatalf("request --json: %v %s", err, out)
	}
	out = run(bobToken, false, "approve", r.ID)
	if !strings.Contains(out, "never their own") || !strings.Contains(out, "requests.approve") {
		t.Fatalf("self-approval said: %s", out)
	}
	out = run(admin, false, "approve", r.ID)
	if !strings.Contains(out, "automation token") || !strings.Contains(out, "403") {
		t.Fatalf("the admin bot approving said: %s", out)
	}
	out = run(carolToken, true, "approve", r.ID, "-m", "go ahead")
	if !strings.Contains(out, "active") || !strings.Contains(out, "access ends at") {
		t.Fatalf("approve said: %s", out)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("group members: %v", got)
	}
	out = run(bobToken, true, "requests", "--state", "active")
	if !strings.Contains(out, r.ID) {
		t.Fatalf("requests --state active: %s", out)
	}
	out = run(bobToken, true, "revoke", r.ID)
	if !strings.Contains(out, "ended") {
		t.Fatalf("revoke said: %s", out)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group members after revoke: %v", got)
	}
	out = run(bobToken, true, "audit", "--request", r.ID)
	var order []string
	for _, line := range strings.Split(out, "\n")[1:] {
		if fs := strings.Fields(line); len(fs) > 2 {
			order = append(order, fs[2])
		}
	}
	if want := []string{"request", "approve", "escalate", "revoke", "deescalate"}; !slices.Equal(order, want) {
		t.Fatalf("audit order %v, want %v\n%s", order, want, out)
	}
	out = run(bobToken, false, "revoke", r.ID)
	if !strings.Contains(out, "already ended") || !strings.Contains(out, "409") {
		t.Fatalf("second revoke said: %s", out)
	}
	// --wait blocks until someone decides, then prints the outcome.
	wait := exec.Command(bin, "request", f.Flow, "--target", f.Targets[0], "--reason", "wait for it", "--duration", "1h", "--wait")
	wait.Env = append(os.Environ(), "SYM_API_URL="+srv.URL, "SYM_JWT="+bobToken)
	var waitOut strings.Builder
	wait.Stdout, wait.Stderr = &waitOut, &waitOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	var pending []struct{ ID string }
	for i := 0; i < 100 && len(pending) == 0; i++ {
		time.Sleep(100 * time.Millisecond)
		_ = json.Unmarshal([]byte(run(admin, true, "requests", "--state", "pending", "--json")), &pending)
	}
	if len(pending) != 1 {
		t.Fatalf("the waiting request never showed up as pending")
	}
	run(carolToken, true, "approve", pending[0].ID)
	if err := wait.Wait(); err != nil {
		t.Fatalf("request --wait: %v\n%s", err, waitOut.String())
	}
	if !strings.Contains(waitOut.String(), "waiting for an approver") || !strings.Contains(waitOut.String(), ": active") {
		t.Fatalf("request --wait said: %s", waitOut.String())
	}
	run(bobToken, true, "revoke", pending[0].ID)

	// Tokens are listed without their secret and revoked one by one.
	out = run(admin, true, "tokens", "list", "--user", "carol@example.com", "--json")
	var carolTokens []struct{ ID, Issuer string }
	if err := json.Unmarshal([]byte(out), &carolTokens); err != nil || len(carolTokens) != 1 || carolTokens[0].Issuer != "admin-bot" || strings.Contains(out, carolToken) {
		t.Fatalf("tokens list --json: %v %s", err, out)
	}
	if out = run(bobToken, true, "tokens", "list"); !strings.Contains(out, "bob@example.com") || strings.Contains(out, "carol@example.com") {
		t.Fatalf("bob's tokens list: %s", out)
	}
	run(bobToken, false, "tokens", "revoke", carolTokens[0].ID) // not his
	if out = run(admin, true, "tokens", "revoke", carolTokens[0].ID); !strings.Contains(out, "revoked "+carolTokens[0].ID) {
		t.Fatalf("tokens revoke: %s", out)
	}
	if out = run(carolToken, false, "requests"); !strings.Contains(out, "401") {
		t.Fatalf("a revoked token: %s", out)
	}

	out = run("", false, "requests")
	if !strings.Contains(out, "SYM_JWT is not set") {
		t.Fatalf("no token said: %s", out)
	}
	out = run("sym_nope", false, "requests")
	if !strings.Contains(out, "invalid token") || !strings.Contains(out, "401") {
		t.Fatalf("bad token said: %s", out)
	}
	// Every command has help text.
	for _, c := range [][]string{{"server"}, {"request"}, {"approve"}, {"deny"}, {"revoke"}, {"requests"}, {"users", "create"},
		{"users", "set-identity"}, {"users", "list"}, {"tokens", "issue"}, {"tokens", "list"}, {"tokens", "revoke"}, {"audit"}, {"audit", "verify"},
		{"connector", "verify"}} {
		out := run("", true, append(c, "--help")...)
		if !strings.Contains(out, "Usage:") {
			t.Fatalf("sym %v --help: %s", c, out)
		}
	}
}
