package server_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestThrottledGrantIsRetried throttles AddUserToGroup twice: the grant
// must still land, through the server's own retry policy.
func TestThrottledGrantIsRetried(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	fp.Add(testenv.Fault{Action: "AddUserToGroup", Status: 400, Code: "Throttling", Times: 2})
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	r := ask(t, f.Users["alice@example.com"], f.Flow, f.Targets[0], "1h")
	a := do(t, f.Users["bob@example.com"], "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "active" {
		t.Fatalf("throttled grant: state %s error %q, want active after retries", a.State, a.Error)
	}
	if attempts := fp.Seen("AddUserToGroup"); attempts != 3 {
		t.Fatalf("AddUserToGroup reached AWS %d times, want 3 (two throttled, one through); seen %v", attempts, fp.Counts())
	}
	if got := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("group members: %v", got)
	}
	var evs []event
	if err := f.Admin.Do(t.Context(), "GET", "/requests/"+r.ID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if strings.Contains(e.Type, "error") {
			t.Fatalf("a retried grant must not log an error event: %v", evs)
		}
	}
}

// TestFailedRevocationIsVisibleAndRetried makes RemoveUserFromGroup fail
// twice: the revoke says so (502), the request is removing with the error
// and a deescalate_failed audit event, and the server keeps trying until the user
// is out of the group. A removal never fails silently.
func TestFailedRevocationIsVisibleAndRetried(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice := f.Users["alice@example.com"]
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, f.Users["bob@example.com"], "POST", "/requests/"+r.ID+"/approve", nil, 200)

	if !strings.Contains(metrics(t, srv.URL), "\nsym_deescalation_failures_total 0\n") {
		t.Fatal("a failed removal counted before any removal")
	}
	// Each failure outlasts the SDK's own 5 attempts.
	fp.Add(testenv.Fault{Action: "RemoveUserFromGroup", Status: 400, Code: "Throttling", Times: 10})
	err := alice.Do(t.Context(), "POST", "/requests/"+r.ID+"/revoke", nil, nil)
	if api.StatusOf(err) != 502 || !strings.Contains(err.Error(), "will be retried") {
		t.Fatalf("revoke while AWS fails: %v, want 502 saying it will be retried", err)
	}
	got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200)
	if got.State != "removing" || !strings.Contains(got.DeescalateError, "Throttling") {
		t.Fatalf("after a failed removal: state %s, deescalate_error %q", got.State, got.DeescalateError)
	}
	if members := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(members, []string{"alice"}) {
		t.Fatalf("group members while removal fails: %v", members)
	}
	// What an operator alerts on (docs/operations.md) moved.
	body := metrics(t, srv.URL)
	if !regexp.MustCompile(`\nsym_deescalation_failures_total [1-9]`).MatchString(body) ||
		!regexp.MustCompile(`\nsym_access_attempts_total\{op="remove",outcome="error"\} [1-9]`).MatchString(body) {
		t.Errorf("a failed removal is not in /metrics:\n%s", strings.Join(append(linesWith(body, "sym_deescalation_failures"), linesWith(body, `op="remove"`)...), "\n"))
	}
	// AWS recovers; the retry finishes the job without anyone asking again.
	fp.Clear()
	ended := waitState(t, alice, r.ID, "ended", 90*time.Second)
	if ended.DeescalateError != "" || ended.DeescalateType != "revoke" {
		t.Fatalf("ended with deescalate_error %q type %q", ended.DeescalateError, ended.DeescalateType)
	}
	if members := testenv.GroupMembers(t, m, f.Groups[0]); len(members) != 0 {
		t.Fatalf("group members after the retried removal: %v", members)
	}
	types := eventTypes(t, alice, r.ID)
	if !slices.Contains(types, "deescalate_failed") || types[len(types)-1] != "deescalate" {
		t.Fatalf("audit events %v: want deescalate_failed, then deescalate last", types)
	}
}
