package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

func eventsOfType(t *testing.T, c *api.Client, typ string) []auditEvent {
	t.Helper()
	var evs []auditEvent
	if err := c.Do(context.Background(), "GET", "/events?limit=10000", nil, &evs); err != nil {
		t.Fatal(err)
	}
	var out []auditEvent
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func reconcile(t *testing.T, c *api.Client, dry bool) engine.ReconcileReport {
	t.Helper()
	var rep engine.ReconcileReport
	q := "/reconcile"
	if dry {
		q += "?dry_run=true"
	}
	if err := c.Do(context.Background(), "POST", q, nil, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// newAdmin makes the user root@example.com, role admin, through the admin
// bot, and answers a client with a token of root's: an admin reads the whole
// audit log, which the bot (an automation token) may not; and the token.
func newAdmin(t *testing.T, bot *api.Client, url string) (*api.Client, string) {
	t.Helper()
	ctx := context.Background()
	var tok struct{ Token string }
	if err := bot.Do(ctx, "POST", "/users", map[string]any{"email": "root@example.com", "role": "admin"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := bot.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "root@example.com"}, &tok); err != nil {
		t.Fatal(err)
	}
	return api.NewClient(url, tok.Token), tok.Token
}

// actionsOf renders a report's actions as "action member" lines.
func actionsOf(rep engine.ReconcileReport) []string {
	var out []string
	for _, a := range rep.Actions {
		out = append(out, a.Action+" "+a.Member)
	}
	slices.Sort(out)
	return out
}

// TestReconciler: what AWS says is compared with the ledger, in the three
// cases a security engineer cares about, first as a dry run (nothing
// changes), then for real, then with enforce mode at a server start.
func TestReconciler(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	db := t.TempDir() + "/sym.db"
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, DB: db})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	group := f.Groups[0]
	ic := iam.NewFromConfig(m.AWSConfig(t))
	add := func(user string) {
		t.Helper()
		if _, err := ic.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String(group), UserName: aws.String(user)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")}); err != nil {
		t.Fatal(err)
	}
	// An admin reads the whole audit log (the bot, an automation token, may not).
	root, rootToken := newAdmin(t, f.Admin, srv.URL)

	// alice: an active grant whose membership someone removed in IAM.
	ra := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+ra.ID+"/approve", nil, 200)
	if _, err := ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String(group), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	// bob: a grant that ended, then someone put him back in IAM.
	rb := ask(t, bob, f.Flow, f.Targets[0], "1h")
	do(t, alice, "POST", "/requests/"+rb.ID+"/approve", nil, 200)
	do(t, bob, "POST", "/requests/"+rb.ID+"/revoke", nil, 200)
	add("bob")
	// mallory: never granted by sym.
	add("mallory")
	if got := members(t, m, group); !slices.Equal(got, []string{"bob", "mallory"}) {
		t.Fatalf("before reconciling: %v", got)
	}

	want := []string{"re-add alice", "remove bob", "report mallory"}
	dry := reconcile(t, f.Admin, true)
	if got := actionsOf(dry); !dry.DryRun || !slices.Equal(got, want) || len(dry.Errors) != 0 {
		t.Fatalf("dry run: %v (errors %v), want %v", got, dry.Errors, want)
	}
	if got := members(t, m, group); !slices.Equal(got, []string{"bob", "mallory"}) || len(eventsOfType(t, root, "drift")) != 0 {
		t.Fatalf("a dry run changed something: members %v", got)
	}
	if err := alice.Do(ctx, "POST", "/reconcile?dry_run=true", nil, nil); api.StatusOf(err) != 403 {
		t.Fatalf("a member ran the reconciler: %v", err)
	}

	rep := reconcile(t, f.Admin, false)
	if got := actionsOf(rep); !slices.Equal(got, want) || len(rep.Errors) != 0 {
		t.Fatalf("reconcile: %v (errors %v), want %v", got, rep.Errors, want)
	}
	for _, a := range rep.Actions {
		if a.Error != "" {
			t.Fatalf("%s %s failed: %s", a.Action, a.Member, a.Error)
		}
	}
	if got := members(t, m, group); !slices.Equal(got, []string{"alice", "mallory"}) {
		t.Fatalf("after reconciling: %v, want alice back (active grant), bob out (no open grant), mallory left alone", got)
	}
	if r := do(t, alice, "GET", "/requests/"+ra.ID, nil, 200); r.State != "active" {
		t.Fatalf("alice's request is %s", r.State)
	}
	reconciled := eventsOfType(t, root, "reconciled")
	if len(reconciled) != 1 || reconciled[0].Details["member"] != "bob" || reconciled[0].RequestID != rb.ID || reconciled[0].Details["group"] != group {
		t.Fatalf("reconciled events: %+v", reconciled)
	}
	drift := eventsOfType(t, root, "drift")
	byMember := map[string]auditEvent{}
	for _, e := range drift {
		byMember[e.Details["member"]] = e
	}
	if len(drift) != 2 || byMember["alice"].Details["re_added"] != "true" || byMember["alice"].RequestID != ra.ID ||
		byMember["mallory"].Details["group"] != group || byMember["mallory"].RequestID != "" {
		t.Fatalf("drift events: %+v", drift)
	}
	if !strings.Contains(metrics(t, srv.URL), "sym_reconcile_unmanaged_members 1") {
		t.Fatal("the unmanaged member is not in the metrics")
	}
	// A second pass: only mallory to report, and no second audit row for her.
	if got := actionsOf(reconcile(t, f.Admin, false)); !slices.Equal(got, []string{"report mallory"}) {
		t.Fatalf("second pass: %v", got)
	}
	if n := len(eventsOfType(t, root, "drift")); n != 2 {
		t.Fatalf("%d drift events after a second pass, want still 2", n)
	}

	// Enforce mode, at the start of a server on the same database: mallory
	// (not granted by sym, in a /sym/ group) is removed; alice stays.
	shut, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		t.Fatal(err)
	}
	srv2 := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, DB: db,
		Engine: engine.Options{ReconcileEvery: time.Hour, ReconcileEnforce: true}})
	root2 := api.NewClient(srv2.URL, rootToken)
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(members(t, m, group), []string{"alice"}) {
		if time.Now().After(deadline) {
			t.Fatalf("enforce mode at start: members %v, want only alice", members(t, m, group))
		}
		time.Sleep(100 * time.Millisecond)
	}
	enforced := eventsOfType(t, root2, "reconciled")
	if len(enforced) != 2 || enforced[1].Details["member"] != "mallory" || !strings.Contains(enforced[1].Details["reason"], "enforce") {
		t.Fatalf("reconciled events after enforce: %+v", enforced)
	}
}
