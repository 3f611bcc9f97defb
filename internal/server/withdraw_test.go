package server_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestWithdrawAndDeleteInUse: a pending request is taken back by its
// requester (or an admin, but not an approver); an empty chunked body is
// as good as none on the decision endpoints; deleting an entity that only
// pending requests use withdraws them, as terraform destroy needs, while a
// request holding access still blocks the deletion.
func TestWithdrawAndDeleteInUse(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Params: map[string]any{"prompt_fields": []any{
			map[string]any{"name": "reason", "type": "string"},
			map[string]any{"name": "ticket", "type": "string", "required": true},
		}},
	})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	type req struct {
		ID, State  string
		EndedBy    string `json:"ended_by"`
		EndMessage string `json:"end_message"`
		Fields     map[string]string
	}
	ask := func() req {
		t.Helper()
		var r req
		if err := alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "r", "ticket": "OPS-1"}}, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := ask()
	if r.Fields["ticket"] != "OPS-1" {
		t.Fatalf("the ticket prompt field was not stored: %+v", r)
	}
	if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/withdraw", nil, nil); api.StatusOf(err) != 403 ||
		!strings.Contains(err.Error(), "forbidden by rule requests.withdraw") {
		t.Fatalf("an approver withdrew: %v", err)
	}
	var w req
	if err := alice.Do(ctx, "POST", "/requests/"+r.ID+"/withdraw", map[string]string{"message": "fixed itself"}, &w); err != nil {
		t.Fatal(err)
	}
	if w.State != "withdrawn" || w.EndedBy != "alice@example.com" || w.EndMessage != "fixed itself" {
		t.Fatalf("after withdraw: %+v", w)
	}
	if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, nil); api.StatusOf(err) != 409 {
		t.Fatalf("approve of a withdrawn request: %v", err)
	}
	var evs []struct {
		Type, Actor string
		Details     map[string]string
	}
	if err := alice.Do(ctx, "GET", "/requests/"+r.ID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Details["field.ticket"] != "OPS-1" || evs[1].Type != "withdraw" ||
		evs[1].Actor != "alice@example.com" || evs[1].Details["message"] != "fixed itself" {
		t.Fatalf("audit of a withdrawn request: %+v", evs)
	}

	// An empty chunked body on approve, deny, revoke and withdraw.
	chunked := func(token, path string) int {
		t.Helper()
		hr, _ := http.NewRequest("POST", srv.URL+"/api/v1"+path, io.NopCloser(strings.NewReader("")))
		hr.ContentLength = -1
		hr.TransferEncoding = []string{"chunked"}
		hr.Header.Set("Authorization", "Bearer "+token)
		hr.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	r1, r2, r3 := ask(), ask(), ask()
	for _, c := range []struct {
		token, path string
	}{{bob.Token, "/requests/" + r1.ID + "/deny"}, {bob.Token, "/requests/" + r2.ID + "/approve"},
		{alice.Token, "/requests/" + r2.ID + "/revoke"}, {alice.Token, "/requests/" + r3.ID + "/withdraw"}} {
		if got := chunked(c.token, c.path); got != 200 {
			t.Fatalf("POST %s with an empty chunked body: %d", c.path, got)
		}
	}

	// Delete the flow while one request is active: refused, nothing
	// withdrawn. Once access ends, the pending request is withdrawn and the
	// flow goes.
	pending, active := ask(), ask()
	if err := bob.Do(ctx, "POST", "/requests/"+active.ID+"/approve", nil, nil); err != nil {
		t.Fatal(err)
	}
	err := f.Admin.Do(ctx, "DELETE", "/entities/flows/"+f.FlowID, nil, nil)
	if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), "active request "+active.ID) || strings.Contains(err.Error(), pending.ID) {
		t.Fatalf("DELETE the flow with an active request: %v", err)
	}
	var p req
	if err := alice.Do(ctx, "GET", "/requests/"+pending.ID, nil, &p); err != nil || p.State != "pending" {
		t.Fatalf("the pending request after a refused delete: %+v %v", p, err)
	}
	if err := alice.Do(ctx, "POST", "/requests/"+active.ID+"/revoke", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Admin.Do(ctx, "DELETE", "/entities/flows/"+f.FlowID, nil, nil); err != nil {
		t.Fatalf("DELETE the flow used only by a pending request: %v", err)
	}
	if err := alice.Do(ctx, "GET", "/requests/"+pending.ID, nil, &p); err != nil || p.State != "withdrawn" ||
		p.EndedBy != "admin-bot" || p.EndMessage != "flow aws-access was deleted" {
		t.Fatalf("the pending request after its flow was deleted: %+v %v", p, err)
	}
	if err := alice.Do(ctx, "GET", "/requests/"+pending.ID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"request", "withdraw"}) {
		t.Fatalf("audit of the withdrawn request: %v", types)
	}
}
