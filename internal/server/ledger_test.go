package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
	_ "modernc.org/sqlite"
)

// The tests of this file each drive one path on which access could outlive
// its grant (issue 8), through a fault-injecting proxy between sym and moto.
// Each asserts what a security engineer would check: who is in the IAM
// group, and what sym says about it.

// fastRetries keeps the engine's back-off short so that a test sees several
// tries in a few seconds.
var fastRetries = engine.Options{GrantAttempts: 1, RetryBase: 20 * time.Millisecond,
	RemoveRetryBase: 200 * time.Millisecond, RetryCap: time.Second}

func metrics(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grantPhases reads sym_grant_phase_seconds from /metrics: the sum and the
// count of each phase (read, intent, aws, record), and under "all" those of
// sym_grant_seconds.
func grantPhases(tb testing.TB, base string) (sums, counts map[string]float64) {
	tb.Helper()
	sums, counts = map[string]float64{}, map[string]float64{}
	for _, line := range strings.Split(metrics(tb, base), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		var v float64
		fmt.Sscan(f[1], &v)
		phase := ""
		if i := strings.Index(f[0], `{phase="`); i >= 0 {
			phase = strings.TrimSuffix(f[0][i+len(`{phase="`):], `"}`)
		}
		switch {
		case strings.HasPrefix(f[0], "sym_grant_phase_seconds_sum{"):
			sums[phase] = v
		case strings.HasPrefix(f[0], "sym_grant_phase_seconds_count{"):
			counts[phase] = v
		case f[0] == "sym_grant_seconds_sum":
			sums["all"] = v
		case f[0] == "sym_grant_seconds_count":
			counts["all"] = v
		}
	}
	return sums, counts
}

func members(t *testing.T, m *testenv.Moto, group string) []string {
	t.Helper()
	got := testenv.GroupMembers(t, m, group)
	slices.Sort(got)
	return got
}

// TestLostGrantReplyIsRemoved: AddUserToGroup lands at AWS but its reply is
// lost, the retry and the cleanup fail in the same outage. The user is in
// the group, so the request must not read errored: it is removing, keeps
// its deadline and retries the removal until AWS is back (where a removal's
// reply is lost once more); then it is errored with nobody in the group.
func TestLostGrantReplyIsRemoved(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, Engine: fastRetries})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]

	fp.Add(testenv.Fault{Action: "AddUserToGroup", DropReply: true, Times: 1})
	fp.Add(testenv.Fault{Action: "AddUserToGroup", Status: 403, Code: "AccessDenied"})
	fp.Add(testenv.Fault{Action: "RemoveUserFromGroup", Status: 403, Code: "AccessDenied"})
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if fp.Forwarded("AddUserToGroup") != 1 || !slices.Equal(members(t, m, f.Groups[0]), []string{"alice"}) {
		t.Fatalf("the dropped grant should have landed: forwarded %d, members %v", fp.Forwarded("AddUserToGroup"), members(t, m, f.Groups[0]))
	}
	if a.State != "removing" || a.Error == "" || a.DeescalateError == "" || a.Deadline == nil {
		t.Fatalf("alice is in the group, and the request is %s (error %q, deescalate_error %q, deadline %v); want removing with both errors and a deadline",
			a.State, a.Error, a.DeescalateError, a.Deadline)
	}
	// AWS is back, but the first removal's reply is lost too: the removal
	// landed, and the retry that finds nobody to remove (NoSuchEntity in
	// the pinned account) confirms it.
	fp.Clear()
	fp.Add(testenv.Fault{Action: "RemoveUserFromGroup", DropReply: true, Times: 1})
	done := waitState(t, alice, r.ID, "errored", 10*time.Second)
	if fp.Forwarded("RemoveUserFromGroup") < 1 {
		t.Fatalf("no removal reached AWS: %v", fp.Counts())
	}
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group after the failed grant was cleaned up: %v", got)
	}
	if done.Error == "" || done.DeescalateError != "" {
		t.Fatalf("errored request: error %q deescalate_error %q", done.Error, done.DeescalateError)
	}
	types := eventTypes(t, alice, r.ID)
	if !slices.Equal(types, []string{"request", "approve", "deescalate_failed", "error"}) {
		t.Fatalf("audit events %v", types)
	}
}

// crashBeforeRecorded puts a request back where a crash between
// AddUserToGroup and recording `active` leaves it: approved in the
// database (and its ledger entry, where there is one, not yet confirmed),
// the user in the group.
func crashBeforeRecorded(t *testing.T, dbPath, id string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE requests SET state='approved', body=json_remove(json_set(body, '$.state', 'approved'), '$.granted_at') WHERE id=?`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE grants SET status='intended', granted_at='' WHERE request_id=?`, id); err != nil && !strings.Contains(err.Error(), "no such table") {
		t.Fatal(err)
	}
}

// TestRecoveryVerification: after a crash between the grant and its record,
// the restart grants again. A throttled runtime verification is retried,
// not taken for a refusal; a real refusal on that path still removes what
// the grant put in place.
func TestRecoveryVerification(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	db := t.TempDir() + "/sym.db"
	first := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db})
	f := testenv.SetupIAMFlow(t, m, first.URL, first.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	ra := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+ra.ID+"/approve", nil, 200)
	rb := ask(t, bob, f.Flow, f.Targets[1], "1h")
	do(t, alice, "POST", "/requests/"+rb.ID+"/approve", nil, 200)
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// 1. Verification reads are throttled twice, then pass: the grant is
	// finished, with its deadline.
	crashBeforeRecorded(t, db, ra.ID)
	fp.Add(testenv.Fault{Action: "GetRole", Status: 400, Code: "Throttling", Times: 2})
	verifier := func(own aws.Config) func(ctx context.Context, settings map[string]string) error {
		c := iam.NewFromConfig(own, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
		return func(ctx context.Context, settings map[string]string) error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("SymRuntimeProd")})
			return err
		}
	}
	opt := engine.Options{GrantAttempts: 3, RetryBase: 20 * time.Millisecond, VerifyEvery: time.Nanosecond}
	second := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db, Engine: opt, RuntimeVerifier: verifier})
	admin := api.NewClient(second.URL, second.AdminToken)
	got := waitState(t, admin, ra.ID, "active", 10*time.Second)
	if got.Deadline == nil || got.Error != "" {
		t.Fatalf("recovered grant: deadline %v error %q", got.Deadline, got.Error)
	}
	if n := fp.Seen("GetRole"); n != 3 {
		t.Fatalf("verification tried %d times, want 3 (two throttled)", n)
	}
	if !slices.Equal(members(t, m, f.Groups[0]), []string{"alice"}) {
		t.Fatalf("group 0: %v", members(t, m, f.Groups[0]))
	}
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// 2. The runtime role is refused on the recovery path: what the grant
	// put in place is removed anyway, then the request is errored.
	crashBeforeRecorded(t, db, rb.ID)
	refuse := func(aws.Config) func(context.Context, map[string]string) error {
		return func(context.Context, map[string]string) error {
			return errors.New("the trust policy lets the role be assumed WITHOUT an External ID")
		}
	}
	third := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db, Engine: opt, RuntimeVerifier: refuse})
	admin = api.NewClient(third.URL, third.AdminToken)
	got = waitState(t, admin, rb.ID, "errored", 10*time.Second)
	if !strings.Contains(got.Error, "not what its module promises") {
		t.Fatalf("refused recovery: error %q", got.Error)
	}
	if g := members(t, m, f.Groups[1]); len(g) != 0 {
		t.Fatalf("a refused runtime left %v in the group", g)
	}
	if got := do(t, admin, "GET", "/requests/"+ra.ID, nil, 200); got.State != "active" {
		t.Fatalf("the other grant is %s", got.State)
	}
}

// TestRemovalUsesPinnedRoles: the IAM connector context is pointed at
// another (safelisted) account while a grant is open. The removal must go
// where the grant went, not where the entities point now; there, IAM
// would answer NoSuchEntity and a naive removal would call that success.
func TestRemovalUsesPinnedRoles(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	ctx := context.Background()
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	contextID := func(slug string) string {
		var found []struct {
			ID string `json:"id"`
		}
		if err := f.Admin.Do(ctx, "GET", "/entities/integrations?slug="+slug+"&type=permission_context", nil, &found); err != nil || len(found) != 1 {
			t.Fatalf("find %s: %v", slug, err)
		}
		return found[0].ID
	}
	if err := f.Admin.Do(ctx, "PATCH", "/entities/integrations/"+contextID("prod-runtime-context"), map[string]any{"settings": map[string]string{
		"cloud": "aws", "region": "us-east-1", "role_arn": f.RuntimeRole, "external_id": f.ExternalID, "account_id": testenv.MotoAccount,
		"account_id_safelist": "111111111111"}}, nil); err != nil {
		t.Fatal(err)
	}
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if err := f.Admin.Do(ctx, "PATCH", "/entities/integrations/"+contextID("prod-iam-context"), map[string]any{"settings": map[string]string{
		"cloud": "aws", "region": "us-east-1", "role_arn": "arn:aws:iam::111111111111:role/sym/SymIamProd"}}, nil); err != nil {
		t.Fatal(err)
	}
	end := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	if got := members(t, m, f.Groups[0]); len(got) != 0 || end.State != "ended" {
		t.Fatalf("after revoke: request %s, group %v; the removal must go through the roles of the grant", end.State, got)
	}
}

// TestOneRetryChainPerRequest: a removal keeps failing while the sweeper
// runs every 200 ms. One request has one timer: the failures are tried on
// one back-off chain (not one more per sweep), and audited once.
func TestOneRetryChainPerRequest(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	opt := fastRetries
	opt.Sweep = 200 * time.Millisecond
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, Engine: opt})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	fp.Add(testenv.Fault{Action: "RemoveUserFromGroup", Status: 403, Code: "AccessDenied"})
	r := ask(t, alice, f.Flow, f.Targets[0], "1s")
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.Deadline == nil {
		t.Fatal("no deadline")
	}
	time.Sleep(time.Until(a.Deadline.Add(5 * time.Second)))
	calls := fp.Seen("RemoveUserFromGroup")
	failed := 0
	for _, ty := range eventTypes(t, alice, r.ID) {
		if ty == "deescalate_failed" {
			failed++
		}
	}
	// One chain with a 200 ms base and a 1 s cap tries about 8 times in
	// 5 s; a chain per sweep would try dozens of times.
	if calls < 3 || calls > 12 || failed != 1 {
		t.Fatalf("in ~5 s of failing removal: %d RemoveUserFromGroup calls (want 3..12, one chain) and %d deescalate_failed events (want 1)", calls, failed)
	}
	if got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "removing" || got.DeescalateError == "" {
		t.Fatalf("while removal fails the request is %s (deescalate_error %q), want removing with the error", got.State, got.DeescalateError)
	}
	// Every attempt is a metric (AccessDenied is not retried by the SDK, so
	// one attempt is one call). The chain goes on meanwhile: bracket it.
	lo := fp.Seen("RemoveUserFromGroup")
	text := metrics(t, srv.URL)
	hi := fp.Seen("RemoveUserFromGroup")
	var n int
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, `sym_access_attempts_total{op="remove",outcome="error"} `) {
			fmt.Sscan(strings.Fields(line)[1], &n)
		}
	}
	if n < lo || n > hi {
		t.Fatalf("sym_access_attempts_total{op=remove,outcome=error} = %d; RemoveUserFromGroup calls %d..%d", n, lo, hi)
	}
	if got := members(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("group while removal fails: %v", got)
	}
	fp.Clear()
	ended := waitState(t, alice, r.ID, "ended", 5*time.Second)
	if got := members(t, m, f.Groups[0]); len(got) != 0 || ended.DeescalateError != "" {
		t.Fatalf("after AWS recovered: group %v, deescalate_error %q", got, ended.DeescalateError)
	}
}

// TestOverlappingGrantsAndStandingMembers: two open grants of the same user
// and group keep access until the last ends; a user who was in the group
// before sym granted stays in it.
func TestOverlappingGrantsAndStandingMembers(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	g0, g1 := f.Groups[0], f.Groups[1]

	r1 := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+r1.ID+"/approve", nil, 200)
	r2 := ask(t, alice, f.Flow, f.Targets[0], "2h")
	do(t, bob, "POST", "/requests/"+r2.ID+"/approve", nil, 200)
	if e := do(t, alice, "POST", "/requests/"+r1.ID+"/revoke", nil, 200); e.State != "ended" {
		t.Fatalf("first revoke: %s", e.State)
	}
	if got := members(t, m, g0); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("after the first of two grants ended: group %v, want [alice] (the second is still active)", got)
	}
	do(t, alice, "POST", "/requests/"+r2.ID+"/revoke", nil, 200)
	if got := members(t, m, g0); len(got) != 0 {
		t.Fatalf("after both grants ended: group %v", got)
	}

	// bob is a standing member of group 1.
	ic := iam.NewFromConfig(m.AWSConfig(t))
	if _, err := ic.AddUserToGroup(context.Background(), &iam.AddUserToGroupInput{GroupName: aws.String(g1), UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	r3 := ask(t, bob, f.Flow, f.Targets[1], "1h")
	do(t, alice, "POST", "/requests/"+r3.ID+"/approve", nil, 200)
	if e := do(t, bob, "POST", "/requests/"+r3.ID+"/revoke", nil, 200); e.State != "ended" {
		t.Fatalf("standing member's revoke: %s", e.State)
	}
	if got := members(t, m, g1); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("sym removed a standing member: group %v", got)
	}
}

// TestDeadlineWithoutScheduledDeescalation: schedule_deescalation = false
// means no automatic removal before max_duration, not access forever.
func TestDeadlineWithoutScheduledDeescalation(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Params: map[string]any{"schedule_deescalation": false}, Vars: map[string]string{"max_duration": "2s"}})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	r := ask(t, alice, f.Flow, f.Targets[0], "2s")
	approved := time.Now()
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.Deadline == nil || a.Deadline.Sub(approved) > 3*time.Second {
		t.Fatalf("deadline %v; want max_duration (2s) after approval", a.Deadline)
	}
	waitState(t, alice, r.ID, "ended", 10*time.Second)
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group after max_duration: %v", got)
	}
}

// TestMissingIAMUserErrorsAtOnce: a requester whose IAM user does not exist
// cannot be granted anything; sym says so at once, without retries, and
// records nothing open.
func TestMissingIAMUserErrorsAtOnce(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	ctx := context.Background()
	if err := f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "carol@example.com", "role": "member",
		"identities": map[string]string{"aws_iam": "carol"}}, nil); err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	if err := f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "carol@example.com"}, &tok); err != nil {
		t.Fatal(err)
	}
	carol := api.NewClient(srv.URL, tok.Token)
	r := ask(t, carol, f.Flow, f.Targets[0], "1h")
	before := fp.Counts()
	a := do(t, f.Users["bob@example.com"], "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "errored" || !strings.Contains(a.Error, "carol does not exist") {
		t.Fatalf("grant to a missing IAM user: %s %q", a.State, a.Error)
	}
	after := fp.Counts()
	iamCalls := 0
	for _, op := range []string{"ListGroupsForUser", "AddUserToGroup", "GetGroup", "RemoveUserFromGroup"} {
		iamCalls += after[op] - before[op]
	}
	// One read of the group (its path and members), one AddUserToGroup that
	// AWS refuses: no retries, no removal of what was never granted.
	if iamCalls != 2 || after["AddUserToGroup"]-before["AddUserToGroup"] != 1 {
		t.Fatalf("%d IAM calls for a user that does not exist (%v -> %v), want 2 (GetGroup, AddUserToGroup): no retries", iamCalls, before, after)
	}
}
