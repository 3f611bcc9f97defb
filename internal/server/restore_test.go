package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// TestBackupAndRestore: `sym backup` copies the database of a running
// server while it writes; `sym restore` refuses beside a running server,
// puts the copy in place with the old database kept aside, ends the tokens
// of the backup, and the restored server neither re-adds a grant revoked
// after the backup nor loses sight of one made after it.
func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "sym.db"), filepath.Join(dir, "backup.db")
	port := testenv.FreePort(t)
	// No reconcile pass but the ones this test asks for.
	args := []string{"--verify-connectors=false", "--reconcile-interval=0"}
	p := testenv.StartSymProcess(t, db, port, m.Env(), args...)
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	bin := testenv.SymBinary(t)
	sym := func(args ...string) (string, int) {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	// Before the backup: two active grants on group 1.
	revokedLater := ask(t, alice, f.Flow, f.Targets[1], "1h")
	do(t, bob, "POST", "/requests/"+revokedLater.ID+"/approve", nil, 200)
	kept := ask(t, bob, f.Flow, f.Targets[1], "1h")
	do(t, alice, "POST", "/requests/"+kept.ID+"/approve", nil, 200)

	// The backup, while requests are being written.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		for !stop.Load() {
			var r req
			if err := bob.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
				"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "busy", "duration": "1h"}}, &r); err != nil {
				t.Error(err)
				return
			}
			if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/withdraw", nil, nil); err != nil {
				t.Error(err)
				return
			}
			writes++
		}
	}()
	out, code := sym("backup", "--db", db, "--out", backup)
	stop.Store(true)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "audit events verified") {
		t.Fatalf("sym backup (exit %d): %s", code, out)
	}
	t.Logf("%s(%d requests written and withdrawn during it)", out, writes)
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the backup file: %v %v, want mode 0600", fi, err)
	}
	if out, code := sym("backup", "--db", db, "--out", backup); code != 2 || !strings.Contains(out, "exists") {
		t.Fatalf("a backup over an existing file (exit %d): %s", code, out)
	}

	// After the backup: one grant revoked, one made.
	do(t, alice, "POST", "/requests/"+revokedLater.ID+"/revoke", nil, 200)
	after := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+after.ID+"/approve", nil, 200)

	if out, code := sym("restore", "--from", backup, "--db", db); code != 1 || !strings.Contains(out, "in use by another sym server") {
		t.Fatalf("a restore beside a running server (exit %d): %s", code, out)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	out, code = sym("restore", "--from", backup, "--db", db)
	if code != 0 || !strings.Contains(out, "ended ") || !strings.Contains(out, "sym reconcile --dry-run") {
		t.Fatalf("sym restore (exit %d): %s", code, out)
	}
	replaced, _ := filepath.Glob(db + ".replaced-*")
	if len(replaced) == 0 || !strings.Contains(out, replaced[0]) {
		t.Fatalf("the replaced database is not kept (%v): %s", replaced, out)
	}

	p2 := testenv.StartSymProcess(t, db, port, m.Env(), args...)
	// The tokens of the backup ended; the admin bot's still works.
	if err := alice.Do(ctx, "GET", "/requests/"+after.ID, nil, nil); api.StatusOf(err) != 401 {
		t.Fatalf("alice's token after the restore: %v, want 401", err)
	}
	root, _ := newAdmin(t, f.Admin, p2.URL)
	// The restored database does not know the grant made after the backup.
	if err := root.Do(ctx, "GET", "/requests/"+after.ID, nil, nil); api.StatusOf(err) != 404 {
		t.Fatalf("the request made after the backup: %v, want 404", err)
	}

	rep := reconcile(t, root, false)
	var got []string
	for _, a := range rep.Actions {
		got = append(got, a.Action+" "+a.Member+" "+a.Group)
	}
	slices.Sort(got)
	want := []string{"end alice " + f.Groups[1], "report alice " + f.Groups[0]}
	if !slices.Equal(got, want) {
		t.Fatalf("the first reconcile after the restore: %v, want %v (%+v)", got, want, rep)
	}
	if r := waitState(t, root, revokedLater.ID, "ended", 0); r.State != "ended" {
		t.Fatal(r.State)
	}
	if r := do(t, root, "GET", "/requests/"+kept.ID, nil, 200); r.State != "active" {
		t.Fatalf("the grant untouched since the backup is %s, want active", r.State)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[1]); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("group 1 after the restore: %v, want [bob] (alice's revoked grant is not put back)", got)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("group 0 after the restore: %v, want [alice] (reported, left alone)", got)
	}
	restores := eventsOfType(t, root, "restore")
	if len(restores) != 1 || restores[0].Details["tokens_revoked"] == "0" || restores[0].Details["replaced"] == "" {
		t.Fatalf("restore events: %+v", restores)
	}
	drift := eventsOfType(t, root, engine.EventDrift)
	if len(drift) != 1 || drift[0].Details["member"] != "alice" || drift[0].Details["group"] != f.Groups[0] {
		t.Fatalf("drift events: %+v", drift)
	}
	if err := p2.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, code := sym("audit", "verify", "--db", db); code != 0 {
		t.Fatalf("the audit chain after the restore (exit %d): %s", code, out)
	}
}

// TestRestoreOfABackupTakenDuringAGrant: a backup taken while a grant is
// being made holds the request approved, its intent recorded, its AWS call
// not answered. After the backup the grant lands and is revoked; then the
// backup is restored. The restored server must not make that grant again
// at start (decision 028: what was revoked after the backup stays
// revoked): it removes what the intent may have granted and ends the
// request.
func TestRestoreOfABackupTakenDuringAGrant(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "sym.db"), filepath.Join(dir, "backup.db")
	port := testenv.FreePort(t)
	env := append(m.Env(), "AWS_ENDPOINT_URL="+fp.URL)
	args := []string{"--verify-connectors=false", "--reconcile-interval=0"}
	bin := testenv.SymBinary(t)
	sym := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("sym %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p := testenv.StartSymProcess(t, db, port, env, args...)
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	root, rootToken := newAdmin(t, f.Admin, p.URL)

	// The grant's AddUserToGroup is held (and then dropped, never reaching
	// AWS) while the backup is taken.
	fp.Add(testenv.Fault{Action: "AddUserToGroup", Times: 1, Latency: time.Minute, Reset: true})
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	go func() { _ = bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, nil) }()
	for fp.Seen("AddUserToGroup") == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	sym("backup", "--db", db, "--out", backup)

	// The grant is finished after a crash, and revoked.
	p.Kill()
	fp.Clear()
	p = testenv.StartSymProcess(t, db, port, env, args...)
	waitState(t, root, r.ID, "active", 30*time.Second)
	if got := members(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("after the grant: %v", got)
	}
	do(t, root, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}

	sym("restore", "--from", backup, "--db", db, "--keep-tokens")
	p = testenv.StartSymProcess(t, db, port, env, args...)
	root = api.NewClient(p.URL, rootToken)
	final := waitState(t, root, r.ID, "ended", 30*time.Second)
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("after the restore alice is back in %s (%v): the grant revoked after the backup was made again", f.Groups[0], got)
	}
	if final.DeescalateType != "revoke" {
		t.Errorf("the request ended with deescalate_type %q, want revoke", final.DeescalateType)
	}
	if got := eventTypes(t, root, r.ID); slices.Contains(got, "escalate") {
		t.Errorf("the restored server escalated the request again: %v", got)
	}
	if rep := reconcile(t, root, true); len(rep.Actions) != 0 || len(rep.Errors) != 0 {
		t.Errorf("a dry run after it all: %+v, want nothing to do", rep)
	}
}
