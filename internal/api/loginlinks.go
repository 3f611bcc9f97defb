package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/web"
)

// issueLoginLink mints a one-time web sign-in link for a user (admins):
// for teams without an identity provider, and for `make demo`.
func (s *Server) issueLoginLink(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	var in struct {
		UserEmail string `json:"user_email"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.UserEmail) == "" {
		writeErrors(w, r, 400, fieldErr("user_email", "is required"))
		return
	}
	if s.cfg.PublicURL == "" {
		writeErrors(w, r, 409, fieldErr("", "the server has no public URL for the web app (--public-url)"))
		return
	}
	// A link is a credential like a token: the same allowance.
	if !s.limited(w, r, a, "tokens") {
		return
	}
	u, err := s.cfg.Store.GetUser(r.Context(), in.UserEmail)
	if store.IsNotFound(err) {
		writeErrors(w, r, 400, fieldErr("user_email", "no user %s", in.UserEmail))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	// Whoever holds the link acts as its user: minting one is audited like
	// issuing a token, before the link exists (an audit row without its
	// link is harmless; a link without its row is not).
	now := time.Now()
	ev := auditEvent(a, "login_link.issue", map[string]string{"user": u.Email, "issuer": strings.ToLower(a.Email),
		"expires_at": now.Add(web.LoginLinkTTL).UTC().Format(time.RFC3339)})
	if err := s.cfg.Store.AppendEvent(r.Context(), ev); err != nil {
		s.writeErr(w, r, err)
		return
	}
	link, exp, err := web.NewLoginLink(r.Context(), s.cfg.Store, s.cfg.PublicURL, u.Email, now)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.cfg.Log.Info("sign-in link issued", "user", u.Email, "by", a.Email)
	writeJSON(w, 201, map[string]any{"url": link, "user_email": u.Email, "expires_at": exp.UTC()})
}
