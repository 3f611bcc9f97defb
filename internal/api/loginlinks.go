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
	u, err := s.cfg.Store.GetUser(r.Context(), in.UserEmail)
	if store.IsNotFound(err) {
		writeErrors(w, r, 400, fieldErr("user_email", "no user %s", in.UserEmail))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	link, exp, err := web.NewLoginLink(r.Context(), s.cfg.Store, s.cfg.PublicURL, u.Email, time.Now())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.cfg.Log.Info("sign-in link issued", "user", u.Email, "by", a.Email)
	writeJSON(w, 201, map[string]any{"url": link, "user_email": u.Email, "expires_at": exp.UTC()})
}
