package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestCLIMistakes makes, through the built binary, each mistake a newcomer
// made in issue 13 and checks that sym refuses it (or does it) with a
// message that says what to do next, and the documented exit code:
// 0 done, 1 failed, 2 wrong command line, 3 the request ended without access.
func TestCLIMistakes(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Users: []string{"bob@example.com", "carol@example.com"},
		Vars:  map[string]string{"approvers": "carol@example.com"},
		Params: map[string]any{"prompt_fields": []any{
			map[string]any{"name": "reason", "type": "string", "required": true},
			map[string]any{"name": "ticket", "type": "string", "required": true, "label": "Ticket"},
		}},
	})
	bin := testenv.SymBinary(t)
	admin := srv.AdminToken
	bob := tokenFor(t, bin, srv.URL, admin, "bob@example.com")
	carol := tokenFor(t, bin, srv.URL, admin, "carol@example.com")
	// The whole audit log is for admins and auditors (not automation tokens).
	if out, code := symRun(bin, srv.URL, admin, "users", "create", "audrey@example.com", "--role", "auditor"); code != 0 {
		t.Fatalf("users create audrey (%d): %s", code, out)
	}
	auditor := tokenFor(t, bin, srv.URL, admin, "audrey@example.com")

	// Another HTTP server, that is not sym, and a port nobody listens on.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	// A pending request of bob's, to withdraw, revoke and deny.
	var pending struct{ ID string }
	out, code := symRun(bin, srv.URL, bob, "request", f.Flow, "--target", f.Targets[0], "--reason", "look at logs",
		"--duration", "1h", "--field", "ticket=OPS-7", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &pending) != nil {
		t.Fatalf("request --json (%d): %s", code, out)
	}
	// erin has no IAM user: approving her request fails at the grant.
	if out, code := symRun(bin, srv.URL, admin, "users", "create", "erin@example.com", "--identity", "aws_iam=erin-has-no-iam-user"); code != 0 {
		t.Fatalf("users create erin (%d): %s", code, out)
	}
	erin := tokenFor(t, bin, srv.URL, admin, "erin@example.com")
	var doomed struct{ ID string }
	out, _ = symRun(bin, srv.URL, erin, "request", f.Flow, "--target", f.Targets[0], "--reason", "x", "--field", "ticket=OPS-8", "--json")
	if err := json.Unmarshal([]byte(out), &doomed); err != nil {
		t.Fatalf("erin's request: %s", out)
	}
	var denied struct{ ID string }
	out, _ = symRun(bin, srv.URL, bob, "request", f.Flow, "--target", f.Targets[0], "--reason", "y", "--field", "ticket=OPS-9", "--json")
	if err := json.Unmarshal([]byte(out), &denied); err != nil {
		t.Fatalf("bob's second request: %s", out)
	}

	cases := []struct {
		name     string
		url      string // default: the server
		token    string
		args     []string
		wantCode int
		want     []string
	}{
		{"version", "", "", []string{"--version"}, 0, []string{"sym "}},
		{"unknown command", "", "", []string{"aprove", "x"}, 2, []string{`unknown command "aprove"`, "approve"}},
		{"unknown subcommand", "", admin, []string{"tokens", "isue", "bob@example.com"}, 2,
			[]string{`unknown command "isue" for 'sym tokens'`, `did you mean "issue"?`}},
		{"unknown users subcommand", "", admin, []string{"users", "remove", "x"}, 2, []string{`unknown command "remove" for 'sym users'`, "delete"}},
		{"unknown identity key", "", admin, []string{"users", "create", "dave@example.com", "--identity", "aws=dave"}, 2,
			[]string{`unknown identity "aws"`, "aws_iam"}},
		{"identity key refused by the server too", "", admin, []string{"users", "set-identity", "bob@example.com", "awsiam=bob"}, 1,
			[]string{`unknown identity "awsiam"`, "HTTP 400"}},
		{"users delete of nobody", "", admin, []string{"users", "delete", "nobody@example.com"}, 1, []string{"no user nobody@example.com", "HTTP 404"}},
		{"missing argument", "", admin, []string{"approve"}, 2, []string{"'sym approve' needs REQUEST_ID"}},
		{"flag of another command", "", admin, []string{"server", "--json"}, 2, []string{"unknown flag: --json", "sym server --help"}},
		{"connection refused", closed, admin, []string{"requests"}, 1, []string{"cannot reach a sym server at " + closed, "is 'sym server' running there?"}},
		{"URL without scheme", strings.TrimPrefix(srv.URL, "http://"), admin, []string{"requests"}, 2,
			[]string{"is not a URL of a sym server", "http://" + strings.TrimPrefix(srv.URL, "http://")}},
		{"URL of another server", other.URL, admin, []string{"requests"}, 1, []string{"HTTP 404 Not Found but is not a sym server", "check SYM_API_URL"}},
		{"bad state", "", admin, []string{"requests", "--state", "bogus"}, 2, []string{`--state "bogus" is not a state`, "pending, approved, active"}},
		{"empty list", "", admin, []string{"requests", "--state", "expired"}, 0, []string{"no expired requests"}},
		{"wrong flow", "", bob, []string{"request", "no-such-flow", "--target", f.Targets[0], "--reason", "x"}, 1,
			[]string{`no flow named "no-such-flow"; the flows are: ` + f.Flow}},
		{"wrong target", "", bob, []string{"request", f.Flow, "--target", "nope", "--reason", "x", "--field", "ticket=T-1"}, 1, []string{f.Targets[0]}},
		{"missing prompt field", "", bob, []string{"request", f.Flow, "--target", f.Targets[0], "--reason", "x"}, 1,
			[]string{"flow_inputs.ticket: is required by the flow", "--field ticket="}},
		{"pending says who approves", "", bob, []string{"requests", pending.ID}, 0,
			[]string{"for 1h,", "ticket: OPS-7", "waiting for an approver: carol@example.com", "sym withdraw " + pending.ID}},
		{"revoke of a pending request", "", bob, []string{"revoke", pending.ID}, 1, []string{"withdraw it instead (sym withdraw ID)", "HTTP 409"}},
		{"deny of one's own request", "", bob, []string{"deny", pending.ID}, 1, []string{"forbidden by rule requests.deny", "never their own"}},
		{"withdraw by someone else", "", carol, []string{"withdraw", pending.ID}, 1, []string{"forbidden by rule requests.withdraw", "an approver denies it instead"}},
		{"withdraw", "", bob, []string{"withdraw", pending.ID, "-m", "not needed after all"}, 0,
			[]string{"request " + pending.ID + ": withdrawn", "withdrawn by bob@example.com: not needed after all"}},
		{"withdraw twice", "", bob, []string{"withdraw", pending.ID}, 1, []string{"request is withdrawn; it cannot be withdrawn"}},
		{"approve whose grant fails", "", carol, []string{"approve", doomed.ID}, 3,
			[]string{": errored", "the grant failed", "request again"}},
		{"deny", "", carol, []string{"deny", denied.ID, "-m", "use the runbook"}, 0, []string{"denied by carol@example.com: use the runbook"}},
		{"audit shows the newest", "", auditor, []string{"audit", "--last", "2"}, 0, []string{"deny", "carol@example.com", "message=use the runbook"}},
		{"audit of a request shows the prompt fields", "", admin, []string{"audit", "--request", pending.ID}, 0,
			[]string{"field.ticket=OPS-7", "duration=1h ", "withdraw"}},
	}
	for _, c := range cases {
		url := c.url
		if url == "" {
			url = srv.URL
		}
		out, code := symRun(bin, url, c.token, c.args...)
		if code != c.wantCode {
			t.Errorf("%s: sym %s exited %d, want %d\n%s", c.name, strings.Join(c.args, " "), code, c.wantCode, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: sym %s said\n%s\nwant it to contain %q", c.name, strings.Join(c.args, " "), out, w)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.TrimRight(line, " \t") != line {
				t.Errorf("%s: trailing space in %q", c.name, line)
			}
		}
	}
	// The audit log's newest events come last, and --last 2 shows only two.
	out, _ = symRun(bin, srv.URL, auditor, "audit", "--last", "2")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 3 {
		t.Errorf("audit --last 2: %d lines, want a header and 2 events:\n%s", n, out)
	}
	// request --wait ends with exit code 3 when the request is denied.
	wait := exec.Command(bin, "request", f.Flow, "--target", f.Targets[0], "--reason", "z", "--field", "ticket=OPS-10", "--wait")
	wait.Env = append(os.Environ(), "SYM_API_URL="+srv.URL, "SYM_JWT="+bob)
	var waitOut strings.Builder
	wait.Stdout, wait.Stderr = &waitOut, &waitOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []struct{ ID string }
	for i := 0; i < 100 && len(ids) == 0; i++ {
		out, _ := symRun(bin, srv.URL, admin, "requests", "--state", "pending", "--json")
		_ = json.Unmarshal([]byte(out), &ids)
	}
	if len(ids) != 1 {
		t.Fatalf("the waiting request never showed up as pending")
	}
	if out, code := symRun(bin, srv.URL, carol, "deny", ids[0].ID); code != 0 {
		t.Fatalf("deny (%d): %s", code, out)
	}
	err = wait.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(waitOut.String(), "ended denied without access") {
		t.Fatalf("request --wait of a denied request: %v\n%s", err, waitOut.String())
	}
}

// symRun runs the sym binary against url with token and answers its
// combined output and exit code.
func symRun(bin, url, token string, args ...string) (string, int) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SYM_API_URL="+url, "SYM_JWT="+token)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return fmt.Sprintf("%s\n%v", out, err), -1
	}
	return string(out), 0
}

func tokenFor(t *testing.T, bin, url, admin, email string) string {
	t.Helper()
	out, code := symRun(bin, url, admin, "tokens", "issue", email)
	if code != 0 {
		t.Fatalf("tokens issue %s (%d): %s", email, code, out)
	}
	return strings.TrimSpace(out)
}
