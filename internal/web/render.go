package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// page is what every template gets.
type page struct {
	Title    string
	Base     string // the public URL's path, before every link
	Nav      string
	Org      string
	User     *engine.Actor
	CSRF     string
	Flash    string
	Error    string
	CanAudit bool
	IsAdmin  bool
	Data     any
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return ""
	},
	"iso": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"duration": humanDuration,
	"stateClass": func(s model.State) string {
		return "state state-" + string(s)
	},
	"eventWords": eventWords,
	"join":       strings.Join,
	"short":      func(id string) string { return id[:min(8, len(id))] },
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// render writes a page; a template error is a 500 with the details in the
// log.
func (a *App) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, p page) {
	p.Org, p.Base = a.cfg.Org, a.base
	if s != nil {
		p.User = &s.actor
		p.CSRF = s.csrf
		p.CanAudit = mayAudit(s.actor) == nil
		p.IsAdmin = s.actor.IsAdmin()
	}
	if p.Flash == "" {
		p.Flash = a.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		a.cfg.Log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be drawn; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page with a message in words.
func (a *App) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	a.render(w, r, s, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// failErr shows what went wrong with an engine call, in words: the
// engine's own message, under a heading that says what kind of problem it
// is. Unexpected errors stay in the log.
func (a *App) failErr(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := a.words(r, err)
	a.fail(w, r, s, status, msg)
}

func (a *App) words(r *http.Request, err error) (int, string) {
	if text, ok := engine.Words(err); ok {
		k, _ := engine.KindOf(err)
		return map[engine.Kind]int{engine.Invalid: 400, engine.Forbidden: 403, engine.NotFound: 404,
			engine.Conflict: 409, engine.Upstream: 502}[k], text
	}
	if store.IsNotFound(err) {
		return 404, "Not found."
	}
	a.cfg.Log.Error("web internal error", "path", r.URL.Path, "err", err)
	return 500, "Something went wrong on the server; the server log has the details (" + time.Now().UTC().Format(time.RFC3339) + ")."
}

func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	if s > 0 && h == 0 {
		parts = append(parts, fmt.Sprintf("%ds", s))
	}
	return strings.Join(parts, " ")
}

// eventWords says what an audit event was.
func eventWords(e model.AuditEvent) string {
	d := e.Details
	switch e.Type {
	case string(model.Requested):
		dur := d["duration"]
		if v, err := time.ParseDuration(dur); err == nil {
			dur = humanDuration(v)
		}
		return fmt.Sprintf("requested %s on %s for %s: %q", d["target"], d["flow"], dur, d["reason"])
	case string(model.Approve):
		return withMessage("approved", d["message"])
	case string(model.Deny):
		return withMessage("denied", d["message"])
	case string(model.Expire):
		return "expired: nobody answered in time"
	case string(model.Escalated):
		if d["identity"] != "" {
			return fmt.Sprintf("granted: %s added to %s", d["identity"], firstNonEmpty(d["target.iam_group"], d["target"]))
		}
		return "granted"
	case string(model.EscalateFailed):
		return "grant failed: " + d["error"]
	case string(model.Revoke):
		return withMessage("revoked", d["message"])
	case string(model.Withdraw):
		return withMessage("withdrew the request", d["message"])
	case string(model.Deescalated):
		if d["deescalate_type"] == "scheduled" {
			return "access ended at its deadline"
		}
		return "access removed (" + d["deescalate_type"] + ")"
	case string(model.DeescalateFailed):
		return "removing access failed (attempt " + d["attempt"] + "), retried at " + d["retry_at"] + ": " + d["error"]
	case eventLogin:
		return "signed in to the web app (" + d["via"] + ")"
	}
	var parts []string
	for k, v := range d {
		parts = append(parts, k+"="+v)
	}
	return e.Type + " " + strings.Join(parts, " ")
}

func withMessage(verb, msg string) string {
	if msg == "" {
		return verb
	}
	return fmt.Sprintf("%s: %q", verb, msg)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

const eventLogin = "login"

func loginEvent(email, via string, now time.Time) *model.AuditEvent {
	return &model.AuditEvent{Type: eventLogin, Actor: email, At: now.UTC(), Details: map[string]string{"via": via}}
}
