package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

func raw(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBadInputIsRefusedCleanly sends what users get wrong and expects a
// clear 4xx with the error body, never a 500, and nothing stored.
func TestBadInputIsRefusedCleanly(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	var alice string
	{
		var tok struct{ Token string }
		if err := f.Admin.Do(context.Background(), "POST", "/tokens", map[string]string{"user_email": "alice@example.com"}, &tok); err != nil {
			t.Fatal(err)
		}
		alice = tok.Token
	}
	u := srv.URL + "/api/v1/events/request"
	good := func(inputs string) string {
		return `{"flow":"aws-access","flow_inputs":` + inputs + `}`
	}
	cases := []struct {
		name, method, url, token, body string
		status                         int
		says                           string
	}{
		{"malformed JSON", "POST", u, alice, `{"flow": "aws-access",`, 400, "malformed JSON"},
		{"not an object", "POST", u, alice, `[1,2]`, 400, "malformed JSON"},
		{"empty body", "POST", u, alice, ``, 400, "empty body"},
		{"unknown field", "POST", u, alice, `{"flow":"aws-access","flow_inputz":{}}`, 400, "flow_inputz"},
		{"wrong type", "POST", u, alice, `{"flow":42}`, 400, "flow"},
		{"no flow", "POST", u, alice, `{"flow_inputs":{"target_id":"sym-prod-admins-0","reason":"x"}}`, 400, "flow"},
		{"unknown flow", "POST", u, alice, `{"flow":"nope","flow_inputs":{"target_id":"sym-prod-admins-0","reason":"x"}}`, 400, "no flow named"},
		{"unknown target", "POST", u, alice, good(`{"target_id":"nope","reason":"x"}`), 400, "not a target of this flow"},
		{"missing target", "POST", u, alice, good(`{"reason":"x"}`), 400, "target_id"},
		{"missing reason", "POST", u, alice, good(`{"target_id":"sym-prod-admins-0"}`), 400, "reason"},
		{"bad duration", "POST", u, alice, good(`{"target_id":"sym-prod-admins-0","reason":"x","duration":"soon"}`), 400, "not a duration"},
		{"negative duration", "POST", u, alice, good(`{"target_id":"sym-prod-admins-0","reason":"x","duration":"-1h"}`), 400, "positive"},
		{"too long duration", "POST", u, alice, good(`{"target_id":"sym-prod-admins-0","reason":"x","duration":"13h"}`), 400, "maximum"},
		{"no token", "POST", u, "", good(`{"target_id":"sym-prod-admins-0","reason":"x"}`), 401, "missing bearer token"},
		{"wrong token", "POST", u, "sym_wrong", good(`{"target_id":"sym-prod-admins-0","reason":"x"}`), 401, "invalid token"},
		{"on behalf of someone else", "POST", u, alice, `{"flow":"aws-access","user_email":"bob@example.com","flow_inputs":{"target_id":"sym-prod-admins-0","reason":"x"}}`, 403, "on behalf"},
		{"member creates entity", "POST", srv.URL + "/api/v1/entities/runtimes", alice, `{"slug":"x","context_id":"y"}`, 403, "forbidden by rule entities.write"},
		{"member issues token", "POST", srv.URL + "/api/v1/tokens", alice, `{"user_email":"alice@example.com"}`, 403, "forbidden by rule tokens.issue"},
		{"unknown request", "POST", srv.URL + "/api/v1/requests/nope/approve", srv.AdminToken, ``, 404, "no request"},
		{"unknown kind", "GET", srv.URL + "/api/v1/entities/widgets", srv.AdminToken, ``, 404, "unknown entity kind"},
		{"bad state filter", "GET", srv.URL + "/api/v1/requests?state=sleeping", alice, ``, 400, "unknown state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := raw(t, c.method, c.url, c.token, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			var eb struct {
				Errors []struct{ Field, Message string } `json:"errors"`
			}
			if err := json.Unmarshal([]byte(body), &eb); err != nil || len(eb.Errors) == 0 {
				t.Fatalf("no error body: %s", body)
			}
			if !strings.Contains(body, c.says) {
				t.Fatalf("error does not mention %q: %s", c.says, body)
			}
		})
	}
	// The request id a client sends comes back in the header and the error body.
	req, _ := http.NewRequest("POST", u, strings.NewReader(`{`))
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("X-Sym-Request-ID", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Sym-Request-ID") != "trace-42" || !strings.Contains(string(body), `"request_id": "trace-42"`) {
		t.Fatalf("request id not echoed: header %q body %s", resp.Header.Get("X-Sym-Request-ID"), body)
	}

	var reqs []json.RawMessage
	if err := f.Admin.Do(context.Background(), "GET", "/requests", nil, &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 0 {
		t.Fatalf("%d requests stored after bad input, want 0", len(reqs))
	}
}

// TestEntityRules checks the entities API's contract: names, references,
// and what a permission context must carry.
func TestEntityRules(t *testing.T) {
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Users: []string{}})
	ctx := context.Background()
	admin := f.Admin
	status := func(err error) int { return api.StatusOf(err) }

	// Lookup by name is case-insensitive and answers an array.
	var found []map[string]any
	if err := admin.Do(ctx, "GET", "/entities/flows?slug=AWS-ACCESS", nil, &found); err != nil || len(found) != 1 {
		t.Fatalf("lookup by slug: %v %v", err, found)
	}
	if found[0]["id"] != f.FlowID {
		t.Fatalf("lookup found %v, want flow %s", found[0]["id"], f.FlowID)
	}
	// A taken name, in another case, is a 409.
	if err := admin.Do(ctx, "POST", "/entities/environments", map[string]any{"slug": "PROD"}, nil); status(err) != 409 {
		t.Fatalf("duplicate environment: %v, want 409", err)
	}
	// Deleting what a flow uses is a 409 naming the user.
	var envs []map[string]any
	_ = admin.Do(ctx, "GET", "/entities/environments?slug=prod", nil, &envs)
	err := admin.Do(ctx, "DELETE", "/entities/environments/"+envs[0]["id"].(string), nil, nil)
	if status(err) != 409 || !strings.Contains(err.Error(), "flow aws-access") {
		t.Fatalf("delete referenced environment: %v", err)
	}
	// A runtime whose context has no External ID is refused.
	var ctxNoExt struct{ ID string }
	if err := admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "bare",
		"settings": map[string]string{"role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeDev"}}, &ctxNoExt); err != nil {
		t.Fatal(err)
	}
	err = admin.Do(ctx, "POST", "/entities/runtimes", map[string]any{"slug": "dev", "context_id": ctxNoExt.ID}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "external_id") {
		t.Fatalf("runtime without External ID: %v, want 400 naming external_id", err)
	}
	// A permission context without a role ARN, or with a bad one.
	err = admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "norole", "settings": map[string]string{"cloud": "aws"}}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "role_arn") {
		t.Fatalf("context without role: %v", err)
	}
	// A strategy whose targets do not exist or have the wrong type.
	err = admin.Do(ctx, "POST", "/entities/access-strategies", map[string]any{"type": "aws_iam", "slug": "s2", "targets": []string{"nope"}}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "targets") {
		t.Fatalf("strategy with unknown target: %v", err)
	}
	var lambdaTarget struct{ ID string }
	if err := admin.Do(ctx, "POST", "/entities/access-targets", map[string]any{"type": "aws_lambda_function", "slug": "fn",
		"settings": map[string]string{"arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}, &lambdaTarget); err != nil {
		t.Fatal(err)
	}
	err = admin.Do(ctx, "POST", "/entities/access-strategies", map[string]any{"type": "aws_iam", "slug": "s3", "targets": []string{lambdaTarget.ID}}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "aws_iam_group") {
		t.Fatalf("strategy with wrong target type: %v", err)
	}
	// A flow that can neither revoke nor de-escalate.
	err = admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"params": map[string]any{"allow_revoke": false, "schedule_deescalation": false}}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "at least one") {
		t.Fatalf("flow with neither: %v", err)
	}
	// Unknown params are kept as sent.
	var flow map[string]any
	if err := admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"params": map[string]any{
		"strategy_id": found[0]["params"].(map[string]any)["strategy_id"], "future_knob": "x", "allowed_sources": []string{}}}, &flow); err != nil {
		t.Fatal(err)
	}
	params := flow["params"].(map[string]any)
	if params["future_knob"] != "x" || params["allowed_sources"] == nil {
		t.Fatalf("params not kept as sent: %v", params)
	}
	// The flow's implementation must be base64.
	err = admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"implementation": "not base64!"}, nil)
	if status(err) != 400 || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("implementation not base64: %v", err)
	}
	// 404 for an entity that is gone.
	if err := admin.Do(ctx, "GET", "/entities/flows/00000000-0000-0000-0000-000000000000", nil, nil); status(err) != 404 {
		t.Fatalf("missing flow: %v, want 404", err)
	}
}
