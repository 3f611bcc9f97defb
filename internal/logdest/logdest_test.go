package logdest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// collector is a Sender that keeps what it gets.
type collector struct {
	mu   sync.Mutex
	recs []Record
}

func (c *collector) Send(_ context.Context, recs []Record) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, recs...)
	return len(recs), nil
}

func (c *collector) types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recs {
		out = append(out, r.Event.Type)
	}
	return out
}

func mustCreate(t *testing.T, st *store.Store, kind string, fields map[string]any) string {
	t.Helper()
	k := model.Kinds[kind]
	norm, errs := k.Normalize(fields, false)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", kind, errs)
	}
	id, err := st.CreateEntity(context.Background(), k, norm)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func statusOf(t *testing.T, d *Deliverer, id string) Status {
	t.Helper()
	sts, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no status for %s in %+v", id, sts)
	return Status{}
}

// TestSlackErrorLoggerQueuedUntilASenderIsRegistered: an error logger of a
// Slack integration accepts the failures of its environment and keeps them
// queued (status "queued") until a sender for Slack is registered, which
// then receives them in order; log destinations are not held up meanwhile,
// and an event of no request goes to every environment's destinations.
func TestSlackErrorLoggerQueuedUntilASenderIsRegistered(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sym.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slack := mustCreate(t, st, "integrations", map[string]any{"type": "slack", "slug": "acme-slack"})
	logger := mustCreate(t, st, "error-loggers", map[string]any{"integration_id": slack, "destination": "#sym-errors"})
	hook := newHook(t)
	prodDest := mustCreate(t, st, "log-destinations", map[string]any{"type": "http", "settings": map[string]any{"url": hook.URL + "/prod"}})
	stagingDest := mustCreate(t, st, "log-destinations", map[string]any{"type": "http", "settings": map[string]any{"url": hook.URL + "/staging"}})
	prod := mustCreate(t, st, "environments", map[string]any{"slug": "prod", "error_logger_id": logger, "log_destination_ids": []any{prodDest}})
	mustCreate(t, st, "environments", map[string]any{"slug": "staging", "log_destination_ids": []any{stagingDest}})
	flow := mustCreate(t, st, "flows", map[string]any{"slug": "f", "environment_id": prod})

	d := New(st, nil, nil, Options{Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	d.Start()
	defer d.Stop()

	now := time.Now()
	r := &model.Request{ID: uuid.NewString(), State: model.Pending, FlowID: flow, Requester: "alice@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateRequest(ctx, r, &model.AuditEvent{RequestID: r.ID, Type: "request", Actor: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	from := r.State
	r.State = model.Errored
	if err := st.SaveRequest(ctx, r, from, &model.AuditEvent{RequestID: r.ID, Type: "approve", Actor: "bob@example.com"},
		&model.AuditEvent{RequestID: r.ID, Type: string(model.EscalateFailed), Actor: "sym", Details: map[string]string{"error": "AccessDenied"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvent(ctx, &model.AuditEvent{Type: "login", Actor: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}

	waitUntil(t, "the log destinations to get their events", func() bool {
		return slices.Equal(hook.types("/prod"), []string{"request", "approve", "error", "login"}) &&
			slices.Equal(hook.types("/staging"), []string{"login"})
	})
	s := statusOf(t, d, logger)
	if s.State != "queued" || s.Pending != 1 || s.Kind != "error_logger" || s.Type != "slack" || s.Target != "#sym-errors" ||
		!strings.Contains(s.LastError, "no sender") || !slices.Equal(s.Environments, []string{"prod"}) {
		t.Fatalf("the Slack error logger's status: %+v", s)
	}

	slackGot := &collector{}
	var gotChannel string
	d.RegisterErrorSender("slack", func(_ context.Context, integ *model.Integration, destination string) (Sender, error) {
		gotChannel = integ.Slug + " " + destination
		return slackGot, nil
	})
	waitUntil(t, "the Slack sender to get the failure", func() bool { return slices.Equal(slackGot.types(), []string{"error"}) })
	if gotChannel != "acme-slack #sym-errors" {
		t.Fatalf("the Slack sender was built for %q", gotChannel)
	}
	waitUntil(t, "the status to show it delivered", func() bool {
		s := statusOf(t, d, logger)
		return s.State == "ok" && s.Pending == 0 && s.DeliveredTotal == 1
	})
}

// hook is an HTTP log destination that keeps the event types per path.
type hook struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string][]string
}

func newHook(t *testing.T) *hook {
	h := &hook{got: map[string][]string{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec struct{ Type string }
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			http.Error(w, "bad record", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], rec.Type)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) types(path string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got[path])
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
