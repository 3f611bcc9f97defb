package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
)

// matrixWorld is one server with a user per column and approval-only flows
// (no AWS) of every kind the table distinguishes.
type matrixWorld struct {
	t      *testing.T
	srv    *testenv.Server
	tokens map[string]string // email -> token; "bot" -> the admin bot
	n      atomic.Int64
	target string // an access target's id
	rt     string // a runtime's id
}

// Who plays each column: the caller and the owner of the resource.
var columnPlayers = map[authz.Column]struct {
	callers []string
	owner   string
}{
	authz.Anonymous:      {[]string{""}, "alice@example.com"},
	authz.MemberOwn:      {[]string{"alice@example.com"}, "alice@example.com"},
	authz.MemberOthers:   {[]string{"carol@example.com"}, "alice@example.com"},
	authz.ApproverOwn:    {[]string{"bob@example.com"}, "bob@example.com"},
	authz.ApproverOthers: {[]string{"bob@example.com"}, "alice@example.com"},
	authz.Auditor:        {[]string{"audrey@example.com"}, "alice@example.com"},
	authz.AdminOwn:       {[]string{"root@example.com"}, "root@example.com"},
	authz.AdminOthers:    {[]string{"root@example.com"}, "alice@example.com"},
	authz.Automation:     {[]string{"ci@example.com"}, "alice@example.com"},
	authz.Bot:            {[]string{"bot"}, "alice@example.com"},
}

func (w *matrixWorld) call(token, method, path string, body any) (int, string) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+"/api/v1"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must makes a setup call as who and decodes the answer.
func (w *matrixWorld) must(who, method, path string, body, out any) {
	w.t.Helper()
	status, text := w.call(w.tokens[who], method, path, body)
	if status >= 300 {
		w.t.Fatalf("setup %s %s as %s: %d %s", method, path, who, status, text)
	}
	if out != nil {
		_ = json.Unmarshal([]byte(text), out)
	}
}

func (w *matrixWorld) unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, w.n.Add(1))
}

// request makes a pending request of owner's on flow; active approves it
// too (by the setup approvers: dave for flows with approvers, the second
// admin for a flow without).
func (w *matrixWorld) request(owner, flow string, active bool) string {
	w.t.Helper()
	var r struct{ ID string }
	w.must(owner, "POST", "/events/request", map[string]any{"flow": flow, "flow_inputs": map[string]any{"reason": "matrix"}}, &r)
	if active {
		approver := "dave@example.com"
		if flow == "no-approvers" {
			approver = "root2@example.com"
		}
		w.must(approver, "POST", "/requests/"+r.ID+"/approve", nil, nil)
	}
	return r.ID
}

// perform runs one rule for one caller and owner and answers the status.
// It returns several statuses when a rule covers several endpoints.
func (w *matrixWorld) perform(rule authz.Action, caller, owner string, col authz.Column) []int {
	tok := w.tokens[caller]
	st := func(method, path string, body any) int {
		s, _ := w.call(tok, method, path, body)
		return s
	}
	flowOf := map[authz.Action]string{
		authz.Approve: "with-approvers", authz.Deny: "with-approvers",
		authz.ApproveNoApprovers: "no-approvers", authz.DenyNoApprovers: "no-approvers",
		authz.ApproveSelfApproval: "self-approval", authz.DenySelfApproval: "self-approval",
		authz.Revoke: "with-approvers", authz.RevokeNotAllowed: "no-revoke",
	}
	switch rule {
	case authz.ReadOrg:
		return []int{st("GET", "/org", nil), st("GET", "/server", nil)}
	case authz.ListRequestable:
		return []int{st("GET", "/entities/flows", nil), st("GET", "/entities/access-targets/"+w.target, nil)}
	case authz.ReadEntities:
		return []int{st("GET", "/entities/integrations", nil), st("GET", "/entities/runtimes/"+w.rt, nil), st("GET", "/log-destinations/status", nil)}
	case authz.WriteEntities:
		var a, b struct{ ID string }
		w.must("bot", "POST", "/entities/access-targets", map[string]any{"type": "custom", "slug": w.unique("patch-me")}, &a)
		w.must("bot", "POST", "/entities/access-targets", map[string]any{"type": "custom", "slug": w.unique("delete-me")}, &b)
		return []int{
			st("POST", "/entities/access-targets", map[string]any{"type": "custom", "slug": w.unique("new")}),
			st("PATCH", "/entities/access-targets/"+a.ID, map[string]any{"label": "patched"}),
			st("DELETE", "/entities/access-targets/"+b.ID, nil),
		}
	case authz.ListUsers:
		return []int{st("GET", "/users", nil)}
	case authz.ReadUser:
		return []int{st("GET", "/users/"+owner, nil)}
	case authz.WriteUsers:
		p, d := w.unique("patch")+"@example.com", w.unique("delete")+"@example.com"
		w.must("bot", "POST", "/users", map[string]any{"email": p}, nil)
		w.must("bot", "POST", "/users", map[string]any{"email": d}, nil)
		return []int{
			st("POST", "/users", map[string]any{"email": w.unique("new") + "@example.com"}),
			st("PATCH", "/users/"+p, map[string]any{"identities": map[string]string{"aws_iam": "x"}}),
			st("DELETE", "/users/"+d, nil),
		}
	case authz.IssueToken:
		return []int{st("POST", "/tokens", map[string]any{"user_email": owner, "ttl": "1h"}), st("POST", "/login-links", map[string]any{"user_email": owner})}
	case authz.ListTokens:
		return []int{st("GET", "/tokens?user_email="+owner, nil)}
	case authz.RevokeToken:
		var t struct{ ID string }
		w.must("bot", "POST", "/tokens", map[string]any{"user_email": owner, "ttl": "1h"}, &t)
		return []int{st("DELETE", "/tokens/"+t.ID, nil)}
	case authz.CreateRequest:
		// Own columns ask for themselves; the others ask for the owner.
		body := map[string]any{"flow": "with-approvers", "flow_inputs": map[string]any{"reason": "matrix"}}
		if owner != caller {
			body["user_email"] = owner
		}
		return []int{st("POST", "/events/request", body)}
	case authz.ListRequests:
		return []int{st("GET", "/requests", nil)}
	case authz.ReadRequest:
		return []int{st("GET", "/requests/"+w.request(owner, "with-approvers", false), nil)}
	case authz.ReadRequestEvents:
		return []int{st("GET", "/requests/"+w.request(owner, "with-approvers", false)+"/events", nil)}
	case authz.Approve, authz.ApproveNoApprovers, authz.ApproveSelfApproval:
		return []int{st("POST", "/requests/"+w.request(owner, flowOf[rule], false)+"/approve", nil)}
	case authz.Deny, authz.DenyNoApprovers, authz.DenySelfApproval:
		return []int{st("POST", "/requests/"+w.request(owner, flowOf[rule], false)+"/deny", nil)}
	case authz.Revoke, authz.RevokeNotAllowed:
		return []int{st("POST", "/requests/"+w.request(owner, flowOf[rule], true)+"/revoke", nil)}
	case authz.Withdraw:
		return []int{st("POST", "/requests/"+w.request(owner, "with-approvers", false)+"/withdraw", nil)}
	case authz.ReadEvents:
		return []int{st("GET", "/events", nil)}
	case authz.Reconcile:
		return []int{st("POST", "/reconcile?dry_run=true", nil)}
	}
	w.t.Fatalf("the matrix test does not know how to call rule %s (column %s): teach it", rule, col)
	return nil
}

func newMatrixWorld(t *testing.T) *matrixWorld {
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Rates: api.Rates{RequestsPerMinute: -1, TokensPerMinute: -1}})
	w := &matrixWorld{t: t, srv: srv, tokens: map[string]string{"bot": srv.AdminToken, "": ""}}
	for email, role := range map[string]string{"alice@example.com": "member", "bob@example.com": "member", "carol@example.com": "member",
		"dave@example.com": "member", "audrey@example.com": "auditor", "root@example.com": "admin", "root2@example.com": "admin",
		"ci@example.com": "automation"} {
		w.must("bot", "POST", "/users", map[string]any{"email": email, "role": role}, nil)
		var tok struct{ Token string }
		w.must("bot", "POST", "/tokens", map[string]any{"user_email": email}, &tok)
		w.tokens[email] = tok.Token
	}
	var integ, rt, env, target struct{ ID string }
	w.must("bot", "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "ctx",
		"settings": map[string]string{"role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", "external_id": "matrix-external-id"}}, &integ)
	w.must("bot", "POST", "/entities/runtimes", map[string]any{"slug": "prod", "context_id": integ.ID}, &rt)
	w.must("bot", "POST", "/entities/environments", map[string]any{"slug": "prod", "runtime_id": rt.ID}, &env)
	w.must("bot", "POST", "/entities/access-targets", map[string]any{"type": "custom", "slug": "matrix-target", "label": "Matrix",
		"settings": map[string]string{"secret_setting": "not-for-members"}}, &target)
	w.target, w.rt = target.ID, rt.ID
	for name, vars := range map[string]map[string]string{
		"with-approvers": {"approvers": "bob@example.com, dave@example.com"},
		"no-approvers":   {},
		"self-approval":  {"approvers": "bob@example.com, dave@example.com", "allow_self_approval": "true"},
		"no-revoke":      {"approvers": "bob@example.com, dave@example.com"},
	} {
		params := map[string]any{}
		if name == "no-revoke" {
			params["allow_revoke"] = false
		}
		w.must("bot", "POST", "/entities/flows", map[string]any{"slug": name, "environment_id": env.ID, "vars": vars, "params": params}, nil)
	}
	return w
}

// errorText is an error answer's field and message, without the request id
// that differs from call to call.
func errorText(body string) string {
	var e struct {
		Errors []struct{ Field, Message string }
	}
	_ = json.Unmarshal([]byte(body), &e)
	return fmt.Sprint(e.Errors)
}

func docRules(t *testing.T) []authz.Rule {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "authz.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := authz.ParseMarkdown(string(b))
	if err != nil {
		t.Fatalf("docs/authz.md: %v", err)
	}
	return rules
}

// TestAuthorizationMatrix drives every rule of docs/authz.md, for every
// column (anonymous, requester, other member, approver on their own and
// others' requests, auditor, admin on their own and others', both kinds
// of automation token), over HTTP, and expects the status the document
// says: allow is a 2xx.
func TestAuthorizationMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	rules := docRules(t)
	if len(rules) < 20 {
		t.Fatalf("docs/authz.md has only %d rules", len(rules))
	}
	cells := 0
	for _, rule := range rules {
		for _, col := range authz.Columns {
			want := rule.Cells[col]
			players := columnPlayers[col]
			for _, caller := range players.callers {
				for i, got := range w.perform(rule.Action, caller, players.owner, col) {
					cells++
					ok := false
					switch want {
					case authz.Allow:
						ok = got >= 200 && got < 300
					default:
						ok = fmt.Sprint(got) == string(want)
					}
					if !ok {
						t.Errorf("rule %s (endpoint %d), %s as %q: got %d, docs/authz.md says %s", rule.Action, i+1, col, caller, got, want)
					}
				}
			}
		}
	}
	t.Logf("%d cells checked", cells)

	// What each caller sees, not only whether they may look.
	t.Run("visibility", func(t *testing.T) {
		mine := w.request("alice@example.com", "with-approvers", false)
		noApprovers := w.request("alice@example.com", "no-approvers", false)
		list := func(who string) []string {
			var rs []struct{ ID string }
			w.must(who, "GET", "/requests?limit=500", nil, &rs)
			var ids []string
			for _, r := range rs {
				ids = append(ids, r.ID)
			}
			return ids
		}
		if ids := list("carol@example.com"); slices.Contains(ids, mine) || slices.Contains(ids, noApprovers) {
			t.Errorf("carol lists alice's requests")
		}
		if ids := list("bob@example.com"); !slices.Contains(ids, mine) || slices.Contains(ids, noApprovers) {
			t.Errorf("bob, an approver of with-approvers only, should list alice's request there and not on no-approvers")
		}
		if ids := list("alice@example.com"); !slices.Contains(ids, mine) || !slices.Contains(ids, noApprovers) {
			t.Errorf("alice does not list her own requests")
		}
		_, body := w.call(w.tokens["alice@example.com"], "GET", "/entities/access-targets/"+w.target, nil)
		if strings.Contains(body, "secret_setting") || !strings.Contains(body, "matrix-target") {
			t.Errorf("a member reads a target's settings, or not its name: %s", body)
		}
		_, body = w.call(w.tokens["alice@example.com"], "GET", "/entities/flows", nil)
		if strings.Contains(body, "bob@example.com") || !strings.Contains(body, "with-approvers") {
			t.Errorf("a member reads a flow's vars, or not its name: %s", body)
		}
		// Paging after a request she may not see answers as paging after
		// one that does not exist: the id is not an oracle.
		const unknown = "00000000-0000-4000-8000-000000000000"
		hiddenStatus, hiddenBody := w.call(w.tokens["carol@example.com"], "GET", "/requests?before="+mine, nil)
		unknownStatus, unknownBody := w.call(w.tokens["carol@example.com"], "GET", "/requests?before="+unknown, nil)
		if hiddenStatus != 400 || hiddenStatus != unknownStatus || errorText(hiddenBody) != strings.ReplaceAll(errorText(unknownBody), unknown, mine) {
			t.Errorf("carol pages after alice's request: %d %s; after an unknown one: %d %s", hiddenStatus, hiddenBody, unknownStatus, unknownBody)
		}
		if status, _ := w.call(w.tokens["bob@example.com"], "GET", "/requests?before="+mine, nil); status != 200 {
			t.Errorf("bob, an approver of the flow, pages after alice's request: %d", status)
		}
		status, body := w.call(w.tokens["carol@example.com"], "POST", "/requests/"+noApprovers+"/approve", nil)
		if status != 404 {
			t.Errorf("carol approving a request she cannot see: %d %s", status, body)
		}
		status, body = w.call(w.tokens["alice@example.com"], "POST", "/requests/"+noApprovers+"/approve", nil)
		if status != 403 || !strings.Contains(body, "flow no-approvers names no approvers") || !strings.Contains(body, "vars.approvers") {
			t.Errorf("a member approving on a flow without approvers: %d %s", status, body)
		}
		status, body = w.call(w.srv.AdminToken, "POST", "/requests/"+mine+"/approve", nil)
		if status != 403 || !strings.Contains(body, "automation token") {
			t.Errorf("the admin bot approving: %d %s", status, body)
		}
	})

	t.Run("a bot requests on behalf of a user", func(t *testing.T) {
		var r struct{ ID, Requester string }
		w.must("bot", "POST", "/events/request", map[string]any{"flow": "with-approvers", "user_email": "alice@example.com",
			"flow_inputs": map[string]any{"reason": "on behalf"}}, &r)
		var evs []struct {
			Type, Actor string
			Details     map[string]string
		}
		w.must("alice@example.com", "GET", "/requests/"+r.ID+"/events", nil, &evs)
		if r.Requester != "alice@example.com" || len(evs) != 1 || evs[0].Actor != "admin-bot" || evs[0].Details["on_behalf_of"] != "alice@example.com" {
			t.Errorf("request on behalf: requester %s, events %+v", r.Requester, evs)
		}
		status, body := w.call(w.srv.AdminToken, "POST", "/events/request", map[string]any{"flow": "with-approvers", "flow_inputs": map[string]any{"reason": "x"}})
		if status != 400 || !strings.Contains(body, "on behalf of a user") {
			t.Errorf("a bot requesting for itself: %d %s", status, body)
		}
	})

	t.Run("deleting or demoting a user ends their access first", func(t *testing.T) {
		for _, how := range []string{"delete", "demote"} {
			email := w.unique(how) + "@example.com"
			w.must("bot", "POST", "/users", map[string]any{"email": email}, nil)
			var tok struct{ Token string }
			w.must("bot", "POST", "/tokens", map[string]any{"user_email": email}, &tok)
			w.tokens[email] = tok.Token
			active := w.request(email, "with-approvers", true)
			pending := w.request(email, "with-approvers", false)
			if how == "delete" {
				w.must("root@example.com", "DELETE", "/users/"+email, nil, nil)
			} else {
				w.must("root@example.com", "PATCH", "/users/"+email, map[string]any{"role": "auditor"}, nil)
			}
			var a, p struct {
				State          string `json:"state"`
				DeescalateType string `json:"deescalate_type"`
			}
			w.must("root@example.com", "GET", "/requests/"+active, nil, &a)
			w.must("root@example.com", "GET", "/requests/"+pending, nil, &p)
			if a.State != "ended" || a.DeescalateType != "revoke" || p.State != "denied" {
				t.Errorf("%s: active request %+v, pending %+v; want ended by revoke and denied", how, a, p)
			}
		}
	})

	t.Run("the audit records every write and its chain verifies", func(t *testing.T) {
		var evs []struct {
			Type, Actor string
			Details     map[string]string
		}
		w.must("audrey@example.com", "GET", "/events?last=500", nil, &evs)
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Type] = true
			if e.Type == "token.issue" && (e.Details["issuer"] == "" || e.Details["user"] == "" || e.Details["token_id"] == "") {
				t.Errorf("token.issue without issuer, user or id: %+v", e)
			}
			if e.Type == "entity.update" && e.Details["changed"] != "label" {
				t.Errorf("entity.update names changed fields %q, want label", e.Details["changed"])
			}
			for _, v := range e.Details {
				if strings.Contains(v, "matrix-external-id") || strings.Contains(v, "not-for-members") {
					t.Errorf("an audit event holds a setting's value: %+v", e)
				}
			}
		}
		for _, typ := range []string{"entity.create", "entity.update", "entity.delete", "user.create", "user.update", "user.delete", "token.issue", "token.revoke"} {
			if !seen[typ] {
				t.Errorf("no %s event among the newest 500", typ)
			}
		}
		n, err := store.VerifyAudit(context.Background(), w.srv.DB)
		if err != nil || n < 100 {
			t.Errorf("the running server's audit chain: %d events verified, %v", n, err)
		}
	})
}
