package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
	"github.com/opensym/sym/internal/web"
)

// TestWebAppUnderPathPrefix: a server whose --public-url has a path
// (https://intranet.example.com/sym, a proxy that hands /sym/... to sym
// without the prefix, as it hands it /sym/login/callback and
// /sym/slack/...) draws every link, form, asset and redirect under that
// path, so that a user who signs in stays on sym's pages.
func TestWebAppUnderPathPrefix(t *testing.T) {
	srv := testenv.StartServer(t)
	ctx := context.Background()
	if err := srv.Store.CreateUser(ctx, &store.User{Email: "pat@example.com", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	// The intranet's proxy: /sym/... goes to sym without the prefix,
	// anything else is another site's.
	var sym http.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sym/") {
			http.StripPrefix("/sym", sym).ServeHTTP(w, r)
			return
		}
		http.Error(w, "this is the intranet's front page, not sym", http.StatusNotFound)
	}))
	t.Cleanup(front.Close)
	publicURL := front.URL + "/sym"
	app, err := web.New(web.Config{Store: srv.Store, Engine: srv.Engine, PublicURL: publicURL, Org: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	sym = app

	browser := testenv.StartBrowser(t)
	pat := &person{t: t, name: "pat", ctx: testenv.NewProfile(t, browser), base: publicURL, shot: testenv.ArtifactsDir(t)}
	under := func(what string) {
		t.Helper()
		if loc := pat.location(); !strings.HasPrefix(loc, publicURL+"/") {
			t.Fatalf("%s: the browser is at %s, outside sym (%s/)", what, loc, publicURL)
		}
		// Every link, form, stylesheet and script of the page stays under
		// the public URL's path.
		if bad := pat.eval(`Array.from(document.querySelectorAll("a[href], form[action], link[href], script[src]")).
			map(e => e.getAttribute("href") || e.getAttribute("action") || e.getAttribute("src")).
			filter(u => !u.startsWith("/sym/")).join(" ")`); bad != "" {
			t.Fatalf("%s: the page at %s links outside /sym/: %s", what, pat.location(), bad)
		}
	}

	// A signed-out visit goes to the sign-in page under the prefix, and
	// signing in comes back to the page asked for.
	pat.open("/active")
	under("a signed-out visit")
	if !strings.Contains(pat.location(), "/sym/login?next=") {
		t.Fatalf("a signed-out visit to /sym/active went to %s, want /sym/login?next=...", pat.location())
	}
	if n := pat.eval(`String(document.styleSheets.length && document.styleSheets[0].cssRules.length)`); n == "0" {
		t.Fatal("the sign-in page has no style: its stylesheet did not load")
	}
	link, _, err := web.NewLoginLink(ctx, srv.Store, publicURL, "pat@example.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pat.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("continue")))
	under("the sign-in link's page")
	pat.do(chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("whoami")))
	under("after signing in")
	// Each page of the menu, as its link leads (the address the browser
	// resolves from the link's href).
	navs := strings.Split(pat.eval(`Array.from(document.querySelectorAll("header nav a")).map(a => a.href).join(" ")`), " ")
	if len(navs) != 5 {
		t.Fatalf("an admin's menu has %d links (%v), want 5", len(navs), navs)
	}
	for _, nav := range navs {
		pat.do(chromedp.Navigate(nav), chromedp.WaitReady(chromedp.CSS("body")))
		under("the page of the menu link " + nav)
		if pat.count("#whoami") != 1 {
			t.Fatalf("the menu link %s shows no signed-in page:\n%s", nav, pat.bodyText())
		}
	}
	// Active access lists everything active, however much there is: 501
	// grants (written as the engine leaves them; this page only lists).
	deadline := time.Now().Add(time.Hour)
	for i := range 501 {
		id := fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
		r := &model.Request{ID: id, State: model.Active, Requester: "pat@example.com", Target: "group-" + fmt.Sprint(i),
			CreatedAt: time.Now(), ExpiresAt: deadline, Deadline: &deadline}
		if err := srv.Store.CreateRequest(ctx, r, &model.AuditEvent{RequestID: id, Type: "request", Actor: "pat@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	pat.open("/active")
	under("the Active access page")
	if n := pat.count("tr[data-request]"); n != 501 {
		t.Fatalf("Active access lists %d of the 501 active grants", n)
	}
	pat.open("/requests/00000000-0000-4000-8000-000000000000")
	under("an unknown request's page")
	pat.do(chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.ID("token")))
	under("after signing out")
	mustContain(t, "the page after signing out", pat.text(".flash"), "You are signed out")
}
