package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensym/sym/internal/model"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReopenKeepsEverything: the file is the truth; a second open migrates
// nothing and finds what the first wrote.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "sym.db")
	s := open(t, path)
	k := model.Kinds["environments"]
	id, err := s.CreateEntity(ctx, k, map[string]any{"slug": "Prod"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &User{Email: "Alice@Example.com", Role: RoleMember}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, "alice@example.com", "secret-token"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path)
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	rows, err := s.FindEntities(ctx, "environments", "PROD", "")
	if err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("case-insensitive lookup after reopen: %v %v", rows, err)
	}
	u, err := s.UserForToken(ctx, "secret-token")
	if err != nil || u.Email != "alice@example.com" {
		t.Fatalf("token lookup: %v %v", u, err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM tokens WHERE hash = 'secret-token'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a token is stored in clear")
	}
	if _, err := s.CreateEntity(ctx, k, map[string]any{"slug": "pROD"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("same name, other case: %v, want ErrConflict", err)
	}
}

// TestSaveRequestIsCompareAndSet: a transition applies only from the state
// it was computed from, and its audit event lands with it or not at all.
func TestSaveRequestIsCompareAndSet(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "sym.db"))
	defer s.Close()
	now := time.Now().UTC()
	r := &model.Request{ID: "r1", State: model.Pending, Requester: "alice@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Duration: 90 * time.Minute}
	if err := s.CreateRequest(ctx, r, &model.AuditEvent{RequestID: "r1", Type: "request", Actor: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	approved := *r
	approved.State = model.Approved
	if err := s.SaveRequest(ctx, &approved, model.Pending, &model.AuditEvent{RequestID: "r1", Type: "approve", Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	denied := *r
	denied.State = model.Denied
	if err := s.SaveRequest(ctx, &denied, model.Pending, &model.AuditEvent{RequestID: "r1", Type: "deny", Actor: "carol"}); !errors.Is(err, ErrStale) {
		t.Fatalf("second transition from pending: %v, want ErrStale", err)
	}
	got, err := s.GetRequest(ctx, "r1")
	if err != nil || got.State != model.Approved || got.Duration != 90*time.Minute {
		t.Fatalf("stored request: %+v %v", got, err)
	}
	evs, err := s.Events(ctx, "r1", 0, 0)
	if err != nil || len(evs) != 2 || evs[0].Type != "request" || evs[1].Type != "approve" || evs[0].Seq >= evs[1].Seq {
		t.Fatalf("audit log: %+v %v", evs, err)
	}
	open, err := s.OpenRequests(ctx)
	if err != nil || len(open) != 1 {
		t.Fatalf("open requests: %v %v", open, err)
	}
}
