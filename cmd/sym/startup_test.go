package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// TestServerStartupAndDoctor runs `sym server` as a process, as a newcomer
// would: it says which AWS identity it runs as, keeps its log JSON (the
// SDK's lines too), refuses a second server on the same database, and one
// without AWS credentials says so at start and when a grant needs them,
// instead of blaming the runtime role. `sym doctor` tells each of these.
func TestServerStartupAndDoctor(t *testing.T) {
	m := testenv.StartMoto(t)
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sym.db")
	p := testenv.StartSymProcess(t, db, testenv.FreePort(t), m.Env(), "--log-format", "json", "--org", "acme")
	if !waitFor(func() bool { return p.LogContains("AWS identity: arn:aws:") }) {
		t.Fatalf("the server did not say its AWS identity:\n%s", p.Log.String())
	}
	if !p.LogContains("the runtime connector role must trust arn:aws:") {
		t.Fatalf("the server did not say which principal to trust:\n%s", p.Log.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(p.Log.String()), "\n") {
		if strings.HasPrefix(line, "sym server ") || strings.HasPrefix(line, "AWS identity: ") {
			continue // the two lines on stdout
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("a log line that is not JSON: %q", line)
		}
	}

	// A second server on the same file refuses to start, and says why.
	second := exec.Command(bin, "server", "--db", db, "--listen", "127.0.0.1:0")
	second.Env = append(append(os.Environ(), m.Env()...), "SYM_ADMIN_TOKEN=test-admin-token-0123456789")
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is in use by another sym server (pid ") ||
		!strings.Contains(string(out), "stop that one first, or give this one its own --db") {
		t.Fatalf("a second server on %s: %v\n%s", db, err, out)
	}
	// Nor through a symbolic link to the same file, which names another
	// lock file beside it. (The limit only ends a server that started.)
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	linkCtx, stopLinked := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopLinked()
	second = exec.CommandContext(linkCtx, bin, "server", "--db", link, "--listen", "127.0.0.1:0")
	second.Env = append(append(os.Environ(), m.Env()...), "SYM_ADMIN_TOKEN=test-admin-token-0123456789")
	out, err = second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is in use by another sym server (pid ") {
		t.Fatalf("a second server on %s, a link to %s: %v\n%s", link, db, err, out)
	}

	// sym doctor against the first: the project's org differs from the
	// server's; it says so and how to fix it.
	proj := filepath.Join(dir, "proj")
	if out, code := symRun(bin, p.URL, "", "init", "--dir", proj, "--api-url", p.URL, "--org", "default"); code != 0 {
		t.Fatalf("sym init (%d): %s", code, out)
	}
	doctor := func(url, token string) (string, int) {
		cmd := exec.Command(bin, "doctor", "--dir", proj)
		cmd.Env = append(append(os.Environ(), m.Env()...), "SYM_API_URL="+url, "SYM_JWT="+token)
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(b), ee.ExitCode()
		}
		return string(b), 0
	}
	out2, code := doctor(p.URL, p.AdminToken)
	for _, want := range []string{"ok    sym server", "you are the admin bot", `sets org "default" but the server runs org "acme"`,
		`sym init --dir ` + proj + ` --org acme --force`, "ok    the server reaches AWS as arn:aws:", "note  no runtime yet"} {
		if !strings.Contains(out2, want) {
			t.Errorf("doctor did not say %q:\n%s", want, out2)
		}
	}
	if code != 1 {
		t.Errorf("doctor with a failed check exited %d", code)
	}
	if out, code := symRun(bin, p.URL, "", "init", "--dir", proj, "--org", "acme", "--force"); code != 0 {
		t.Fatalf("sym init --org acme --force (%d): %s", code, out)
	}
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{Users: []string{"bob@example.com"}})
	if out, code := symRun(bin, p.URL, p.AdminToken, "users", "create", "erin@example.com", "--identity", "aws_iam=erin-nowhere"); code != 0 {
		t.Fatalf("users create (%d): %s", code, out)
	}
	out2, _ = doctor(p.URL, p.AdminToken)
	for _, want := range []string{`uses org "acme", as the server does`, "ok    IAM user bob of bob@example.com exists",
		"FAIL  erin@example.com's aws_iam identity names IAM user erin-nowhere, which does not exist", "runtime role " + f.RuntimeRole} {
		if !strings.Contains(out2, want) {
			t.Errorf("doctor did not say %q:\n%s", want, out2)
		}
	}
	if out2, code := doctor(p.URL, "sym_not_a_token"); code != 1 || !strings.Contains(out2, "SYM_JWT is not a token this server knows") {
		t.Errorf("doctor with a bad token (%d):\n%s", code, out2)
	}

	// A server with no AWS credentials at all.
	bare := testenv.StartSymProcess(t, filepath.Join(dir, "bare.db"), testenv.FreePort(t), []string{
		"AWS_ENDPOINT_URL=" + m.URL, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"), "AWS_CONFIG_FILE=" + filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1"})
	if !waitFor(func() bool { return bare.LogContains("AWS identity: none usable") }) || !bare.LogContains("no usable AWS credentials") {
		t.Fatalf("a server without credentials did not say so:\n%s", bare.Log.String())
	}
	if out2, _ := doctor(bare.URL, bare.AdminToken); !strings.Contains(out2, "FAIL  the server has no usable AWS credentials") ||
		!strings.Contains(out2, "AWS_ACCESS_KEY_ID") {
		t.Errorf("doctor of a server without credentials:\n%s", out2)
	}
	if err := m.Reset(); err != nil { // the first server's roles and users go
		t.Fatal(err)
	}
	g := testenv.SetupIAMFlow(t, m, bare.URL, bare.AdminToken, testenv.IAMFlowOptions{Users: []string{"carol@example.com", "dan@example.com"}})
	var r struct{ ID, State, Error string }
	ctx := context.Background()
	if err := g.Users["carol@example.com"].Do(ctx, "POST", "/events/request", map[string]any{"flow": g.Flow,
		"flow_inputs": map[string]any{"target_id": g.Targets[0], "reason": "x"}}, &r); err != nil {
		t.Fatal(err)
	}
	if err := g.Users["dan@example.com"].Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.State != "errored" || !strings.Contains(r.Error, "no usable AWS credentials") || strings.Contains(r.Error, "is not what its module promises") {
		t.Fatalf("a grant by a server without credentials: %s %q", r.State, r.Error)
	}
}

func waitFor(cond func() bool) bool {
	for i := 0; i < 100; i++ {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// TestServerSaysWhetherTheIdentityProviderAnswers: with --oidc-issuer set,
// the server reads the issuer's discovery document at start and says
// whether browser sign-in will work, so that a mistyped issuer shows in
// the operator's log rather than at a user's first sign-in. A down issuer
// does not stop the server (token sign-in still works).
func TestServerSaysWhetherTheIdentityProviderAnswers(t *testing.T) {
	dir := t.TempDir()
	idp := testenv.StartOIDCProvider(t, "")
	down := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	for i, c := range []struct{ issuer, want, not string }{
		{idp.URL, "identity provider answered", "fails until the identity provider answers"},
		{down, "browser sign-in through --oidc-issuer fails until the identity provider answers", "identity provider answered"},
	} {
		p := testenv.StartSymProcess(t, filepath.Join(dir, fmt.Sprintf("sym%d.db", i)), testenv.FreePort(t), noAWS(dir),
			"--oidc-issuer", c.issuer, "--oidc-client-id", idp.ClientID)
		if !waitFor(func() bool { return p.LogContains(c.want) && p.LogContains("issuer="+c.issuer) }) {
			t.Errorf("--oidc-issuer %s: the log does not say %q with the issuer:\n%s", c.issuer, c.want, p.Log.String())
		}
		if p.LogContains(c.not) {
			t.Errorf("--oidc-issuer %s: the log says %q:\n%s", c.issuer, c.not, p.Log.String())
		}
		p.Kill()
	}
}
