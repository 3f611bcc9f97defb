package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// group is a strategy over an in-memory group, so that the reference
// counting rules can be walked step by step; the end-to-end versions run
// against moto in internal/server.
type group struct {
	recorder
	mu      sync.Mutex
	members map[string]bool
	removes int
}

func (g *group) member(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.members[name]
}

func (g *group) set(name string, in bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[name] = in
}

func (g *group) HasAccess(_ context.Context, gr strategy.Grant) (bool, error) {
	return g.member(gr.Identity), nil
}

func (g *group) Escalate(_ context.Context, gr strategy.Grant) error {
	g.set(gr.Identity, true)
	return nil
}

func (g *group) Deescalate(_ context.Context, gr strategy.Grant) error {
	g.mu.Lock()
	g.removes++
	g.mu.Unlock()
	g.set(gr.Identity, false)
	return nil
}

// TestReferenceCounting walks overlapping grants, a standing member, and a
// standing membership that went away behind sym's back.
func TestReferenceCounting(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if err := w.st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember,
		Identities: map[string]string{"aws_iam": "alice"}}); err != nil {
		t.Fatal(err)
	}
	g := &group{members: map[string]bool{}}
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": g}, Options{})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	alice := Actor{Email: "alice@example.com", Role: store.RoleMember}
	grant := func() *model.Request {
		t.Helper()
		r, err := e.Request(ctx, alice, RequestInput{Flow: "prod-access", Inputs: map[string]any{"target_id": "admins", "reason": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = e.Approve(ctx, alice, r.ID, ""); err != nil || r.State != model.Active {
			t.Fatalf("approve: %v %+v", err, r)
		}
		return r
	}
	revoke := func(r *model.Request, wantMember bool, why string) {
		t.Helper()
		got, err := e.Revoke(ctx, alice, r.ID, "")
		if err != nil || got.State != model.Ended {
			t.Fatalf("revoke: %v %+v", err, got)
		}
		if g.member("alice") != wantMember {
			t.Fatalf("%s: alice member = %v, want %v", why, g.member("alice"), wantMember)
		}
		if open, _ := e.Ledger().OpenForRequest(ctx, r.ID); open != nil {
			t.Fatalf("%s: the ended request's ledger entry is still open", why)
		}
	}
	standing := func(r *model.Request) bool {
		t.Helper()
		es, err := e.Ledger().ForRequest(ctx, r.ID)
		if err != nil || len(es) != 1 {
			t.Fatalf("ledger of %s: %v %v", r.ID, es, err)
		}
		return es[0].Standing
	}

	// Two overlapping grants: the first to end leaves the access.
	r1, r2 := grant(), grant()
	if standing(r1) || standing(r2) {
		t.Fatal("grants made while sym holds the access are not standing")
	}
	revoke(r1, true, "first of two grants ended")
	revoke(r2, false, "last grant ended")

	// A standing member keeps the access.
	g.set("alice", true)
	r3 := grant()
	if !standing(r3) {
		t.Fatal("a member before the grant is standing")
	}
	removes := g.removes
	revoke(r3, true, "standing member's grant ended")
	if g.removes != removes {
		t.Fatal("sym called removal for a standing member")
	}
	if es, _ := e.Ledger().ForRequest(ctx, r3.ID); es[0].Status != ledger.Released {
		t.Fatalf("standing entry closed as %s, want released", es[0].Status)
	}

	// The standing membership is removed behind sym's back while its grant
	// is open; a new grant is then sym's own, and its end removes it.
	r4 := grant()
	g.set("alice", false)
	r5 := grant()
	if !standing(r4) || standing(r5) {
		t.Fatalf("standing r4 %v r5 %v; want true, false", standing(r4), standing(r5))
	}
	revoke(r5, false, "sym's own grant ended while only a stale standing entry is open")
	revoke(r4, false, "the stale standing entry ended")
}
