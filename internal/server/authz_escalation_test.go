package server_test

import (
	"strings"
	"testing"
)

// TestAutomationUserCannotMakeADecider: a CI secret (a token of a user with
// role automation) must not grant anyone anything without a second person
// (docs/authz.md). It could, by giving itself the admin role and approving,
// or by minting a token or sign-in link of someone who decides.
func TestAutomationUserCannotMakeADecider(t *testing.T) {
	w := newMatrixWorld(t)
	ci := w.tokens["ci@example.com"]
	refused := func(what string, status int, body string) {
		t.Helper()
		if status != 403 {
			t.Errorf("%s with an automation user's token: %d %s; want 403", what, status, body)
		}
	}
	status, body := w.call(ci, "PATCH", "/users/ci@example.com", map[string]any{"role": "admin"})
	refused("promoting itself to admin", status, body)
	status, body = w.call(ci, "POST", "/users", map[string]any{"email": "ci-admin@example.com", "role": "admin"})
	refused("creating an admin", status, body)
	status, body = w.call(ci, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{"aws_iam": "ci-controlled"}})
	refused("pointing a member's identity elsewhere", status, body)
	for _, who := range []string{"root@example.com", "bob@example.com"} {
		status, body = w.call(ci, "POST", "/tokens", map[string]any{"user_email": who, "ttl": "1h"})
		refused("issuing a token for "+who, status, body)
		status, body = w.call(ci, "POST", "/login-links", map[string]any{"user_email": who})
		refused("issuing a sign-in link for "+who, status, body)
	}

	// Whatever the calls above did, the CI token still decides nothing.
	pending := w.request("alice@example.com", "no-approvers", false)
	status, body = w.call(ci, "POST", "/requests/"+pending+"/approve", nil)
	refused("approving a request", status, body)

	// The admin bot (SYM_ADMIN_TOKEN) bootstraps: it makes the first admin.
	w.must("bot", "POST", "/users", map[string]any{"email": "first-admin@example.com", "role": "admin"}, nil)
	w.must("bot", "POST", "/tokens", map[string]any{"user_email": "first-admin@example.com", "ttl": "1h"}, nil)
}

// TestSignInLinksAreAudited: a sign-in link lets whoever holds it act as its
// user in the web app, so minting one is audited like issuing a token (user,
// issuer, expiry; never the code). Without it, an admin could sign in as an
// approver and approve, and the audit log would show only the approver.
func TestSignInLinksAreAudited(t *testing.T) {
	w := newMatrixWorld(t)
	var link struct {
		URL string `json:"url"`
	}
	w.must("root@example.com", "POST", "/login-links", map[string]any{"user_email": "Bob@example.com"}, &link)
	_, code, _ := strings.Cut(link.URL, "code=")
	if code == "" {
		t.Fatalf("no code in the link %q", link.URL)
	}
	var evs []struct {
		Type, Actor string
		Details     map[string]string
	}
	w.must("audrey@example.com", "GET", "/events?last=5", nil, &evs)
	found := false
	for _, e := range evs {
		for _, v := range e.Details {
			if strings.Contains(v, code) {
				t.Errorf("an audit event holds the link's code: %+v", e)
			}
		}
		if e.Type == "login_link.issue" && e.Actor == "root@example.com" && e.Details["user"] == "bob@example.com" &&
			e.Details["issuer"] == "root@example.com" && e.Details["expires_at"] != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no login_link.issue event naming bob and root among the newest: %+v", evs)
	}
	w.srv.NoLog("the sign-in link's code", code)
}

// TestOnlyAdminsAndMembersHoldAccess: auditors and automation users hold no
// access (docs/authz.md: a move to either role ends what the user holds), so
// no one requests access on their behalf either.
func TestOnlyAdminsAndMembersHoldAccess(t *testing.T) {
	w := newMatrixWorld(t)
	for _, c := range []struct{ caller, forUser, role string }{
		{"bot", "ci@example.com", "automation"},
		{"ci@example.com", "audrey@example.com", "auditor"},
		{"bot", "audrey@example.com", "auditor"},
	} {
		status, body := w.call(w.tokens[c.caller], "POST", "/events/request", map[string]any{"flow": "with-approvers",
			"user_email": c.forUser, "flow_inputs": map[string]any{"reason": "on behalf"}})
		if status != 400 || !strings.Contains(body, c.role) || !strings.Contains(body, "user_email") {
			t.Errorf("%s requesting for %s (%s): %d %s; want 400 on user_email naming the role", c.caller, c.forUser, c.role, status, body)
		}
	}
	w.must("ci@example.com", "POST", "/events/request", map[string]any{"flow": "with-approvers",
		"user_email": "alice@example.com", "flow_inputs": map[string]any{"reason": "on behalf"}}, nil)
}
