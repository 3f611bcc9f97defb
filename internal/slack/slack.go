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
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/secrets"
	"github.com/opensym/sym/internal/store"
	slackgo "github.com/slack-go/slack"
)

// Source is the name flows list in params.allowed_sources to admit
// requests from Slack.
const Source = engine.SourceSlack

// MaxSkew is how far a request's timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Config wires the Slack app.
type Config struct {
	Store  *store.Store
	Engine *engine.Engine
	Log    *slog.Logger
	// BotToken (xoxb-...) and SigningSecret come from the Slack app's
	// settings page. A sym_integration of type slack may instead name
	// sym_secrets for them in its settings (bot_token, signing_secret),
	// read through Secrets; the flags are the default for integrations
	// that name none.
	BotToken      string
	SigningSecret string
	Secrets       *secrets.Resolver
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
	cfg     Config
	clients sync.Map // bot token -> *slackgo.Client
	mux     *http.ServeMux
	emails  sync.Map // Slack user id -> cachedEmail
	ids     sync.Map // email -> cachedEmail (Slack user id)
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	// Clicks are decided after they are answered (later); Stop waits for
	// those under way.
	mu        sync.Mutex
	stopping  bool
	decisions sync.WaitGroup
}

type cachedEmail struct {
	value string
	at    time.Time
}

// New builds the Slack app.
func New(cfg Config) (*App, error) {
	if (cfg.BotToken == "") != (cfg.SigningSecret == "") {
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
	a := &App{cfg: cfg, mux: http.NewServeMux(),
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	a.mux.HandleFunc("POST /slack/commands", a.verified(a.command))
	a.mux.HandleFunc("POST /slack/interactions", a.verified(a.interaction))
	return a, nil
}

// ServeHTTP answers Slack's requests under /slack/.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// verified checks the signature before the handler reads anything: the
// body is read once, bounded, and handed on only when one declared
// workspace's signing secret signed it; the handler gets that workspace.
func (a *App) verified(h func(http.ResponseWriter, *http.Request, *workspace)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		wss, err := a.workspaces(r.Context())
		if err != nil {
			a.cfg.Log.Error("slack: read the workspaces", "err", err)
			http.Error(w, "the sym server cannot read its Slack configuration; see its log", http.StatusServiceUnavailable)
			return
		}
		if len(wss) == 0 {
			http.Error(w, "Slack is not configured on this sym server: declare a sym_integration of type slack and give the server its bot token and signing secret", http.StatusServiceUnavailable)
			return
		}
		var ws *workspace
		err = errors.New("the signature does not match the signing secret")
		for _, c := range wss {
			if verr := Verify(c.signingSecret, r.Header, body, a.cfg.Now()); verr == nil {
				ws, err = c, nil
				break
			} else if !strings.Contains(verr.Error(), "signature does not match") {
				err = verr // missing headers, stale timestamp: the same for every secret
				break
			}
		}
		if err == nil {
			replay, serr := a.firstTime(r.Context(), r.Header)
			if serr != nil {
				a.cfg.Log.Error("slack: record the request's signature", "err", serr)
				http.Error(w, "the sym server cannot record this request (to refuse replays); see its log", http.StatusServiceUnavailable)
				return
			}
			if replay {
				err = errors.New("this signed request was already received: refused as a replay")
			}
		}
		if err != nil {
			a.cfg.Log.Warn("slack request refused", "path", r.URL.Path, "reason", err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r, ws)
	}
}

// firstTime refuses a signed request that was already received: a
// signature is good for MaxSkew either side of its timestamp, and a
// submission replayed in that window would create a second request. The
// store keeps each signature until its timestamp is too old to pass
// Verify, across restarts (decision 019).
func (a *App) firstTime(ctx context.Context, h http.Header) (replay bool, err error) {
	sec, _ := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64) // Verify read it
	fresh, err := a.cfg.Store.FirstSlackSignature(ctx, h.Get("X-Slack-Signature"), time.Unix(sec, 0).Add(MaxSkew))
	return !fresh, err
}

// workspace is one Slack workspace sym serves: a sym_integration of type
// slack (external_id = the team id) with its credentials.
type workspace struct {
	team, integrationID     string
	botToken, signingSecret string
	api                     *slackgo.Client
}

// workspaces reads the declared Slack workspaces and their credentials.
// One whose credentials cannot be read is left out (and logged).
func (a *App) workspaces(ctx context.Context) ([]*workspace, error) {
	rows, err := a.cfg.Store.FindEntities(ctx, "integrations", "", "slack")
	if err != nil {
		return nil, err
	}
	var out []*workspace
	for _, row := range rows {
		in, _ := model.DecodeIntegration(row.ID, row.Body)
		ws := &workspace{team: in.ExternalID, integrationID: row.ID, botToken: a.cfg.BotToken, signingSecret: a.cfg.SigningSecret}
		if ws.team == "" {
			continue
		}
		if err := a.credentials(ctx, in.Settings, ws); err != nil {
			a.cfg.Log.Error("slack: the workspace's credentials cannot be read", "integration", in.Slug, "err", err)
			continue
		}
		if ws.botToken == "" || ws.signingSecret == "" {
			continue
		}
		ws.api = a.client(ws.botToken)
		out = append(out, ws)
	}
	return out, nil
}

// credentials reads the sym_secrets an integration names for its bot token
// and signing secret.
func (a *App) credentials(ctx context.Context, settings map[string]string, ws *workspace) error {
	if settings["bot_token"] == "" && settings["signing_secret"] == "" {
		return nil
	}
	if a.cfg.Secrets == nil {
		return errors.New("the integration names sym_secrets but this server reads no secrets")
	}
	if v, ok, err := a.cfg.Secrets.Setting(ctx, settings, "bot_token"); err != nil {
		return err
	} else if ok {
		ws.botToken = v
	}
	if v, ok, err := a.cfg.Secrets.Setting(ctx, settings, "signing_secret"); err != nil {
		return err
	} else if ok {
		ws.signingSecret = v
	}
	return nil
}

func (a *App) client(token string) *slackgo.Client {
	if c, ok := a.clients.Load(token); ok {
		return c.(*slackgo.Client)
	}
	opts := []slackgo.Option{slackgo.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if a.cfg.APIURL != "" {
		opts = append(opts, slackgo.OptionAPIURL(strings.TrimRight(a.cfg.APIURL, "/")+"/"))
	}
	c, _ := a.clients.LoadOrStore(token, slackgo.New(token, opts...))
	return c.(*slackgo.Client)
}

// workspaceFor picks the workspace a request's messages go to: the one its
// environment names (integrations.slack_id), else the first declared.
func (a *App) workspaceFor(ctx context.Context, req *model.Request) (*workspace, error) {
	wss, err := a.workspaces(ctx)
	if err != nil || len(wss) == 0 {
		return nil, err
	}
	if flow, err := a.cfg.Store.GetEntity(ctx, "flows", req.FlowID); err == nil {
		envID, _ := flow.Body["environment_id"].(string)
		if env, err := a.cfg.Store.GetEntity(ctx, "environments", envID); err == nil {
			if m, ok := env.Body["integrations"].(map[string]any); ok {
				if id, _ := m["slack_id"].(string); id != "" {
					for _, ws := range wss {
						if ws.integrationID == id {
							return ws, nil
						}
					}
				}
			}
		}
	}
	return wss[0], nil
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

// actor maps a Slack user to the sym user with the same email.
func (a *App) actor(ctx context.Context, ws *workspace, slackUser string) (engine.Actor, error) {
	email, err := a.emailOf(ctx, ws, slackUser)
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

func (a *App) emailOf(ctx context.Context, ws *workspace, slackUser string) (string, error) {
	key := ws.team + "/" + slackUser
	if c, ok := a.emails.Load(key); ok && a.cfg.Now().Sub(c.(cachedEmail).at) < userCacheTTL {
		return c.(cachedEmail).value, nil
	}
	u, err := ws.api.GetUserInfoContext(ctx, slackUser)
	if err != nil {
		return "", fmt.Errorf("read Slack user %s: %w", slackUser, err)
	}
	email := strings.ToLower(strings.TrimSpace(u.Profile.Email))
	if email == "" {
		return "", fmt.Errorf("Slack user %s has no email in their profile (the app needs the users:read.email scope)", slackUser)
	}
	a.emails.Store(key, cachedEmail{value: email, at: a.cfg.Now()})
	a.ids.Store(ws.team+"/"+email, cachedEmail{value: slackUser, at: a.cfg.Now()})
	return email, nil
}

func (a *App) slackIDOf(ctx context.Context, ws *workspace, email string) (string, error) {
	key := ws.team + "/" + email
	if c, ok := a.ids.Load(key); ok && a.cfg.Now().Sub(c.(cachedEmail).at) < userCacheTTL {
		return c.(cachedEmail).value, nil
	}
	u, err := ws.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return "", fmt.Errorf("find %s in Slack: %w", email, err)
	}
	a.ids.Store(key, cachedEmail{value: u.ID, at: a.cfg.Now()})
	return u.ID, nil
}

// words says an engine error for a person.
func words(err error) string {
	if text, ok := engine.Words(err); ok {
		return text
	}
	return "Something went wrong on the sym server; its log has the details."
}
