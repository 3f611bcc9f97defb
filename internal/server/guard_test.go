package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestGuardRailsHoldEndToEnd points the IAM connector context at roles the
// runtime must never assume and expects the platform to refuse before any
// AWS call (moto itself would happily assume anything). Calls are counted
// where they would reach AWS (a proxy in front of moto), and the same path
// with an allowed role is counted too: a count that stays at zero proves
// something only if the path does call AWS when allowed. Creating a request
// calls AWS with no role (measured: 0 calls through the allowed role), so
// a zero count there could never fail; what the request path must show is
// that a refused role stores nothing, against the allowed role's request,
// which is stored. The grant path does call AWS when allowed, and there the
// count is the proof.
func TestGuardRailsHoldEndToEnd(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	ctx := context.Background()
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	var contexts []struct {
		ID string `json:"id"`
	}
	if err := f.Admin.Do(ctx, "GET", "/entities/integrations?slug=prod-iam-context&type=permission_context", nil, &contexts); err != nil || len(contexts) != 1 {
		t.Fatalf("find IAM context: %v", err)
	}
	setRole := func(arn string) {
		t.Helper()
		if err := f.Admin.Do(ctx, "PATCH", "/entities/integrations/"+contexts[0].ID, map[string]any{"settings": map[string]string{
			"cloud": "aws", "region": "us-east-1", "role_arn": arn}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	refused := []struct{ role, says string }{
		{"arn:aws:iam::123456789012:role/Administrator", "not under the path /sym/"},
		{"arn:aws:iam::999999999999:role/sym/SymIamProd", "neither the runtime's account"},
	}
	stored := func() int {
		t.Helper()
		var mine []req
		if err := alice.Do(ctx, "GET", "/requests", nil, &mine); err != nil {
			t.Fatal(err)
		}
		return len(mine)
	}
	for _, c := range refused {
		setRole(c.role)
		before, had := fp.Seen("*"), stored()
		err := alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "x"}}, nil)
		if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), c.says) {
			t.Fatalf("request through %s: %v, want 409 saying %q", c.role, err, c.says)
		}
		if n := stored() - had; n != 0 {
			t.Fatalf("a request through refused role %s was stored (%d new)", c.role, n)
		}
		if n := fp.Seen("*") - before; n != 0 {
			t.Fatalf("%d AWS calls made for a refused role: %v", n, fp.Counts())
		}
	}
	// The control: through the allowed role the same request is stored.
	setRole(f.IAMRole)
	had := stored()
	ctl := ask(t, alice, f.Flow, f.Targets[0], "1h")
	if ctl.State != "pending" || stored() != had+1 {
		t.Fatalf("request through the allowed role: %s, %d stored, had %d", ctl.State, stored(), had)
	}
	do(t, alice, "POST", "/requests/"+ctl.ID+"/withdraw", nil, 200)

	// Roles changed between request and approval are refused at grant
	// time, before any call; the allowed role, on the same path, calls AWS.
	for _, c := range append(refused, struct{ role, says string }{f.IAMRole, ""}) {
		setRole(f.IAMRole)
		r := ask(t, alice, f.Flow, f.Targets[0], "1h")
		setRole(c.role)
		before := fp.Seen("*")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		n := fp.Seen("*") - before
		if c.says == "" {
			if a.State != "active" || n == 0 {
				t.Fatalf("approve through the allowed role: state %s after %d AWS calls", a.State, n)
			}
			do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
			continue
		}
		if a.State != "errored" || !strings.Contains(a.Error, c.says) {
			t.Fatalf("approve through %s: state %s error %q", c.role, a.State, a.Error)
		}
		if n != 0 {
			t.Fatalf("%d AWS calls made for refused role %s: %v", n, c.role, fp.Counts())
		}
		if got := testenv.GroupMembers(t, m, f.Groups[0]); len(got) != 0 {
			t.Fatalf("group has %v", got)
		}
	}
}
