package server_test

import (
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// TestRestartDeescalatesOverdueGrants kills the server (SIGKILL) while
// grants are active, waits past their deadlines, starts it again and
// expects the users out of the groups at once.
func TestRestartDeescalatesOverdueGrants(t *testing.T) {
	m := testenv.StartMoto(t)
	db := filepath.Join(t.TempDir(), "sym.db")
	port := testenv.FreePort(t)
	p := testenv.StartSymProcess(t, db, port, m.Env(), "--verify-connectors=false")
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]

	var ids []string
	for i, who := range []string{"alice@example.com", "bob@example.com"} {
		c, approver := alice, bob
		if who == "bob@example.com" {
			c, approver = bob, alice
		}
		r := ask(t, c, f.Flow, f.Targets[i], "4s")
		do(t, approver, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		ids = append(ids, r.ID)
	}
	// A long grant must survive the restart untouched.
	long := ask(t, alice, f.Flow, f.Targets[1], "1h")
	do(t, bob, "POST", "/requests/"+long.ID+"/approve", nil, 200)
	if got := testenv.GroupMembers(t, m, f.Groups[1]); !slices.Equal(got, []string{"bob", "alice"}) && !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("group 1 members before the crash: %v", got)
	}

	p.Kill()
	time.Sleep(5 * time.Second) // past both deadlines, with nobody running
	if got := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("with the server dead, group 0 has %v; the test expects alice still in it", got)
	}

	restarted := time.Now()
	p2 := testenv.StartSymProcess(t, db, port, m.Env(), "--verify-connectors=false")
	for _, id := range ids {
		waitState(t, alice, id, "ended", 10*time.Second)
	}
	t.Logf("overdue grants removed %s after the restart began", time.Since(restarted).Round(time.Millisecond))
	if got := testenv.GroupMembers(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group 0 after restart: %v, want empty", got)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[1]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("group 1 after restart: %v, want [alice] (the 1h grant)", got)
	}
	if r := do(t, alice, "GET", "/requests/"+long.ID, nil, 200); r.State != "active" {
		t.Fatalf("the 1h grant is %s after restart, want active", r.State)
	}
	// Metrics are served, and name what happened.
	resp, err := http.Get(p2.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`sym_request_events_total{event="deescalate"} 2`, `sym_aws_calls_total{operation="RemoveUserFromGroup",service="IAM"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	if err := p2.Stop(); err != nil {
		t.Fatalf("graceful shutdown: %v\n%s", err, p2.Log.String())
	}
	// No secret reaches the log.
	if p2.LogContains(p.AdminToken) || p.LogContains(p.AdminToken) || p.LogContains(f.ExternalID) {
		t.Fatalf("the server log contains a secret")
	}
	if !p2.LogContains("shutting down") {
		t.Fatalf("no shutdown line in the log:\n%s", p2.Log.String())
	}
}
