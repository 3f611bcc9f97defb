package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
	"github.com/opensym/sym/internal/web"
)

// person is one browser profile signed in as one user.
type person struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string
	shot string // artifacts dir
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(p.ctx, chromedp.Location())
		body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		p.t.Fatalf("%s's browser: %v\nat %s\npage text:\n%s", p.name, err, loc, body)
	}
}

func (p *person) open(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (p *person) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s's browser: read %s: %v", p.name, sel, err)
	}
	return strings.TrimSpace(s)
}

func (p *person) eval(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s's browser: evaluate %s: %v", p.name, js, err)
	}
	return s
}

// post sends a form to path as the page's own forms do (with the
// session's CSRF token) and answers the status and the page.
func (p *person) post(path string) string {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "csrf=" + encodeURIComponent(document.querySelector("input[name=csrf]").value)}).then(async r => r.status + " " + (await r.text()))`, path))
}

func (p *person) bodyText() string {
	p.t.Helper()
	return p.eval("document.body.innerText")
}

func (p *person) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return loc
}

func (p *person) count(sel string) int {
	p.t.Helper()
	var n int
	_, _ = fmt.Sscan(p.eval(fmt.Sprintf("String(document.querySelectorAll(%q).length)", sel)), &n)
	return n
}

// screenshot keeps the whole page as NN-name.png for a reviewer.
func (p *person) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	entries, _ := os.ReadDir(p.shot)
	file := filepath.Join(p.shot, fmt.Sprintf("%02d-%s-%s.png", len(entries)+1, p.name, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// ssoSignIn goes through the identity provider's page as email.
func (p *person) ssoSignIn(email string) {
	p.t.Helper()
	p.open("/")
	p.do(chromedp.WaitVisible(chromedp.ID("sso")), chromedp.Click(chromedp.ID("sso")),
		chromedp.WaitVisible(chromedp.ID("idp-email")), chromedp.SendKeys(chromedp.ID("idp-email"), email),
		chromedp.Click(chromedp.ID("idp-submit")), chromedp.WaitReady(chromedp.CSS("main h1")))
}

// unlabeled names the page's form fields that have no label a screen
// reader can say (a placeholder is not one: it goes once typed in).
func (p *person) unlabeled() string {
	p.t.Helper()
	return p.eval(`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).
		filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).
		map(e => e.name || e.id || e.outerHTML).join(" ")`)
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("%s does not say %q; it says:\n%s", what, w, got)
		}
	}
}

var idInPath = regexp.MustCompile(`/requests/([0-9a-f-]{36})$`)

// TestWebAppInBrowser drives the web app in headless Chromium: sign-in
// through an OIDC provider, a request, approval by a second person, the
// grant visible in the page (with a live countdown) and in IAM, revoke, the
// audit page; token and one-time link sign-in; a member who may not approve
// sees no button and forged posts are refused.
func TestWebAppInBrowser(t *testing.T) {
	m := testenv.StartMoto(t)
	idp := testenv.StartOIDCProvider(t, "")
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, OIDC: web.OIDCConfig{
		Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret}})
	idp.RedirectURI = srv.PublicURL + "/login/callback"
	idp.Unverified["mallory@example.com"] = true
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Users: []string{"alice@example.com", "bob@example.com", "carol@example.com", "mallory@example.com"},
		Vars:  map[string]string{"approvers": "bob@example.com"},
		Params: map[string]any{"prompt_fields": []any{
			map[string]any{"name": "reason", "type": "string", "required": true},
			map[string]any{"name": "duration", "type": "duration", "allowed_values": []any{"1h", "4h"}},
			map[string]any{"name": "ticket", "type": "string", "label": "Ticket", "required": false},
			map[string]any{"name": "urgent", "type": "bool", "label": "Urgent", "required": false},
			map[string]any{"name": "hosts", "type": "str_list", "label": "Hosts", "required": false},
		}},
	})
	ctx := context.Background()
	if err := f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "dana@example.com", "role": "admin"}, nil); err != nil {
		t.Fatal(err)
	}
	var danaTok struct{ ID, Token string }
	if err := f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "dana@example.com"}, &danaTok); err != nil {
		t.Fatal(err)
	}
	group := f.Groups[0]
	shots := testenv.ArtifactsDir(t)
	browser := testenv.StartBrowser(t)
	newPerson := func(name string) *person {
		return &person{t: t, name: name, ctx: testenv.NewProfile(t, browser), base: srv.PublicURL, shot: shots}
	}
	alice, bob, carol, dana := newPerson("alice"), newPerson("bob"), newPerson("carol"), newPerson("dana")

	// Alice signs in through single sign-on.
	alice.open("/requests")
	if !strings.Contains(alice.location(), "/login") {
		t.Fatalf("a signed-out visit to /requests went to %s, want the sign-in page", alice.location())
	}
	alice.screenshot("sign-in")
	alice.ssoSignIn("alice@example.com")
	if got := alice.text("#whoami"); got != "alice@example.com" {
		t.Fatalf("after SSO the page says %q is signed in, want alice@example.com", got)
	}

	// She asks for access with the flow's form.
	alice.open("/request")
	mustContain(t, "the request form", alice.bodyText(), "Target", "Reason", "Duration", "Ticket", "Urgent", "Hosts", "Approvers: bob@example.com")
	if n := alice.count("#duration option"); n != 2 {
		t.Fatalf("the duration list has %d choices, want the flow's 2 allowed values", n)
	}
	alice.screenshot("request-form")
	if bad := alice.unlabeled(); bad != "" {
		t.Fatalf("the request form's fields %s have no label", bad)
	}
	alice.do(chromedp.SendKeys(chromedp.ID("reason"), "investigate incident 42"),
		chromedp.SetValue(chromedp.ID("duration"), "1h"),
		chromedp.SendKeys(chromedp.CSS(`input[name="in.ticket"]`), "INC-42"),
		chromedp.Click(chromedp.CSS(`input[type=checkbox][name="in.urgent"]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="in.hosts"]`), "web-1\nweb-2"),
		chromedp.Click(chromedp.ID("submit-request")), chromedp.WaitVisible(chromedp.ID("state")))
	mt := idInPath.FindStringSubmatch(alice.location())
	if mt == nil {
		t.Fatalf("after requesting, the browser is at %s, want /requests/{id}", alice.location())
	}
	id := mt[1]
	// The fields are recorded as the flow's types read them (as the API
	// and Slack send them): a ticked box is true, a list is one item a line.
	if r, err := srv.Engine.Get(ctx, id); err != nil || !maps.Equal(r.Fields, map[string]string{"ticket": "INC-42", "urgent": "true", "hosts": "web-1,web-2"}) {
		t.Fatalf("the request's fields are %q (%v), want ticket INC-42, urgent true, hosts web-1,web-2", r.Fields, err)
	}
	if got := alice.text("#state"); got != "pending" {
		t.Fatalf("the new request shows %q, want pending", got)
	}
	if alice.count("#approve") != 0 {
		t.Fatal("alice sees an Approve button on her own request")
	}
	alice.screenshot("request-pending")

	// A second request, for the refusal checks below; its reason is
	// markup, which every page must show as text.
	hostile := `<script>document.title="pwned"</script>"'><img src=x onerror=alert(1)>`
	alice.open("/request")
	alice.do(chromedp.SendKeys(chromedp.ID("reason"), hostile), chromedp.Click(chromedp.ID("submit-request")),
		chromedp.WaitVisible(chromedp.ID("state")))
	id2 := idInPath.FindStringSubmatch(alice.location())[1]
	if r, err := srv.Engine.Get(ctx, id2); err != nil || r.Fields["urgent"] != "false" {
		t.Fatalf("a box left unticked is recorded as %q (%v), want false", r.Fields["urgent"], err)
	}

	// Bob, an approver, sees both and approves the first with a message.
	bob.ssoSignIn("bob@example.com")
	bob.open("/approvals")
	mustContain(t, "bob's approvals page", bob.bodyText(), "alice@example.com asks for "+f.Targets[0], "investigate incident 42", "1h", hostile,
		"ticket\nINC-42", "urgent\ntrue", "hosts\nweb-1,web-2")
	if n := bob.count("main img, main script"); n != 0 || bob.eval("document.title") == "pwned" {
		t.Fatalf("a reason's markup became %d elements of bob's approvals page (title %q)", n, bob.eval("document.title"))
	}
	bob.screenshot("to-approve")
	if bad := bob.unlabeled(); bad != "" {
		t.Fatalf("the approvals page's fields %s have no label", bad)
	}
	card := fmt.Sprintf(`section[data-request="%s"]`, id)
	bob.do(chromedp.SendKeys(chromedp.CSS(card+" input[name=message]"), "ok for the incident"),
		chromedp.Click(chromedp.CSS(card+" button[value=approve]")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	mustContain(t, "bob's page after approving", bob.text(".flash"), "Approved")
	// The same form sent again (a double click, a reload) changes nothing
	// and says why.
	twice := bob.post("/requests/" + id + "/approve")
	if !strings.HasPrefix(twice, "409") || !strings.Contains(twice, "request is already active; it cannot be approved") {
		t.Fatalf("approving twice answered %.300s, want 409 saying it is already active", twice)
	}
	// An approver never decides his own request (the flow does not set
	// allow_self_approval): no button, and the form refused by the rule.
	bob.open("/request")
	bob.do(chromedp.SendKeys(chromedp.ID("reason"), "my own"), chromedp.Click(chromedp.ID("submit-request")),
		chromedp.WaitVisible(chromedp.ID("state")))
	own := idInPath.FindStringSubmatch(bob.location())[1]
	if bob.count("#approve") != 0 {
		t.Fatal("bob sees an Approve button on his own request")
	}
	self := bob.post("/requests/" + own + "/approve")
	if !strings.HasPrefix(self, "403") || !strings.Contains(self, "forbidden by rule requests.approve") {
		t.Fatalf("bob approving his own request answered %.300s, want 403 naming rule requests.approve", self)
	}
	bob.open("/requests/00000000-0000-4000-8000-000000000000")
	mustContain(t, "an unknown request's page", bob.bodyText(), "There is no request 00000000-0000-4000-8000-000000000000 that you may see")

	// Alice sees the grant active with a live countdown; IAM agrees.
	alice.open("/requests/" + id)
	if got := alice.text("#state"); got != "active" {
		t.Fatalf("after approval alice's page shows %q, want active", got)
	}
	countdown := regexp.MustCompile(`^(\d+h )?\d+m \d+s left$`)
	first := alice.text("#countdown")
	if !countdown.MatchString(first) || !strings.HasPrefix(first, "59m") {
		t.Fatalf("countdown reads %q, want about 59m ..s left", first)
	}
	time.Sleep(1100 * time.Millisecond)
	if second := alice.text("#countdown"); second == first || !countdown.MatchString(second) {
		t.Fatalf("countdown did not move: %q then %q", first, second)
	}
	if got := testenv.GroupMembers(t, m, group); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("IAM group %s holds %v while the page says active, want [alice]", group, got)
	}
	mustContain(t, "the timeline", alice.text("#timeline"), "requested", "bob@example.com approved: \"ok for the incident\"", "granted: alice added to "+group)
	alice.screenshot("request-active")
	alice.open("/requests")
	if alice.count(fmt.Sprintf(`tr[data-request="%s"] .countdown`, id)) != 1 {
		t.Fatal("my requests shows no countdown for the active grant")
	}
	alice.screenshot("my-requests")
	// Every page says where it may be shown and run, and the session's
	// cookie is out of the page's reach.
	headers := alice.eval(`fetch("/requests").then(r => ["content-security-policy", "x-content-type-options", "x-frame-options", "cache-control"].map(h => h + ": " + r.headers.get(h)).join("\n"))`)
	mustContain(t, "the headers of /requests", headers, "frame-ancestors 'none'", "script-src 'self'", "default-src 'self'",
		"x-content-type-options: nosniff", "x-frame-options: DENY", "cache-control: no-store")
	if c := alice.eval("document.cookie"); strings.Contains(c, "sym_session") {
		t.Fatalf("the page's script reads the session cookie (it must be HttpOnly): %q", c)
	}

	// Carol, a member who is not an approver: no button, and forged posts
	// are refused by the CSRF check and by the approval rule.
	carol.ssoSignIn("carol@example.com")
	carol.open("/approvals")
	mustContain(t, "carol's approvals page", carol.bodyText(), "Nothing is waiting for you")
	if carol.count("button[value=approve]") != 0 {
		t.Fatal("carol sees an Approve button")
	}
	carol.open("/requests/" + id2)
	mustContain(t, "another's request for carol", carol.bodyText(), "There is no request "+id2+" that you may see")
	if carol.count("#approve") != 0 {
		t.Fatal("carol sees an Approve button on someone else's request")
	}
	carol.open("/active")
	mustContain(t, "the active page for a member", carol.bodyText(), "for admins")
	carol.open("/audit")
	mustContain(t, "the audit page for a member", carol.bodyText(), "for admins and auditors")
	// A post without the session's token, as a form on another site would send.
	carol.open("/requests")
	noToken := carol.eval(fmt.Sprintf(`fetch("/requests/%s/approve", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "message=forged"}).then(r => r.status + " " + r.statusText)`, id2))
	if !strings.HasPrefix(noToken, "403") {
		t.Fatalf("a post without the CSRF token answered %s, want 403", noToken)
	}
	// The real form of another site: the browser sends its Origin.
	carol.do(chromedp.Navigate(idp.URL+"/.well-known/openid-configuration"), chromedp.WaitReady(chromedp.CSS("body")))
	carol.eval(fmt.Sprintf(`(() => { const f = document.createElement("form"); f.method = "POST"; f.action = %q;
		const i = document.createElement("input"); i.name = "message"; i.value = "forged"; f.appendChild(i);
		document.body.appendChild(f); f.submit(); return "sent"; })()`, srv.PublicURL+"/requests/"+id2+"/approve"))
	carol.do(chromedp.WaitVisible(chromedp.ID("error")))
	mustContain(t, "the page after a cross-site form", carol.text("#error"), "did not come from this sym page")
	carol.screenshot("forged-post-refused")
	// With her own valid token the engine still says no: the request is
	// not hers to see (authz rule requests.approve: 404 for other members).
	carol.open("/requests")
	withToken := carol.post("/requests/" + id2 + "/approve")
	if !strings.HasPrefix(withToken, "404") || !strings.Contains(withToken, id2) {
		t.Fatalf("carol's approval with a valid token answered %.300s, want 404 (a request she may not see)", withToken)
	}
	if r, err := srv.Engine.Get(ctx, id2); err != nil || r.State != "pending" {
		t.Fatalf("after the forged posts request %s is %v (%v), want pending", id2, r.State, err)
	}

	// Alice takes her second request back; approvers see no such button.
	bob.open("/requests/" + id2)
	if bob.count("#withdraw") != 0 || bob.count("#approve") != 1 {
		t.Fatal("bob, an approver, should see Approve and no Withdraw on alice's pending request")
	}
	if bad := bob.unlabeled(); bad != "" {
		t.Fatalf("the request page's fields %s have no label", bad)
	}
	mustContain(t, "the reason on bob's page", bob.text("#timeline"), `requested `+f.Targets[0])
	if n := bob.count("main img, main script"); n != 0 || bob.eval("document.title") == "pwned" {
		t.Fatalf("a reason's markup became %d elements of the request's page", n)
	}
	alice.open("/requests/" + id2)
	alice.do(chromedp.Click(chromedp.ID("withdraw")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := alice.text("#state"); got != "withdrawn" {
		t.Fatalf("after withdrawing the page shows %q, want withdrawn", got)
	}
	// Bob's page still shows Approve: pressing it says what happened.
	bob.do(chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("error")))
	mustContain(t, "approving a withdrawn request", bob.text("#error"), "withdrawn; it cannot be approved")
	if r, err := srv.Engine.Get(ctx, id2); err != nil || r.State != "withdrawn" {
		t.Fatalf("after bob's late approval request %s is %v (%v), want withdrawn", id2, r.State, err)
	}

	// Dana, an admin, signs in with a token; she sees all active access.
	dana.open("/login")
	dana.do(chromedp.SendKeys(chromedp.ID("token"), danaTok.Token), chromedp.Click(chromedp.ID("token-submit")),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	if got := dana.text("#whoami"); got != "dana@example.com" {
		t.Fatalf("token sign-in shows %q, want dana@example.com", got)
	}
	dana.open("/active")
	if dana.count(fmt.Sprintf(`tr[data-request="%s"]`, id)) != 1 {
		t.Fatalf("the active page does not list alice's grant:\n%s", dana.bodyText())
	}
	dana.screenshot("active-access")

	// Alice revokes; IAM no longer holds her.
	alice.open("/requests/" + id)
	alice.do(chromedp.SendKeys(chromedp.CSS(`form[action$="/revoke"] input[name=message]`), "done early"),
		chromedp.Click(chromedp.ID("revoke")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	mustContain(t, "the page after revoking", alice.text(".flash"), "Revoked")
	if got := alice.text("#state"); got != "ended" {
		t.Fatalf("after revoking the page shows %q, want ended", got)
	}
	// The page says who ended it and why, beside who approved it.
	mustContain(t, "the ended request's page", alice.eval(`document.querySelector("main dl").innerText`), "Decided by\nbob@example.com: “ok for the incident”",
		"Ended by\nalice@example.com: “done early”")
	if got := testenv.GroupMembers(t, m, group); len(got) != 0 {
		t.Fatalf("IAM group %s holds %v after revoke, want nobody", group, got)
	}
	alice.screenshot("request-ended")

	// The audit page shows every step, and exports them.
	dana.open("/audit?user=alice%40example.com")
	audit := dana.text("#audit")
	for _, step := range []string{"request", "approve", "escalate", "revoke", "deescalate", "login"} {
		if dana.count(fmt.Sprintf(`#audit tr[data-type="%s"]`, step)) == 0 {
			t.Fatalf("the audit page filtered to alice has no %q event:\n%s", step, audit)
		}
	}
	mustContain(t, "the audit page", audit, "bob@example.com", "granted: alice added to "+group, "signed in to the web app (oidc)")
	dana.screenshot("audit")
	// The page's Export link downloads the selection the page shows.
	lines := dana.eval(`fetch(document.getElementById("export").href).then(r => r.text())`)
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		var ev struct {
			Type      string `json:"type"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("export line %q is not JSON: %v", line, err)
		}
		if ev.RequestID == id {
			types = append(types, ev.Type)
		}
		if ev.RequestID == own {
			t.Fatalf("the export of alice's events holds bob's own request's %s event: the filter was lost", ev.Type)
		}
	}
	if want := []string{"request", "approve", "escalate", "revoke", "deescalate"}; !slices.Equal(types, want) {
		t.Fatalf("exported events of the request: %v, want %v", types, want)
	}

	// Sign-in refusals: an email with no sym user, an unverified email.
	eve := newPerson("eve")
	eve.ssoSignIn("eve@example.com")
	mustContain(t, "an unknown user's sign-in", eve.text("#error"), "eve@example.com has no sym user")
	eve.screenshot("unknown-user-refused")
	mallory := eve // refused sign-ins leave no session behind
	mallory.name = "mallory"
	mallory.ssoSignIn("mallory@example.com")
	mustContain(t, "an unverified email's sign-in", mallory.text("#error"), "has not verified mallory@example.com")

	// A one-time link signs carol in once.
	var link struct{ URL string }
	if err := f.Admin.Do(ctx, "POST", "/login-links", map[string]string{"user_email": "carol@example.com"}, &link); err != nil {
		t.Fatal(err)
	}
	linked := newPerson("carol-link")
	linked.do(chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.ID("continue")), chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	if got := linked.text("#whoami"); got != "carol@example.com" {
		t.Fatalf("the sign-in link signed in %q, want carol@example.com", got)
	}
	linked.do(chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.ID("token")))
	again := linked
	again.do(chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.ID("continue")), chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("error")))
	mustContain(t, "a used sign-in link", again.text("#error"), "already used or has expired")

	// A sign-in page's next= never leads off this site, however it is
	// spelled: a browser drops tabs and newlines from a URL and reads a
	// backslash as a slash. Alice is signed in, so /login sends her on at
	// once.
	elsewhere := strings.TrimPrefix(idp.URL, "http://")
	for _, next := range []string{"//" + elsewhere, "/%5C" + elsewhere, "/%09/" + elsewhere, "/%0A/" + elsewhere, "/%0D%0A/" + elsewhere,
		"http://" + elsewhere, "/%2F" + elsewhere} {
		alice.do(chromedp.Navigate(srv.PublicURL+"/login?next="+next+"/keys"), chromedp.WaitReady(chromedp.CSS("body")))
		if loc := alice.location(); !strings.HasPrefix(loc, srv.PublicURL+"/") {
			t.Fatalf("/login?next=%s sent a signed-in browser to %s, off this site", next, loc)
		}
	}

	// A callback that this browser did not start shows nothing of what it
	// carries: the provider's error text is shown only for a sign-in this
	// browser started (its state).
	eve.open("/login/callback?error=access_denied&error_description=Your+account+is+locked.+Call+the+help+desk+at+555-0100")
	if got := eve.text("#error"); strings.Contains(got, "555-0100") || !strings.Contains(got, "without the state") {
		t.Fatalf("a foreign callback's error is shown as %q; want the state refusal without its text", got)
	}

	// A session started with a token ends with the token: revoked, or
	// expired.
	dana.open("/active")
	if err := f.Admin.Do(ctx, "DELETE", "/tokens/"+danaTok.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	dana.open("/active")
	if !strings.Contains(dana.location(), "/login") {
		t.Fatalf("after her token was revoked dana's session still opens %s", dana.location())
	}
	var shortTok struct{ ID, Token string }
	if err := f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "dana@example.com", "ttl": "1h"}, &shortTok); err != nil {
		t.Fatal(err)
	}
	dana.do(chromedp.SendKeys(chromedp.ID("token"), shortTok.Token), chromedp.Click(chromedp.ID("token-submit")),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	// The token's hour passes (its row says so; sessions last 12 hours).
	if _, err := srv.Store.DB().ExecContext(ctx, `UPDATE tokens SET expires_at=? WHERE id=?`,
		time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano), shortTok.ID); err != nil {
		t.Fatal(err)
	}
	dana.open("/active")
	if !strings.Contains(dana.location(), "/login") {
		t.Fatalf("after her token expired dana's session still opens %s", dana.location())
	}

	// Many requests at once: carol asks first, then alice 500 times.
	member := func(email string) engine.Actor { return engine.Actor{Email: email, Role: "member"} }
	ask := func(who engine.Actor, reason string) string {
		t.Helper()
		r, err := srv.Engine.Request(ctx, who, engine.RequestInput{Flow: f.FlowID, Source: engine.SourceAPI,
			Inputs: map[string]any{"target_id": f.Targets[0], "reason": reason, "duration": "1h"}})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	carols := ask(member("carol@example.com"), "carol's, asked first")
	for i := range 500 {
		ask(member("alice@example.com"), fmt.Sprintf("batch %d", i))
	}
	// Bob may decide all 501: carol's is on his page however many came
	// after it.
	bob.open("/approvals")
	if n := bob.count("section.approval"); n != 501 || bob.count(fmt.Sprintf(`section[data-request="%s"]`, carols)) != 1 {
		t.Fatalf("bob's approvals page shows %d of the 501 pending requests he may decide, carol's first one %d times",
			n, bob.count(fmt.Sprintf(`section[data-request="%s"]`, carols)))
	}
	// My requests shows the newest first, 200 a page, the older ones a
	// link away: alice's first two are on the third page.
	alice.open("/requests")
	for page, want := range []int{200, 200, 102} {
		if page > 0 {
			// Where the link leads, loaded in full before it is read.
			alice.do(chromedp.Navigate(alice.eval(`document.getElementById("older").href`)), chromedp.WaitReady(chromedp.CSS("body")))
		}
		if n := alice.count("tr[data-request]"); n != want {
			t.Fatalf("page %d of alice's 502 requests (%s) lists %d, want %d", page+1, alice.location(), n, want)
		}
	}
	for _, want := range []string{id, id2} {
		if alice.count(fmt.Sprintf(`tr[data-request="%s"]`, want)) != 1 {
			t.Fatalf("the last page (%s) does not list alice's request %s:\n%s", alice.location(), want, alice.bodyText())
		}
	}
	if alice.count("#older") != 0 {
		t.Fatal("the last page of alice's requests links to an older one")
	}
	// Paging after a request carol may not see reads as paging after one
	// that does not exist: a request id is no oracle (as in the API).
	carol.open("/requests?before=" + id)
	hidden := carol.bodyText()
	carol.open("/requests?before=00000000-0000-4000-8000-000000000000")
	if unknown := carol.bodyText(); hidden != strings.ReplaceAll(unknown, "00000000-0000-4000-8000-000000000000", id) ||
		!strings.Contains(hidden, "There is no request "+id) {
		t.Fatalf("carol paging after alice's request sees:\n%s\nand after an unknown one:\n%s", hidden, unknown)
	}

	// A session past its 12 hours: a page asks to sign in, a form says so.
	bob.open("/approvals")
	if _, err := srv.Store.DB().ExecContext(ctx, `UPDATE web_sessions SET expires_at=? WHERE user_email='bob@example.com'`,
		time.Now().Add(-time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	bob.do(chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.ID("error")))
	mustContain(t, "a form sent after the session expired", bob.text("#error"), "Your session has ended")
	bob.open("/approvals")
	if !strings.Contains(bob.location(), "/login") {
		t.Fatalf("after his session expired /approvals is at %s, want the sign-in page", bob.location())
	}

	// Signing out ends the session on the server, not just in the browser;
	// the back button shows no page of the session.
	alice.open("/requests/" + id)
	alice.do(chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.ID("token")))
	alice.do(chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := alice.location(); !strings.Contains(loc, "/login") || alice.count("#whoami") != 0 {
		t.Fatalf("the back button after signing out shows %s:\n%s", loc, alice.bodyText())
	}
	alice.open("/approvals")
	if !strings.Contains(alice.location(), "/login") {
		t.Fatalf("after signing out /approvals is at %s, want the sign-in page", alice.location())
	}
}
