package main_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// TestReconcileCommand runs `sym reconcile` through the built binary as an
// admin would, against a server whose AWS calls go through a fault proxy
// to moto: its report, its --dry-run and --json, and its exit codes (0 the
// pass ran, 1 a target unreadable, an action failed or the server refused,
// 2 a wrong command line).
func TestReconcileCommand(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	group := f.Groups[0]
	bin := testenv.SymBinary(t)
	admin := srv.AdminToken
	run := func(token string, wantCode int, args ...string) string {
		t.Helper()
		out, code := symRun(bin, srv.URL, token, args...)
		if code != wantCode {
			t.Fatalf("sym %s: exit code %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return out
	}
	lineOf := func(out, action, member string) string {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if fs := strings.Fields(l); len(fs) >= 3 && fs[0] == action && fs[1] == group && fs[2] == member {
				return l
			}
		}
		t.Fatalf("no %q line for %s in %s in:\n%s", action, member, group, out)
		return ""
	}

	out := run(admin, 0, "reconcile", "--help")
	for _, want := range []string{"--dry-run", "Exit codes", "remove", "re-add", "report", "Identity Center"} {
		if !strings.Contains(out, want) {
			t.Fatalf("reconcile --help does not say %q:\n%s", want, out)
		}
	}
	run(admin, 2, "reconcile", "now")
	run(admin, 2, "reconcile", "--dry-run=maybe")

	// Nothing to do yet.
	out = run(admin, 0, "reconcile")
	if !strings.Contains(out, "1 targets, 0 members read") || !strings.Contains(out, "0 actions sym did") || !strings.Contains(out, "nothing to do") {
		t.Fatalf("a clean reconcile said:\n%s", out)
	}

	// bob's grant ended, then someone put him back; mallory was never sym's.
	ic := iam.NewFromConfig(m.AWSConfig(t))
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")}); err != nil {
		t.Fatal(err)
	}
	var r struct{ ID string }
	bob, alice := f.Users["bob@example.com"], f.Users["alice@example.com"]
	if err := bob.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
		"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "reconcile test", "duration": "1h"}}, &r); err != nil {
		t.Fatal(err)
	}
	if err := alice.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "mallory"} {
		if _, err := ic.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String(group), UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	before := testenv.GroupMembers(t, m, group)

	out = run(admin, 0, "reconcile", "--dry-run")
	if !strings.Contains(out, "2 actions sym would do (dry run)") {
		t.Fatalf("dry run said:\n%s", out)
	}
	if l := lineOf(out, "remove", "bob"); !strings.Contains(l, r.ID) || !strings.Contains(l, "no grant of it is open") {
		t.Fatalf("dry run's line for bob: %q", l)
	}
	if l := lineOf(out, "report", "mallory"); !strings.Contains(l, "did not add") {
		t.Fatalf("dry run's line for mallory: %q", l)
	}
	var rep engine.ReconcileReport
	if err := json.Unmarshal([]byte(run(admin, 0, "reconcile", "--dry-run", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Actions) != 2 || rep.Targets != 1 || rep.Members != 2 {
		t.Fatalf("dry run --json: %+v", rep)
	}
	if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, before) {
		t.Fatalf("dry runs changed the group: %v, was %v", got, before)
	}

	// A removal AWS refuses: the report says so, exit code 1.
	deny := fp.Add(testenv.Fault{Action: "RemoveUserFromGroup", Status: 403, Code: "AccessDenied", Message: "not today"})
	out = run(admin, 1, "reconcile")
	fp.Remove(deny)
	if l := lineOf(out, "remove", "bob"); !strings.Contains(l, "failed:") || !strings.Contains(l, "AccessDenied") {
		t.Fatalf("the failed removal's line: %q", l)
	}
	if !strings.Contains(out, "error: 1 actions failed; the next pass tries again") {
		t.Fatalf("a failed action's reconcile said:\n%s", out)
	}
	// A target it cannot read: exit code 1, naming it.
	unreadable := fp.Add(testenv.Fault{Action: "GetGroup", Status: 403, Code: "AccessDenied", Message: "no reading"})
	out = run(admin, 1, "reconcile", "--json")
	fp.Remove(unreadable)
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], group) {
		t.Fatalf("an unreadable target's --json report: %+v %v\n%s", rep, err, out)
	}
	if !strings.Contains(out, "error: 1 targets could not be read") {
		t.Fatalf("an unreadable target's reconcile said:\n%s", out)
	}

	// For real: bob out, mallory left alone.
	out = run(admin, 0, "reconcile")
	if !strings.Contains(out, "2 actions sym did:") {
		t.Fatalf("reconcile said:\n%s", out)
	}
	lineOf(out, "remove", "bob")
	lineOf(out, "report", "mallory")
	if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, []string{"mallory"}) {
		t.Fatalf("after reconcile the group holds %v, want mallory alone", got)
	}
	out = run(admin, 0, "reconcile")
	if !strings.Contains(out, "1 actions sym did:") {
		t.Fatalf("a second reconcile said:\n%s", out)
	}
	lineOf(out, "report", "mallory")

	// Members may not.
	out = run(tokenFor(t, bin, srv.URL, admin, "alice@example.com"), 1, "reconcile", "--dry-run")
	if !strings.Contains(out, "403") || !strings.Contains(out, "reconcile.run") {
		t.Fatalf("a member's reconcile said:\n%s", out)
	}
}
