package api

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// ---- users and tokens ----

type userInput struct {
	Email      string            `json:"email"`
	Role       string            `json:"role"`
	Identities map[string]string `json:"identities"`
}

func validRole(role string) bool { return authz.ValidRole(role) }

const rolesText = "admin, member, auditor or automation"

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	var in userInput
	if !decode(w, r, &in) {
		return
	}
	var errs []model.FieldError
	if _, err := mail.ParseAddress(in.Email); err != nil || strings.ContainsAny(in.Email, " <>") {
		errs = append(errs, fieldErr("email", "%q is not an email address", in.Email))
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	if !validRole(in.Role) {
		errs = append(errs, fieldErr("role", "must be %s, not %q", rolesText, in.Role))
	}
	for k, v := range in.Identities {
		if strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			errs = append(errs, fieldErr("identities", "identity names and values must not be empty"))
		} else if err := model.CheckIdentityKey(k); err != nil {
			errs = append(errs, fieldErr("identities", "%s", err))
		}
	}
	if len(errs) > 0 {
		writeErrors(w, r, 400, errs...)
		return
	}
	u := &store.User{Email: in.Email, Role: in.Role, Identities: in.Identities}
	ev := auditEvent(a, "user.create", map[string]string{"user": strings.ToLower(strings.TrimSpace(u.Email)), "role": u.Role,
		"identities": identityKeys(u.Identities)})
	if err := s.cfg.Store.CreateUser(r.Context(), u, ev); err == store.ErrConflict {
		writeErrors(w, r, 409, fieldErr("email", "user %s already exists", u.Email))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 201, u)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ engine.Actor) {
	us, err := s.cfg.Store.ListUsers(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, us)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	email := r.PathValue("email")
	if email == "me" {
		email = a.Email
		if a.Bot {
			writeJSON(w, 200, store.User{Email: a.Email, Role: a.Role, Identities: map[string]string{}})
			return
		}
	}
	if !s.allowed(w, r, authz.ReadUser, a, authz.Resource{Owner: email}) {
		return
	}
	u, err := s.cfg.Store.GetUser(r.Context(), email)
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no user %s", email))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	var in struct {
		Role       *string           `json:"role"`
		Identities map[string]string `json:"identities"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := s.cfg.Store.GetUser(r.Context(), r.PathValue("email"))
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no user %s", r.PathValue("email")))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	details := map[string]string{"user": u.Email}
	if in.Role != nil {
		if *in.Role != u.Role {
			details["role_from"], details["role_to"] = u.Role, *in.Role
		}
		if !validRole(*in.Role) {
			writeErrors(w, r, 400, fieldErr("role", "must be %s, not %q", rolesText, *in.Role))
			return
		}
		if *in.Role != u.Role && *in.Role != store.RoleAdmin {
			// A demotion, or a move to a role that holds no access:
			// what the user holds ends first.
			if _, err := s.cfg.Engine.EndAccessOf(r.Context(), a, u.Email, fmt.Sprintf("role changed from %s to %s", u.Role, *in.Role)); err != nil {
				s.writeErr(w, r, err)
				return
			}
		}
		u.Role = *in.Role
	}
	var changedIDs []string
	for k, v := range in.Identities {
		if strings.TrimSpace(k) == "" {
			writeErrors(w, r, 400, fieldErr("identities", "identity names must not be empty"))
			return
		}
		if u.Identities[k] != v {
			changedIDs = append(changedIDs, k)
		}
		if _, had := u.Identities[k]; !(had && v == "") {
			if err := model.CheckIdentityKey(k); err != nil {
				writeErrors(w, r, 400, fieldErr("identities", "%s", err))
				return
			}
		}
		if v == "" {
			delete(u.Identities, k)
		} else {
			u.Identities[k] = v
		}
	}
	if len(changedIDs) > 0 {
		slices.Sort(changedIDs)
		details["identities_changed"] = strings.Join(changedIDs, ",")
	}
	if err := s.cfg.Store.UpdateUser(r.Context(), u, auditEvent(a, "user.update", details)); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	email := r.PathValue("email")
	if _, err := s.cfg.Store.GetUser(r.Context(), email); store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no user %s", email))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	// Their access ends before they do.
	if _, err := s.cfg.Engine.EndAccessOf(r.Context(), a, email, "user deleted"); err != nil {
		s.writeErr(w, r, err)
		return
	}
	ev := auditEvent(a, "user.delete", map[string]string{"user": strings.ToLower(email)})
	if err := s.cfg.Store.DeleteUser(r.Context(), email, ev); store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no user %s", r.PathValue("email")))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokenPrefix begins every token NewToken makes.
const tokenPrefix = "sym_"

// NewToken makes a random bearer token.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// LooksLikeToken tells a token's secret (what NewToken makes) from its id
// (tok_...), so that a secret sent where an id belongs is neither echoed
// nor logged.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, tokenPrefix) && len(s) >= len(tokenPrefix)+16
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	var in struct {
		UserEmail string `json:"user_email"`
		TTL       string `json:"ttl"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.UserEmail) == "" {
		writeErrors(w, r, 400, fieldErr("user_email", "is required"))
		return
	}
	ttl := store.DefaultTokenTTL
	if s.cfg.MaxTokenTTL > 0 && ttl > s.cfg.MaxTokenTTL {
		ttl = s.cfg.MaxTokenTTL
	}
	if strings.TrimSpace(in.TTL) != "" {
		d, err := model.ParseDuration(in.TTL)
		if err != nil {
			writeErrors(w, r, 400, fieldErr("ttl", "%s", err))
			return
		}
		if s.cfg.MaxTokenTTL > 0 && d > s.cfg.MaxTokenTTL {
			writeErrors(w, r, 400, fieldErr("ttl", "%s is longer than the server's --max-token-ttl of %s", model.FormatDuration(d), model.FormatDuration(s.cfg.MaxTokenTTL)))
			return
		}
		ttl = d
	}
	if !s.limited(w, r, a, "tokens") {
		return
	}
	u, err := s.cfg.Store.GetUser(r.Context(), in.UserEmail)
	if store.IsNotFound(err) {
		writeErrors(w, r, 400, fieldErr("user_email", "no user %s", capText(in.UserEmail)))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	token := NewToken()
	expires := time.Now().Add(ttl).UTC()
	ev := auditEvent(a, "token.issue", map[string]string{"user": u.Email, "issuer": strings.ToLower(a.Email),
		"expires_at": expires.Format(time.RFC3339)})
	t, err := s.cfg.Store.IssueToken(r.Context(), u.Email, token, a.Email, expires, ev)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 201, map[string]string{"id": t.ID, "token": token, "user_email": u.Email,
		"expires_at": t.ExpiresAt.Format(time.RFC3339)})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	email := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("user_email")))
	owner := email
	if owner == "" {
		owner = "*" // everyone's: the others' column
	}
	if !authz.Allowed(authz.ListTokens, a.Caller(), authz.Resource{Owner: owner}) {
		// Members without a filter see their own.
		if email != "" || !authz.Allowed(authz.ListTokens, a.Caller(), authz.Resource{Owner: a.Email}) {
			s.allowed(w, r, authz.ListTokens, a, authz.Resource{Owner: owner})
			return
		}
		email = strings.ToLower(a.Email)
	}
	ts, err := s.cfg.Store.ListTokens(r.Context(), email)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, ts)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	id := r.PathValue("id")
	if LooksLikeToken(id) {
		writeErrors(w, r, 404, fieldErr("", "no token with that id: that is a token itself, not its token id (tok_...; 'sym tokens list' shows them)"))
		return
	}
	t, err := s.cfg.Store.GetToken(r.Context(), id)
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no token %s", capText(id)))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if !s.allowed(w, r, authz.RevokeToken, a, authz.Resource{Owner: t.UserEmail}) {
		return
	}
	ev := auditEvent(a, "token.revoke", map[string]string{"token_id": t.ID, "user": t.UserEmail, "issuer": t.Issuer})
	if err := s.cfg.Store.RevokeToken(r.Context(), t.ID, ev); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- requests ----

// RequestView is a request on the wire.
type RequestView struct {
	*model.Request
	Duration string `json:"duration"`
	// Approvers (of a pending request) are who may approve or deny it; empty
	// means admins only (docs/authz.md). SelfApproval says the requester may
	// approve it too.
	Approvers    []string `json:"approvers,omitempty"`
	SelfApproval bool     `json:"self_approval,omitempty"`
}

func view(req *model.Request) RequestView {
	return RequestView{Request: req, Duration: model.FormatDuration(req.Duration)}
}

// pendingView adds, to a pending request, who may decide it.
func (s *Server) pendingView(r *http.Request, req *model.Request) RequestView {
	v := view(req)
	if req.State == model.Pending {
		v.Approvers, v.SelfApproval = s.cfg.Engine.Approvers(r.Context(), req)
	}
	return v
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	var in struct {
		Flow       string         `json:"flow"`
		FlowSRN    string         `json:"flow_srn"`
		FlowInputs map[string]any `json:"flow_inputs"`
		UserEmail  string         `json:"user_email"`
	}
	if !decode(w, r, &in) {
		return
	}
	if !s.limited(w, r, a, "requests") {
		return
	}
	if in.Flow == "" {
		in.Flow = in.FlowSRN
	}
	req, err := s.cfg.Engine.Request(r.Context(), a, engine.RequestInput{Flow: in.Flow, UserEmail: in.UserEmail, Inputs: in.FlowInputs, Source: engine.SourceAPI})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 201, s.pendingView(r, req))
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	req, err := s.cfg.Engine.GetFor(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, s.pendingView(r, req))
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	q := r.URL.Query()
	if st := q.Get("state"); st != "" && !model.State(st).Valid() {
		writeErrors(w, r, 400, fieldErr("state", "unknown state %q: use one of %s", st, strings.Join(model.StateNames(), ", ")))
		return
	}
	limit, ok := listLimit(w, r)
	if !ok {
		return
	}
	before := q.Get("before")
	reqs, err := s.cfg.Engine.ListFor(r.Context(), a, q.Get("state"), q.Get("user"), before, limit)
	if before != "" && store.IsNotFound(err) {
		writeErrors(w, r, 400, fieldErr("before", "no request %q: give the id of the last request of the page before", capText(before)))
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	out := []RequestView{}
	for _, req := range reqs {
		out = append(out, view(req))
	}
	writeJSON(w, 200, out)
}

type decision struct {
	Message string `json:"message"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, a engine.Actor,
	act func(*engine.Engine, engine.Actor, string, string) (*model.Request, error)) {
	var in decision
	// The body is optional: none, an empty chunked one, or {"message": ...}.
	if !decodeOptional(w, r, &in) {
		return
	}
	req, err := act(s.cfg.Engine, a, r.PathValue("id"), in.Message)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, view(req))
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	s.decide(w, r, a, func(e *engine.Engine, a engine.Actor, id, msg string) (*model.Request, error) {
		return e.Approve(r.Context(), a, id, msg)
	})
}

func (s *Server) deny(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	s.decide(w, r, a, func(e *engine.Engine, a engine.Actor, id, msg string) (*model.Request, error) {
		return e.Deny(r.Context(), a, id, msg)
	})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	s.decide(w, r, a, func(e *engine.Engine, a engine.Actor, id, msg string) (*model.Request, error) {
		return e.Revoke(r.Context(), a, id, msg)
	})
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	s.decide(w, r, a, func(e *engine.Engine, a engine.Actor, id, msg string) (*model.Request, error) {
		return e.Withdraw(r.Context(), a, id, msg)
	})
}

// listLimit reads ?limit=: absent means the default, more than
// store.MaxList is capped to it, anything else not a positive number is a 400.
func listLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return store.MaxList, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		writeErrors(w, r, 400, fieldErr("limit", "must be a positive number (at most %d), not %q", store.MaxList, capText(v)))
		return 0, false
	}
	return min(n, store.MaxList), true
}

// capText shortens caller-supplied text before it is echoed.
func capText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, _ engine.Actor) {
	win, ok := eventWindowOf(w, r)
	if !ok {
		return
	}
	evs, err := s.eventsIn(r, r.URL.Query().Get("request_id"), win)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, evs)
}

// requestEvents serves the events of one request the caller may read.
func (s *Server) requestEvents(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	req, err := s.cfg.Engine.Get(r.Context(), r.PathValue("id"))
	if err == nil {
		err = s.cfg.Engine.Authorize(r.Context(), a, authz.ReadRequestEvents, req)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	win, ok := eventWindowOf(w, r)
	if !ok {
		return
	}
	evs, err := s.eventsIn(r, req.ID, win)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, evs)
}

// eventWindow is which events a listing wants: the newest last, or from
// after seq on, at most limit.
type eventWindow struct {
	after       int64
	last, limit int
}

// eventWindowOf reads ?after=, ?last= and ?limit=, refusing values that are
// not numbers in range rather than ignoring them.
func eventWindowOf(w http.ResponseWriter, r *http.Request) (eventWindow, bool) {
	q := r.URL.Query()
	var win eventWindow
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeErrors(w, r, 400, fieldErr("after", "must be the seq of an event (a number, 0 or more), not %q", capText(v)))
			return win, false
		}
		win.after = n
	}
	if v := q.Get("last"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeErrors(w, r, 400, fieldErr("last", "must be a positive number (at most %d), not %q", store.MaxList, capText(v)))
			return win, false
		}
		win.last = min(n, store.MaxList)
	}
	var ok bool
	win.limit, ok = listLimit(w, r)
	return win, ok
}

// eventsIn lists the events of a request ("" for every event) in win.
func (s *Server) eventsIn(r *http.Request, requestID string, win eventWindow) ([]model.AuditEvent, error) {
	if win.last > 0 {
		return s.cfg.Store.NewestEvents(r.Context(), requestID, win.last)
	}
	return s.cfg.Store.Events(r.Context(), requestID, win.after, win.limit)
}
