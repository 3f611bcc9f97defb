package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/strategy"
)

// The reconciler compares what AWS says with what the ledger says, and
// repairs what sym is responsible for (docs/requests.md, "Reconciler";
// decision 009). For every target it can reach (each target key the ledger
// ever granted, through the roles pinned there; each target of a flow's
// strategy, through the flow's current runtime) it reads the members, then
// the ledger, and:
//
//   - a member sym granted whose grants are all closed is removed (audit
//     "reconciled"): a removal that was lost, or access re-added behind
//     sym's back after sym removed it;
//   - an open grant whose membership vanished is recorded (audit "drift")
//     and re-added when its request is still active and the grant was sym's
//     own (not a standing membership);
//   - a member sym never granted is reported (audit "drift", once per
//     server run, and the sym_reconcile_unmanaged_members gauge) and left
//     alone, unless the enforce mode is on and the group is under /sym/.
//
// It reads the members before the ledger: a grant records its intent before
// its AWS call, so a member the read saw is in the ledger read after it.
// Every change is made under the same locks the engine's grants and
// removals take, after checking the ledger again.

// Audit event types of the reconciler.
const (
	EventReconciled = "reconciled"
	EventDrift      = "drift"
)

// Reconcile actions.
const (
	ActionRemove = "remove" // a membership no open grant explains
	ActionReadd  = "re-add" // an open grant of an active request lost its membership
	ActionReport = "report" // drift left alone
	ActionEnd    = "end"    // an active request's access vanished and the database was restored since it was granted
)

// ReconcileAction is one thing the reconciler did, or would do.
type ReconcileAction struct {
	Action    string `json:"action"`
	Target    string `json:"target"` // the canonical target key (aws_iam:<account>:group/<name>)
	Group     string `json:"group"`  // as the target names it
	Member    string `json:"member"`
	Reason    string `json:"reason"`
	RequestID string `json:"request_id,omitempty"`
	Error     string `json:"error,omitempty"` // the action failed (it is tried again next time)
}

// ReconcileReport is what one reconcile pass found.
type ReconcileReport struct {
	DryRun  bool              `json:"dry_run"`
	Enforce bool              `json:"enforce"`
	Targets int               `json:"targets"`
	Members int               `json:"members"`
	Actions []ReconcileAction `json:"actions"`
	// Errors are targets that could not be read (they are tried again next
	// time).
	Errors []string `json:"errors"`
	Took   string   `json:"took"`
}

// memberReader is what a strategy offers the reconciler beyond Holders:
// whether the target is wholly sym's (an IAM group under /sym/).
type memberReader interface {
	Members(ctx context.Context, g strategy.Grant) ([]string, bool, error)
}

// reconTarget is one target to compare, with the roles to read it through.
type reconTarget struct {
	key   string
	grant strategy.Grant // Identity empty
	strat strategy.AccessStrategy
}

// reconcileTargets lists what to compare: every target key the ledger ever
// granted (read through its newest pinned roles), and every target of a
// flow's strategy (through the flow's current runtime) not among them.
func (e *Engine) reconcileTargets(ctx context.Context) ([]reconTarget, error) {
	seen := map[string]bool{}
	var out []reconTarget
	entries, err := e.ledger.Targets(ctx)
	if err != nil {
		return nil, err
	}
	for _, en := range entries {
		strat := e.strategies[en.Grant.StrategyType]
		if strat == nil || seen[en.Key.Target] {
			continue
		}
		g := en.Grant
		g.Identity, g.RequestID, g.Requester = "", "", ""
		seen[en.Key.Target] = true
		out = append(out, reconTarget{key: en.Key.Target, grant: g, strat: strat})
	}
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	flowIDs := make([]string, 0, len(c.cat.Flows))
	for id := range c.cat.Flows {
		flowIDs = append(flowIDs, id)
	}
	sort.Strings(flowIDs)
	for _, id := range flowIDs {
		flow := c.cat.Flows[id]
		if flow.Params.StrategyID == "" {
			continue
		}
		p, err := e.resolve(ctx, flow, "")
		if err != nil || p.strat == nil {
			continue // a flow that cannot grant has nothing to reconcile
		}
		for _, t := range p.targets {
			if !slices.Contains(model.StrategyTargetTypes[p.strategy.Type], t.Type) {
				continue
			}
			g := strategy.Grant{StrategyType: p.strategy.Type, Runtime: p.runtime, ConnectorRoleARN: p.connector,
				Account: p.connectorAccount, Region: p.region, TargetType: t.Type, TargetSettings: t.Settings}
			k, err := p.strat.Key(g)
			if err != nil || seen[k.Target] {
				continue
			}
			seen[k.Target] = true
			out = append(out, reconTarget{key: k.Target, grant: g, strat: p.strat})
		}
	}
	return out, nil
}

// Reconcile runs one pass. With dryRun it only reads, and says what it
// would do.
func (e *Engine) Reconcile(ctx context.Context, dryRun bool) (*ReconcileReport, error) {
	start := time.Now()
	targets, err := e.reconcileTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the targets to reconcile: %w", err)
	}
	restored, err := e.st.LastRestore(ctx)
	if err != nil {
		return nil, fmt.Errorf("read when the database was last restored: %w", err)
	}
	rep := &ReconcileReport{DryRun: dryRun, Enforce: e.opt.ReconcileEnforce, Targets: len(targets), Actions: []ReconcileAction{}, Errors: []string{}}
	var mu sync.Mutex
	unmanaged := 0
	work := make(chan reconTarget)
	var wg sync.WaitGroup
	for range min(8, max(1, len(targets))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				acts, members, um, err := e.reconcileTarget(ctx, t, restored, dryRun)
				mu.Lock()
				rep.Members += members
				unmanaged += um
				rep.Actions = append(rep.Actions, acts...)
				if err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", t.key, err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
	if !dryRun {
		e.forgetClosedVanished(ctx)
	}
	sort.Slice(rep.Actions, func(i, j int) bool {
		a, b := rep.Actions[i], rep.Actions[j]
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Member < b.Member
	})
	sort.Strings(rep.Errors)
	rep.Took = time.Since(start).Round(time.Millisecond).String()
	if !dryRun {
		e.opt.Metrics.Unmanaged.Set(float64(unmanaged))
		e.opt.Metrics.ReconcileSeconds.Observe(time.Since(start).Seconds())
		for _, a := range rep.Actions {
			outcome := "ok"
			if a.Error != "" {
				outcome = "error"
			}
			e.opt.Metrics.Reconciled.WithLabelValues(a.Action, outcome).Inc()
		}
	}
	return rep, nil
}

// forgetClosedVanished drops what the drift events of grants that have
// closed since said: a pass reads a target's newest entries only, so an
// older entry that closed is not met again to be forgotten there.
func (e *Engine) forgetClosedVanished(ctx context.Context) {
	open, err := e.ledger.OpenEntries(ctx)
	if err != nil {
		return // kept until the next pass
	}
	ids := map[string]bool{}
	for _, en := range open {
		ids[en.ID] = true
	}
	e.vanished.Range(func(k, _ any) bool {
		if id, _ := k.(string); !ids[id] {
			e.vanished.Delete(k)
		}
		return true
	})
}

// reconcileTarget compares one target; it returns the actions, the number
// of members read and how many of them sym does not manage. restored is
// when the database was last restored from a backup (zero: never): a grant
// opened before it is not re-added when its access vanished, as a revoke
// or an expiry the backup does not hold may have taken it away; its
// request ends instead.
func (e *Engine) reconcileTarget(ctx context.Context, t reconTarget, restored time.Time, dryRun bool) ([]ReconcileAction, int, int, error) {
	var members []string
	managed := false
	var err error
	if mr, ok := t.strat.(memberReader); ok {
		members, managed, err = mr.Members(ctx, t.grant)
	} else {
		members, err = t.strat.Holders(ctx, t.grant)
		if errors.Is(err, strategy.ErrCannotList) {
			return nil, 0, 0, nil // a Lambda function: nobody to compare
		}
	}
	e.attempt("read", err)
	// A target that does not exist (an IAM group deleted) is held by
	// nobody; what its open grants say about it is judged below.
	var gone error
	if strategy.IsNotGranted(err) {
		gone, members, err = err, nil, nil
	}
	if err != nil {
		return nil, 0, 0, err
	}
	// The ledger after the members (see above): the target's open entries
	// and each identity's newest.
	hist, err := e.ledger.ForTarget(ctx, t.key)
	if err != nil {
		return nil, len(members), 0, err
	}
	group := targetLabel(t)
	act := func(a, member, reason, requestID string) ReconcileAction {
		return ReconcileAction{Action: a, Target: t.key, Group: group, Member: member, Reason: reason, RequestID: requestID}
	}
	identityKey := func(name string) string {
		k, err := t.strat.Key(strategy.HolderGrant(t.strat, t.grant, name))
		if err != nil {
			return name
		}
		return k.Identity
	}
	present := map[string]string{} // identity key -> member name as AWS spells it
	for _, m := range members {
		present[identityKey(m)] = m
	}
	// Rows written before a Pinner's ids were pinned get theirs now (Start
	// tries first); an open one whose user cannot be found cannot be
	// compared, and is left out and reported as an error.
	_, pinner := t.strat.(strategy.Pinner)
	var unpinned []string
	for _, en := range hist {
		if !pinner || en.Grant.PrincipalID != "" {
			continue
		}
		if err := e.repinEntry(ctx, en, !dryRun); err != nil && en.Status.Open() {
			unpinned = append(unpinned, err.Error())
		}
	}
	// The newest entry per identity, and the open ones.
	latest := map[string]*ledger.Entry{}
	open := map[string][]*ledger.Entry{}
	for _, en := range hist {
		if pinner && en.Grant.PrincipalID == "" {
			continue
		}
		latest[en.Key.Identity] = en
		if en.Status.Open() {
			open[en.Key.Identity] = append(open[en.Key.Identity], en)
		} else {
			e.vanished.Delete(en.ID)
		}
	}
	var acts []ReconcileAction
	unmanaged := 0

	// Open grants whose membership vanished.
	for id, ens := range open {
		if _, ok := present[id]; ok {
			for _, en := range ens {
				e.vanished.Delete(en.ID) // its next vanishing is news
			}
			continue
		}
		en := ens[len(ens)-1]
		r, err := e.st.GetRequest(ctx, en.RequestID())
		if err != nil {
			continue
		}
		if r.State == model.Approved || !r.State.HoldsAccess() {
			continue // a grant in flight, or a request the engine is closing
		}
		member := en.Grant.Identity
		if pinner {
			member = en.Grant.PrincipalID // as AWS names its holders
		}
		a := act(ActionReport, member, "an open grant's membership vanished", r.ID)
		switch {
		case en.Standing:
			a.Reason += "; it was a standing membership, which sym does not restore"
		case r.State != model.Active:
			a.Reason += fmt.Sprintf("; request is %s, so it is not re-added", r.State)
		case r.Deadline != nil && !r.Deadline.After(e.opt.Now()):
			a.Reason += "; the request's deadline passed, so it is not re-added"
		case !restored.IsZero() && en.CreatedAt.Before(restored):
			a.Action, a.Reason = ActionEnd, "an active request's access vanished, and it was granted before the database was restored from a backup (a revoke or expiry after the backup may have removed it): the request ends, nothing is re-added"
		default:
			if why := e.readdRefused(ctx, t, en, gone); why != nil {
				a.Action, a.Reason = ActionEnd, "an active request's access vanished and AWS refuses it back ("+withoutRequestID(why)+"): the request ends, nothing is re-added"
				break
			}
			a.Action, a.Reason = ActionReadd, "an open grant of an active request lost its membership; re-added"
		}
		if !dryRun && a.Action == ActionEnd {
			e.endVanished(ctx, en, &a)
		} else if !dryRun {
			e.readd(ctx, t, en, &a)
		}
		acts = append(acts, a)
	}

	// Members no open grant explains.
	for id, name := range present {
		if len(open[id]) > 0 {
			continue
		}
		en := latest[id]
		symGranted := en != nil && !en.Standing && en.Status != ledger.NotGranted
		var a ReconcileAction
		switch {
		case len(unpinned) > 0:
			// An open grant of this target names a user that cannot be
			// found: it may be this member's. Remove nothing.
			a = act(ActionReport, name, "no open grant matches it, but an open grant of this target cannot be matched to its user; left alone", "")
			if en != nil {
				a.RequestID = en.RequestID()
			}
		case symGranted:
			a = act(ActionRemove, name, "sym granted this membership and no grant of it is open", en.RequestID())
		case e.opt.ReconcileEnforce && managed:
			unmanaged++
			a = act(ActionRemove, name, "not granted by sym, in a group under /sym/ (enforce mode)", "")
		default:
			unmanaged++
			a = act(ActionReport, name, "a member sym did not add; left alone", "")
			switch {
			case !managed && e.opt.ReconcileEnforce && pinner:
				a.Reason += " (enforce mode leaves it: nothing marks an Identity Center permission set or group as sym's alone)"
			case !managed && e.opt.ReconcileEnforce:
				a.Reason += " (the group is not under /sym/, so enforce mode leaves it)"
			}
		}
		if !dryRun {
			if a.Action == ActionRemove {
				g := t.grant
				if symGranted {
					g = en.Grant // through the roles and the identity it was granted with
				}
				e.reconcileRemove(ctx, t, id, strategy.HolderGrant(t.strat, g, name), &a)
			} else if _, seen := e.reported.LoadOrStore(t.key+"\x00"+id, true); !seen {
				e.audit(ctx, "", EventDrift, map[string]string{"member": name, "group": group, "target": t.key, "reason": a.Reason})
			}
		}
		acts = append(acts, a)
	}
	if len(unpinned) > 0 {
		return acts, len(members), unmanaged, fmt.Errorf("open grants not compared, their user cannot be found: %s", strings.Join(unpinned, "; "))
	}
	return acts, len(members), unmanaged, nil
}

// targetLabel names a target as a person reads it in a report or an audit
// event: the IAM group, the identity-store group, or the permission set in
// its account; the canonical key otherwise.
func targetLabel(t reconTarget) string {
	ts := t.grant.TargetSettings
	switch {
	case ts["iam_group"] != "":
		return ts["iam_group"]
	case ts["group_id"] != "":
		return "identity-store group " + ts["group_id"]
	case ts["permission_set_arn"] != "" && ts["account_id"] != "":
		return ts["permission_set_arn"] + " in account " + ts["account_id"]
	}
	return t.key
}

// reconcileRemove removes a membership after checking, under the key's
// lock, that no grant of it opened meanwhile.
func (e *Engine) reconcileRemove(ctx context.Context, t reconTarget, identity string, g strategy.Grant, a *ReconcileAction) {
	unlock := e.lockKey(strategy.Key{Identity: identity, Target: t.key})
	defer unlock()
	if open, err := e.ledger.OpenFor(ctx, strategy.Key{Identity: identity, Target: t.key}); err != nil || len(open) > 0 {
		a.Action, a.Reason = ActionReport, "a grant opened meanwhile; left alone"
		return
	}
	// The members were read before the lock: a removal the engine made
	// since would make this one a no-op recorded as a repair.
	has, err := t.strat.HasAccess(ctx, g)
	e.attempt("read", err)
	if err == nil && !has {
		a.Action, a.Reason = ActionReport, "removed by sym meanwhile"
		return
	}
	err = t.strat.Deescalate(ctx, g)
	e.attempt("remove", err)
	details := map[string]string{"member": a.Member, "group": a.Group, "target": t.key, "reason": a.Reason}
	if err != nil {
		a.Error = err.Error()
		details["error"] = err.Error()
		e.opt.Log.Error("reconcile: remove membership", "member", a.Member, "group", a.Group, "err", err)
		return
	}
	e.audit(ctx, a.RequestID, EventReconciled, details)
}

// readdRefused says why an open grant's vanished access cannot be added
// back, or nil: the target does not exist (gone, from the members' read),
// the target's read refuses it (it does not exist, or is outside the guard
// rails: an IAM group moved out of --allowed-group-paths), or the identity
// does not exist (an IAM user deleted). It only reads, so a dry run says
// what the real pass does; any other error of these reads leaves the
// re-add to try, and say its own error.
func (e *Engine) readdRefused(ctx context.Context, t reconTarget, en *ledger.Entry, gone error) error {
	if gone != nil {
		return gone
	}
	refused := func(err error) bool { return strategy.IsNotGranted(err) || awsauth.IsGuard(err) }
	if p, ok := t.strat.(strategy.Preparer); ok {
		_, err := p.Prepare(ctx, en.Grant)
		e.attempt("read", err)
		if refused(err) {
			return err
		}
	}
	_, err := t.strat.HasAccess(ctx, en.Grant)
	e.attempt("read", err)
	if refused(err) {
		return err
	}
	return nil
}

// readd restores an open grant's membership under the request's and the
// key's locks, after reading again that the request is still active.
func (e *Engine) readd(ctx context.Context, t reconTarget, en *ledger.Entry, a *ReconcileAction) {
	details := map[string]string{"member": a.Member, "group": a.Group, "target": t.key, "reason": a.Reason}
	if a.Action != ActionReadd {
		e.driftOnce(ctx, en, a, details)
		return
	}
	unlockReq := e.lock(en.RequestID())
	defer unlockReq()
	unlock := e.lockKey(en.Key)
	defer unlock()
	r, err := e.st.GetRequest(ctx, en.RequestID())
	cur, lerr := e.ledger.Get(ctx, en.ID)
	if err != nil || lerr != nil || r.State != model.Active || !cur.Status.Open() || (r.Deadline != nil && !r.Deadline.After(e.opt.Now())) {
		a.Action, a.Reason = ActionReport, "an open grant's membership vanished; its request ended meanwhile"
		details["reason"] = a.Reason
		e.driftOnce(ctx, en, a, details)
		return
	}
	err = t.strat.Escalate(ctx, en.Grant)
	e.attempt("grant", err)
	if err != nil {
		a.Error = err.Error()
		details["error"] = err.Error()
		e.driftOnce(ctx, en, a, details)
		return
	}
	details["re_added"] = "true"
	e.vanished.Delete(en.ID)
	e.audit(ctx, a.RequestID, EventDrift, details)
}

// driftOnce audits what a pass found about an open grant whose access
// vanished, unless the last event of this server run for that grant said
// the same: a fact that lasts (a standing membership removed by hand, a
// re-add AWS keeps failing) is one audit row, not one every pass.
func (e *Engine) driftOnce(ctx context.Context, en *ledger.Entry, a *ReconcileAction, details map[string]string) {
	outcome := a.Action + "\x00" + a.Reason
	if a.Error != "" {
		outcome += "\x00failed"
	}
	if prev, seen := e.vanished.Swap(en.ID, outcome); seen && prev == outcome {
		return
	}
	e.audit(ctx, a.RequestID, EventDrift, details)
}

// endVanished ends the request of an open grant whose access vanished and
// is not to be re-added (granted before a restore, or refused by AWS): a
// revoke by sym, through the ledger entry (which finds nothing to remove,
// and closes the entry). The revoke's message is the action's reason.
func (e *Engine) endVanished(ctx context.Context, en *ledger.Entry, a *ReconcileAction) {
	unlock := e.lock(en.RequestID())
	defer unlock()
	r, err := e.st.GetRequest(ctx, en.RequestID())
	if err == nil && r.State == model.Active {
		_, err = e.revokeLocked(ctx, Actor{Email: SystemActor}, r, a.Reason)
	}
	if err != nil {
		a.Error = err.Error()
		e.opt.Log.Error("reconcile: end a request after a restore", "request_id", en.RequestID(), "err", err)
	}
}

func (e *Engine) audit(ctx context.Context, requestID, typ string, details map[string]string) {
	ev := &model.AuditEvent{ID: newID(), RequestID: requestID, Type: typ, Actor: SystemActor, At: e.opt.Now().UTC(), Details: details}
	if err := e.st.AppendEvent(ctx, ev); err != nil {
		e.opt.Log.Error("record reconcile event", "type", typ, "err", err)
	}
}

// reconciler runs Reconcile at start and every ReconcileEvery until Stop.
func (e *Engine) reconciler() {
	defer e.wg.Done()
	t := time.NewTicker(e.opt.ReconcileEvery)
	defer t.Stop()
	for {
		rep, err := e.Reconcile(e.ctx, false)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			e.opt.Log.Error("reconcile", "err", err)
		case rep != nil:
			lvl := e.opt.Log.Debug
			if len(rep.Actions) > 0 || len(rep.Errors) > 0 {
				lvl = e.opt.Log.Info
			}
			lvl("reconciled", "targets", rep.Targets, "members", rep.Members, "actions", len(rep.Actions), "errors", len(rep.Errors), "took", rep.Took)
		}
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

func newID() string { return uuid.NewString() }
