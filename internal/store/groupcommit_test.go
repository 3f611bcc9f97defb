package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensym/sym/internal/model"
)

func newRequest(t *testing.T, s *Store, id string) *model.Request {
	t.Helper()
	now := time.Now().UTC()
	r := &model.Request{ID: id, State: model.Pending, Requester: "alice@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateRequest(context.Background(), r, &model.AuditEvent{RequestID: id, Type: "request", Actor: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGroupCommitIsolatesCallers: callers whose work shares one commit keep
// their own outcome. A stale transition, a failing write and a panic undo
// their own writes only; the others commit, and the audit chain stays
// whole.
func TestGroupCommitIsolatesCallers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sym.db")
	s := open(t, path)
	r1, r2, r3 := newRequest(t, s, "r1"), newRequest(t, s, "r2"), newRequest(t, s, "r3")
	approve := func(r *model.Request, from model.State) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			a := *r
			a.State = model.Approved
			return s.SaveRequestIn(ctx, tx, &a, from, &model.AuditEvent{RequestID: r.ID, Type: "approve", Actor: "bob"})
		}
	}
	failing := errors.New("the caller's own failure")
	work := []func(tx *sql.Tx) error{
		approve(r1, model.Pending),
		approve(r2, model.Active), // stale: r2 is pending
		func(tx *sql.Tx) error { // writes, then fails: its write is undone
			if err := appendEvent(ctx, tx, &model.AuditEvent{RequestID: "r2", Type: "undone", Actor: "x"}, time.Now()); err != nil {
				return err
			}
			return failing
		},
		func(tx *sql.Tx) error {
			if err := appendEvent(ctx, tx, &model.AuditEvent{RequestID: "r2", Type: "undone", Actor: "y"}, time.Now()); err != nil {
				return err
			}
			panic("a bug in one caller")
		},
		approve(r3, model.Pending),
	}
	batch := make([]*txWork, len(work))
	for i, fn := range work {
		batch[i] = &txWork{ctx: ctx, fn: fn, done: make(chan error, 1)}
	}
	s.commitGroup(batch)
	var got []error
	for _, w := range batch {
		got = append(got, <-w.done)
	}
	if got[0] != nil || !errors.Is(got[1], ErrStale) || !errors.Is(got[2], failing) ||
		got[3] == nil || !strings.Contains(got[3].Error(), "panicked") || got[4] != nil {
		t.Fatalf("outcomes %v; want nil, ErrStale, the failure, a panic, nil", got)
	}
	for id, want := range map[string]model.State{"r1": model.Approved, "r2": model.Pending, "r3": model.Approved} {
		if r, err := s.GetRequest(ctx, id); err != nil || r.State != want {
			t.Fatalf("%s: %v %v, want %s", id, r.State, err, want)
		}
	}
	evs, err := s.Events(ctx, "", 0, 0)
	if err != nil || len(evs) != 5 {
		t.Fatalf("audit log has %d events (%v), want 3 requests and 2 approvals", len(evs), err)
	}
	for _, ev := range evs {
		if ev.Type == "undone" {
			t.Fatalf("an undone write was committed: %+v", ev)
		}
	}
	s.Close()
	if n, err := VerifyAudit(ctx, path); err != nil || n != 5 {
		t.Fatalf("audit chain: %d events, %v", n, err)
	}
}

// TestConcurrentWritesAllLand: many callers at once (what group commit
// batches): each one's transition is stored with its audit event, a stale
// one is refused, and the audit chain verifies.
func TestConcurrentWritesAllLand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sym.db")
	s := open(t, path)
	const n = 64
	reqs := make([]*model.Request, n)
	for i := range reqs {
		reqs[i] = newRequest(t, s, fmt.Sprint("r", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := *r
			a.State = model.Approved
			from := model.Pending
			if i%8 == 0 {
				from = model.Active // stale
			}
			errs[i] = s.SaveRequest(ctx, &a, from, &model.AuditEvent{RequestID: r.ID, Type: "approve", Actor: "bob"})
		}()
	}
	wg.Wait()
	approved := 0
	for i, err := range errs {
		stale := i%8 == 0
		if stale != errors.Is(err, ErrStale) || (!stale && err != nil) {
			t.Fatalf("request %d: %v", i, err)
		}
		r, gerr := s.GetRequest(ctx, reqs[i].ID)
		if gerr != nil || (r.State == model.Approved) == stale {
			t.Fatalf("request %d stored as %s (%v)", i, r.State, gerr)
		}
		if !stale {
			approved++
		}
	}
	// The reads above came from the read-only pool, which refuses writes.
	if _, err := s.ReadDB().ExecContext(ctx, `DELETE FROM requests`); err == nil {
		t.Fatal("the read pool took a write")
	}
	s.Close()
	if got, err := VerifyAudit(ctx, path); err != nil || got != int64(n+approved) {
		t.Fatalf("audit chain: %d events, %v; want %d", got, err, n+approved)
	}
	if err := s.Tx(ctx, func(*sql.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Tx after Close: %v, want ErrClosed", err)
	}
}
