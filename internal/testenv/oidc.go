package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OIDCProvider is a small OpenID Connect identity provider for tests: the
// discovery document, keys, an authorization endpoint whose page asks for
// an email (the "company login"), and a token endpoint that checks the
// client secret, the redirect URI and PKCE before it signs an ID token.
type OIDCProvider struct {
	URL          string // the issuer
	ClientID     string
	ClientSecret string
	// RedirectURI is the one redirect the client registered.
	RedirectURI string
	// Unverified lists emails whose ID token says email_verified=false.
	Unverified map[string]bool
	// Refused maps an email to the OAuth error (access_denied, say) its
	// sign-in is answered with instead of a code.
	Refused map[string]string

	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	codes map[string]oidcCode
}

type oidcCode struct {
	email, nonce, challenge, redirect string
	at                                time.Time
}

var oidcLogin = template.Must(template.New("login").Parse(`<!doctype html><html><head><title>Example IdP</title></head>
<body><h1>Example company sign-in</h1>
<form method="post" action="/authorize">
{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label>Email <input id="idp-email" name="email" type="email"></label>
<button id="idp-submit" type="submit">Sign in</button>
</form></body></html>`))

// StartOIDCProvider starts the provider on a loopback port; redirectURI is
// the client's callback (it may be set later, before the first sign-in).
func StartOIDCProvider(tb testing.TB, redirectURI string) *OIDCProvider {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("generate OIDC key: %v", err)
	}
	p := &OIDCProvider{ClientID: "sym-web", ClientSecret: "test-client-secret-0123456789", RedirectURI: redirectURI,
		Unverified: map[string]bool{}, Refused: map[string]string{}, key: key, codes: map[string]oidcCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

func (p *OIDCProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSONResponse(w, 200, map[string]any{
		"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"jwks_uri": p.URL + "/keys", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported": []string{"openid", "email", "profile"}, "code_challenge_methods_supported": []string{"S256"},
	})
}

func (p *OIDCProvider) keys(w http.ResponseWriter, _ *http.Request) {
	writeJSONResponse(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "test", Algorithm: "RS256", Use: "sig"}}})
}

func (p *OIDCProvider) checkClient(q url.Values) string {
	if q.Get("client_id") != p.ClientID {
		return "unknown client_id"
	}
	if q.Get("redirect_uri") != p.RedirectURI {
		return "redirect_uri " + q.Get("redirect_uri") + " is not registered"
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		return "only the code flow with PKCE S256 is served"
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		return "scope must include openid"
	}
	return ""
}

func (p *OIDCProvider) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := p.checkClient(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		fields[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = oidcLogin.Execute(w, fields)
}

func (p *OIDCProvider) authorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if msg := p.checkClient(r.PostForm); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if e := p.Refused[r.PostFormValue("email")]; e != "" {
		u, _ := url.Parse(r.PostFormValue("redirect_uri"))
		u.RawQuery = url.Values{"error": {e}, "error_description": {"the provider refused " + r.PostFormValue("email")},
			"state": {r.PostFormValue("state")}}.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	code := randomID()
	p.mu.Lock()
	p.codes[code] = oidcCode{email: r.PostFormValue("email"), nonce: r.PostFormValue("nonce"),
		challenge: r.PostFormValue("code_challenge"), redirect: r.PostFormValue("redirect_uri"), at: time.Now()}
	p.mu.Unlock()
	u, _ := url.Parse(r.PostFormValue("redirect_uri"))
	q := u.Query()
	q.Set("code", code)
	q.Set("state", r.PostFormValue("state"))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (p *OIDCProvider) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		writeJSONResponse(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	c, found := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code")) // codes work once
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case r.PostFormValue("grant_type") != "authorization_code" || !found || time.Since(c.at) > time.Minute:
		writeJSONResponse(w, 400, map[string]string{"error": "invalid_grant"})
		return
	case r.PostFormValue("redirect_uri") != c.redirect:
		writeJSONResponse(w, 400, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri differs"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		writeJSONResponse(w, 400, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "sub": "sub-" + c.email, "aud": p.ClientID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": c.nonce, "email": c.email, "email_verified": !p.Unverified[c.email]}
	idToken, err := p.sign(claims)
	if err != nil {
		writeJSONResponse(w, 500, map[string]string{"error": "server_error", "error_description": err.Error()})
		return
	}
	writeJSONResponse(w, 200, map[string]any{"access_token": randomID(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (p *OIDCProvider) sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test"))
	if err != nil {
		return "", err
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
