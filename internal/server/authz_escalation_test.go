package server_test

import (
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
