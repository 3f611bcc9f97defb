package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/opensym/sym/internal/store"
	"golang.org/x/oauth2"
)

// LoginLinkTTL is how long a one-time sign-in link works.
const LoginLinkTTL = 15 * time.Minute

// ---- the sign-in page and token sign-in ----

type loginData struct {
	SSO  bool
	Next string
	// Login is the pre-session CSRF value (double-submit: a cookie and a
	// hidden field that must match).
	Login string
}

func (a *App) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(a.cookieName("sym_login")); err == nil && len(c.Value) >= 20 {
		return c.Value
	}
	v := randomString(24)
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_login"), Value: v, Path: "/", MaxAge: 3600,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
	return v
}

func (a *App) checkLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(a.cookieName("sym_login"))
	return err == nil && a.sameOrigin(r) && subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("login"))) == 1
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if s := a.currentSession(r); s != nil {
		a.redirect(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	a.render(w, r, nil, 200, "login", page{Title: "Sign in", Data: loginData{SSO: a.oidc != nil,
		Next: safeNext(r.URL.Query().Get("next")), Login: a.loginCSRF(w, r)}})
}

func (a *App) loginFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.render(w, r, nil, status, "login", page{Title: "Sign in", Error: msg, Data: loginData{SSO: a.oidc != nil,
		Next: safeNext(r.FormValue("next")), Login: a.loginCSRF(w, r)}})
}

// loginToken signs in with a sym token (setups without an IdP, break-glass).
func (a *App) loginToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !a.checkLoginCSRF(r) {
		a.loginFailed(w, r, http.StatusForbidden, "The sign-in form had expired. Try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		a.loginFailed(w, r, http.StatusBadRequest, "Paste a sym token (an admin issues one with 'sym tokens issue EMAIL').")
		return
	}
	u, tokenID, err := a.cfg.Store.TokenOwner(r.Context(), token)
	if err != nil {
		if !store.IsNotFound(err) {
			a.cfg.Log.Error("look up token", "err", err)
		}
		a.cfg.Log.Warn("web sign-in refused: unknown token")
		a.loginFailed(w, r, http.StatusUnauthorized, "That token is not valid (unknown, expired or revoked).")
		return
	}
	if err := a.startSession(w, r, u, "token", tokenID); err != nil {
		a.failErr(w, r, nil, err)
		return
	}
	a.redirect(w, r, safeNext(r.PostFormValue("next")))
}

// ---- one-time sign-in links ----

// NewLoginLink makes a one-time sign-in link for a user, valid for
// LoginLinkTTL (the API's POST /api/v1/login-links and `make demo` hand it
// out).
func NewLoginLink(ctx context.Context, st *store.Store, publicURL, email string, now time.Time) (string, time.Time, error) {
	code := randomString(32)
	exp := now.Add(LoginLinkTTL)
	if err := st.CreateLoginLink(ctx, code, email, exp); err != nil {
		return "", time.Time{}, err
	}
	return strings.TrimRight(publicURL, "/") + "/login/link?code=" + code, exp, nil
}

// linkPage asks for a click before it uses the code, so that a link
// preview fetching the URL does not spend it.
func (a *App) linkPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, nil, 200, "link", page{Title: "Sign in", Data: map[string]string{
		"Code": r.URL.Query().Get("code"), "Login": a.loginCSRF(w, r)}})
}

func (a *App) useLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !a.checkLoginCSRF(r) {
		a.loginFailed(w, r, http.StatusForbidden, "The sign-in form had expired. Open the link again.")
		return
	}
	u, err := a.cfg.Store.UseLoginLink(r.Context(), r.PostFormValue("code"))
	if err != nil {
		if !store.IsNotFound(err) {
			a.cfg.Log.Error("use sign-in link", "err", err)
		}
		a.loginFailed(w, r, http.StatusUnauthorized, "That sign-in link was already used or has expired. Ask an admin for a new one.")
		return
	}
	if err := a.startSession(w, r, u, "link", ""); err != nil {
		a.failErr(w, r, nil, err)
		return
	}
	a.redirect(w, r, "/requests")
}

// ---- OpenID Connect ----

type oidcClient struct {
	cfg      OIDCConfig
	redirect string
	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	if o.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	return ctx
}

// setup discovers the issuer once it answers (not at server start, so a
// down IdP does not stop the server; token sign-in still works).
func (o *oidcClient) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("the identity provider %s did not answer its discovery document: %w", o.cfg.Issuer, err)
		}
		o.provider = p
	}
	oc := &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: o.provider.Endpoint(),
		RedirectURL: o.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	return oc, o.provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}), nil
}

// CheckIdentityProvider reads the issuer's discovery document once, so
// that the server can say at start whether browser sign-in will work (a
// mistyped --oidc-issuer or an unreachable IdP shows on the first
// sign-in otherwise). It answers nil when no issuer is configured; a
// failure here is retried at the next sign-in.
func (a *App) CheckIdentityProvider(ctx context.Context) error {
	if a.oidc == nil {
		return nil
	}
	_, _, err := a.oidc.setup(ctx)
	return err
}

// loginOIDC sends the browser to the identity provider with a fresh
// state, nonce and PKCE verifier kept in a short-lived cookie.
func (a *App) loginOIDC(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		a.loginFailed(w, r, http.StatusNotFound, "Single sign-on is not configured on this server (--oidc-issuer); sign in with a token.")
		return
	}
	oc, _, err := a.oidc.setup(r.Context())
	if err != nil {
		a.cfg.Log.Error("oidc discovery", "err", err)
		a.loginFailed(w, r, http.StatusBadGateway, "The identity provider cannot be reached right now; try again shortly, or sign in with a token.")
		return
	}
	state, nonce, verifier := randomString(24), randomString(24), oauth2.GenerateVerifier()
	next := safeNext(r.URL.Query().Get("next"))
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_oidc"), Value: state + "." + nonce + "." + verifier + "." + encodeNext(next),
		Path: "/", MaxAge: 600, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func encodeNext(next string) string { return strings.NewReplacer(".", "%2E").Replace(next) }

func decodeNext(s string) string { return safeNext(strings.ReplaceAll(s, "%2E", ".")) }

// oidcCallback checks the answer and signs the user in by the ID token's
// verified email.
func (a *App) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		http.NotFound(w, r)
		return
	}
	c, err := r.Cookie(a.cookieName("sym_oidc"))
	parts := []string{}
	if err == nil {
		parts = strings.SplitN(c.Value, ".", 4)
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_oidc"), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	// The state comes first, also for an error answer (the provider sends
	// it back there too): a link to this page that this browser's sign-in
	// did not produce shows nothing of what it carries.
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		a.loginFailed(w, r, http.StatusBadRequest, "The sign-in came back without the state this browser started it with. Start again.")
		return
	}
	if e := q.Get("error"); e != "" {
		a.loginFailed(w, r, http.StatusUnauthorized, "The identity provider refused the sign-in: "+e+" "+q.Get("error_description"))
		return
	}
	email, err := a.oidcEmail(r.Context(), q.Get("code"), parts[1], parts[2])
	if err != nil {
		a.cfg.Log.Warn("oidc sign-in refused", "err", err)
		a.loginFailed(w, r, http.StatusUnauthorized, "Single sign-on failed: "+err.Error()+".")
		return
	}
	u, err := a.cfg.Store.GetUser(r.Context(), email)
	if store.IsNotFound(err) {
		if !a.cfg.OIDC.AutoCreate {
			a.cfg.Log.Warn("oidc sign-in refused: no such user", "user", email)
			a.loginFailed(w, r, http.StatusForbidden, fmt.Sprintf("%s has no sym user. Ask an admin to create it ('sym users create %s').", email, email))
			return
		}
		u = &store.User{Email: email, Role: store.RoleMember}
		if err = a.cfg.Store.CreateUser(r.Context(), u); errors.Is(err, store.ErrConflict) {
			u, err = a.cfg.Store.GetUser(r.Context(), email)
		}
		if err == nil {
			a.cfg.Log.Info("oidc sign-in created a member", "user", email)
		}
	}
	if err != nil {
		a.failErr(w, r, nil, err)
		return
	}
	if err := a.startSession(w, r, u, "oidc", ""); err != nil {
		a.failErr(w, r, nil, err)
		return
	}
	a.redirect(w, r, decodeNext(parts[3]))
}

func (a *App) oidcEmail(ctx context.Context, code, nonce, verifier string) (string, error) {
	if code == "" {
		return "", errors.New("no authorization code came back")
	}
	oc, verify, err := a.oidc.setup(ctx)
	if err != nil {
		return "", err
	}
	ctx = a.oidc.ctx(ctx)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("the code could not be exchanged at the identity provider (%v)", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", errors.New("the identity provider sent no ID token")
	}
	idt, err := verify.Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("the ID token is not valid (%v)", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", errors.New("the ID token's nonce is not this sign-in's")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("the ID token's claims cannot be read (%v)", err)
	}
	if claims.Email == "" {
		return "", errors.New("the ID token has no email claim (ask for the email scope)")
	}
	// Some providers send the boolean as a string.
	if v := fmt.Sprint(claims.EmailVerified); v != "true" {
		return "", fmt.Errorf("the identity provider has not verified %s", claims.Email)
	}
	return strings.ToLower(claims.Email), nil
}
