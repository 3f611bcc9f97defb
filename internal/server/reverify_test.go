package server_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// TestAccessDeniedReverifiesAtOnce: a passed runtime verification is
// trusted for the verify interval (an hour here), but an AccessDenied from
// AWS during a grant drops that trust: the next attempt verifies again
// before it calls AWS. A grant without such an error does not.
func TestAccessDeniedReverifiesAtOnce(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	var checks atomic.Int64
	verifier := func(aws.Config) func(context.Context, map[string]string) error {
		return func(context.Context, map[string]string) error {
			checks.Add(1)
			return nil
		}
	}
	opt := engine.Options{GrantAttempts: 2, RetryBase: 20 * time.Millisecond, RetryCap: 100 * time.Millisecond, VerifyEvery: time.Hour}
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, Engine: opt, RuntimeVerifier: verifier})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 3})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]

	grant := func(target string) *req {
		t.Helper()
		r := ask(t, alice, f.Flow, target, "1h")
		return do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	}
	if a := grant(f.Targets[0]); a.State != "active" || checks.Load() != 1 {
		t.Fatalf("first grant: %s after %d verifications, want active after 1", a.State, checks.Load())
	}
	if a := grant(f.Targets[1]); a.State != "active" || checks.Load() != 1 {
		t.Fatalf("second grant within the interval: %s after %d verifications, want active after 1 (trusted)", a.State, checks.Load())
	}
	fp.Add(testenv.Fault{Action: "AddUserToGroup", Status: 403, Code: "AccessDenied", Times: 1})
	a := grant(f.Targets[2])
	if a.State != "active" || checks.Load() != 2 {
		t.Fatalf("grant after an AccessDenied: %s after %d verifications, want active after 2 (verified again at once)", a.State, checks.Load())
	}
	if !slices.Equal(members(t, m, f.Groups[2]), []string{"alice"}) || fp.Seen("AddUserToGroup") != 4 {
		t.Fatalf("group %v, AddUserToGroup seen %d times (want alice, 4)", members(t, m, f.Groups[2]), fp.Seen("AddUserToGroup"))
	}
}
