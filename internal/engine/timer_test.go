package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// TestSchedulerOneWakeUpPerRequest: a request has at most one wake-up; a
// failure's set replaces it, and the sweeper's ensure adds none while one
// is set or a worker holds the request.
func TestSchedulerOneWakeUpPerRequest(t *testing.T) {
	s := newScheduler(8)
	now := time.Now()
	s.set(now.Add(time.Hour), "r1")
	s.set(now.Add(2*time.Hour), "r1")
	if at, ok := s.next("r1"); !ok || !at.Equal(now.Add(2*time.Hour)) || s.pending() != 1 {
		t.Fatalf("after two sets: %v %v, %d wake-ups; want the second only", at, ok, s.pending())
	}
	if s.ensure(now, "r1") {
		t.Fatal("ensure added a second wake-up to a request that has one")
	}
	s.set(now.Add(-time.Second), "r1") // due
	stop := make(chan struct{})
	defer close(stop)
	go s.run(stop, time.Now)
	if got := <-s.due; got != "r1" {
		t.Fatalf("due %q", got)
	}
	if s.ensure(now, "r1") {
		t.Fatal("ensure added a wake-up while a worker holds the request")
	}
	s.finish("r1")
	if !s.ensure(now.Add(time.Hour), "r1") || s.pending() != 1 {
		t.Fatal("ensure did not re-arm a request with no wake-up")
	}
	s.cancel("r1")
	if _, ok := s.next("r1"); ok || s.pending() != 0 {
		t.Fatal("cancel left a wake-up")
	}
}

// hanging is a strategy whose removal hangs until its context ends, as a
// dead AWS connection would.
type hanging struct {
	recorder
	removals atomic.Int32
}

func (h *hanging) Deescalate(ctx context.Context, _ strategy.Grant) error {
	h.removals.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestCutShortRemovalStaysOpen: a removal that hangs is cancelled when
// Stop gives up waiting, and its grant stays open in the ledger (and the
// request unfinished) for the next start to finish.
func TestCutShortRemovalStaysOpen(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if err := w.st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember,
		Identities: map[string]string{"aws_iam": "alice"}}); err != nil {
		t.Fatal(err)
	}
	h := &hanging{}
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": h}, Options{StopTimeout: 200 * time.Millisecond})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	actor := Actor{Email: "alice@example.com", Role: store.RoleMember}
	r, err := e.Request(ctx, actor, RequestInput{Flow: "prod-access", Inputs: map[string]any{"target_id": "admins", "reason": "x", "duration": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.Approve(ctx, actor, r.ID, ""); err != nil || r.State != model.Active {
		t.Fatalf("approve: %v %+v", err, r)
	}
	for h.removals.Load() == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { e.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop still waits for a hung removal after 30 s")
	}
	open, err := e.Ledger().OpenForRequest(ctx, r.ID)
	if err != nil || open == nil {
		t.Fatalf("the grant whose removal was cut short must stay open in the ledger: %v %v", open, err)
	}
	got, err := w.st.GetRequest(ctx, r.ID)
	if err != nil || got.State == model.Ended || got.State == model.Errored {
		t.Fatalf("request after a cut-short removal: %v %v", got.State, err)
	}
}
