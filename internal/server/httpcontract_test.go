package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestHTTPContract checks what a client of the API meets before any
// business rule: methods, paths, bodies, query parameters and the bearer
// scheme, each answered with the one error shape and a status that says
// what went wrong. No AWS is needed.
func TestHTTPContract(t *testing.T) {
	srv := testenv.StartServer(t)
	admin := srv.AdminToken
	base := srv.URL
	if s, _, b := rawCall(t, base, admin, "POST", "/api/v1/users", `{"email":"root@example.com","role":"admin"}`); s != 201 {
		t.Fatalf("create user: %d %s", s, b)
	}
	_, _, b := rawCall(t, base, admin, "POST", "/api/v1/tokens", `{"user_email":"root@example.com"}`)
	var issued struct{ ID, Token string }
	if err := json.Unmarshal([]byte(b), &issued); err != nil || issued.Token == "" {
		t.Fatalf("issue a token: %s", b)
	}
	root := issued.Token
	srv.NoLog("an issued token", root)
	big := `{"email":"` + strings.Repeat("a", 2<<20) + `@example.com"}`

	cases := []struct {
		name, method, path, token, body string
		hdr                             []string
		status                          int
		allow                           string // the Allow header, when wanted
		says                            []string
		never                           []string
	}{
		{name: "wrong method on a read-only path", method: "POST", path: "/api/v1/org", token: root, status: 405, allow: "GET, HEAD", says: []string{"POST", "/api/v1/org", "GET"}},
		{name: "wrong method on a request", method: "DELETE", path: "/api/v1/requests/abc", token: root, status: 405, allow: "GET, HEAD"},
		{name: "PUT on an entity", method: "PUT", path: "/api/v1/entities/flows/abc", token: root, body: `{}`, status: 405, allow: "DELETE, GET, HEAD, PATCH", says: []string{"PATCH"}},
		{name: "GET of an action", method: "GET", path: "/api/v1/requests/abc/approve", token: root, status: 405, allow: "POST"},
		{name: "wrong method without a token", method: "PUT", path: "/api/v1/users", status: 405, allow: "GET, HEAD, POST"},
		{name: "wrong method on the health check", method: "POST", path: "/healthz", status: 405, allow: "GET, HEAD"},
		{name: "OPTIONS names the methods", method: "OPTIONS", path: "/api/v1/users", status: 204, allow: "GET, HEAD, POST"},
		{name: "trailing slash", method: "GET", path: "/api/v1/users/", token: root, status: 404, says: []string{"no such endpoint", "/api/v1/users without the trailing slash"}},
		{name: "no such path", method: "GET", path: "/api/v1/nothing", token: root, status: 404, says: []string{"no such endpoint: GET /api/v1/nothing"}},
		{name: "body over the limit", method: "POST", path: "/api/v1/users", token: root, body: big, status: 413, says: []string{"1 MiB"}},
		{name: "a string for a body", method: "POST", path: "/api/v1/users", token: root, body: `"x"`, status: 400,
			says: []string{"the body must be a JSON object, not a string"}, never: []string{"api.", "userInput"}},
		{name: "an array for an entity", method: "POST", path: "/api/v1/entities/integrations", token: root, body: `[]`, status: 400,
			says: []string{"the body must be a JSON object, not an array"}, never: []string{"map["}},
		{name: "a field of the wrong type", method: "POST", path: "/api/v1/users", token: root, body: `{"email":"x@example.com","identities":[]}`, status: 400,
			says: []string{"identities must be an object, not an array"}, never: []string{"map["}},
		{name: "a form instead of JSON", method: "POST", path: "/api/v1/users", token: root, body: `email=x@example.com`,
			hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 400, says: []string{"malformed JSON", "Content-Type: application/json"}},
		{name: "last that is not a number", method: "GET", path: "/api/v1/events?last=ten", token: root, status: 400, says: []string{"last", "must be a positive number", "ten"}},
		{name: "last of zero", method: "GET", path: "/api/v1/events?last=0", token: root, status: 400, says: []string{"last"}},
		{name: "after that is not a number", method: "GET", path: "/api/v1/events?after=x", token: root, status: 400, says: []string{"after", "must be the seq of an event"}},
		{name: "negative after", method: "GET", path: "/api/v1/events?after=-2", token: root, status: 400, says: []string{"after"}},
		// A query parameter no route reads would otherwise be ignored: a
		// typo such as ?status= listed every request.
		{name: "a misspelt filter", method: "GET", path: "/api/v1/requests?status=active", token: root, status: 400,
			says: []string{"unknown query parameter", "status", "state, user, before, limit"}},
		{name: "a filter twice", method: "GET", path: "/api/v1/requests?state=active&state=ended", token: root, status: 400,
			says: []string{"state", "given twice"}},
		{name: "a parameter on a route that takes none", method: "GET", path: "/api/v1/org?verbose=1", token: root, status: 400,
			says: []string{"unknown query parameter", "verbose", "takes none"}},
		{name: "known filters", method: "GET", path: "/api/v1/requests?state=active&limit=5", token: root, status: 200},
		{name: "known entity filters", method: "GET", path: "/api/v1/entities/flows?slug=x&type=y", token: root, status: 200},
		{name: "the bearer scheme in lower case", method: "GET", path: "/api/v1/org", hdr: []string{"Authorization", "bearer " + root}, status: 200},
		{name: "no token", method: "GET", path: "/api/v1/org", status: 401, says: []string{"missing bearer token"}},
		// A user who pastes a token's secret where its id belongs: the
		// answer is a 404, and the server's log (scanned when the test
		// ends) must not hold the secret.
		{name: "revoke by secret", method: "DELETE", path: "/api/v1/tokens/" + root, token: root, status: 404, says: []string{"token id"}, never: []string{root}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := rawCall(t, base, c.token, c.method, c.path, c.body, c.hdr...)
			if status != c.status {
				t.Fatalf("%s %s: status %d, want %d: %.300s", c.method, c.path, status, c.status, body)
			}
			if c.allow != "" && hdr.Get("Allow") != c.allow {
				t.Errorf("Allow %q, want %q", hdr.Get("Allow"), c.allow)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("a 401 without WWW-Authenticate")
			}
			if status >= 400 {
				var eb struct {
					Errors    []struct{ Field, Message string } `json:"errors"`
					RequestID string                            `json:"request_id"`
				}
				if err := json.Unmarshal([]byte(body), &eb); err != nil || len(eb.Errors) == 0 || eb.RequestID == "" {
					t.Fatalf("not the error shape: %.300s", body)
				}
			}
			for _, s := range c.says {
				if !strings.Contains(body, s) {
					t.Errorf("answer does not say %q: %.300s", s, body)
				}
			}
			for _, s := range c.never {
				if strings.Contains(body, s) {
					t.Errorf("answer says %q: %.300s", s, body)
				}
			}
		})
	}
}
