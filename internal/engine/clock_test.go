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

// steppedWall is a wall clock that an operator (or NTP) can step: the
// system's time plus an offset, without Go's monotonic reading, as a wall
// clock read after a step would be.
type steppedWall struct{ offset atomic.Int64 }

func (w *steppedWall) now() time.Time { return time.Now().Add(time.Duration(w.offset.Load())).Round(0) }

func TestClockIgnoresStepsBack(t *testing.T) {
	var wall time.Time = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mono time.Duration
	c := newClock(func() time.Time { return wall }, func() time.Duration { return mono })
	mono += 10 * time.Second
	wall = wall.Add(-time.Hour + 10*time.Second) // stepped back an hour
	if got := c.Now(); !got.Equal(time.Date(2026, 1, 1, 12, 0, 10, 0, time.UTC)) {
		t.Fatalf("after a step back: %s, want 12:00:10 (monotonic time since the last trusted instant)", got)
	}
	mono += 5 * time.Second
	wall = time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC) // stepped forward
	if got := c.Now(); !got.Equal(wall) {
		t.Fatalf("after a step forward: %s, want the wall clock %s", got, wall)
	}
	mono += time.Second
	wall = wall.Add(-30 * time.Minute)
	if got := c.Now(); !got.Equal(time.Date(2026, 1, 1, 13, 0, 1, 0, time.UTC)) {
		t.Fatalf("never back: %s", got)
	}
}

// TestStepBackDoesNotDelayRemoval: access granted for 1 s is removed on
// time although the wall clock was stepped back an hour meanwhile; read
// through the wall clock alone, the removal would wait an hour.
func TestStepBackDoesNotDelayRemoval(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if err := w.st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember, Identities: map[string]string{"aws_iam": "alice"}}); err != nil {
		t.Fatal(err)
	}
	wall := &steppedWall{}
	rec := &recorder{removed: make(chan strategy.Grant, 1)}
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": rec}, Options{Now: wall.now})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	actor := Actor{Email: "alice@example.com", Role: store.RoleMember}
	r, err := e.Request(ctx, actor, RequestInput{Flow: "prod-access", Inputs: map[string]any{"target_id": "admins", "reason": "x", "duration": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.Approve(ctx, actor, r.ID, ""); err != nil || r.State != model.Active {
		t.Fatalf("approve: %v %+v", err, r)
	}
	wall.offset.Store(int64(-time.Hour))
	select {
	case g := <-rec.removed:
		if g.Identity != "alice" {
			t.Fatalf("removed %q", g.Identity)
		}
	case <-time.After(30 * time.Second): // a liveness bound, not a measure: on time is ~1 s
		t.Fatal("access granted for 1 s was not removed 30 s later after the wall clock went back an hour")
	}
	got, err := w.st.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for got.State != model.Ended {
		time.Sleep(10 * time.Millisecond)
		if got, err = w.st.GetRequest(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStopIsBounded: a removal stuck in its strategy does not hold Stop
// past StopTimeout.
func TestStopIsBounded(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if err := w.st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember, Identities: map[string]string{"aws_iam": "alice"}}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{removed: make(chan strategy.Grant, 1), hold: make(chan struct{})}
	defer close(rec.hold)
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": rec}, Options{StopTimeout: 100 * time.Millisecond})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	actor := Actor{Email: "alice@example.com", Role: store.RoleMember}
	r, err := e.Request(ctx, actor, RequestInput{Flow: "prod-access", Inputs: map[string]any{"target_id": "admins", "reason": "x", "duration": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = e.Approve(ctx, actor, r.ID, ""); err != nil {
		t.Fatal(err)
	}
	<-rec.removed // a worker is now inside Deescalate, which hangs
	stopped := make(chan struct{})
	go func() {
		e.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second): // a liveness bound
		t.Fatal("Stop still waiting for a hung removal after 30 s")
	}
}
