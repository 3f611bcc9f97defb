package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

func intent(req, user, group string, standing bool) ledger.Intent {
	return ledger.Intent{
		Grant: strategy.Grant{RequestID: req, Requester: user + "@example.com", StrategyType: "aws_iam", Identity: user,
			Runtime:          awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext-1", Region: "us-east-1", Safelist: []string{"111111111111"}},
			ConnectorRoleARN: "arn:aws:iam::123456789012:role/sym/SymIamProd", Account: "123456789012", Region: "us-east-1",
			TargetType: "aws_iam_group", TargetSettings: map[string]string{"iam_group": group}},
		Key:      strategy.Key{Identity: "aws_iam:123456789012:user/" + user, Target: "aws_iam:123456789012:group/" + group},
		Standing: standing,
	}
}

// TestLedgerLifecycle opens, confirms and closes entries in a real SQLite
// file, reopens the file and finds the same pinned grants.
func TestLedgerLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sym.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st.DB(), nil)
	a, err := l.Open(ctx, intent("r1", "alice", "admins", false))
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Open(ctx, intent("r2", "alice", "admins", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(ctx, intent("r3", "bob", "admins", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(ctx, ledger.Intent{Grant: strategy.Grant{RequestID: "r4", StrategyType: "aws_iam"}}); err == nil {
		t.Fatal("an intent without a key was accepted")
	}
	if err := l.MarkGranted(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	open, err := l.OpenFor(ctx, a.Key)
	if err != nil || len(open) != 2 || open[0].ID != a.ID || open[1].ID != b.ID {
		t.Fatalf("open entries of alice/admins: %v %v", open, err)
	}
	if open[0].Status != ledger.Granted || open[0].GrantedAt.IsZero() || open[1].Status != ledger.Intended {
		t.Fatalf("statuses %s %s", open[0].Status, open[1].Status)
	}
	if err := l.Close(ctx, a.ID, ledger.Released, "r2 still holds it"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx, a.ID, ledger.Removed, ""); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("closing a closed entry: %v, want ErrNotFound", err)
	}
	if err := l.Close(ctx, b.ID, ledger.Granted, ""); err == nil {
		t.Fatal("closed an entry with an open status")
	}
	if err := l.Close(ctx, b.ID, ledger.Removed, "removed from AWS"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l = ledger.New(st.DB(), nil)
	all, err := l.OpenEntries(ctx)
	if err != nil || len(all) != 1 || all[0].RequestID() != "r3" || !all[0].Standing {
		t.Fatalf("open entries after reopen: %v %v", all, err)
	}
	hist, err := l.ForRequest(ctx, "r1")
	if err != nil || len(hist) != 1 || hist[0].Status != ledger.Released || hist[0].Note != "r2 still holds it" || hist[0].ClosedAt.IsZero() {
		t.Fatalf("history of r1: %+v %v", hist, err)
	}
	g := hist[0].Grant
	if g.Runtime.ExternalID != "ext-1" || g.Runtime.RoleARN == "" || g.ConnectorRoleARN == "" || g.TargetSettings["iam_group"] != "admins" || g.Runtime.Safelist[0] != "111111111111" {
		t.Fatalf("pinned grant did not survive: %+v", g)
	}
	if e, err := l.OpenForRequest(ctx, "r2"); err != nil || e != nil {
		t.Fatalf("r2's open entry after removal: %v %v", e, err)
	}
	targets, err := l.Targets(ctx)
	if err != nil || len(targets) != 1 || targets[0].Key.Target != "aws_iam:123456789012:group/admins" {
		t.Fatalf("targets: %v %v", targets, err)
	}
}

// TestForTargetReadsOpenAndNewest: the reconciler's read of a target is its
// open entries and the newest entry of each identity, not its whole past.
func TestForTargetReadsOpenAndNewest(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sym.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := ledger.New(st.DB(), nil)
	open := func(req, user, group string) *ledger.Entry {
		t.Helper()
		en, err := l.Open(ctx, intent(req, user, group, false))
		if err != nil {
			t.Fatal(err)
		}
		return en
	}
	closeIt := func(en *ledger.Entry) {
		t.Helper()
		if err := l.Close(ctx, en.ID, ledger.Removed, "done"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 { // alice's past
		closeIt(open("old"+string(rune('a'+i)), "alice", "admins"))
	}
	aliceOpen := open("a1", "alice", "admins")
	aliceNewer := open("a2", "alice", "admins") // two open grants overlap
	bobOld := open("b0", "bob", "admins")
	closeIt(bobOld)
	bobLast := open("b1", "bob", "admins")
	closeIt(bobLast)
	open("c1", "carol", "others") // another target
	got, err := l.ForTarget(ctx, "aws_iam:123456789012:group/admins")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, en := range got {
		ids = append(ids, en.ID)
	}
	want := []string{aliceOpen.ID, aliceNewer.ID, bobLast.ID}
	if len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Fatalf("ForTarget read %v, want alice's two open entries and bob's newest, oldest first: %v", ids, want)
	}
}
