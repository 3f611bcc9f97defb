package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/strategy"
)

// Principal ids (strategy.Pinner; decision 025). A strategy whose target
// system names users by an id of its own (aws_sso: the identity-store user
// id) has that id resolved once, when a grant is made, before the grant's
// key is computed and its intent recorded. Everything after (reference
// counts, removal, the reconciler) uses the pinned id, never a lookup of
// today's directory. Ledger rows written before ids were pinned are given
// theirs (looked up through their pinned roles) at Start, and by the
// reconciler for any Start could not resolve.

// repinBudget bounds the upgrade of old rows at Start: what is not done by
// then is left to the reconciler.
const repinBudget = 30 * time.Second

// pinPrincipal resolves and pins the principal id of a new grant and its
// key, when the strategy is a Pinner. The runtime role is checked first,
// as before any AWS call of a grant; transient errors are retried like the
// grant's own.
func (e *Engine) pinPrincipal(ctx context.Context, strat strategy.AccessStrategy, in ledger.Intent, rtSettings map[string]string) (ledger.Intent, error) {
	p, ok := strat.(strategy.Pinner)
	if !ok || in.Grant.PrincipalID != "" {
		return in, nil
	}
	for attempt := 1; ; attempt++ {
		err := e.checkRuntime(ctx, rtSettings)
		var id string
		if err == nil {
			id, err = p.Pin(ctx, in.Grant)
			e.attempt("read", err)
		}
		if err == nil {
			in.Grant.PrincipalID = id
			in.Key, err = strat.Key(in.Grant)
			return in, err
		}
		if awsauth.IsGuard(err) || strategy.IsNotGranted(err) || attempt >= e.opt.GrantAttempts || ctx.Err() != nil {
			return in, err
		}
		e.opt.Log.Warn("finding the user to grant failed; retrying", "request_id", in.Grant.RequestID, "attempt", attempt, "err", err)
		time.Sleep(backoff(e.opt.RetryBase, attempt, e.opt.RetryCap))
	}
}

// repinEntry gives an entry written without a principal id its id, looked
// up through the entry's pinned roles and identity, and the key that id
// gives; en is updated in place, and with save the ledger row too (a dry
// run only reads). It holds the locks of both keys.
func (e *Engine) repinEntry(ctx context.Context, en *ledger.Entry, save bool) error {
	strat := e.strategies[en.Grant.StrategyType]
	p, ok := strat.(strategy.Pinner)
	if !ok || en.Grant.PrincipalID != "" {
		return nil
	}
	// Tried once per server run for a closed entry (a user deleted since
	// would be looked up on every pass otherwise); open ones every time.
	if _, tried := e.reported.Load("pin\x00" + en.ID); tried && !en.Status.Open() {
		return nil
	}
	if save {
		e.reported.Store("pin\x00"+en.ID, true)
	}
	g := en.Grant
	id, err := p.Pin(ctx, g)
	e.attempt("read", err)
	if err != nil {
		return fmt.Errorf("find the user of ledger entry %s (request %s): %w", en.ID, en.RequestID(), err)
	}
	g.PrincipalID = id
	k, err := strat.Key(g)
	if err != nil {
		return err
	}
	if !save {
		en.Grant, en.Key = g, k
		return nil
	}
	unlockOld := e.lockKey(en.Key)
	defer unlockOld()
	unlockNew := e.lockKey(k)
	defer unlockNew()
	if err := e.ledger.Repin(ctx, en.ID, g, k); err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	e.opt.Log.Info("ledger entry pinned to its user id", "entry", en.ID, "request_id", en.RequestID(), "key", k.Identity)
	en.Grant, en.Key = g, k
	return nil
}

// repinLedger upgrades every old row of a Pinner strategy, within
// repinBudget. Failures are logged; the reconciler tries them again.
func (e *Engine) repinLedger(ctx context.Context) {
	types := make([]string, 0, len(e.strategies))
	for typ, s := range e.strategies {
		if _, ok := s.(strategy.Pinner); ok {
			types = append(types, typ)
		}
	}
	sort.Strings(types)
	ctx, cancel := context.WithTimeout(ctx, repinBudget)
	defer cancel()
	for _, typ := range types {
		old, err := e.ledger.Unpinned(ctx, typ)
		if err != nil {
			e.opt.Log.Error("read the ledger rows to pin", "strategy", typ, "err", err)
			continue
		}
		for _, en := range old {
			if err := e.repinEntry(ctx, en, true); err != nil {
				e.opt.Log.Warn("could not pin a ledger entry's user id; the reconciler will try again", "entry", en.ID, "err", err)
			}
		}
	}
}
