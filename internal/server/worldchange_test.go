package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// TestWorldChangesUnderOpenGrants: AWS changes under active grants in ways
// no re-add can repair: alice's IAM user is deleted, bob's group is
// deleted, carol's group is deleted and re-created outside /sym/; dave was
// a standing member of his group and someone removed him by hand. The dry
// run says what the real pass then does; alice's, bob's and carol's
// requests end (nobody holds what they say, and nothing may re-add it),
// dave's is left alone; later passes read the deleted group as empty
// instead of failing on it forever, add nobody back (a re-created user
// included) and record each fact once in the audit log, not once a pass.
func TestWorldChangesUnderOpenGrants(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 3,
		Users: []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}})
	alice, bob, carol, dave := f.Users["alice@example.com"], f.Users["bob@example.com"], f.Users["carol@example.com"], f.Users["dave@example.com"]
	root, _ := newAdmin(t, f.Admin, srv.URL)
	ic := iam.NewFromConfig(m.AWSConfig(t))
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ic.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String(f.Groups[0]), UserName: aws.String("dave")}))
	grant := func(c *api.Client, approver *api.Client, target string) string {
		t.Helper()
		r := ask(t, c, f.Flow, target, "1h")
		if a := do(t, approver, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
			t.Fatalf("grant: %s %s", a.State, a.Error)
		}
		return r.ID
	}
	ra, rb, rc, rd := grant(alice, bob, f.Targets[0]), grant(bob, alice, f.Targets[1]), grant(carol, alice, f.Targets[2]), grant(dave, alice, f.Targets[0])

	// alice's IAM user is deleted (AWS wants her out of her groups first).
	must(ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String(f.Groups[0]), UserName: aws.String("alice")}))
	must(ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}))
	// bob's group is deleted.
	must(ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String(f.Groups[1]), UserName: aws.String("bob")}))
	must(ic.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String(f.Groups[1])}))
	// carol's group is moved out of /sym/: IAM moves a group with
	// UpdateGroup --new-path, which moto ignores, so it is deleted and
	// re-created under /admins/.
	must(ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String(f.Groups[2]), UserName: aws.String("carol")}))
	must(ic.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String(f.Groups[2])}))
	must(ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(f.Groups[2]), Path: aws.String("/admins/")}))
	// dave's standing membership is removed by hand.
	must(ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String(f.Groups[0]), UserName: aws.String("dave")}))

	want := []string{"end alice", "end bob", "end carol", "report dave"}
	dry := reconcile(t, f.Admin, true)
	if got := actionsOf(dry); !slices.Equal(got, want) || len(dry.Errors) != 0 {
		t.Fatalf("dry run: %v, errors %v; want %v and no errors", got, dry.Errors, want)
	}
	rep := reconcile(t, f.Admin, false)
	if got := actionsOf(rep); !slices.Equal(got, want) || len(rep.Errors) != 0 {
		t.Fatalf("reconcile: %v, errors %v; want %v and no errors", got, rep.Errors, want)
	}
	for i, a := range rep.Actions {
		if a.Error != "" || a.Reason != dry.Actions[i].Reason {
			t.Errorf("%s %s: error %q, reason %q; the dry run said %q", a.Action, a.Member, a.Error, a.Reason, dry.Actions[i].Reason)
		}
	}
	for id, why := range map[string]string{ra: "alice does not exist", rb: "sym-prod-admins-1", rc: "/admins/"} {
		r := do(t, root, "GET", "/requests/"+id, nil, 200)
		if r.State != "ended" || r.DeescalateType != "revoke" {
			t.Errorf("request %s: %s (%s), want ended by a revoke", id, r.State, r.DeescalateType)
		}
		var rev []event
		for _, e := range auditOf(t, root, id) {
			if e.Type == "revoke" {
				rev = append(rev, event{Type: e.Type, Actor: e.Actor, Details: e.Details})
			}
		}
		if len(rev) != 1 || rev[0].Actor != engine.SystemActor || !strings.Contains(rev[0].Details["message"], why) {
			t.Errorf("request %s's revoke events: %+v; want one by %s saying why (%q)", id, rev, engine.SystemActor, why)
		}
	}
	if r := do(t, dave, "GET", "/requests/"+rd, nil, 200); r.State != "active" {
		t.Errorf("dave's request (a standing membership removed by hand) is %s, want active", r.State)
	}

	// alice's user name is given to someone new: nothing re-adds it.
	must(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	for range 2 {
		if got := actionsOf(reconcile(t, f.Admin, false)); !slices.Equal(got, []string{"report dave"}) {
			t.Fatalf("a later pass: %v, want only dave reported", got)
		}
	}
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Errorf("%s holds %v after the passes, want nobody", f.Groups[0], got)
	}
	if got := members(t, m, f.Groups[2]); len(got) != 0 {
		t.Errorf("%s (now under /admins/) holds %v, want nobody", f.Groups[2], got)
	}
	var daves []auditEvent
	for _, e := range eventsOfType(t, root, "drift") {
		if e.Details["member"] == "dave" {
			daves = append(daves, e)
		}
	}
	if len(daves) != 1 || daves[0].RequestID != rd {
		t.Errorf("drift events for dave after three passes: %+v; want one, of his request", daves)
	}
}
