// Package slack is sym's Slack app: the /sym slash command opens the flow's
// request form in a modal, each request is posted to the flow's
// vars.request_channel with Approve and Deny buttons, the requester gets
// direct messages as the request moves, and messages are updated in place.
//
// Every request from Slack is verified with the signing secret (a five
// minute timestamp window and a constant-time comparison) before anything
// else is read. Every action goes through the engine, so the same rules
// decide as in the API and the web app; this package decides nothing. It
// never logs the bot token, the signing secret or a request body.
package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/store"
	slackgo "github.com/slack-go/slack"
)

// Source is the name flows list in params.allowed_sources to admit
// requests from Slack.
const Source = "slack"

// MaxSkew is how far a request's timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Config wires the Slack app.
type Config struct {
	Store  *store.Store
	Engine *engine.Engine
	Log    *slog.Logger
	// BotToken (xoxb-...) and SigningSecret come from the Slack app's
	// settings.
	BotToken      string
	SigningSecret string
	// APIURL is Slack's Web API base (default https://slack.com/api/).
	APIURL string
	// PublicURL is the web app's address, for "Open in sym" links.
	PublicURL string
	Now       func() time.Time
	// Poll is how often the audit log is read for news to post (default
	// one second); an action taken through Slack posts at once.
	Poll time.Duration
}

// App is the Slack app: an HTTP handler for Slack's requests and a
// notifier that follows the audit log.
type App struct {
	cfg    Config
	api    *slackgo.Client
	mux    *http.ServeMux
	emails sync.Map // Slack user id -> cachedEmail
	ids    sync.Map // email -> cachedEmail (Slack user id)
	kick   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

type cachedEmail struct {
	value string
	at    time.Time
}

// New builds the Slack app.
func New(cfg Config) (*App, error) {
	if cfg.BotToken == "" || cfg.SigningSecret == "" {
		return nil, errors.New("the Slack app needs both the bot token and the signing secret")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	opts := []slackgo.Option{slackgo.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if cfg.APIURL != "" {
		opts = append(opts, slackgo.OptionAPIURL(strings.TrimRight(cfg.APIURL, "/")+"/"))
	}
	a := &App{cfg: cfg, api: slackgo.New(cfg.BotToken, opts...), mux: http.NewServeMux(),
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	a.mux.HandleFunc("POST /slack/commands", a.verified(a.command))
	a.mux.HandleFunc("POST /slack/interactions", a.verified(a.interaction))
	return a, nil
}

// ServeHTTP answers Slack's requests under /slack/.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// verified checks the signature before the handler reads anything: the
// body is read once, bounded, and handed on only when it is Slack's.
func (a *App) verified(h func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := Verify(a.cfg.SigningSecret, r.Header, body, a.cfg.Now()); err != nil {
			a.cfg.Log.Warn("slack request refused", "path", r.URL.Path, "reason", err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r, body)
	}
}

// Verify checks Slack's signature of a request: v0=HMAC-SHA256(secret,
// "v0:<timestamp>:<body>"), with the timestamp within MaxSkew of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Slack-Request-Timestamp")
	sig := h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return errors.New("not signed: X-Slack-Request-Timestamp and X-Slack-Signature are required")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("the request timestamp is not a number")
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > MaxSkew || skew < -MaxSkew {
		return fmt.Errorf("the request timestamp is %s away from now (more than %s): refused as a replay", skew.Round(time.Second), MaxSkew)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return errors.New("the signature does not match the signing secret")
	}
	return nil
}

// Sign is the signature Slack sends for a body at a timestamp.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// workspaceAllowed checks that the request comes from a workspace a
// sym_integration of type slack declares (external_id = the team id).
func (a *App) workspaceAllowed(ctx context.Context, team string) error {
	rows, err := a.cfg.Store.FindEntities(ctx, "integrations", "", "slack")
	if err != nil {
		return err
	}
	for _, r := range rows {
		if id, _ := r.Body["external_id"].(string); id != "" && strings.EqualFold(id, team) {
			return nil
		}
	}
	return fmt.Errorf("workspace %s is not declared to sym: add a sym_integration of type slack with external_id = %q", team, team)
}

// actor maps a Slack user to the sym user with the same email.
func (a *App) actor(ctx context.Context, slackUser string) (engine.Actor, error) {
	email, err := a.emailOf(ctx, slackUser)
	if err != nil {
		return engine.Actor{}, err
	}
	u, err := a.cfg.Store.GetUser(ctx, email)
	if store.IsNotFound(err) {
		return engine.Actor{}, fmt.Errorf("%s has no sym user: ask an admin to create it ('sym users create %s')", email, email)
	} else if err != nil {
		return engine.Actor{}, err
	}
	return engine.Actor{Email: u.Email, Role: u.Role}, nil
}

const userCacheTTL = 10 * time.Minute

func (a *App) emailOf(ctx context.Context, slackUser string) (string, error) {
	if c, ok := a.emails.Load(slackUser); ok && a.cfg.Now().Sub(c.(cachedEmail).at) < userCacheTTL {
		return c.(cachedEmail).value, nil
	}
	u, err := a.api.GetUserInfoContext(ctx, slackUser)
	if err != nil {
		return "", fmt.Errorf("read Slack user %s: %w", slackUser, err)
	}
	email := strings.ToLower(strings.TrimSpace(u.Profile.Email))
	if email == "" {
		return "", fmt.Errorf("Slack user %s has no email in their profile (the app needs the users:read.email scope)", slackUser)
	}
	a.emails.Store(slackUser, cachedEmail{value: email, at: a.cfg.Now()})
	a.ids.Store(email, cachedEmail{value: slackUser, at: a.cfg.Now()})
	return email, nil
}

func (a *App) slackIDOf(ctx context.Context, email string) (string, error) {
	if c, ok := a.ids.Load(email); ok && a.cfg.Now().Sub(c.(cachedEmail).at) < userCacheTTL {
		return c.(cachedEmail).value, nil
	}
	u, err := a.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return "", fmt.Errorf("find %s in Slack: %w", email, err)
	}
	a.ids.Store(email, cachedEmail{value: u.ID, at: a.cfg.Now()})
	return u.ID, nil
}

// words says an engine error for a person.
func words(err error) string {
	var ee *engine.Error
	if errors.As(err, &ee) {
		prefix := map[engine.Kind]string{engine.Invalid: "That request is not complete: ", engine.Forbidden: "You may not do this: ",
			engine.NotFound: "Not found: ", engine.Conflict: "This cannot be done now: ", engine.Upstream: "AWS did not do what was asked: "}[ee.Kind]
		field := strings.ReplaceAll(strings.TrimPrefix(ee.Field, "flow_inputs."), "_id", "")
		if field != "" {
			field = strings.ReplaceAll(field, "_", " ") + " "
		}
		return prefix + field + ee.Message + "."
	}
	return "Something went wrong on the sym server; its log has the details."
}
