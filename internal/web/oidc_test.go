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
	resp, err = c.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestOIDCAutoCreate: with --oidc-auto-create a verified email with no sym
// user becomes a member at its first sign-in; an unverified one does not.
func TestOIDCAutoCreate(t *testing.T) {
	idp := testenv.StartOIDCProvider(t, "")
	srv := testenv.StartServerWith(t, testenv.ServerOptions{OIDC: web.OIDCConfig{
		Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, AutoCreate: true}})
	idp.RedirectURI = srv.PublicURL + "/login/callback"
	idp.Unverified["unverified@example.com"] = true

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
	// A wrong client secret at sym: the code exchange fails, nobody signs in.
	idp.ClientSecret = "rotated-at-the-provider"
	status, body = signInOIDC(t, srv.PublicURL, "newcomer@example.com")
	if status != 401 || !strings.Contains(body, "could not be exchanged") {
		t.Fatalf("a sign-in with a stale client secret answered %d:\n%s", status, body)
	}
}
