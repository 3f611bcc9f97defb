package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

type req struct {
	ID              string     `json:"id"`
	State           string     `json:"state"`
	Error           string     `json:"error"`
	Deadline        *time.Time `json:"deadline"`
	EndedAt         *time.Time `json:"ended_at"`
	DeescalateType  string     `json:"deescalate_type"`
	DeescalateError string     `json:"deescalate_error"`
}

type event struct {
	Type      string            `json:"type"`
	Actor     string            `json:"actor"`
	RequestID string            `json:"request_id"`
	Details   map[string]string `json:"details"`
}

func do(t *testing.T, c *api.Client, method, path string, in any, wantStatus int) *req {
	t.Helper()
	var out req
	err := c.Do(context.Background(), method, path, in, &out)
	if got := api.StatusOf(err); (wantStatus < 300 && err != nil) || (wantStatus >= 300 && got != wantStatus) {
		t.Fatalf("%s %s: want status %d, got %v", method, path, wantStatus, err)
	}
	return &out
}

func ask(t *testing.T, c *api.Client, flow, target, duration string) *req {
	t.Helper()
	return do(t, c, "POST", "/events/request", map[string]any{"flow": flow,
		"flow_inputs": map[string]any{"target_id": target, "reason": "investigate incident 42", "duration": duration}}, 201)
}

func waitState(t *testing.T, c *api.Client, id, state string, limit time.Duration) *req {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := do(t, c, "GET", "/requests/"+id, nil, 200)
		if r.State == state {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s after %s, want %s", id, r.State, limit, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func eventTypes(t *testing.T, c *api.Client, requestID string) []string {
	t.Helper()
	var evs []event
	if err := c.Do(context.Background(), "GET", "/requests/"+requestID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return types
}

// TestAccessFlowEndToEnd runs the whole flow against moto: request, approve,
// membership in IAM, removal at expiry; revoke; deny; the audit trail; and
// the rules about who may do what.
func TestAccessFlowEndToEnd(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Users: []string{"alice@example.com", "bob@example.com", "carol@example.com"},
		Vars:  map[string]string{"approvers": "bob@example.com, carol@example.com"},
	})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	group := f.Groups[0]

	t.Run("approve grants, expiry removes", func(t *testing.T) {
		r := ask(t, alice, f.Flow, f.Targets[0], "3s")
		if r.State != "pending" {
			t.Fatalf("new request is %s, want pending", r.State)
		}
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group has %v before approval", got)
		}
		do(t, alice, "POST", "/requests/"+r.ID+"/approve", nil, 403) // self-approval
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", map[string]string{"message": "ok"}, 200)
		if a.State != "active" {
			t.Fatalf("approved request is %s (%s), want active", a.State, a.Error)
		}
		if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("group members during the grant: %v, want [alice]", got)
		}
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 409) // twice
		do(t, bob, "POST", "/requests/"+r.ID+"/deny", nil, 409)    // too late
		ended := waitState(t, alice, r.ID, "ended", 10*time.Second)
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after expiry: %v, want none", got)
		}
		if ended.EndedAt.Before(*ended.Deadline) {
			t.Fatalf("access ended at %s, before its deadline %s", ended.EndedAt, ended.Deadline)
		}
		if ended.DeescalateType != "scheduled" {
			t.Fatalf("deescalate_type %q, want scheduled", ended.DeescalateType)
		}
		want := []string{"request", "approve", "escalate", "deescalate"}
		if got := eventTypes(t, alice, r.ID); !slices.Equal(got, want) {
			t.Fatalf("audit events %v, want %v", got, want)
		}
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 409) // already ended
	})

	t.Run("revoke removes early", func(t *testing.T) {
		r := ask(t, alice, f.Flow, f.Targets[0], "1h")
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 409) // pending: deny instead
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("group members during the grant: %v", got)
		}
		v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		if v.State != "ended" || v.DeescalateType != "revoke" {
			t.Fatalf("after revoke: state %s type %s", v.State, v.DeescalateType)
		}
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after revoke: %v", got)
		}
		want := []string{"request", "approve", "escalate", "revoke", "deescalate"}
		if got := eventTypes(t, alice, r.ID); !slices.Equal(got, want) {
			t.Fatalf("audit events %v, want %v", got, want)
		}
	})

	t.Run("changes after approval do not strand a grant", func(t *testing.T) {
		ctx := context.Background()
		r := ask(t, alice, f.Flow, f.Targets[0], "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		var targets []struct{ ID string }
		if err := f.Admin.Do(ctx, "GET", "/entities/access-targets?slug="+f.Targets[0], nil, &targets); err != nil || len(targets) != 1 {
			t.Fatalf("find target: %v", err)
		}
		// Nothing an active grant depends on can be deleted.
		err := f.Admin.Do(ctx, "DELETE", "/entities/flows/"+f.FlowID, nil, nil)
		if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), "in use by active request "+r.ID) {
			t.Fatalf("DELETE the flow during a grant: %v, want 409 naming the request", err)
		}
		err = f.Admin.Do(ctx, "DELETE", "/entities/access-targets/"+targets[0].ID, nil, nil)
		if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), "strategy prod-iam (targets)") {
			t.Fatalf("DELETE the target during a grant: %v, want 409 naming the strategy", err)
		}
		// The target now names another group, and alice's identity changed:
		// the removal still undoes exactly what the grant did.
		if err := f.Admin.Do(ctx, "PATCH", "/entities/access-targets/"+targets[0].ID, map[string]any{"settings": map[string]string{"iam_group": "elsewhere"}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.Admin.Do(ctx, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{"aws_iam": "alice-renamed"}}, nil); err != nil {
			t.Fatal(err)
		}
		v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		if v.State != "ended" {
			t.Fatalf("revoke after changes: %s %s", v.State, v.DeescalateError)
		}
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after revoke: %v", got)
		}
		if err := f.Admin.Do(ctx, "PATCH", "/entities/access-targets/"+targets[0].ID, map[string]any{"settings": map[string]string{"iam_group": group}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.Admin.Do(ctx, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{"aws_iam": "alice"}}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("deny leaves the group alone", func(t *testing.T) {
		r := ask(t, alice, f.Flow, f.Targets[0], "1h")
		d := do(t, f.Users["carol@example.com"], "POST", "/requests/"+r.ID+"/deny", map[string]string{"message": "not now"}, 200)
		if d.State != "denied" {
			t.Fatalf("state %s, want denied", d.State)
		}
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 409)
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after deny: %v", got)
		}
		if got, want := eventTypes(t, alice, r.ID), []string{"request", "deny"}; !slices.Equal(got, want) {
			t.Fatalf("audit events %v, want %v", got, want)
		}
	})

	t.Run("an approver never approves a grant to their own IAM user", func(t *testing.T) {
		// A second account mapped to bob's IAM user: its request is bob's
		// own in all that AWS sees, so bob may not decide it (the flow does
		// not set allow_self_approval); carol may.
		ctx := context.Background()
		if err := f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "bob-second@example.com",
			"identities": map[string]string{"aws_iam": "bob"}}, nil); err != nil {
			t.Fatal(err)
		}
		var tok struct{ Token string }
		if err := f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "bob-second@example.com"}, &tok); err != nil {
			t.Fatal(err)
		}
		second := api.NewClient(srv.URL, tok.Token)
		r := ask(t, second, f.Flow, f.Targets[0], "1h")
		err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, nil)
		if api.StatusOf(err) != 403 || !strings.Contains(err.Error(), "aws_iam") {
			t.Fatalf("bob approving a grant to his own IAM user: %v; want 403 naming the identity", err)
		}
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after a refused approval: %v", got)
		}
		if a := do(t, f.Users["carol@example.com"], "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
			t.Fatalf("carol's approval: %s (%s), want active", a.State, a.Error)
		}
		if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, []string{"bob"}) {
			t.Fatalf("group members during the grant: %v, want [bob]", got)
		}
		if err := f.Admin.Do(ctx, "DELETE", "/users/bob-second@example.com", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
			t.Fatalf("group members after the second account was deleted: %v", got)
		}
	})

	t.Run("only listed approvers", func(t *testing.T) {
		// bob asks; alice is not in the flow's approvers, so she does not
		// even see the request (404, as if it did not exist).
		r := ask(t, bob, f.Flow, f.Targets[0], "1h")
		do(t, alice, "POST", "/requests/"+r.ID+"/approve", nil, 404)
		do(t, alice, "POST", "/requests/"+r.ID+"/deny", nil, 404)
		do(t, alice, "GET", "/requests/"+r.ID, nil, 404)
		if got := do(t, bob, "GET", "/requests/"+r.ID, nil, 200); got.State != "pending" {
			t.Fatalf("state %s after refused approvals, want pending", got.State)
		}
	})

	t.Run("a failing grant ends errored with the AWS error", func(t *testing.T) {
		ctx := context.Background()
		var tgt struct{ ID string }
		if err := f.Admin.Do(ctx, "POST", "/entities/access-targets", map[string]any{"type": "aws_iam_group", "slug": "ghost",
			"settings": map[string]string{"iam_group": "no-such-group"}}, &tgt); err != nil {
			t.Fatal(err)
		}
		var strategies []struct {
			ID      string   `json:"id"`
			Targets []string `json:"targets"`
		}
		if err := f.Admin.Do(ctx, "GET", "/entities/access-strategies?slug=prod-iam", nil, &strategies); err != nil || len(strategies) != 1 {
			t.Fatalf("look up strategy: %v %v", err, strategies)
		}
		if err := f.Admin.Do(ctx, "PATCH", "/entities/access-strategies/"+strategies[0].ID,
			map[string]any{"targets": append(strategies[0].Targets, tgt.ID)}, nil); err != nil {
			t.Fatal(err)
		}
		r := ask(t, alice, f.Flow, "ghost", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "errored" || a.Error == "" {
			t.Fatalf("state %s error %q, want errored with the AWS error", a.State, a.Error)
		}
		if got, want := eventTypes(t, alice, r.ID), []string{"request", "approve", "error"}; !slices.Equal(got, want) {
			t.Fatalf("audit events %v, want %v", got, want)
		}
	})

	t.Run("unanswered requests expire", func(t *testing.T) {
		ctx := context.Background()
		if err := f.Admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"vars": map[string]string{
			"approvers": "bob@example.com", "request_timeout": "1s"}}, nil); err != nil {
			t.Fatal(err)
		}
		r := ask(t, alice, f.Flow, f.Targets[0], "1h")
		waitState(t, alice, r.ID, "expired", 5*time.Second)
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 409)
		if got, want := eventTypes(t, alice, r.ID), []string{"request", "expire"}; !slices.Equal(got, want) {
			t.Fatalf("audit events %v, want %v", got, want)
		}
	})
}

// TestWarmGrantCostsTwoCalls checks the credential cache: the first grant
// assumes both roles, later grants reuse them. A grant costs two IAM calls:
// one GetGroup, whose group path is checked against --allowed-group-paths
// and whose members say whether the user is a standing member (recorded in
// the ledger intent), then the AddUserToGroup.
func TestWarmGrantCostsTwoCalls(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	calls := srv.Chain.Calls()
	for i, want := range []int64{4, 2} {
		r := ask(t, alice, f.Flow, f.Targets[i], "1h")
		before := calls.Total()
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if got := calls.Total() - before; got != want {
			t.Fatalf("grant %d made %d AWS calls (%v), want %d", i+1, got, calls.Snapshot(), want)
		}
	}
	// Where the two grants' time went, by phase (sym_grant_phase_seconds):
	// each phase once per grant, and together no more than the grants took.
	sums, counts := grantPhases(t, srv.URL)
	phases := 0.0
	for _, p := range []string{"read", "intent", "aws", "record"} {
		if counts[p] != 2 || sums[p] <= 0 {
			t.Errorf("phase %s: %v observations summing to %v s, want 2 and more than 0", p, counts[p], sums[p])
		}
		phases += sums[p]
	}
	if phases > sums["all"] {
		t.Errorf("the phases sum to %.4f s, more than the grants took (%.4f s)", phases, sums["all"])
	}
	_ = engine.DefaultDuration
}
