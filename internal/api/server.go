// Package api is the HTTP JSON API of sym server (docs/api.md) and the Go
// client the CLI uses. Handlers decode, authenticate and map errors; every
// decision about requests belongs to the engine.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config wires the API.
type Config struct {
	Store      *store.Store
	Engine     *engine.Engine
	Org        string
	Version    string
	AdminToken string // SYM_ADMIN_TOKEN; empty disables the admin bot
	Log        *slog.Logger
	Registry   *prometheus.Registry
	// PublicURL is where browsers reach the web app (sign-in links).
	PublicURL string
	// WhoAmI tells the server's own AWS identity (GET /api/v1/server).
	WhoAmI func(context.Context) (awsauth.Identity, error)
	// Delivery answers GET /api/v1/log-destinations/status.
	Delivery *logdest.Deliverer
	// MaxTokenTTL caps the life of issued tokens (0: no cap beyond the
	// 30-day default).
	MaxTokenTTL time.Duration
	// MetricsToken, when set, must be sent as a bearer token for /metrics.
	MetricsToken string
	// Rates limit request creation and token issuing per token.
	Rates Rates
	// Guards refuse entity settings outside the server's guard rails.
	Guards awsauth.Guards
}

// Server is the HTTP handler.
type Server struct {
	cfg        Config
	mux        *http.ServeMux
	requests   *prometheus.CounterVec
	adminToken atomic.Pointer[string]
	limits     *limiter
}

// SetAdminToken replaces the admin bot's token (SIGHUP re-reads
// SYM_ADMIN_TOKEN_FILE); "" disables the bot.
func (s *Server) SetAdminToken(token string) { s.adminToken.Store(&token) }

// maxBody bounds request bodies.
const maxBody = 1 << 20

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Org == "" {
		cfg.Org = "default"
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), limits: newLimiter(cfg.Rates)}
	s.SetAdminToken(cfg.AdminToken)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sym_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.requests)
		metrics := promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})
		s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			if cfg.MetricsToken != "" {
				token, _ := bearerToken(r)
				if !constantTimeEqual(token, cfg.MetricsToken) {
					unauthorized(w, r, "/metrics needs the server's metrics token (--metrics-token) as a bearer token")
					return
				}
			}
			metrics.ServeHTTP(w, r)
		})
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Store.Ping(ctx); err != nil {
			cfg.Log.Error("health check: database", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
	})
	// Each route names its authz rule; "" means the handler checks with
	// the resource in hand (ownership, visibility).
	s.route("GET /api/v1/org", authz.ReadOrg, s.org)
	s.route("GET /api/v1/server", authz.ReadOrg, s.serverInfo)
	s.route("GET /api/v1/entities/{kind}", "", s.listEntities)
	s.route("POST /api/v1/entities/{kind}", authz.WriteEntities, s.createEntity)
	s.route("GET /api/v1/entities/{kind}/{id}", "", s.getEntity)
	s.route("PATCH /api/v1/entities/{kind}/{id}", authz.WriteEntities, s.updateEntity)
	s.route("DELETE /api/v1/entities/{kind}/{id}", authz.WriteEntities, s.deleteEntity)
	s.route("POST /api/v1/entities/flows-filter", authz.WriteEntities, s.singleton(model.FlowsFilterKind, s.createEntity))
	s.route("GET /api/v1/entities/flows-filter", "", s.singleton(model.FlowsFilterKind, s.getEntity))
	s.route("PATCH /api/v1/entities/flows-filter", authz.WriteEntities, s.singleton(model.FlowsFilterKind, s.updateEntity))
	s.route("DELETE /api/v1/entities/flows-filter", authz.WriteEntities, s.singleton(model.FlowsFilterKind, s.deleteEntity))
	s.route("POST /api/v1/users", authz.WriteUsers, s.createUser)
	s.route("GET /api/v1/users", authz.ListUsers, s.listUsers)
	s.route("GET /api/v1/users/{email}", "", s.getUser)
	s.route("PATCH /api/v1/users/{email}", authz.WriteUsers, s.updateUser)
	s.route("DELETE /api/v1/users/{email}", authz.WriteUsers, s.deleteUser)
	s.route("POST /api/v1/tokens", authz.IssueToken, s.issueToken)
	s.route("GET /api/v1/tokens", "", s.listTokens)
	s.route("DELETE /api/v1/tokens/{id}", "", s.revokeToken)
	// A one-time sign-in link is a credential like a token: same rule.
	s.route("POST /api/v1/login-links", authz.IssueToken, s.issueLoginLink)
	s.route("POST /api/v1/events/request", "", s.createRequest)
	s.route("GET /api/v1/requests", authz.ListRequests, s.listRequests)
	s.route("GET /api/v1/requests/{id}", "", s.getRequest)
	s.route("GET /api/v1/requests/{id}/events", "", s.requestEvents)
	s.route("POST /api/v1/requests/{id}/approve", "", s.approve)
	s.route("POST /api/v1/requests/{id}/deny", "", s.deny)
	s.route("POST /api/v1/requests/{id}/revoke", "", s.revoke)
	s.route("POST /api/v1/requests/{id}/withdraw", "", s.withdraw)
	s.route("GET /api/v1/events", authz.ReadEvents, s.events)
	// Log destinations are entities' configuration: the entities.read rule.
	s.route("GET /api/v1/log-destinations/status", authz.ReadEntities, s.logDestinationStatus)
	// The reconciler reads AWS and may change group memberships.
	s.route("POST /api/v1/reconcile", authz.Reconcile, s.reconcile)
	s.mux.HandleFunc("/", s.noRoute)
	return s
}

// noRoute answers what no route serves: a path served with other methods
// is a 405 naming them in Allow (OPTIONS is a 204 with the same Allow), any
// other path a 404, which says so when only a trailing slash is wrong.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	path := logPath(r.URL.Path)
	if allow := s.methods(r.URL.Path); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeErrors(w, r, http.StatusMethodNotAllowed, fieldErr("", "%s is not allowed on %s: use %s", r.Method, path, strings.Join(allow, " or ")))
		return
	}
	if trimmed := strings.TrimRight(r.URL.Path, "/"); trimmed != r.URL.Path && trimmed != "" && len(s.methods(trimmed)) > 0 {
		writeErrors(w, r, http.StatusNotFound, fieldErr("", "no such endpoint: %s %s (use %s without the trailing slash)", r.Method, path, logPath(trimmed)))
		return
	}
	writeErrors(w, r, http.StatusNotFound, fieldErr("", "no such endpoint: %s %s", r.Method, path))
}

// methods lists, sorted, the methods a route serves on path.
func (s *Server) methods(path string) []string {
	var allow []string
	for _, m := range []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPost, http.MethodPut} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: path}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// ServeHTTP adds the request id and logs each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get("X-Sym-Request-ID")
	if !wellFormedID(rid) {
		rid = uuid.NewString()
	}
	w.Header().Set("X-Sym-Request-ID", rid)
	r = r.WithContext(context.WithValue(r.Context(), ridKey{}, rid))
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	start := time.Now()
	s.mux.ServeHTTP(rec, r)
	_, pattern := s.mux.Handler(r)
	s.requests.WithLabelValues(pattern, strconv.Itoa(rec.status)).Inc()
	// Never log the Authorization header or bodies: they carry secrets.
	// Health probes and metric scrapes come every few seconds: debug, unless
	// they fail.
	level := slog.LevelInfo
	if (r.URL.Path == "/healthz" || r.URL.Path == "/metrics") && rec.status < 400 {
		level = slog.LevelDebug
	}
	s.cfg.Log.Log(r.Context(), level, "http", "method", r.Method, "path", logPath(r.URL.Path), "status", rec.status,
		"ms", time.Since(start).Milliseconds(), "request_id", rid)
}

// wellFormedID keeps a client's request id only if it is short and made of
// [A-Za-z0-9._-] (a UUID is): anything else could forge or flood log lines.
func wellFormedID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// maxLoggedPath caps the paths written to the log.
const maxLoggedPath = 256

func logPath(p string) string {
	// A token pasted where an id belongs (DELETE /api/v1/tokens/sym_...)
	// must not reach the log.
	if strings.Contains(p, tokenPrefix) {
		parts := strings.Split(p, "/")
		for i, part := range parts {
			if LooksLikeToken(part) {
				parts[i] = tokenPrefix + "[redacted]"
			}
		}
		p = strings.Join(parts, "/")
	}
	if len(p) > maxLoggedPath {
		return fmt.Sprintf("%s...(%d bytes)", p[:maxLoggedPath], len(p))
	}
	return p
}

type ridKey struct{}
type actorKey struct{}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) route(pattern string, action authz.Action, h func(http.ResponseWriter, *http.Request, engine.Actor)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !knownQuery(w, r, pattern) {
			return
		}
		if action != "" && !s.allowed(w, r, action, actor, authz.Resource{}) {
			return
		}
		h(w, r, actor)
	})
}

// queryParams names the query parameters each route reads (docs/api.md);
// a route not listed reads none.
var queryParams = map[string][]string{
	"GET /api/v1/entities/{kind}":      {"slug", "type"},
	"GET /api/v1/tokens":               {"user_email"},
	"GET /api/v1/requests":             {"state", "user", "before", "limit"},
	"GET /api/v1/requests/{id}/events": {"after", "last", "limit"},
	"GET /api/v1/events":               {"request_id", "after", "last", "limit"},
	"POST /api/v1/reconcile":           {"dry_run"},
}

// knownQuery refuses a query parameter the route does not read, or one
// given twice: ignored, a typo such as ?status=active would list every
// request, and of ?state=a&state=b only the first would count.
func knownQuery(w http.ResponseWriter, r *http.Request, pattern string) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeErrors(w, r, http.StatusBadRequest, fieldErr("", "the query string is malformed: %v", err))
		return false
	}
	known := queryParams[pattern]
	takes := "takes none"
	if len(known) > 0 {
		takes = "takes " + strings.Join(known, ", ")
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(known, name) {
			writeErrors(w, r, http.StatusBadRequest, fieldErr(capText(name), "unknown query parameter %q: %s %s", capText(name), pattern, takes))
			return false
		}
		if len(q[name]) > 1 {
			writeErrors(w, r, http.StatusBadRequest, fieldErr(name, "query parameter %q is given twice: give it once", name))
			return false
		}
	}
	return true
}

// allowed asks authz and answers the refusal when there is one.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, action authz.Action, a engine.Actor, res authz.Resource) bool {
	if err := authz.Check(action, a.Caller(), res); err != nil {
		s.writeErr(w, r, err)
		return false
	}
	return true
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (engine.Actor, bool) {
	token, found := bearerToken(r)
	if !found {
		unauthorized(w, r, "missing bearer token: send Authorization: Bearer <token> (SYM_JWT for the CLI)")
		return engine.Actor{}, false
	}
	if admin := *s.adminToken.Load(); admin != "" && constantTimeEqual(token, admin) {
		return engine.Actor{Email: "admin-bot", Role: store.RoleAdmin, Bot: true}, true
	}
	u, err := s.cfg.Store.UserForToken(r.Context(), token)
	var dead *store.DeadTokenError
	switch {
	case errors.As(err, &dead):
		// Only the token's holder can ask about it: saying why it stopped
		// working tells nobody else anything.
		why := "it expired at " + dead.At.UTC().Format(time.RFC3339)
		if dead.Revoked {
			why = "it was revoked at " + dead.At.UTC().Format(time.RFC3339)
		}
		unauthorized(w, r, "invalid token: "+why+"; an admin issues a new one with 'sym tokens issue EMAIL'")
		return engine.Actor{}, false
	case store.IsNotFound(err):
		unauthorized(w, r, "invalid token: the server does not know it (a token of another sym server, or mistyped); an admin issues one with 'sym tokens issue EMAIL'")
		return engine.Actor{}, false
	case err != nil:
		s.writeErr(w, r, err)
		return engine.Actor{}, false
	}
	return engine.Actor{Email: u.Email, Role: u.Role}, true
}

// bearerToken reads "Authorization: Bearer <token>" (the scheme in any
// case, RFC 9110).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// unauthorized answers 401 with the challenge RFC 9110 asks of it.
func unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="sym"`)
	writeErrors(w, r, http.StatusUnauthorized, fieldErr("", "%s", msg))
}

// ---- helpers ----

type errorBody struct {
	Errors    []model.FieldError `json:"errors"`
	RequestID string             `json:"request_id,omitempty"`
}

func fieldErr(field, format string, a ...any) model.FieldError {
	return model.FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErrors(w http.ResponseWriter, r *http.Request, status int, errs ...model.FieldError) {
	rid, _ := r.Context().Value(ridKey{}).(string)
	writeJSON(w, status, errorBody{Errors: errs, RequestID: rid})
}

// writeErr maps an error to its status code; an unexpected one is a 500
// whose details stay in the log.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var denied *authz.Denied
	if errors.As(err, &denied) {
		writeErrors(w, r, denied.Status, fieldErr("", "%s", denied.Error()))
		return
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		status := map[engine.Kind]int{engine.Invalid: 400, engine.Forbidden: 403, engine.NotFound: 404,
			engine.Conflict: 409, engine.Upstream: 502}[ee.Kind]
		writeErrors(w, r, status, model.FieldError{Field: ee.Field, Message: ee.Message})
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		writeErrors(w, r, 404, fieldErr("", "not found"))
		return
	}
	rid, _ := r.Context().Value(ridKey{}).(string)
	s.cfg.Log.Error("internal error", "err", err, "request_id", rid)
	writeErrors(w, r, 500, fieldErr("", "internal error; see the server log for request %s", rid))
}

// decode reads a JSON object body strictly.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, false)
}

// decodeOptional is decode for a body that may be absent or empty, whatever
// its framing (Content-Length 0 or an empty chunked body): v stays as is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, true)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeErrors(w, r, http.StatusRequestEntityTooLarge, fieldErr("", "the body is larger than the limit of %d MiB", maxBody>>20))
		return false
	}
	if err != nil {
		writeErrors(w, r, 400, fieldErr("", "cannot read body: %v", err))
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if optional {
			return true
		}
		writeErrors(w, r, 400, fieldErr("", "empty body: send a JSON object"))
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "malformed JSON: " + jsonMessage(err)
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
			msg += fmt.Sprintf(" (the body was sent as %s: send a JSON object with Content-Type: application/json)", capText(ct))
		}
		writeErrors(w, r, 400, fieldErr(jsonField(err), "%s", msg))
		return false
	}
	if dec.More() {
		writeErrors(w, r, 400, fieldErr("", "malformed JSON: more than one value in the body"))
		return false
	}
	return true
}

func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(f, `"`)
	}
	return ""
}

func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("the body must be a JSON object, not %s", withArticle(te.Value))
		}
		return fmt.Sprintf("%s must be %s, not %s", te.Field, jsonKind(te.Type), withArticle(te.Value))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names what JSON value decodes into t, in JSON's words rather
// than Go's.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another JSON value"
}

// withArticle reads encoding/json's name of the value it found ("string",
// "array", "number 1.5") as a phrase.
func withArticle(v string) string {
	switch {
	case strings.HasPrefix(v, "array"), strings.HasPrefix(v, "object"):
		return "an " + v
	case v == "bool":
		return "true or false"
	case v == "":
		return "that"
	}
	return "a " + v
}

func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

func (s *Server) org(w http.ResponseWriter, r *http.Request, _ engine.Actor) {
	writeJSON(w, 200, map[string]string{"slug": s.cfg.Org})
}

// ServerInfo is what GET /api/v1/server tells a caller about the server and
// about the caller: what sym doctor checks.
type ServerInfo struct {
	Org     string `json:"org"`
	Version string `json:"version"`
	// AWSIdentity is the identity the server reaches AWS as, or AWSError
	// why it has none (CredentialsError: no usable credentials).
	AWSIdentity      *awsauth.Identity `json:"aws_identity,omitempty"`
	AWSError         string            `json:"aws_error,omitempty"`
	CredentialsError bool              `json:"credentials_error,omitempty"`
	You              struct {
		Email string `json:"email"`
		Role  string `json:"role"`
		Bot   bool   `json:"bot,omitempty"`
	} `json:"you"`
	// GuardRails are what sym doctor needs of the server's guard rails to
	// judge a runtime role as the server does. Only callers who may read
	// integration settings (entities.read) are told; servers older than
	// the field never send it.
	GuardRails *GuardRails `json:"guard_rails,omitempty"`
}

// GuardRails is the part of awsauth.Guards a client applies itself.
type GuardRails struct {
	// AllowBroadRuntimePolicies: the server runs with
	// --allow-broad-runtime-policies.
	AllowBroadRuntimePolicies bool `json:"allow_broad_runtime_policies"`
}

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	info := ServerInfo{Org: s.cfg.Org, Version: s.cfg.Version}
	info.You.Email, info.You.Role, info.You.Bot = a.Email, a.Role, a.Bot
	if authz.Check(authz.ReadEntities, a.Caller(), authz.Resource{}) == nil {
		info.GuardRails = &GuardRails{AllowBroadRuntimePolicies: s.cfg.Guards.AllowBroadPolicies}
	}
	if s.cfg.WhoAmI != nil {
		id, err := s.cfg.WhoAmI(r.Context())
		if err != nil {
			info.AWSError, info.CredentialsError = err.Error(), awsauth.IsCredentialsError(err)
		} else {
			info.AWSIdentity = &id
		}
	}
	writeJSON(w, 200, info)
}

// logDestinationStatus reports how far each log destination and error
// logger is behind.
func (s *Server) logDestinationStatus(w http.ResponseWriter, r *http.Request, _ engine.Actor) {
	if s.cfg.Delivery == nil {
		writeJSON(w, 200, []logdest.Status{})
		return
	}
	st, err := s.cfg.Delivery.Status(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if st == nil {
		st = []logdest.Status{}
	}
	writeJSON(w, 200, st)
}
