package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
	"github.com/opensym/sym/internal/web"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signInOIDC goes through the sign-in as a browser without scripts would:
// sym's redirect, the provider's form, the callback. It answers the last
// page's status and body.
func signInOIDC(t *testing.T, base, email string) (int, string) {
	t.Helper()
	c, callback := startOIDC(t, base, email)
	return get(t, c, callback)
}

// startOIDC goes through the sign-in up to the provider's redirect back to
// sym: it answers the browser (its cookies) and the callback URL.
func startOIDC(t *testing.T, base, email string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/login/oidc")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"email": {email}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	if form.Get("state") == "" {
		t.Fatalf("the provider's sign-in page carries no state:\n%s", page)
	}
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("the provider answered the sign-in with %d, want a redirect to sym", resp.StatusCode)
	}
	return c, resp.Header.Get("Location")
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestOIDCCallbackRefused: a callback this browser did not start (another
// person's code and state, say from a link) and a callback used twice are
// refused, and nobody is signed in by them.
func TestOIDCCallbackRefused(t *testing.T) {
	idp := testenv.StartOIDCProvider(t, "")
	srv := testenv.StartServerWith(t, testenv.ServerOptions{OIDC: web.OIDCConfig{
		Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, AutoCreate: true}})
	idp.RedirectURI = srv.PublicURL + "/login/callback"
	victim, _ := startOIDC(t, srv.PublicURL, "victim@example.com")
	attacker, callback := startOIDC(t, srv.PublicURL, "attacker@example.com")
	if status, body := get(t, victim, callback); status != 400 || !strings.Contains(body, "without the state this browser started it with") || strings.Contains(body, "whoami") {
		t.Fatalf("another browser's callback answered %d:\n%s", status, body)
	}
	if status, body := get(t, attacker, callback); status != 200 || !strings.Contains(body, `<span id="whoami">attacker@example.com</span>`) {
		t.Fatalf("the callback in the browser that started it answered %d:\n%s", status, body)
	}
	replay, _ := cookiejar.New(nil)
	if status, body := get(t, &http.Client{Jar: replay}, callback); status != 400 || strings.Contains(body, "whoami") {
		t.Fatalf("the callback used again answered %d:\n%s", status, body)
	}
}

// TestOIDCAutoCreate: with --oidc-auto-create a verified email with no sym
// user becomes a member at its first sign-in; an unverified one does not;
// the provider's refusal is shown.
func TestOIDCAutoCreate(t *testing.T) {
	idp := testenv.StartOIDCProvider(t, "")
	srv := testenv.StartServerWith(t, testenv.ServerOptions{OIDC: web.OIDCConfig{
		Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, AutoCreate: true}})
	idp.RedirectURI = srv.PublicURL + "/login/callback"
	idp.Unverified["unverified@example.com"] = true
	idp.Refused["locked@example.com"] = "access_denied"

	status, body := signInOIDC(t, srv.PublicURL, "newcomer@example.com")
	if status != 200 || !strings.Contains(body, `<span id="whoami">newcomer@example.com</span> <span class="role">member</span>`) {
		t.Fatalf("first SSO sign-in answered %d:\n%s", status, body)
	}
	u, err := srv.Store.GetUser(context.Background(), "newcomer@example.com")
	if err != nil || u.Role != "member" {
		t.Fatalf("the new user: %+v %v, want a member", u, err)
	}
	status, body = signInOIDC(t, srv.PublicURL, "unverified@example.com")
	if status != 401 || !strings.Contains(body, "has not verified unverified@example.com") {
		t.Fatalf("an unverified email answered %d:\n%s", status, body)
	}
	if _, err := srv.Store.GetUser(context.Background(), "unverified@example.com"); err == nil {
		t.Fatal("an unverified email was made a user")
	}
	// The provider's own refusal of this browser's sign-in is shown.
	status, body = signInOIDC(t, srv.PublicURL, "locked@example.com")
	if status != 401 || !strings.Contains(body, "The identity provider refused the sign-in: access_denied the provider refused locked@example.com") {
		t.Fatalf("a sign-in the provider refused answered %d:\n%s", status, body)
	}
	// A wrong client secret at sym: the code exchange fails, nobody signs in.
	idp.ClientSecret = "rotated-at-the-provider"
	status, body = signInOIDC(t, srv.PublicURL, "newcomer@example.com")
	if status != 401 || !strings.Contains(body, "could not be exchanged") {
		t.Fatalf("a sign-in with a stale client secret answered %d:\n%s", status, body)
	}
}
