package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestAdminTokenFileRereadOnSIGHUP runs `sym server` with
// SYM_ADMIN_TOKEN_FILE, rotates the token in the file and sends the process
// a real SIGHUP: the new token works and the old one gets 401, in the same
// process (no restart); a file emptied by mistake keeps the current token.
func TestAdminTokenFileRereadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "admin-token")
	const oldToken, newToken = "sighup-old-admin-token-0123456789", "sighup-new-admin-token-9876543210"
	if err := os.WriteFile(file, []byte(oldToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No AWS at all: the server says so and serves the API.
	p := testenv.StartSymProcess(t, filepath.Join(dir, "sym.db"), testenv.FreePort(t), append(noAWS(dir), "SYM_ADMIN_TOKEN_FILE="+file))
	if !waitFor(func() bool { return p.LogContains("AWS identity:") }) {
		t.Fatalf("the server did not finish starting:\n%s", p.Log.String())
	}
	status := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", p.URL+"/api/v1/tokens", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("the server stopped answering: %v\n%s", err, p.Log.String())
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// SYM_ADMIN_TOKEN (which the helper also sets) loses to the file.
	if a, b, c := status(oldToken), status(newToken), status(p.AdminToken); a != 200 || b != 401 || c != 401 {
		t.Fatalf("before the rotation: old token %d, new token %d, SYM_ADMIN_TOKEN %d; want 200, 401, 401", a, b, c)
	}

	if err := os.WriteFile(file, []byte(newToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status(oldToken) != 200 {
		t.Fatal("the file was read again before any SIGHUP")
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return status(newToken) == 200 }) {
		t.Fatalf("the new token does not work after SIGHUP:\n%s", p.Log.String())
	}
	if got := status(oldToken); got != 401 {
		t.Fatalf("the old token after SIGHUP: %d, want 401", got)
	}
	if !p.LogContains("SIGHUP: admin token re-read") {
		t.Errorf("the log does not say the token was re-read:\n%s", p.Log.String())
	}

	// An empty file is refused; the token in use stays.
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return p.LogContains("admin token file not re-read") }) {
		t.Fatalf("an empty token file was not refused:\n%s", p.Log.String())
	}
	if got := status(newToken); got != 200 {
		t.Fatalf("after a SIGHUP with an empty file the token in use gets %d", got)
	}
	// Same process throughout, and no token in its log.
	if strings.Count(p.Log.String(), "listening on") != 1 {
		t.Errorf("the server restarted:\n%s", p.Log.String())
	}
	for _, tok := range []string{oldToken, newToken} {
		if p.LogContains(tok) {
			t.Errorf("the log holds an admin token:\n%s", p.Log.String())
		}
	}
}
