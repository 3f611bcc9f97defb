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
// AWS call (moto itself would happily assume anything).
func TestGuardRailsHoldEndToEnd(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
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
	for _, c := range []struct{ role, says string }{
		{"arn:aws:iam::123456789012:role/Administrator", "not under the path /sym/"},
		{"arn:aws:iam::999999999999:role/sym/SymIamProd", "neither the runtime's account"},
	} {
		setRole(c.role)
		before := srv.Chain.Calls().Total()
		err := alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "x"}}, nil)
		if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), c.says) {
			t.Fatalf("request through %s: %v, want 409 saying %q", c.role, err, c.says)
		}
		if n := srv.Chain.Calls().Total() - before; n != 0 {
			t.Fatalf("%d AWS calls made for a refused role", n)
		}
	}

	// A role changed between request and approval is refused at grant time.
	setRole(f.IAMRole)
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	setRole("arn:aws:iam::123456789012:role/Administrator")
	before := srv.Chain.Calls().Total()
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "errored" || !strings.Contains(a.Error, "guard rail") {
		t.Fatalf("approve through a non-/sym/ role: state %s error %q", a.State, a.Error)
	}
	if n := srv.Chain.Calls().Total() - before; n != 0 {
		t.Fatalf("%d AWS calls made for a refused role", n)
	}
	if got := testenv.GroupMembers(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group has %v", got)
	}
}
