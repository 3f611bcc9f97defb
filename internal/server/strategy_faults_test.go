package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// The faults of ledger_test.go, tried on aws_sso and aws_lambda grants: an
// outcome that is unknown counts as landed until a removal is confirmed,
// whatever a later answer says; a request that may hold access never reads
// errored or ended; removals go through what the grant pinned.

// lambdaAnswer is what the test's Lambda endpoint does with one invocation:
// escalations and de-escalations are counted apart, per request.
type lambdaAnswer func(event string, n int, w http.ResponseWriter, r *http.Request)

func answerOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"body": {"ok": true}, "errors": []}`))
}

// answerErrors is the function refusing the step with one message.
func answerErrors(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"body": null, "errors": [` + strconv.Quote(msg) + `]}`))
}

// lambdaEvents are the events the function received for one request, in
// order: each one's event.type and, for a de-escalation, its deescalate_type.
func lambdaEvents(t *testing.T, f *testenv.FakeLambda, requestID string) []string {
	t.Helper()
	var out []string
	for _, b := range f.Payloads() {
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("payload is not JSON: %s", b)
		}
		if at(p, "run.srn") != "srn:default:flow_run:"+requestID {
			continue
		}
		ev, _ := at(p, "event.type").(string)
		if typ, _ := at(p, "fields.deescalate_type").(string); typ != "" {
			ev += ":" + typ
		}
		out = append(out, ev)
	}
	return out
}

// ledgerStatuses are the statuses of a request's ledger entries, oldest
// first.
func ledgerStatuses(t *testing.T, srv *testenv.Server, requestID string) []string {
	t.Helper()
	es, err := srv.Engine.Ledger().ForRequest(context.Background(), requestID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, string(e.Status))
	}
	return out
}

// TestStrategyFaults breaks aws_sso and aws_lambda grants and removals the
// way ledger_test.go breaks aws_iam ones, through one server in front of
// moto (the fault proxy) and the test's Lambda endpoint.
func TestStrategyFaults(t *testing.T) {
	// The SSO and Lambda connector roles are checked before every grant,
	// and pass unless a subtest refuses them.
	var refuseConnectors atomic.Bool
	o := setupOtherStrategiesOn(t, testenv.ServerOptions{
		Engine: engine.Options{RetryBase: 20 * time.Millisecond, RemoveRetryBase: 100 * time.Millisecond,
			RetryCap: 500 * time.Millisecond, VerifyEvery: time.Nanosecond},
		ConnectorVerifier: func(aws.Config) func(context.Context, string, string, string) error {
			return func(_ context.Context, typ, _, role string) error {
				if refuseConnectors.Load() {
					return &awsauth.GuardError{Reason: "the " + typ + " connector role " + role + " is not what its module promises: inline policy Convenience"}
				}
				return nil
			}
		}})
	alice, bob := o.alice, o.bob
	ctx := context.Background()

	// The function's answer, and how many events of each type it got per
	// request (n counts from 1).
	var answer atomic.Pointer[lambdaAnswer]
	var countMu sync.Mutex
	counts := map[string]int{}
	setAnswer := func(a lambdaAnswer) { answer.Store(&a) }
	o.fake.Answer = func(_ int, payload []byte, w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		_ = json.Unmarshal(payload, &p)
		ev, _ := at(p, "event.type").(string)
		srn, _ := at(p, "run.srn").(string)
		countMu.Lock()
		counts[srn+" "+ev]++
		n := counts[srn+" "+ev]
		countMu.Unlock()
		(*answer.Load())(ev, n, w, r)
	}
	t.Run("lambda: an errors answer after an escalation without answer still de-escalates", func(t *testing.T) {
		// The first escalation times out (the function may have granted
		// and be slow to say so); the second answers with errors, as a
		// function that is not idempotent does for access it already gave.
		// The errors say nothing about the first call: sym must
		// de-escalate before it says the request errored.
		setAnswer(func(ev string, n int, w http.ResponseWriter, r *http.Request) {
			switch {
			case ev == "escalate" && n == 1:
				<-r.Context().Done()
			case ev == "escalate":
				answerErrors(w, "database user alice already exists")
			default:
				answerOK(w)
			}
		})
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "errored" || !strings.Contains(a.Error, "database user alice already exists") {
			t.Fatalf("request after a timeout and an errors answer: %s %q", a.State, a.Error)
		}
		if got, want := lambdaEvents(t, o.fake, r.ID), []string{"escalate", "escalate", "deescalate:cleanup"}; !slices.Equal(got, want) {
			t.Fatalf("the function got %v, want %v: what the escalation that timed out may have granted was never taken back", got, want)
		}
		if got := ledgerStatuses(t, o.srv, r.ID); !slices.Equal(got, []string{"removed"}) {
			t.Fatalf("ledger entry %v, want [removed]", got)
		}
	})

	t.Run("lambda: a function that does not exist errors the request at once", func(t *testing.T) {
		setAnswer(func(ev string, n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"Type":"User","Message":"Function not found: ` + o.fnARN + `"}`))
		})
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "errored" || !strings.Contains(a.Error, o.fnARN) || !strings.Contains(a.Error, "does not exist") {
			t.Fatalf("a grant through a function that does not exist: %s %q (deescalate_error %q), want errored naming the function",
				a.State, a.Error, a.DeescalateError)
		}
		if got := lambdaEvents(t, o.fake, r.ID); !slices.Equal(got, []string{"escalate"}) {
			t.Fatalf("the function got %v, want one escalation: nothing ran, so there is nothing to retry or undo", got)
		}
		if got := ledgerStatuses(t, o.srv, r.ID); !slices.Equal(got, []string{"not_granted"}) {
			t.Fatalf("ledger entry %v, want [not_granted]", got)
		}
	})

	t.Run("lambda: a de-escalation that fails (function error, then no answer) is retried, never ended", func(t *testing.T) {
		setAnswer(func(ev string, n int, w http.ResponseWriter, r *http.Request) {
			switch {
			case ev == "deescalate" && n == 1:
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				_, _ = w.Write([]byte(`{"errorMessage":"database unreachable","errorType":"OSError"}`))
			case ev == "deescalate" && n == 2:
				<-r.Context().Done()
			default:
				answerOK(w)
			}
		})
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		// The revoke answers at once that removal failed and will be retried.
		_ = alice.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, nil)
		if got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "removing" && got.State != "ended" {
			t.Fatalf("after a failed de-escalation the request is %s", got.State)
		} else if got.State == "removing" && !strings.Contains(got.DeescalateError, "database unreachable") && !strings.Contains(got.DeescalateError, "no answer") {
			t.Fatalf("removing with deescalate_error %q", got.DeescalateError)
		}
		waitState(t, alice, r.ID, "ended", 20*time.Second)
		if got, want := lambdaEvents(t, o.fake, r.ID), []string{"escalate", "deescalate:revoke", "deescalate:revoke", "deescalate:revoke"}; !slices.Equal(got, want) {
			t.Fatalf("the function got %v, want %v (a function error, a timeout, then success)", got, want)
		}
		types := eventTypes(t, alice, r.ID)
		if !slices.Equal(types, []string{"request", "approve", "escalate", "revoke", "deescalate_failed", "deescalate"}) {
			t.Fatalf("audit events %v", types)
		}
	})
	setAnswer(func(_ string, _ int, w http.ResponseWriter, _ *http.Request) { answerOK(w) })

	t.Run("lambda: a refused connector role invokes nothing", func(t *testing.T) {
		// The check runs when the grant is already recorded: the refusal
		// proves that nothing ran, and sym calls nothing through a role it
		// refuses (a de-escalation of a run never escalated can fail for
		// ever in a function that checks its runs).
		refuseConnectors.Store(true)
		defer refuseConnectors.Store(false)
		setAnswer(func(ev string, _ int, w http.ResponseWriter, _ *http.Request) {
			if ev == "deescalate" {
				answerErrors(w, "no access was granted for this run")
				return
			}
			answerOK(w)
		})
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "errored" || !strings.Contains(a.Error, "inline policy Convenience") {
			t.Fatalf("a grant through a refused connector role: %s %q (deescalate_error %q), want errored with the refusal", a.State, a.Error, a.DeescalateError)
		}
		if got := lambdaEvents(t, o.fake, r.ID); len(got) != 0 {
			t.Fatalf("the function got %v through a role sym refused", got)
		}
		if got := ledgerStatuses(t, o.srv, r.ID); !slices.Equal(got, []string{"not_granted"}) {
			t.Fatalf("ledger entry %v, want [not_granted]", got)
		}
	})
	setAnswer(func(_ string, _ int, w http.ResponseWriter, _ *http.Request) { answerOK(w) })

	t.Run("lambda: two overlapping requests are each de-escalated", func(t *testing.T) {
		// What a function grants is its own business: it may key it by the
		// run (run.srn), as functions written for the original may. Each
		// escalated run gets its de-escalation, as the original sends it.
		first := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+first.ID+"/approve", nil, 200)
		second := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+second.ID+"/approve", nil, 200)
		do(t, alice, "POST", "/requests/"+first.ID+"/revoke", nil, 200)
		if got := lambdaEvents(t, o.fake, first.ID); !slices.Equal(got, []string{"escalate", "deescalate:revoke"}) {
			t.Fatalf("the first run's events %v: its de-escalation was never sent (ledger %v)", got, ledgerStatuses(t, o.srv, first.ID))
		}
		do(t, alice, "POST", "/requests/"+second.ID+"/revoke", nil, 200)
		if got := lambdaEvents(t, o.fake, second.ID); !slices.Equal(got, []string{"escalate", "deescalate:revoke"}) {
			t.Fatalf("the second run's events %v", got)
		}
	})

	t.Run("sso: FAILED whose clean-up fails does not read errored while the assignment stays", func(t *testing.T) {
		// Identity Center answers FAILED, yet the assignment is listed (moto
		// made it behind the rewritten answers), and removing it fails.
		const reason = "Received a 404 status error: Not supported policy"
		faults := []*testenv.Fault{
			o.proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			o.proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: testenv.AssignmentStatus("FAILED", reason)}),
			o.proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Status: 500}),
		}
		defer o.proxy.Clear()
		r := ask(t, alice, "sso-access", "readonly", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		held := o.sso.Assigned(t, ssoAccount)
		if len(held) > 0 && a.State != "active" && a.State != "removing" {
			t.Fatalf("alice holds the assignment %v and the request is %s (%q), ledger %v: want a state that holds access",
				held, a.State, a.Error, ledgerStatuses(t, o.srv, r.ID))
		}
		for _, f := range faults {
			o.proxy.Remove(f)
		}
		if a.State == "active" {
			do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		}
		deadline := time.Now().Add(15 * time.Second)
		for got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "ended" && got.State != "errored"; got = do(t, alice, "GET", "/requests/"+r.ID, nil, 200) {
			if time.Now().After(deadline) {
				t.Fatalf("request is still %s", got.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after the request ended: %v", got)
		}
	})

	t.Run("sso: a lost CreateAccountAssignment reply", func(t *testing.T) {
		// The creation lands, its reply is lost; the SDK's retry creates it
		// again (moto keeps both copies). Revoke leaves none.
		f := o.proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", DropReply: true, Times: 1})
		defer o.proxy.Clear()
		r := ask(t, alice, "sso-access", "readonly", "1h")
		if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
			t.Fatalf("after a lost reply: %s %q", a.State, a.Error)
		}
		if o.proxy.Taken(f) != 1 {
			t.Fatal("the fault never took the creation")
		}
		if got := o.sso.Assigned(t, ssoAccount); len(got) == 0 {
			t.Fatal("no assignment while active")
		}
		if v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" {
			t.Fatalf("revoke: %s %s", v.State, v.DeescalateError)
		}
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after revoke: %v", got)
		}
	})

	t.Run("sso: a deletion whose status cannot be read is retried until confirmed", func(t *testing.T) {
		r := ask(t, alice, "sso-access", "readonly", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		f1 := o.proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := o.proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentDeletionStatus", Status: 403, Code: "AccessDeniedException"})
		defer o.proxy.Clear()
		_ = alice.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, nil)
		if got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "removing" || got.DeescalateError == "" {
			t.Fatalf("a deletion whose outcome is unknown: request %s (deescalate_error %q), want removing", got.State, got.DeescalateError)
		}
		o.proxy.Remove(f1)
		o.proxy.Remove(f2)
		waitState(t, alice, r.ID, "ended", 15*time.Second)
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after the removal was confirmed: %v", got)
		}
	})

	t.Run("changes to the entities during a grant do not redirect its removal", func(t *testing.T) {
		find := func(kind, slug string) string {
			t.Helper()
			var found []struct{ ID string }
			if err := o.iam.Admin.Do(ctx, "GET", "/entities/"+kind+"?slug="+slug, nil, &found); err != nil || len(found) != 1 {
				t.Fatalf("find %s %s: %v", kind, slug, err)
			}
			return found[0].ID
		}
		patch := func(kind, id string, body map[string]any) {
			t.Helper()
			if err := o.iam.Admin.Do(ctx, "PATCH", "/entities/"+kind+"/"+id, body, nil); err != nil {
				t.Fatalf("PATCH %s %s: %v", kind, id, err)
			}
		}
		var mu sync.Mutex
		var paths []string
		setAnswer(func(_ string, _ int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			answerOK(w)
		})
		ps := ask(t, alice, "sso-access", "readonly", "1h")
		grp := ask(t, alice, "sso-access", "oncall", "1h")
		fn := ask(t, alice, "lambda-access", "db-access", "1h")
		for _, r := range []*req{ps, grp, fn} {
			if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
				t.Fatalf("grant %s: %s %q", r.ID, a.State, a.Error)
			}
		}
		// Every entity the grants went through now says something else:
		// the targets, the strategies' contexts, alice's identities.
		patch("access-targets", find("access-targets", "readonly"), map[string]any{"settings": map[string]string{
			"permission_set_arn": "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000", "account_id": "444455556666"}})
		patch("access-targets", find("access-targets", "oncall"), map[string]any{"settings": map[string]string{"group_id": "00000000-0000-0000-0000-000000000000"}})
		patch("access-targets", find("access-targets", "db-access"), map[string]any{"settings": map[string]string{
			"arn": "arn:aws:lambda:us-east-1:123456789012:function:somewhere-else"}})
		for _, slug := range []string{"prod-sso", "prod-lambda"} {
			patch("integrations", find("integrations", slug), map[string]any{"settings": map[string]string{"cloud": "aws", "region": "us-east-1",
				"role_arn": "arn:aws:iam::123456789012:role/sym/SymElsewhere", "account_id": testenv.MotoAccount}})
		}
		if err := o.iam.Admin.Do(ctx, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{
			"aws_iam": "alice", "aws_sso": "somebody-else"}}, nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*req{ps, grp, fn} {
			if v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" {
				t.Fatalf("revoke %s after the changes: %s %s", r.ID, v.State, v.DeescalateError)
			}
		}
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after revoke: %v", got)
		}
		if got := o.sso.Members(t); len(got) != 0 {
			t.Fatalf("group members after revoke: %v", got)
		}
		mu.Lock()
		got := slices.Clone(paths)
		mu.Unlock()
		want := "/2015-03-31/functions/" + o.fnARN + "/invocations"
		if len(got) != 2 || got[0] != want || got[1] != want {
			t.Fatalf("invocations went to %v, want both to %s", got, want)
		}
		if evs := lambdaEvents(t, o.fake, fn.ID); !slices.Equal(evs, []string{"escalate", "deescalate:revoke"}) {
			t.Fatalf("the function got %v", evs)
		}
	})

	t.Run("lambda: an errors answer after a crash mid-escalation still de-escalates", func(t *testing.T) {
		// The server dies with the escalation sent and not answered (the
		// ledger entry intended, the request approved). Started again, the
		// function answers errors: what the first call may have done is
		// undone before the request reads errored.
		setAnswer(func(_ string, _ int, w http.ResponseWriter, _ *http.Request) { answerOK(w) })
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if err := o.srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		crashBeforeRecorded(t, o.srv.DB, r.ID)
		setAnswer(func(ev string, _ int, w http.ResponseWriter, _ *http.Request) {
			if ev == "escalate" {
				answerErrors(w, "database user alice already exists")
				return
			}
			answerOK(w)
		})
		again := testenv.StartServerWith(t, testenv.ServerOptions{Moto: o.moto, AWSEndpoint: o.fake.URL, DB: o.srv.DB,
			Engine: engine.Options{RetryBase: 20 * time.Millisecond, RemoveRetryBase: 100 * time.Millisecond, RetryCap: 500 * time.Millisecond}})
		admin := api.NewClient(again.URL, again.AdminToken)
		done := waitState(t, admin, r.ID, "errored", 15*time.Second)
		if !strings.Contains(done.Error, "already exists") {
			t.Fatalf("errored with %q", done.Error)
		}
		if got, want := lambdaEvents(t, o.fake, r.ID), []string{"escalate", "escalate", "deescalate:cleanup"}; !slices.Equal(got, want) {
			t.Fatalf("the function got %v, want %v", got, want)
		}
		if got := ledgerStatuses(t, again, r.ID); !slices.Equal(got, []string{"removed"}) {
			t.Fatalf("ledger entry %v, want [removed]", got)
		}
	})
}
