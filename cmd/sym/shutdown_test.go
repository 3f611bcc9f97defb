package main_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// noAWS is an environment in which the server finds no AWS credentials at
// all: it says so and serves the API, which is all these tests need.
func noAWS(dir string) []string {
	return []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"), "AWS_CONFIG_FILE=" + filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1"}
}

// TestShutdownWithARequestInFlight stops `sym server` with SIGTERM while a
// client is still sending a request: the server waits --shutdown-timeout
// for it, then closes that connection, finishes stopping and exits 0 (an
// asked-for stop that succeeded, not a failure for systemd to restart),
// and its log says what was cut off and that it stopped. Before, it exited
// 1 with "error: context deadline exceeded" after a fixed 20 s and closed
// the database under the connection it had not closed.
func TestShutdownWithARequestInFlight(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sym.db")
	p := testenv.StartSymProcess(t, db, testenv.FreePort(t), noAWS(dir), "--shutdown-timeout", "1s")
	if !waitFor(func() bool { return p.LogContains("AWS identity:") }) {
		t.Fatalf("the server did not finish starting:\n%s", p.Log.String())
	}

	// A client that sends its headers and the start of a body, then waits.
	// It has no token: the server answers 401 at once and then reads the
	// rest of the body, which never comes (a request still in flight).
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /api/v1/users HTTP/1.1\r\nHost: sym\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return p.LogContains("path=/api/v1/users status=401") }) {
		t.Fatalf("the server did not answer the request:\n%s", p.Log.String())
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("sym server stopped with SIGTERM: %v, want exit 0:\n%s", err, p.Log.String())
	}
	log := p.Log.String()
	for _, want := range []string{"shutting down", "requests still in flight after --shutdown-timeout", "sym server stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "context deadline exceeded") {
		t.Errorf("the log says only that a deadline passed:\n%s", log)
	}
	// The held connection was closed by the server, not left open.
	if _, err := io.ReadAll(conn); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("the client's connection: %v", err)
	}

	// The database was closed cleanly: a new server starts on it.
	q := testenv.StartSymProcess(t, db, testenv.FreePort(t), noAWS(dir))
	if err := q.Stop(); err != nil {
		t.Fatalf("a second start and an idle stop: %v\n%s", err, q.Log.String())
	}
	if !q.LogContains("sym server stopped") || q.LogContains("still in flight") {
		t.Errorf("an idle server's stop:\n%s", q.Log.String())
	}
}

// TestServerLogLevel: `sym server --log-level` chooses which lines reach
// the log. At warn, a health probe or a metrics scrape every few seconds
// writes nothing while warnings still show; at debug, the reconciler's
// quiet passes (logged at debug) show. A level it does not know is refused
// as a command-line mistake.
func TestServerLogLevel(t *testing.T) {
	dir := t.TempDir()
	warn := testenv.StartSymProcess(t, filepath.Join(dir, "warn.db"), testenv.FreePort(t), noAWS(dir), "--log-level", "warn")
	for i := 0; i < 3; i++ {
		resp, err := http.Get(warn.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := warn.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return warn.LogContains("SIGHUP: no SYM_ADMIN_TOKEN_FILE to re-read") }) {
		t.Fatalf("a warning is missing at --log-level warn:\n%s", warn.Log.String())
	}
	if err := warn.Stop(); err != nil {
		t.Fatal(err)
	}
	if warn.LogContains("level=INFO") {
		t.Errorf("info lines at --log-level warn:\n%s", warn.Log.String())
	}

	debug := testenv.StartSymProcess(t, filepath.Join(dir, "debug.db"), testenv.FreePort(t), noAWS(dir), "--log-level", "debug")
	if !waitFor(func() bool { return debug.LogContains("msg=reconciled") }) {
		t.Errorf("no reconcile pass at --log-level debug:\n%s", debug.Log.String())
	}
	if err := debug.Stop(); err != nil {
		t.Fatal(err)
	}

	out, code := symRun(testenv.SymBinary(t), "", "", "server", "--db", filepath.Join(dir, "bad.db"), "--listen", "127.0.0.1:0", "--log-level", "verbose")
	if code != 2 || !strings.Contains(out, "--log-level") || !strings.Contains(out, "debug, info, warn or error") {
		t.Errorf("sym server --log-level verbose: exit %d\n%s", code, out)
	}
}

// TestServerWarnsOfOpenSecretFiles: the server says so at start, naming the
// file, when a file that holds a secret in clear is readable by other users:
// the admin token file, the TLS private key (other users; its group may be
// ssl-cert's), and a --config file that sets a secret. It already says so
// of its database, which holds only token hashes. Owner-only files get no
// warning.
func TestServerWarnsOfOpenSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile, certFile, keyFile, config := filepath.Join(dir, "admin-token"), filepath.Join(dir, "cert.pem"),
		filepath.Join(dir, "key.pem"), filepath.Join(dir, "sym.json")
	if err := os.WriteFile(tokenFile, []byte("open-admin-token-0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeCert(t, certFile, keyFile, 1)
	if err := os.WriteFile(config, []byte(`{"metrics-token": "open-metrics-token-0123456789"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{tokenFile, config} {
		if err := os.Chmod(f, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	if err := os.Chmod(keyFile, 0o604); err != nil {
		t.Fatal(err)
	}
	start := func() string {
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		cmd := exec.Command(testenv.SymBinary(t), "server", "--db", filepath.Join(dir, "sym.db"), "--listen", addr, "--log-format", "text",
			"--tls-cert", certFile, "--tls-key", keyFile, "--config", config)
		cmd.Env = append(append(os.Environ(), noAWS(dir)...), "SYM_ADMIN_TOKEN_FILE="+tokenFile)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(func() bool { return strings.Contains(out.String(), "AWS identity:") }) {
			t.Fatalf("the server did not start:\n%s", out.String())
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		return out.String()
	}
	log := start()
	for _, f := range []string{tokenFile, keyFile, config} {
		if !strings.Contains(log, "file="+f) || !strings.Contains(log, "chmod 600") {
			t.Errorf("no warning naming %s:\n%s", f, log)
		}
	}
	for _, secret := range []string{"open-admin-token-0123456789abcdef", "open-metrics-token-0123456789"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a secret:\n%s", log)
		}
	}

	// A key its group may read, and owner-only files: no warning.
	for f, mode := range map[string]os.FileMode{tokenFile: 0o600, config: 0o600, keyFile: 0o640} {
		if err := os.Chmod(f, mode); err != nil {
			t.Fatal(err)
		}
	}
	if log := start(); strings.Contains(log, "chmod 600") {
		t.Errorf("a warning of owner-only files:\n%s", log)
	}
}
