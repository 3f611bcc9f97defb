package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestCLIRefusesBadCommandLines: a command line the client can tell is
// wrong exits 2 with a message naming the fix, before anything is sent (the
// URL is a closed port: a command that sent would exit 1, "cannot reach").
func TestCLIRefusesBadCommandLines(t *testing.T) {
	bin := testenv.SymBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	secret := "sym_" + strings.Repeat("Q", 43)
	cases := []struct {
		args  []string
		says  []string
		never string
	}{
		{[]string{"users", "login-link"}, []string{"'sym users login-link' needs EMAIL"}, ""},
		{[]string{"requests", "a", "b"}, []string{"'sym requests' takes at most one REQUEST_ID", "a b"}, ""},
		{[]string{"users", "list", "alice@example.com"}, []string{"'sym users list' takes no arguments", "alice@example.com"}, ""},
		{[]string{"reconcile", "now"}, []string{"'sym reconcile' takes no arguments"}, ""},
		{[]string{"backup", "/backups/sym.db"}, []string{"'sym backup' takes no arguments", "/backups/sym.db"}, ""},
		{[]string{"audit", "--last", "0"}, []string{"--last must be from 1 to 500"}, ""},
		{[]string{"audit", "--all", "--last", "3"}, []string{"--last and --all", "--limit"}, ""},
		{[]string{"audit", "--limit", "5"}, []string{"--limit goes with --all"}, ""},
		{[]string{"audit", "--all", "--limit", "0"}, []string{"--limit must be from 1 to 500"}, ""},
		{[]string{"tokens", "issue", "a@example.com", "--ttl", "forever"}, []string{`--ttl "forever" is not a duration`, "1h30m"}, ""},
		{[]string{"tokens", "issue", "a@example.com", "--ttl", "-1h"}, []string{"--ttl", "positive"}, ""},
		{[]string{"tokens", "revoke", secret}, []string{"a token itself", "tok_", "sym tokens list"}, secret},
		{[]string{"users", "create", "a@example.com", "--role", "boss"}, []string{`--role "boss"`, "admin, member, auditor or automation"}, ""},
		{[]string{"request", "f", "--target", "t", "--reason", "r", "--duration", "soon"}, []string{`--duration "soon"`, "1h30m"}, ""},
		{[]string{"request", "f", "--target", "t", "--reason", "r", "--wait", "--wait-timeout", "0s"}, []string{"--wait-timeout must be positive"}, ""},
		{[]string{"log-destinations", "status", "--max-lag", "-5m"}, []string{"--max-lag must be positive"}, ""},
	}
	for _, c := range cases {
		out, code := symRun(bin, closed, "some-token", c.args...)
		if code != 2 {
			t.Errorf("sym %s exited %d, want 2:\n%s", strings.Join(c.args, " "), code, out)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(out, s) {
				t.Errorf("sym %s said\n%s\nwant it to contain %q", strings.Join(c.args, " "), out, s)
			}
		}
		if c.never != "" && strings.Contains(out, c.never) {
			t.Errorf("sym %s printed the token back:\n%s", strings.Join(c.args, " "), out)
		}
	}
}

// TestCLISaysWhyTheServerRefused: a dead token is named as expired or
// revoked with what to do; an automation token that requests for nobody is
// pointed at --for.
func TestCLISaysWhyTheServerRefused(t *testing.T) {
	srv := testenv.StartServer(t)
	bin := testenv.SymBinary(t)
	if out, code := symRun(bin, srv.URL, srv.AdminToken, "users", "create", "alice@example.com"); code != 0 {
		t.Fatalf("users create (%d): %s", code, out)
	}
	alice := tokenFor(t, bin, srv.URL, srv.AdminToken, "alice@example.com")
	srv.NoLog("alice's token", alice)
	var ids []struct{ ID string }
	if err := api.NewClient(srv.URL, srv.AdminToken).Do(context.Background(), "GET", "/tokens", nil, &ids); err != nil || len(ids) != 1 {
		t.Fatalf("list tokens: %v %v", err, ids)
	}
	if out, code := symRun(bin, srv.URL, srv.AdminToken, "tokens", "revoke", ids[0].ID); code != 0 {
		t.Fatalf("tokens revoke (%d): %s", code, out)
	}
	out, code := symRun(bin, srv.URL, alice, "requests")
	if code != 1 || !strings.Contains(out, "it was revoked at") || !strings.Contains(out, "SYM_JWT") {
		t.Errorf("a revoked token (%d): %s", code, out)
	}
	out, code = symRun(bin, srv.URL, "not-a-token-of-this-server", "requests")
	if code != 1 || !strings.Contains(out, "does not know it") || !strings.Contains(out, "SYM_JWT") {
		t.Errorf("an unknown token (%d): %s", code, out)
	}
	out, code = symRun(bin, srv.URL, srv.AdminToken, "request", "aws-access", "--target", "t", "--reason", "r")
	if code != 1 || !strings.Contains(out, "--for EMAIL") {
		t.Errorf("the admin bot requesting for nobody (%d): %s", code, out)
	}
}

// TestServerRefusesBadFlagsBeforeOpeningAnything: `sym server` with a flag
// value it cannot use exits 2 naming the flag, and leaves no database
// behind.
func TestServerRefusesBadFlagsBeforeOpeningAnything(t *testing.T) {
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	cases := []struct {
		args []string
		says []string
	}{
		{[]string{"--listen", "bogus"}, []string{`--listen "bogus"`, "HOST:PORT"}},
		{[]string{"--listen", "127.0.0.1:99999"}, []string{`--listen "127.0.0.1:99999"`, "port"}},
		{[]string{"--listen", "0.0.0.0:8420"}, []string{"refusing to serve plain HTTP", "--insecure-http"}},
		{[]string{"--tls-cert", filepath.Join(dir, "cert.pem")}, []string{"--tls-cert and --tls-key go together"}},
		{[]string{"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem")}, []string{"--tls-cert", "no such file"}},
		{[]string{"--public-url", "sym.example.com"}, []string{"--public-url", "https://sym.example.com"}},
		// Sign-in links are the public URL followed by /login/link?code=...
		{[]string{"--public-url", "https://sym.example.com/?team=a"}, []string{"--public-url", "query"}},
		{[]string{"--public-url", "https://sym.example.com/#top"}, []string{"--public-url", "fragment"}},
		{[]string{"--public-url", "https://admin:pw@sym.example.com"}, []string{"--public-url", "user"}},
		{[]string{"--oidc-issuer", "accounts.google.com", "--oidc-client-id", "x"}, []string{"--oidc-issuer", "https://"}},
		{[]string{"--slack-api-url", "slack"}, []string{"--slack-api-url", "https://"}},
		{[]string{"--org", " "}, []string{"--org", "empty"}},
	}
	for _, c := range cases {
		db := filepath.Join(dir, "sym.db")
		// A server that starts after all is stopped (a failure, not a hang):
		// its listener is a free port, and it gets 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, append([]string{"server", "--db", db, "--listen", "127.0.0.1:0"}, c.args...)...)
		cmd.Env = append(os.Environ(), "SYM_ADMIN_TOKEN=test-admin-token-0123456789", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://127.0.0.1:1")
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("sym server %s: %v, want exit 2:\n%s", strings.Join(c.args, " "), err, out)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(string(out), s) {
				t.Errorf("sym server %s said\n%s\nwant it to contain %q", strings.Join(c.args, " "), out, s)
			}
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("sym server %s created %s before refusing", strings.Join(c.args, " "), db)
			os.Remove(db)
			os.Remove(db + ".lock")
		}
	}
}

// TestCLISaysWhenAListIsCapped: the server lists at most 500 requests; a
// list that long says so and how to narrow it, on stderr (so that --json
// stays one JSON document).
func TestCLISaysWhenAListIsCapped(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, Rates: api.Rates{RequestsPerMinute: -1}})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	bin := testenv.SymBinary(t)
	for i := 0; i < 501; i++ {
		in := map[string]any{"flow": f.Flow, "user_email": "alice@example.com",
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "load"}}
		if err := f.Admin.Do(context.Background(), "POST", "/events/request", in, nil); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	cmd := exec.Command(bin, "requests", "--json")
	cmd.Env = append(os.Environ(), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("requests --json: %v\n%s", err, stderr.String())
	}
	var rs []struct{ ID string }
	if err := json.Unmarshal([]byte(stdout.String()), &rs); err != nil || len(rs) != 500 {
		t.Fatalf("requests --json: %d requests, %v", len(rs), err)
	}
	next := "--before " + rs[len(rs)-1].ID
	if !strings.Contains(stderr.String(), "showing 500 requests") || !strings.Contains(stderr.String(), next) || !strings.Contains(stderr.String(), "--state") {
		t.Errorf("a capped list did not say so, with the next page's flag: %q", stderr.String())
	}
	// The next page holds the 501st, the oldest; a member pages the same
	// way through what she may read.
	out, code := symRun(bin, srv.URL, srv.AdminToken, "requests", "--json", "--before", rs[len(rs)-1].ID)
	var rest []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &rest); code != 0 || err != nil || len(rest) != 1 || slices.ContainsFunc(rs, func(r struct{ ID string }) bool { return r.ID == rest[0].ID }) {
		t.Fatalf("the page after the first (exit %d): %s", code, out)
	}
	var mine []struct{ ID string }
	if err := f.Users["alice@example.com"].Do(context.Background(), "GET", "/requests?before="+rs[len(rs)-2].ID, nil, &mine); err != nil || len(mine) != 2 || mine[0].ID != rs[len(rs)-1].ID || mine[1].ID != rest[0].ID {
		t.Fatalf("alice's page after the 499th: %+v %v", mine, err)
	}
	if out, code := symRun(bin, srv.URL, srv.AdminToken, "requests", "--before", "no-such-request"); code != 1 || !strings.Contains(out, "no request") {
		t.Errorf("--before an unknown request (exit %d): %s", code, out)
	}
	if out, code := symRun(bin, srv.URL, srv.AdminToken, "requests", "--user", "bob@example.com"); code != 0 || strings.Contains(out, "showing") {
		t.Errorf("an uncapped list (%d): %s", code, out)
	}
}
