// Package web is sym's web app, served by sym server itself: server-rendered
// pages (html/template, assets embedded in the binary) for requesting,
// approving, revoking and auditing access, with sign-in through OpenID
// Connect or a sym token.
//
// It decides nothing about requests: every action goes through the engine,
// and every button it draws is asked of the same rules (permits.go). It
// must never log a session id, a token or a sign-in code, and never accept
// a form without the session's CSRF token.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// Config wires the web app.
type Config struct {
	Store  *store.Store
	Engine *engine.Engine
	Log    *slog.Logger
	// PublicURL is where browsers reach the server (https://sym.example.com);
	// the OIDC redirect URL, cookie security and links derive from it.
	PublicURL string
	Org       string
	OIDC      OIDCConfig
	Now       func() time.Time
}

// OIDCConfig is the identity provider; Issuer empty turns SSO off (token
// sign-in stays).
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// AutoCreate creates a member for a verified email that has no sym user
	// yet; otherwise such a sign-in is refused.
	AutoCreate bool
	// HTTPClient reaches the issuer (default http.DefaultClient).
	HTTPClient *http.Client
}

// App is the web app's handler.
type App struct {
	cfg    Config
	mux    *http.ServeMux
	pages  map[string]*template.Template
	secure bool // cookies only over https
	origin string
	// base is the public URL's path ("" or "/sym"): the server answers
	// at its root behind a proxy that strips it, and every link and
	// redirect the browser follows carries it.
	base string
	oidc *oidcClient
}

// New builds the web app.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("public URL must be an absolute http(s) URL such as https://sym.example.com, not " + cfg.PublicURL)
	}
	cfg.PublicURL = u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/")
	a := &App{cfg: cfg, mux: http.NewServeMux(), secure: u.Scheme == "https", origin: u.Scheme + "://" + u.Host,
		base: strings.TrimRight(u.Path, "/")}
	if cfg.OIDC.Issuer != "" {
		if cfg.OIDC.ClientID == "" {
			return nil, errors.New("--oidc-client-id is required with --oidc-issuer")
		}
		a.oidc = &oidcClient{cfg: cfg.OIDC, redirect: cfg.PublicURL + "/login/callback"}
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", a.loginPage)
	a.mux.HandleFunc("POST /login/token", a.loginToken)
	a.mux.HandleFunc("GET /login/oidc", a.loginOIDC)
	a.mux.HandleFunc("GET /login/callback", a.oidcCallback)
	a.mux.HandleFunc("GET /login/link", a.linkPage)
	a.mux.HandleFunc("POST /login/link", a.useLink)
	a.mux.HandleFunc("POST /logout", a.signedIn(a.logout))
	a.mux.HandleFunc("GET /request", a.signedIn(a.requestPage))
	a.mux.HandleFunc("POST /request", a.signedIn(a.createRequest))
	a.mux.HandleFunc("GET /requests", a.signedIn(a.myRequests))
	a.mux.HandleFunc("GET /requests/{id}", a.signedIn(a.detail))
	a.mux.HandleFunc("POST /requests/{id}/{action}", a.signedIn(a.act))
	a.mux.HandleFunc("GET /approvals", a.signedIn(a.approvals))
	a.mux.HandleFunc("GET /active", a.signedIn(a.active))
	a.mux.HandleFunc("GET /audit", a.signedIn(a.audit))
	a.mux.HandleFunc("GET /audit/export", a.signedIn(a.auditExport))
	return a, nil
}

// Routes are the path patterns the app answers, for the server's mux.
func Routes() []string {
	return []string{"/{$}", "/static/", "/login", "/login/", "/logout", "/request", "/requests", "/requests/",
		"/approvals", "/active", "/audit", "/audit/"}
}

// ServeHTTP adds the headers every page carries.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self' "+a.formActions()+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if a.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	a.mux.ServeHTTP(w, r)
}

func (a *App) formActions() string {
	if a.oidc == nil {
		return ""
	}
	if u, err := url.Parse(a.cfg.OIDC.Issuer); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return ""
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// ---- sessions ----

// The cookie names; with https the __Host- prefix pins them to this
// origin (Secure, Path=/, no Domain).
func (a *App) cookieName(base string) string {
	if a.secure {
		return "__Host-" + base
	}
	return base
}

type session struct {
	id    string
	actor engine.Actor
	csrf  string
	via   string
}

type ctxKey struct{}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSession signs a user in: a new session row and its cookie. A
// sign-in with a sym token names it (tokenID), so that the session ends
// when the token is revoked or expires.
func (a *App) startSession(w http.ResponseWriter, r *http.Request, u *store.User, via, tokenID string) error {
	id := randomString(32)
	if err := a.cfg.Store.CreateSession(r.Context(), id, u.Email, randomString(24), via, tokenID, a.cfg.Now().Add(SessionTTL)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_session"), Value: id, Path: "/", MaxAge: int(SessionTTL.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	a.auditLogin(r.Context(), u.Email, via)
	a.cfg.Log.Info("web sign-in", "user", u.Email, "via", via)
	return nil
}

// auditLogin records a sign-in in the audit log.
func (a *App) auditLogin(ctx context.Context, email, via string) {
	if err := a.cfg.Store.AppendEvent(ctx, loginEvent(email, via, a.cfg.Now())); err != nil {
		a.cfg.Log.Error("audit sign-in", "user", email, "err", err)
	}
}

func (a *App) currentSession(r *http.Request) *session {
	c, err := r.Cookie(a.cookieName("sym_session"))
	if err != nil || c.Value == "" {
		return nil
	}
	s, err := a.cfg.Store.GetSession(r.Context(), c.Value)
	if err != nil {
		if !store.IsNotFound(err) {
			a.cfg.Log.Error("read session", "err", err)
		}
		return nil
	}
	return &session{id: c.Value, actor: engine.Actor{Email: s.User.Email, Role: s.User.Role}, csrf: s.CSRF, via: s.Via}
}

// signedIn wraps a page that needs a session; for a POST it also checks
// the CSRF token and the Origin before the handler sees the form.
func (a *App) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := a.currentSession(r)
		if s == nil {
			if r.Method == http.MethodGet {
				a.redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
				return
			}
			a.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended. Sign in again, then repeat what you did.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !a.sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				a.cfg.Log.Warn("web form refused: CSRF token or origin mismatch", "user", s.actor.Email, "path", r.URL.Path)
				a.fail(w, r, s, http.StatusForbidden, "This form did not come from this sym page (its security token is missing or stale). Reload the page and try again.")
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
		h(w, r, s)
	}
}

// sameOrigin refuses a POST whose Origin (when the browser sends one) is
// another site.
func (a *App) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || strings.EqualFold(o, a.origin)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string { return localPath(next, "/requests") }

// localPath answers p when it is a path on this site, else fallback. A
// browser reads some paths as another host where Go reads a path: it
// drops tabs and newlines anywhere in a URL and takes a backslash for a
// slash, so "/\t/evil.example" and "/\\evil.example" both lead to
// //evil.example. Such a p is refused, as is anything with a scheme or a
// host.
func localPath(p, fallback string) string {
	u, err := url.Parse(p) // refuses control characters (tab, CR, LF)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.ContainsRune(p, '\\') || strings.ContainsRune(u.Path, '\\') {
		return fallback
	}
	return p
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	if a.currentSession(r) == nil {
		a.redirect(w, r, "/login")
		return
	}
	a.redirect(w, r, "/requests")
}

// redirect sends the browser to a path of this app (as the server sees
// it), under the public URL's path.
func (a *App) redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, a.base+path, http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := a.cfg.Store.DeleteSession(r.Context(), s.id); err != nil {
		a.cfg.Log.Error("delete session", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_session"), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	a.flash(w, "You are signed out.")
	a.redirect(w, r, "/login")
}

// ---- flash messages ----

func (a *App) flash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_flash"), Value: base64.RawURLEncoding.EncodeToString([]byte(msg)), Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

func (a *App) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(a.cookieName("sym_flash"))
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName("sym_flash"), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}
