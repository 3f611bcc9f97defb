package server_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestFlowRules checks what a flow's params and vars decide, on
// approval-only flows (no strategy, so no AWS).
func TestFlowRules(t *testing.T) {
	srv := testenv.StartServer(t)
	ctx := context.Background()
	admin := api.NewClient(srv.URL, srv.AdminToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var integ, rt, env struct{ ID string }
	must(admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "ctx",
		"settings": map[string]string{"role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", "external_id": "x"}}, &integ))
	must(admin.Do(ctx, "POST", "/entities/runtimes", map[string]any{"slug": "prod", "context_id": integ.ID}, &rt))
	must(admin.Do(ctx, "POST", "/entities/environments", map[string]any{"slug": "prod", "runtime_id": rt.ID}, &env))
	flow := func(name string, params map[string]any, vars map[string]string) {
		t.Helper()
		must(admin.Do(ctx, "POST", "/entities/flows", map[string]any{"slug": name, "environment_id": env.ID, "params": params, "vars": vars}, nil))
	}
	clients := map[string]*api.Client{}
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		must(admin.Do(ctx, "POST", "/users", map[string]any{"email": email}, nil))
		var tok struct{ Token string }
		must(admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": email}, &tok))
		clients[email] = api.NewClient(srv.URL, tok.Token)
	}
	alice, bob := clients["alice@example.com"], clients["bob@example.com"]
	request := func(flow string, inputs map[string]any) (*req, error) {
		var r req
		err := alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": flow, "flow_inputs": inputs}, &r)
		return &r, err
	}
	wantRefusal := func(err error, status int, says string) {
		t.Helper()
		if api.StatusOf(err) != status || !strings.Contains(err.Error(), says) {
			t.Fatalf("got %v, want %d saying %q", err, status, says)
		}
	}

	flow("approval-only", map[string]any{"prompt_fields": []map[string]any{
		{"name": "reason", "type": "string", "required": true},
		{"name": "duration", "type": "duration", "allowed_values": []string{"1h", "30m"}},
		{"name": "ticket", "type": "string", "required": true},
		{"name": "note", "type": "string", "required": false},
	}}, map[string]string{"allow_self_approval": "true", "approvers": "alice@example.com, bob@example.com"})
	_, err := request("approval-only", map[string]any{"reason": "x", "duration": "2h", "ticket": "T-1"})
	wantRefusal(err, 400, "not one of the flow's allowed durations (1h, 30m)")
	_, err = request("approval-only", map[string]any{"reason": "x", "duration": "1h"})
	wantRefusal(err, 400, "flow_inputs.ticket")
	r, err := request("approval-only", map[string]any{"reason": "x", "duration": "60m", "ticket": "T-1"})
	must(err)
	// Self-approval is allowed by this flow; nothing to grant, so it is active at once.
	a := do(t, alice, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "active" || a.Deadline == nil {
		t.Fatalf("approval-only approve: %+v", a)
	}
	if v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" {
		t.Fatalf("approval-only revoke: %s", v.State)
	}

	flow("no-revoke", map[string]any{"allow_revoke": false}, map[string]string{"max_duration": "2h", "approvers": "bob@example.com"})
	_, err = request("no-revoke", map[string]any{"reason": "x", "duration": "3h"})
	wantRefusal(err, 400, "longer than the flow's maximum of 2h0m0s")
	r, err = request("no-revoke", map[string]any{"reason": "x", "duration": "90m"})
	must(err)
	do(t, alice, "POST", "/requests/"+r.ID+"/approve", nil, 403) // no self-approval here
	do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	err = alice.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, nil)
	wantRefusal(err, 403, "does not allow revoking")

	flow("revoke-only", map[string]any{"schedule_deescalation": false}, map[string]string{"approvers": "bob@example.com"})
	r, err = request("revoke-only", map[string]any{"reason": "x"})
	must(err)
	// No scheduled de-escalation still ends access at max_duration (12h by
	// default), never "forever".
	if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.Deadline == nil ||
		a.Deadline.Sub(time.Now()) < 11*time.Hour || a.Deadline.Sub(time.Now()) > 12*time.Hour {
		t.Fatalf("schedule_deescalation = false must set the deadline to max_duration (12h), got %v", a.Deadline)
	}
	if v := do(t, bob, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" {
		t.Fatalf("revoke by an approver: %s", v.State)
	}

	// Prompt fields are read as their type: a JSON number, bool or list is
	// taken as such, text must read as the type, and allowed values hold.
	flow("typed", map[string]any{"prompt_fields": []map[string]any{
		{"name": "rows", "type": "int", "required": false},
		{"name": "read_only", "type": "bool", "required": false},
		{"name": "schemas", "type": "str_list", "required": false, "allowed_values": []string{"billing", "audit", "ops"}},
		{"name": "ids", "type": "int_list", "required": false},
		{"name": "env", "type": "string", "required": false, "allowed_values": []string{"prod", "staging"}},
		{"name": "batch", "type": "int", "required": false, "default": 1000000},
	}}, map[string]string{"approvers": "bob@example.com"})
	for _, c := range []struct {
		inputs map[string]any
		says   string
	}{
		{map[string]any{"rows": "abc"}, `flow_inputs.rows: must be a whole number, not "abc"`},
		{map[string]any{"rows": 1.5}, `flow_inputs.rows: must be a whole number, not "1.5"`},
		{map[string]any{"read_only": "maybe"}, `flow_inputs.read_only: must be true or false, not "maybe"`},
		{map[string]any{"ids": "1, x"}, `flow_inputs.ids: has the item "x", which is not a whole number`},
		{map[string]any{"env": "dev"}, `flow_inputs.env: "dev" is not one of the flow's allowed values (prod, staging)`},
		{map[string]any{"schemas": []any{"billing", "payroll"}}, `flow_inputs.schemas: has the item "payroll", which is not one of the flow's allowed values (billing, audit, ops)`},
		{map[string]any{"schemas": []any{"billing,audit"}}, `flow_inputs.schemas: has the item "billing,audit" with a comma`},
		{map[string]any{"env": map[string]any{"a": 1}}, `flow_inputs.env: must be text, a number or true/false`},
	} {
		c.inputs["reason"] = "x"
		_, err := request("typed", c.inputs)
		wantRefusal(err, 400, c.says)
	}
	r, err = request("typed", map[string]any{"reason": "x", "rows": 2000000, "read_only": true, "schemas": []any{"billing", "audit"},
		"ids": " 1, 2 ,", "env": "prod"})
	must(err)
	var typed struct{ Fields map[string]string }
	must(alice.Do(ctx, "GET", "/requests/"+r.ID, nil, &typed))
	if want := map[string]string{"rows": "2000000", "read_only": "true", "schemas": "billing,audit", "ids": "1,2", "env": "prod", "batch": "1000000"}; !maps.Equal(typed.Fields, want) {
		t.Fatalf("typed fields stored as %v, want %v", typed.Fields, want)
	}

	// Lookups by name ignore case; the default duration is 1h.
	r, err = request("APPROVAL-ONLY", map[string]any{"reason": "x", "ticket": "T-2"})
	must(err)
	if got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "pending" {
		t.Fatalf("state %s", got.State)
	}
	var full struct{ Duration string }
	must(alice.Do(ctx, "GET", "/requests/"+r.ID, nil, &full))
	if full.Duration != "1h" { // written as people write it, not 1h0m0s
		t.Fatalf("default duration %q, want 1h", full.Duration)
	}
}
