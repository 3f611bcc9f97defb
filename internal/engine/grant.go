package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// How a grant and its removal go (docs/requests.md, decision 007):
//
//  1. grant resolves the request's plan into a strategy.Grant, checks the
//     runtime role, reads whether the identity already holds the access
//     (standing), and records all of it in the ledger (status intended)
//     before the AWS call that grants.
//  2. The grant call is retried; AWS's answer marks the entry granted. An
//     unknown outcome leaves it intended: counted as landed.
//  3. A grant that fails for good removes through the ledger entry; the
//     request is errored only once the entry is closed, and removing (with
//     the error, retried) until then.
//  4. Removal acts on the ledger entry alone (its pinned roles), leaves the
//     access alone when another open entry of the same (identity, target)
//     or a standing membership holds it, and is retried with capped, jittered
//     back-off for as long as it fails.

// lockKey serialises grants and removals of one (identity, target), so that
// reference counting sees a consistent ledger. Taken after a request's lock.
func (e *Engine) lockKey(k strategy.Key) func() {
	m, _ := e.keyLocks.LoadOrStore(k.Identity+"\x00"+k.Target, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// attempt counts one AWS attempt of an operation.
func (e *Engine) attempt(op string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	e.opt.Metrics.Attempts.WithLabelValues(op, outcome).Inc()
}

// intentFor resolves what a new grant of r would pin.
func (e *Engine) intentFor(ctx context.Context, r *model.Request) (ledger.Intent, map[string]string, error) {
	g, strat, p, err := e.grantFor(ctx, r)
	if err != nil {
		return ledger.Intent{}, nil, err
	}
	g.StrategyType, g.Account = p.strategy.Type, p.connectorAccount
	if g.Account == "" {
		g.Account, _, _, _ = model.ParseRoleARN(g.ConnectorRoleARN)
	}
	k, err := strat.Key(g)
	if err != nil {
		return ledger.Intent{}, nil, err
	}
	return ledger.Intent{Grant: g, Key: k}, p.rtContext.Settings, nil
}

// grant makes the request's grant and records the outcome. The caller
// holds the request's lock; r is Approved. approval, when not nil, is the
// approval's step not stored yet (r is still pending in the store):
// it commits together with the ledger intent, one commit where there were
// two, or on its own before any other outcome. grant returns an error only
// when that approval could not be stored (store.ErrStale: the request
// changed meanwhile); nothing was granted then.
func (e *Engine) grant(ctx context.Context, r *model.Request, approval *unsaved) error {
	start := e.opt.Now()
	// storeApproval stores a pending approval on its own, before an outcome
	// that is not a ledger intent.
	storeApproval := func() error {
		if approval == nil {
			return nil
		}
		if err := e.st.SaveRequest(ctx, r, approval.from, approval.ev); err != nil {
			return err
		}
		approval = nil
		e.opt.Metrics.transition(string(model.Approve))
		return nil
	}
	if r.StrategyID == "" {
		if err := storeApproval(); err != nil {
			return err
		}
		e.granted(ctx, r, nil, start) // an approval-only flow
		return nil
	}
	entry, err := e.ledger.OpenForRequest(ctx, r.ID)
	if err != nil {
		e.opt.Log.Error("read the grant ledger; will retry", "request_id", r.ID, "err", err)
		if err := storeApproval(); err != nil {
			return err
		}
		e.sched.set(e.opt.Now().Add(e.opt.RemoveRetryBase), r.ID)
		return nil
	}
	var in ledger.Intent
	var rtSettings map[string]string
	if entry != nil {
		// A crash came after the intent was recorded: grant exactly what it
		// pinned.
		in = entry.Intent
		rtSettings = runtimeSettings(in.Grant.Runtime)
		if _, cur, err := e.intentFor(ctx, r); err == nil && cur["role_arn"] == in.Grant.Runtime.RoleARN {
			rtSettings = cur
		}
	} else if in, rtSettings, err = e.intentFor(ctx, r); err != nil {
		if serr := storeApproval(); serr != nil {
			return serr
		}
		e.grantFailed(ctx, r, nil, err, false)
		return nil
	}
	strat := e.strategies[in.Grant.StrategyType]
	if strat == nil {
		if serr := storeApproval(); serr != nil {
			return serr
		}
		e.grantFailed(ctx, r, entry, fmt.Errorf("strategy type %s cannot grant access in this server", in.Grant.StrategyType), true)
		return nil
	}
	in.Grant.Step = strategy.Step{Actor: r.Approver, At: e.opt.Now()}
	if entry == nil {
		// The user id a Pinner's grant is made to, pinned before the key.
		if in, err = e.pinPrincipal(ctx, strat, in, rtSettings); err != nil {
			if serr := storeApproval(); serr != nil {
				return serr
			}
			e.grantFailed(ctx, r, nil, err, false)
			return nil
		}
	}
	unlockKey := e.lockKey(in.Key)
	prepared := false // the target was read and checked in this grant (Preparer)
	// mayHaveLanded says an earlier call of this grant may have granted:
	// its intent was recorded before a crash (entry found above), or an
	// attempt after the intent failed without proof that nothing landed.
	// A refusal after that (strategy.NotGrantedError) proves nothing about
	// the earlier call, which counts as landed until a removal confirms.
	mayHaveLanded := entry != nil
	for attempt := 1; ; attempt++ {
		err = e.checkRuntime(ctx, rtSettings)
		if err == nil && entry == nil {
			t := time.Now()
			in.Standing, prepared, err = e.standing(ctx, strat, in)
			e.opt.Metrics.phase("read", t)
			if err == nil {
				// The intent is durable before the call that grants, in
				// the commit of the approval when that is pending.
				t = time.Now()
				entry, err = e.openIntent(ctx, r, in, approval)
				e.opt.Metrics.phase("intent", t)
				if err == nil && approval != nil {
					approval = nil
					e.opt.Metrics.transition(string(model.Approve))
				}
				if errors.Is(err, store.ErrStale) {
					unlockKey()
					return err
				}
			}
		}
		if err == nil {
			t := time.Now()
			if p, ok := strat.(strategy.Preparer); ok && prepared {
				err = p.EscalatePrepared(ctx, in.Grant)
			} else {
				err = strat.Escalate(ctx, in.Grant)
			}
			e.opt.Metrics.phase("aws", t)
			e.attempt("grant", err)
		}
		if awsauth.IsAccessDenied(err) {
			// The roles may have changed since they were checked: the
			// next attempt (and grant) verifies the runtime again at once.
			e.verified.Delete(verifyKey(rtSettings))
		}
		if err == nil || awsauth.IsGuard(err) || strategy.IsNotGranted(err) || attempt >= e.opt.GrantAttempts || ctx.Err() != nil {
			break
		}
		mayHaveLanded = mayHaveLanded || entry != nil
		e.opt.Log.Warn("grant failed; retrying", "request_id", r.ID, "attempt", attempt, "err", err)
		time.Sleep(backoff(e.opt.RetryBase, attempt, e.opt.RetryCap))
	}
	unlockKey()
	if err != nil {
		if serr := storeApproval(); serr != nil {
			return serr
		}
		e.grantFailed(ctx, r, entry, err, mayHaveLanded)
		return nil
	}
	t := time.Now()
	e.grantedEntry(ctx, r, entry, &in, start)
	e.opt.Metrics.phase("record", t)
	return nil
}

// unsaved is a step of a request that is not stored yet: the state the
// store still has, and the step's audit event.
type unsaved struct {
	from model.State
	ev   *model.AuditEvent
}

// openIntent records the grant's intent in the ledger, in one commit with
// the request's approval when that is not stored yet.
func (e *Engine) openIntent(ctx context.Context, r *model.Request, in ledger.Intent, approval *unsaved) (*ledger.Entry, error) {
	if approval == nil {
		return e.ledger.Open(ctx, in)
	}
	var entry *ledger.Entry
	err := e.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := e.st.SaveRequestIn(ctx, tx, r, approval.from, approval.ev); err != nil {
			return err
		}
		var err error
		entry, err = e.ledger.In(tx).Open(ctx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// standing reads whether the identity already holds the access sym is about
// to grant. While another open grant of sym's that is not standing holds
// the same key, the access (if any) is sym's: not standing. Standing
// entries alone do not decide it: the membership they saw may have been
// removed since, so AWS is asked. A Preparer's read (one call that also
// checks the target against the guard rails) is made whenever the
// strategy has one, as Escalate would read the target anyway; prepared
// says it was.
func (e *Engine) standing(ctx context.Context, strat strategy.AccessStrategy, in ledger.Intent) (standing, prepared bool, err error) {
	others, err := e.ledger.OpenFor(ctx, in.Key)
	if err != nil {
		return false, false, err
	}
	held := false
	for _, o := range others {
		if !o.Standing {
			held = true
		}
	}
	if p, ok := strat.(strategy.Preparer); ok {
		has, err := p.Prepare(ctx, in.Grant)
		e.attempt("read", err)
		return has && !held, err == nil, err
	}
	if held {
		return false, false, nil
	}
	has, err := strat.HasAccess(ctx, in.Grant)
	e.attempt("read", err)
	return has, false, err
}

func runtimeSettings(rt awsauth.Runtime) map[string]string {
	return map[string]string{"role_arn": rt.RoleARN, "external_id": rt.ExternalID, "region": rt.Region,
		"account_id_safelist": strings.Join(rt.Safelist, ",")}
}

// grantedEntry records a confirmed grant in one commit: the ledger entry
// granted and the request active. Marking the entry may fail alone (it
// stays intended, which counts as granted: nothing lost).
func (e *Engine) grantedEntry(ctx context.Context, r *model.Request, entry *ledger.Entry, in *ledger.Intent, start time.Time) {
	e.recordGranted(ctx, r, in, start, func(tx *sql.Tx) {
		if err := e.ledger.In(tx).MarkGranted(ctx, entry.ID); err != nil {
			e.opt.Log.Error("record confirmed grant in the ledger", "request_id", r.ID, "err", err)
		}
	})
}

// granted records that a request without a strategy is active.
func (e *Engine) granted(ctx context.Context, r *model.Request, in *ledger.Intent, start time.Time) {
	e.recordGranted(ctx, r, in, start, nil)
}

func (e *Engine) recordGranted(ctx context.Context, r *model.Request, in *ledger.Intent, start time.Time, also func(tx *sql.Tx)) {
	from := r.State
	r.State, _, _ = model.Transition(r.State, model.Escalated)
	now := e.opt.Now().UTC()
	r.GrantedAt = &now
	details := map[string]string{"target": r.Target}
	if in != nil {
		g := in.Grant
		auditIdentity(details, g)
		details["connector_role"] = g.ConnectorRoleARN
		details["runtime_role"] = g.Runtime.RoleARN
		if in.Standing {
			details["standing"] = "true" // sym will not remove access the identity had before
		}
		for k, v := range g.TargetSettings {
			details["target."+k] = v
		}
	}
	ev := e.event(r, model.Escalated, SystemActor, details)
	err := e.st.Tx(ctx, func(tx *sql.Tx) error {
		if also != nil {
			also(tx)
		}
		return e.st.SaveRequestIn(ctx, tx, r, from, ev)
	})
	if err != nil {
		e.opt.Log.Error("record grant", "request_id", r.ID, "err", err)
	} else {
		var until string
		if r.Deadline != nil {
			until = r.Deadline.UTC().Format(time.RFC3339)
		}
		e.opt.Log.Info("access granted", "request_id", r.ID, "requester", r.Requester, "target", r.Target, "until", until)
	}
	e.enqueue(r)
	e.opt.Metrics.transition(string(model.Escalated))
	e.opt.Metrics.GrantSeconds.Observe(e.opt.Now().Sub(start).Seconds())
}

// grantFailed ends a grant that failed for good. With no open ledger entry
// nothing was granted and the request is errored at once; otherwise what
// may have landed is removed first, and until that is confirmed the
// request is removing, with the error, and the removal is retried. An error
// that proves its call granted nothing closes the entry without a removal:
// AWS's refusal (strategy.NotGrantedError), or sym's own (a guard error: a
// strategy's connector check runs after the intent, and nothing is called
// through a role it refuses). Unless an earlier call of the grant may have
// landed (mayHaveLanded): such an error speaks for its own call only.
func (e *Engine) grantFailed(ctx context.Context, r *model.Request, entry *ledger.Entry, err error, mayHaveLanded bool) {
	e.opt.Log.Error("grant failed", "request_id", r.ID, "err", err)
	r.Error = err.Error()
	if entry != nil {
		if (strategy.IsNotGranted(err) || awsauth.IsGuard(err)) && !mayHaveLanded {
			if cerr := e.ledger.Close(ctx, entry.ID, ledger.NotGranted, err.Error()); cerr != nil {
				e.opt.Log.Error("close refused grant in the ledger", "request_id", r.ID, "err", cerr)
			}
		}
		// Removal attempts on a failed grant are audited as its cleanup.
		if e.deescalate(ctx, r, "cleanup", SystemActor) != nil {
			return // removing; retried
		}
		return // errored by deescalate, once nothing remains
	}
	from := r.State
	r.State, _, _ = model.Transition(r.State, model.EscalateFailed)
	r.Deadline = nil
	if serr := e.st.SaveRequest(ctx, r, from, e.event(r, model.EscalateFailed, SystemActor, map[string]string{"error": err.Error()})); serr != nil {
		e.opt.Log.Error("record failed grant", "request_id", r.ID, "err", serr)
	}
	e.sched.cancel(r.ID)
	e.opt.Metrics.transition(string(model.EscalateFailed))
}

// removal is what taking away a request's access did: the ledger entry it
// closed (nil when the request had none open) and how.
type removal struct {
	entry  *ledger.Entry
	status ledger.Status
	note   string
}

// removeEntry takes away what one ledger entry granted, unless another
// open entry of the same (identity, target) or a standing membership keeps
// it, and closes the entry; done writes the request's step in the same
// commit. It acts only through the entry's pinned roles. The key stays
// locked until the entry is closed, so that two entries of one key that
// end together cannot each leave the access to the other.
func (e *Engine) removeEntry(ctx context.Context, entry *ledger.Entry, done func(tx *sql.Tx, rm removal) error) error {
	strat := e.strategies[entry.Grant.StrategyType]
	if strat == nil {
		return fmt.Errorf("strategy type %s is not served by this server, so its grant cannot be removed", entry.Grant.StrategyType)
	}
	unlock := e.lockKey(entry.Key)
	defer unlock()
	others, err := e.ledger.OpenFor(ctx, entry.Key)
	if err != nil {
		return err
	}
	// Another open grant of sym's keeps the access; a standing entry does
	// not (this entry's own read found no standing membership).
	var holder *ledger.Entry
	for _, o := range others {
		if o.ID != entry.ID && !o.Standing {
			holder = o
			break
		}
	}
	rm := removal{entry: entry, status: ledger.Removed}
	switch {
	case entry.Standing:
		rm.status, rm.note = ledger.Released, "the identity held this access before sym granted it; sym leaves it"
	case holder != nil:
		rm.status, rm.note = ledger.Released, "request "+holder.RequestID()+" still holds this access"
	default:
		g := entry.Grant
		g.Step = stepOf(ctx, e.opt.Now())
		err = strat.Deescalate(ctx, g)
		e.attempt("remove", err)
		if err != nil {
			return err
		}
	}
	return e.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := e.ledger.In(tx).Close(ctx, entry.ID, rm.status, rm.note); err != nil {
			return err
		}
		return done(tx, rm)
	})
}

// removeFor takes away everything the request may hold (its open ledger
// entry) and, in the commit that records it, writes the request's step
// with done. A request granted before the ledger existed (active, no
// ledger history) is removed through its plan, as it was granted.
func (e *Engine) removeFor(ctx context.Context, r *model.Request, done func(tx *sql.Tx, rm removal) error) error {
	alone := func() error { return e.st.Tx(ctx, func(tx *sql.Tx) error { return done(tx, removal{}) }) }
	if r.StrategyID == "" {
		return alone()
	}
	hist, err := e.ledger.ForRequest(ctx, r.ID)
	if err != nil {
		return err
	}
	var open *ledger.Entry
	for _, en := range hist {
		if en.Status.Open() {
			open = en
		}
	}
	if open != nil {
		return e.removeEntry(ctx, open, done)
	}
	if len(hist) == 0 && r.GrantedAt != nil {
		g, strat, _, err := e.grantFor(ctx, r)
		if err != nil {
			return err
		}
		g.Step = stepOf(ctx, e.opt.Now())
		err = strat.Deescalate(ctx, g)
		e.attempt("remove", err)
		if err != nil {
			return err
		}
	}
	return alone()
}

// deescalate takes access away and ends the request; on failure it keeps
// the request removing with the error, sets its one timer to the next try
// (capped, jittered back-off, without end) and returns the error. A
// retried failure is audited once, when the state changes. The caller
// holds the request's lock.
func (e *Engine) deescalate(ctx context.Context, r *model.Request, typ, actor string) error {
	from := r.State
	var ended model.Request
	var endedEv model.Event
	// end is the request's last step, written in the commit that closes
	// its ledger entry; r changes only once that commit is made.
	end := func(tx *sql.Tx, rm removal) error {
		ended = *r
		nr := &ended
		now := e.opt.Now().UTC()
		endedEv = model.Deescalated
		if nr.GrantedAt == nil && nr.Error != "" {
			endedEv = model.EscalateFailed // a failed grant, now without leftovers
		}
		nr.State, _, _ = model.Transition(nr.State, endedEv)
		if endedEv == model.Deescalated {
			nr.EndedAt = &now
			nr.DeescalateType = typ
		} else {
			nr.Deadline = nil
		}
		nr.DeescalateError = ""
		details := map[string]string{}
		if endedEv == model.Deescalated {
			details["deescalate_type"] = typ
		} else {
			details["error"] = nr.Error
		}
		if rm.entry != nil {
			g := rm.entry.Grant
			auditIdentity(details, g)
			for k, v := range g.TargetSettings {
				details["target."+k] = v
			}
			if rm.status == ledger.Released {
				details["left_in_place"] = rm.note
			}
		}
		if endedEv == model.Deescalated && nr.Deadline != nil && typ == "scheduled" {
			details["late_ms"] = fmt.Sprint(now.Sub(*nr.Deadline).Milliseconds())
		}
		return e.st.SaveRequestIn(ctx, tx, nr, from, e.event(nr, endedEv, actor, details))
	}
	err := e.removeFor(withStep(ctx, typ, actor), r, end)
	if err != nil {
		n := 1
		if v, ok := e.failures.Load(r.ID); ok {
			n = v.(int) + 1
		}
		e.failures.Store(r.ID, n)
		r.DeescalateError = err.Error()
		if r.DeescalateType == "" {
			r.DeescalateType = typ
		}
		next := e.opt.Now().Add(backoff(e.opt.RemoveRetryBase, n, e.opt.RetryCap))
		r.State, _, _ = model.Transition(r.State, model.DeescalateFailed)
		var ev *model.AuditEvent
		if r.State != from {
			details := map[string]string{"error": err.Error(), "attempt": fmt.Sprint(n), "retry_at": next.UTC().Format(time.RFC3339)}
			if r.Error != "" {
				details["grant_error"] = r.Error
			}
			ev = e.event(r, model.DeescalateFailed, actor, details)
		}
		if serr := e.st.SaveRequest(ctx, r, from, ev); serr != nil {
			e.opt.Log.Error("record failed removal", "request_id", r.ID, "err", serr)
		} else if ev != nil {
			e.opt.Metrics.transition(string(model.DeescalateFailed))
		}
		e.opt.Metrics.DeescalateFailures.Inc()
		e.opt.Log.Error("removing access failed; will retry", "request_id", r.ID, "attempt", n, "retry_at", next, "err", err)
		e.sched.set(next, r.ID)
		return err
	}
	*r = ended
	e.failures.Delete(r.ID)
	e.sched.cancel(r.ID)
	if endedEv == model.Deescalated && r.Deadline != nil && typ == "scheduled" {
		e.opt.Metrics.Lateness.Observe(r.EndedAt.Sub(*r.Deadline).Seconds())
	}
	e.opt.Metrics.transition(string(endedEv))
	e.opt.Log.Info("access removed", "request_id", r.ID, "requester", r.Requester, "target", r.Target, "how", typ, "state", string(r.State))
	return nil
}

// checkRuntime runs the runtime connector verification when it is due. A
// difference from the module is a guard refusal; a check that could not
// read the role (throttling, 5xx, network, timeout) is a transient error.
func (e *Engine) checkRuntime(ctx context.Context, settings map[string]string) error {
	if err := e.opt.Guards.CheckSettings(settings); err != nil {
		return err
	}
	if e.opt.VerifyRuntime == nil {
		return nil
	}
	key := verifyKey(settings)
	if t, ok := e.verified.Load(key); ok && e.opt.Now().Sub(t.(time.Time)) < e.opt.VerifyEvery {
		return nil
	}
	err := e.opt.VerifyRuntime(ctx, settings)
	e.attempt("verify", err)
	if err != nil {
		var ce *awsauth.CredentialsError
		switch {
		case errors.As(err, &ce):
			// The server's own credentials, not the role: say so.
			return &awsauth.GuardError{Reason: "cannot check the runtime connector role " + settings["role_arn"] + ": " + err.Error()}
		case transient(err) && !awsauth.IsGuard(err):
			return fmt.Errorf("could not verify the runtime connector role %s: %w", settings["role_arn"], err)
		}
		return &awsauth.GuardError{Reason: "the runtime connector role " + settings["role_arn"] + " is not what its module promises, so sym will not use it: " + err.Error()}
	}
	e.verified.Store(key, e.opt.Now())
	return nil
}

// verifyKey names the runtime settings a passed verification vouches for.
func verifyKey(settings map[string]string) string {
	var key strings.Builder
	for _, k := range []string{"role_arn", "external_id", "account_id_safelist", "trusted_principals", "policy_arns"} {
		key.WriteString(settings[k] + "|")
	}
	return key.String()
}

// transient reports an error that says nothing about the role itself:
// what the AWS SDK would retry (throttling, 5xx, connection errors), or a
// timeout.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// backoff is the wait before try attempt+1: base doubled per attempt, at
// most limit, jittered over its upper half.
func backoff(base time.Duration, attempt int, limit time.Duration) time.Duration {
	d := base << min(attempt-1, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// auditIdentity names whom a grant acts on: the requester's identity for
// the strategy or, when the strategy found the user by email (aws_sso), that
// email. The key is there for every strategy, so events keep one shape.
func auditIdentity(details map[string]string, g strategy.Grant) {
	details["identity"] = g.Identity
	if g.Identity == "" {
		details["identity"] = g.Requester
	}
}
