package engine

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// recorder is an access strategy that remembers what it was asked to do;
// the engine's resolution is what these tests look at, not AWS.
type recorder struct {
	mu        sync.Mutex
	escalated []strategy.Grant
	removed   chan strategy.Grant // told of each de-escalation, when set
	hold      chan struct{}       // de-escalations wait for it to close, when set
}

func (r *recorder) IdentityKey() string { return "aws_iam" }
func (r *recorder) Escalate(_ context.Context, g strategy.Grant) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.escalated = append(r.escalated, g)
	return nil
}
func (r *recorder) Deescalate(_ context.Context, g strategy.Grant) error {
	if r.removed != nil {
		r.removed <- g
	}
	if r.hold != nil {
		<-r.hold
	}
	return nil
}
func (r *recorder) Key(g strategy.Grant) (strategy.Key, error) {
	return strategy.Key{Identity: g.Account + ":" + g.Identity, Target: g.Account + ":" + g.TargetSettings["iam_group"]}, nil
}
func (r *recorder) HasAccess(context.Context, strategy.Grant) (bool, error)   { return false, nil }
func (r *recorder) Holders(context.Context, strategy.Grant) ([]string, error) { return nil, nil }

type world struct {
	st                                *store.Store
	rtCtx, connCtx, flow, target, str string
}

// newWorld stores a runtime in account 111111111111 whose aws_iam strategy
// acts through a connector role in the safelisted account 222222222222.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sym.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st}
	create := func(kind string, body map[string]any) string {
		t.Helper()
		k := model.Kinds[kind]
		fields, errs := k.Normalize(body, false)
		if errs = append(errs, k.ValidateTyped(fields)...); len(errs) > 0 {
			t.Fatalf("%s: %v", kind, errs)
		}
		id, err := st.CreateEntity(ctx, k, fields)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	w.rtCtx = create("integrations", map[string]any{"type": "permission_context", "slug": "runtime",
		"settings": map[string]any{"role_arn": "arn:aws:iam::111111111111:role/sym/SymRuntimeProd", "external_id": "ext",
			"account_id_safelist": "222222222222"}})
	w.connCtx = create("integrations", map[string]any{"type": "permission_context", "slug": "iam",
		"settings": map[string]any{"role_arn": "arn:aws:iam::222222222222:role/sym/SymIamProd"}})
	rt := create("runtimes", map[string]any{"slug": "prod", "context_id": w.rtCtx})
	env := create("environments", map[string]any{"slug": "prod", "runtime_id": rt})
	w.target = create("access-targets", map[string]any{"type": "aws_iam_group", "slug": "admins", "settings": map[string]any{"iam_group": "Admins"}})
	w.str = create("access-strategies", map[string]any{"type": "aws_iam", "slug": "iam", "integration_id": w.connCtx, "targets": []any{w.target}})
	w.flow = create("flows", map[string]any{"slug": "prod-access", "environment_id": env,
		"params": map[string]any{"strategy_id": w.str}, "vars": map[string]any{"allow_self_approval": "true", "approvers": "alice@example.com, bob@example.com"}})
	return w
}

// TestIdentityPerConnectorAccount: "aws_iam:<account>" is the identity in
// the account the grant acts in, which is the connector role's, not the
// runtime's.
func TestIdentityPerConnectorAccount(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if err := w.st.CreateUser(ctx, &store.User{Email: "alice@example.com", Role: store.RoleMember, Identities: map[string]string{
		"aws_iam": "alice-default", "aws_iam:111111111111": "alice-runtime-acct", "aws_iam:222222222222": "alice-target-acct"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.CreateUser(ctx, &store.User{Email: "bob@example.com", Role: store.RoleMember, Identities: map[string]string{
		"aws_iam": "bob-default", "aws_iam:111111111111": "bob-runtime-acct"}}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": rec}, Options{})
	defer e.Stop()
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		actor := Actor{Email: email, Role: store.RoleMember}
		r, err := e.Request(ctx, actor, RequestInput{Flow: "PROD-ACCESS", Inputs: map[string]any{"target_id": "admins", "reason": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = e.Approve(ctx, actor, r.ID, ""); err != nil || r.State != model.Active {
			t.Fatalf("approve: %v %+v", err, r)
		}
	}
	if len(rec.escalated) != 2 {
		t.Fatalf("%d grants", len(rec.escalated))
	}
	if got := rec.escalated[0].Identity; got != "alice-target-acct" {
		t.Fatalf("alice acts as %q, want her identity in the connector's account 222222222222", got)
	}
	if got := rec.escalated[1].Identity; got != "bob-default" {
		t.Fatalf("bob acts as %q: with no identity for 222222222222 his account-less one applies, never the runtime account's", got)
	}
	if g := rec.escalated[0]; g.ConnectorRoleARN != "arn:aws:iam::222222222222:role/sym/SymIamProd" || g.Runtime.ExternalID != "ext" ||
		len(g.Runtime.Safelist) != 1 || g.TargetSettings["iam_group"] != "Admins" {
		t.Fatalf("grant: %+v", g)
	}
}

// TestCatalogFollowsEntityChanges: the typed entities are read once per
// entity generation, and a change is seen by the next request.
func TestCatalogFollowsEntityChanges(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	e := New(w.st, map[string]strategy.AccessStrategy{"aws_iam": &recorder{}}, Options{})
	defer e.Stop()
	c1, err := e.catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := e.catalog(ctx); c2 != c1 {
		t.Fatal("the catalog was read again with no entity change")
	}
	k := model.Kinds["flows"]
	f, _ := w.st.GetEntity(ctx, "flows", w.flow)
	f.Body["vars"] = map[string]any{"max_duration": "30m"}
	fields, _ := k.Normalize(f.Body, false)
	if err := w.st.UpdateEntity(ctx, k, w.flow, fields); err != nil {
		t.Fatal(err)
	}
	c3, _ := e.catalog(ctx)
	if c3 == c1 || c3.cat.Flows[w.flow].MaxDuration.String() != "30m0s" {
		t.Fatalf("the change is not seen: %+v", c3.cat.Flows[w.flow])
	}
}
