package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// TestRepin: rows written without a principal id are listed by Unpinned
// (open and closed), and Repin gives one its id and key once, keeping its
// status; a pinned id is never replaced.
func TestRepin(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sym.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := ledger.New(st.DB(), nil)
	sso := func(req string) ledger.Intent {
		in := intent(req, "alice", "ignored", false)
		in.Grant.StrategyType, in.Grant.TargetType = "aws_sso", "aws_sso_group"
		in.Grant.TargetSettings = map[string]string{"group_id": "g-1"}
		in.Key = strategy.Key{Identity: "aws_sso:ins:email/alice@example.com", Target: "aws_sso:ins:group/g-1"}
		return in
	}
	old, err := l.Open(ctx, sso("r1"))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := l.Open(ctx, sso("r2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx, closed.ID, ledger.Removed, ""); err != nil {
		t.Fatal(err)
	}
	pinned := sso("r3")
	pinned.Grant.PrincipalID = "u-1"
	pinned.Key.Identity = "aws_sso:ins:id/u-1"
	if _, err := l.Open(ctx, pinned); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(ctx, intent("r4", "bob", "admins", false)); err != nil {
		t.Fatal(err)
	}
	un, err := l.Unpinned(ctx, "aws_sso")
	if err != nil || len(un) != 2 || un[0].ID != old.ID || un[1].ID != closed.ID {
		t.Fatalf("unpinned aws_sso rows: %v %v, want r1 and r2", un, err)
	}
	g := old.Grant
	g.PrincipalID = "u-1"
	k := strategy.Key{Identity: "aws_sso:ins:id/u-1", Target: old.Key.Target}
	if err := l.Repin(ctx, old.ID, g, k); err != nil {
		t.Fatal(err)
	}
	if err := l.Repin(ctx, old.ID, g, k); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("repinning a pinned row: %v, want ErrNotFound", err)
	}
	open, err := l.OpenFor(ctx, k)
	if err != nil || len(open) != 2 || open[0].ID != old.ID || open[0].Status != ledger.Intended || open[0].Grant.PrincipalID != "u-1" ||
		open[0].Grant.RequestID != "r1" || open[0].Grant.TargetSettings["group_id"] != "g-1" {
		t.Fatalf("open entries of the pinned key: %+v %v, want r1 (repinned, still intended) and r3", open, err)
	}
	if un, _ := l.Unpinned(ctx, "aws_sso"); len(un) != 1 || un[0].ID != closed.ID {
		t.Fatalf("unpinned after the repin: %v", un)
	}
}
