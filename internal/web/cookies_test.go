package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
	"github.com/opensym/sym/internal/web"
)

// TestCookiesOverHTTPS: with an https --public-url every cookie the web app
// sets is Secure and carries the __Host- prefix (this origin only, no
// Domain), as docs/web.md says: the session's, the sign-in form's and the
// flash message's after signing out.
func TestCookiesOverHTTPS(t *testing.T) {
	srv := testenv.StartServer(t)
	const origin = "https://sym.example.com"
	app, err := web.New(web.Config{Store: srv.Store, Engine: srv.Engine, PublicURL: origin})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := srv.Store.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.CreateSession(ctx, "a-session-id-of-alice", "alice@example.com", "csrf-of-alice", "link", "", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check := func(what string, resp *http.Response) {
		t.Helper()
		if len(resp.Cookies()) == 0 {
			t.Fatalf("%s set no cookie", what)
		}
		for _, c := range resp.Cookies() {
			if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
				t.Errorf("%s sets cookie %s (Secure %v, HttpOnly %v, Path %q, Domain %q), want __Host-, Secure, HttpOnly, Path /",
					what, c.Name, c.Secure, c.HttpOnly, c.Path, c.Domain)
			}
		}
	}
	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", origin+"/login", nil))
	check("the sign-in page", w.Result())

	form := url.Values{"csrf": {"csrf-of-alice"}}
	r := httptest.NewRequest("POST", origin+"/logout", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", origin)
	r.AddCookie(&http.Cookie{Name: "__Host-sym_session", Value: "a-session-id-of-alice"})
	w = httptest.NewRecorder()
	app.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("signing out answered %d:\n%s", w.Code, w.Body)
	}
	check("signing out", w.Result())
}
