// Package engine runs access flows: it validates requests against their flow,
// applies the state machine of package model, makes grants through the
// strategies, and de-escalates on time. Deadlines are stored before a grant
// is made; an in-process timer fires them, and the database is the truth a
// restart reloads, so access never outlives its deadline by more than the
// server's downtime.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/ledger"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// Defaults, when a flow's vars do not say otherwise (docs/requests.md).
const (
	DefaultDuration       = model.DefaultDuration
	DefaultMaxDuration    = model.DefaultMaxDuration
	DefaultRequestTimeout = model.DefaultRequestTimeout
	// SystemActor is the actor of the steps the platform takes by itself.
	SystemActor = model.SystemActor
)

// Actor is who calls the engine.
type Actor struct {
	Email string
	Role  string
	Bot   bool // the SYM_ADMIN_TOKEN bot
}

// IsAdmin reports the admin role.
func (a Actor) IsAdmin() bool { return a.Role == store.RoleAdmin }

// Options tune the engine.
type Options struct {
	Log *slog.Logger
	// Guards are the server's guard rails, applied to a runtime's settings
	// before every grant through it.
	Guards awsauth.Guards
	// Now is the wall clock and Mono a monotonic one (time since any fixed
	// origin); the engine reads time through both, so that a wall clock
	// stepped back delays nothing (clock.go). Both default to the system's.
	Now  func() time.Time
	Mono func() time.Duration
	// StopTimeout bounds how long Stop waits for the work in progress
	// (default 15 s); what is left is resumed from the database at the next
	// start.
	StopTimeout time.Duration
	// Workers run due de-escalations and expiries in parallel (default
	// 64). The pace (awsauth.Pacer), not the worker count, should bound a
	// mass expiry: a worker's turn is the pace's wait, the call and the
	// store's commit, so that 32 workers kept the drain under a pace that
	// moto could serve (decision 009).
	Workers int
	// Sweep is how often the stored open requests are reloaded into the
	// timer (a safety net; the timer alone keeps time).
	Sweep time.Duration
	// GrantAttempts is how many times a failing grant is tried (on top of
	// the AWS SDK's own retries) before it is given up and whatever part of
	// it may have landed is removed.
	GrantAttempts int
	// RetryBase is the first back-off of grant retries.
	RetryBase time.Duration
	// RemoveRetryBase is the first back-off of removal retries (default
	// 1 s); they double, with jitter, up to RetryCap (default 1 min), and
	// never stop while access may remain.
	RemoveRetryBase time.Duration
	RetryCap        time.Duration
	Metrics         *Metrics
	// VerifyRuntime, when set, checks a runtime connector role against what
	// its module promises (connector.VerifyRuntime) before the first grant
	// through it, and again every VerifyEvery. A check that finds a
	// difference refuses the grant; a check that could not read the role
	// (throttling, 5xx, network) is retried like any AWS error. Removals
	// never wait for it: they go through the roles pinned in the ledger.
	VerifyRuntime func(ctx context.Context, settings map[string]string) error
	VerifyEvery   time.Duration
	// ReconcileEvery, when positive, runs the reconciler at Start and then
	// at this interval (reconcile.go). ReconcileEnforce removes members of
	// groups under /sym/ that no open grant explains, instead of only
	// reporting them.
	ReconcileEvery   time.Duration
	ReconcileEnforce bool
	// Org is the organisation's name, which strategies pass on (the
	// Lambda payload's SRNs).
	Org string
}

// Engine runs flows.
type Engine struct {
	st         *store.Store
	ledger     *ledger.Ledger
	strategies map[string]strategy.AccessStrategy
	opt        Options
	sched      *scheduler
	locks      lockMap  // request id -> its mutex, while in use
	keyLocks   sync.Map // strategy.Key (identity, target) -> *sync.Mutex
	failures   sync.Map // request id -> consecutive de-escalation failures
	verified   sync.Map // runtime settings key -> time of the last passed check
	reported   sync.Map // target key + identity key of unmanaged members already audited
	vanished   sync.Map // ledger entry id -> what the last drift event of its vanished access said
	cat        atomic.Pointer[catalogCache]
	stop       chan struct{}
	ctx        context.Context // cancelled when Stop gives up waiting
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	startOnce  sync.Once
}

// New builds an engine over a store with the strategies by strategy type.
func New(st *store.Store, strategies map[string]strategy.AccessStrategy, opt Options) *Engine {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Mono == nil {
		opt.Mono = monotonic()
	}
	opt.Now = newClock(opt.Now, opt.Mono).Now
	if opt.StopTimeout <= 0 {
		opt.StopTimeout = 15 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 64
	}
	if opt.Sweep <= 0 {
		opt.Sweep = 30 * time.Second
	}
	if opt.GrantAttempts <= 0 {
		opt.GrantAttempts = 3
	}
	if opt.RetryBase <= 0 {
		opt.RetryBase = 250 * time.Millisecond
	}
	if opt.RemoveRetryBase <= 0 {
		opt.RemoveRetryBase = time.Second
	}
	if opt.RetryCap <= 0 {
		opt.RetryCap = time.Minute
	}

	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(nil)
	}
	if opt.VerifyEvery <= 0 {
		opt.VerifyEvery = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{st: st, ledger: ledger.New(st.DB(), opt.Now).ReadFrom(st.ReadDB()), strategies: strategies, opt: opt,
		sched: newScheduler(4096), stop: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// Ledger is the grant ledger the engine records every grant in (the
// reconciler reads it).
func (e *Engine) Ledger() *ledger.Ledger { return e.ledger }

// Strategy is the strategy that serves a strategy type, or nil.
func (e *Engine) Strategy(typ string) strategy.AccessStrategy { return e.strategies[typ] }

func (e *Engine) lock(id string) func() { return e.locks.lock(id) }

// Start reloads every open request from the store, finishes grants a crash
// interrupted, retries removals, de-escalates what is overdue, and starts
// the timer.
func (e *Engine) Start(ctx context.Context) error {
	open, err := e.st.OpenRequests(ctx)
	if err != nil {
		return fmt.Errorf("load open requests: %w", err)
	}
	// Old ledger rows get their principal ids before anything acts on
	// them (pin.go).
	e.repinLedger(ctx)
	e.startOnce.Do(func() {
		go e.sched.run(e.stop, e.opt.Now)
		for i := 0; i < e.opt.Workers; i++ {
			e.wg.Add(1)
			go e.worker()
		}
		e.wg.Add(1)
		go e.sweeper()
		if e.opt.ReconcileEvery > 0 {
			e.wg.Add(1)
			go e.reconciler()
		}
	})
	now := e.opt.Now()
	for _, r := range open {
		if r.State == model.Approved || r.State == model.Removing {
			// A crash came during a grant or between removal attempts:
			// finish it now (grant, or remove when the deadline passed).
			e.sched.set(now, r.ID)
			continue
		}
		e.enqueue(r)
	}
	e.opt.Log.Info("engine started", "open_requests", len(open))
	return nil
}

// Stop ends the timer and waits for the work in progress, at most
// StopTimeout: every AWS call has its own timeout, but a stop must not hang
// on one. Then it cancels the context of the work still running and
// returns; every step is recorded before it is made, so the next start
// resumes what is unfinished from the database.
func (e *Engine) Stop() {
	select {
	case <-e.stop:
		return
	default:
	}
	close(e.stop)
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(e.opt.StopTimeout):
		e.opt.Log.Warn("engine stopped with work still running; the next start resumes it from the database", "waited", e.opt.StopTimeout.String())
	}
	e.cancel()
}

// wakeAt is when an open request next needs the engine, and whether it
// does at all.
func (e *Engine) wakeAt(r *model.Request) (time.Time, bool) {
	switch {
	case r.State == model.Pending:
		return r.ExpiresAt, true
	case r.State == model.Removing:
		return e.opt.Now(), true
	case r.State.HoldsAccess() && r.Deadline != nil:
		return *r.Deadline, true
	}
	return time.Time{}, false
}

// enqueue makes the request's one wake-up match its stored times.
func (e *Engine) enqueue(r *model.Request) {
	if at, ok := e.wakeAt(r); ok {
		e.sched.set(at, r.ID)
	} else {
		e.sched.cancel(r.ID)
	}
}

// sweeper is the safety net under the timer: every open request must have
// a wake-up. It adds one only where none is set and no worker is on the
// request, so it never starts a second retry chain.
func (e *Engine) sweeper() {
	defer e.wg.Done()
	t := time.NewTicker(e.opt.Sweep)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			open, err := e.st.OpenRequests(e.ctx)
			if err != nil {
				e.opt.Log.Error("sweep open requests", "err", err)
				continue
			}
			for _, r := range open {
				if at, ok := e.wakeAt(r); ok {
					if e.sched.ensure(at, r.ID) {
						e.opt.Metrics.SweepRearmed.Inc()
					}
				}
			}
		}
	}
}

func (e *Engine) worker() {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case id := <-e.sched.due:
			e.handleDue(id)
			e.sched.finish(id)
		}
	}
}

// handleDue acts on a request whose time came: expire it, finish its grant,
// or take access away. It re-reads the request, so a stale wake-up only
// re-arms the timer.
func (e *Engine) handleDue(id string) {
	ctx := e.ctx
	unlock := e.lock(id)
	defer unlock()
	r, err := e.st.GetRequest(ctx, id)
	if err != nil {
		e.opt.Log.Error("load due request", "request_id", id, "err", err)
		if !store.IsNotFound(err) {
			e.sched.set(e.opt.Now().Add(e.opt.RemoveRetryBase), id)
		}
		return
	}
	now := e.opt.Now()
	switch {
	case r.State == model.Pending && !r.ExpiresAt.After(now):
		from := r.State
		r.State, _, _ = model.Transition(r.State, model.Expire)
		if err := e.st.SaveRequest(ctx, r, from, e.event(r, model.Expire, SystemActor, map[string]string{
			"expired_at": r.ExpiresAt.UTC().Format(time.RFC3339)})); err != nil {
			e.opt.Log.Error("expire request", "request_id", id, "err", err)
			e.enqueue(r)
			return
		}
		e.opt.Metrics.transition(string(model.Expire))
	case r.State == model.Removing || (r.State.HoldsAccess() && r.Deadline != nil && !r.Deadline.After(now)):
		typ := r.DeescalateType
		if typ == "" {
			typ = "scheduled"
		}
		_ = e.deescalate(ctx, r, typ, SystemActor)
	case r.State == model.Approved:
		// A grant a crash (or a failed write) interrupted, or one that
		// was in flight when the backup this database was restored from
		// was taken.
		restored, err := e.st.LastRestore(ctx)
		if err != nil {
			e.opt.Log.Error("read when the database was last restored; will retry", "request_id", id, "err", err)
			e.sched.set(now.Add(e.opt.RemoveRetryBase), id)
			return
		}
		if r.UpdatedAt.Before(restored) {
			// It may have landed and been revoked after the backup
			// (decision 028): it is not made again. What its intent may
			// have granted is removed, and the request ends.
			r.EndedBy = SystemActor
			r.EndMessage = "the database was restored from a backup taken while this grant was being made; it may have been revoked since, so it is not made again"
			_ = e.deescalate(ctx, r, "revoke", SystemActor)
			return
		}
		e.enqueue(r)
		_ = e.grant(ctx, r, nil)
	default:
		e.enqueue(r)
	}
}

func (e *Engine) event(r *model.Request, ev model.Event, actor string, details map[string]string) *model.AuditEvent {
	return &model.AuditEvent{ID: uuid.NewString(), RequestID: r.ID, Type: string(ev), Actor: actor, At: e.opt.Now().UTC(), Details: details}
}

// ---- requests ----

// RequestInput is what a requester sends.
type RequestInput struct {
	Flow      string
	UserEmail string
	Inputs    map[string]any // target_id, reason, duration, other prompt fields
	// Source is where the request comes from (SourceAPI, SourceSlack),
	// checked against the flow's params.allowed_sources; empty skips it.
	Source string
}

func inputString(in map[string]any, key string) (string, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return "", nil
	}
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t), nil
	case float64:
		return fmt.Sprint(t), nil
	}
	return "", invalid("flow_inputs."+key, "must be a string")
}

// ParseDuration reads a request duration: Go duration text such as 30s,
// 30m, 1h or 1h30m; a bare number is minutes.
func ParseDuration(s string) (time.Duration, error) { return model.ParseDuration(s) }

// Request creates a pending request after checking it against its flow.
func (e *Engine) Request(ctx context.Context, actor Actor, in RequestInput) (*model.Request, error) {
	if strings.TrimSpace(in.Flow) == "" {
		return nil, invalid("flow", "is required (a flow name or id)")
	}
	email := strings.ToLower(strings.TrimSpace(in.UserEmail))
	if email == "" {
		email = strings.ToLower(actor.Email)
	}
	if actor.Automation() && email == strings.ToLower(actor.Email) {
		return nil, invalid("user_email", "is required: an automation token requests on behalf of a user and never holds access itself")
	}
	if err := authz.Check(authz.CreateRequest, actor.Caller(), authz.Resource{Owner: email}); err != nil {
		return nil, asEngineError(err, "")
	}
	requester, err := e.st.GetUser(ctx, email)
	if store.IsNotFound(err) {
		return nil, invalid("user_email", "no user %s: create it with 'sym users create'", email)
	} else if err != nil {
		return nil, err
	}
	if !authz.HoldsAccess(authz.Role(requester.Role)) {
		return nil, invalid("user_email", "%s is an %s user, and only admins and members hold access (docs/authz.md)", requester.Email, requester.Role)
	}
	flow, err := e.findFlow(ctx, in.Flow)
	if err != nil {
		return nil, err
	}
	if err := sourceAllowed(flow, in.Source); err != nil {
		return nil, err
	}
	p, err := e.resolve(ctx, flow, "")
	if err != nil {
		return nil, err
	}
	if in.Inputs == nil {
		in.Inputs = map[string]any{}
	}
	targetRef, err := inputString(in.Inputs, "target_id")
	if err != nil {
		return nil, err
	}
	r := &model.Request{ID: uuid.NewString(), State: model.Pending, FlowID: flow.ID, Flow: flow.Slug,
		Requester: requester.Email, StrategyID: flow.Params.StrategyID}
	if r.StrategyID != "" || targetRef != "" {
		if targetRef == "" {
			return nil, invalid("flow_inputs.target_id", "is required: name one of the flow's targets (%s)", strings.Join(p.targetNames(), ", "))
		}
		t, err := p.target(targetRef)
		if err != nil {
			return nil, err
		}
		r.TargetID, r.Target = t.ID, t.Slug
		if p.strategy != nil {
			if key := p.strat.IdentityKey(); !identityOptional(p.strat) && requesterIdentity(requester, key, p.connectorAccount) == "" {
				return nil, invalid("user_email", "%s has no %s identity: an admin sets it with 'sym users set-identity %s %s=<name>'", requester.Email, key, requester.Email, key)
			}
		}
	}
	reasonRequired := true
	if f, ok := flow.Params.Field("reason"); ok {
		reasonRequired = f.Required
	}
	if r.Reason, err = inputString(in.Inputs, "reason"); err != nil {
		return nil, err
	}
	if r.Reason == "" && reasonRequired {
		return nil, invalid("flow_inputs.reason", "is required: say why you need access")
	}
	if len(r.Reason) > 4096 {
		return nil, invalid("flow_inputs.reason", "is longer than 4096 characters")
	}
	for _, f := range flow.Params.PromptFields {
		if f.Name == "reason" || f.Name == "duration" || f.Name == "target_id" {
			continue
		}
		v, err := f.ReadInput(in.Inputs[f.Name])
		if err != nil {
			return nil, invalid("flow_inputs."+f.Name, "%s", err)
		}
		if v == "" && f.HasDefault {
			if v, err = f.ReadInput(f.Default); err != nil {
				return nil, invalid("flow_inputs."+f.Name, "is not given, and the flow's default %s", err)
			}
		}
		if v == "" && f.Required {
			return nil, invalid("flow_inputs."+f.Name, "is required by the flow (sym request ... --field %s=VALUE)", f.Name)
		}
		if v != "" {
			// Stored with the request and shown in its audit event, so that
			// an approver sees what was asked (a ticket number, say).
			if r.Fields == nil {
				r.Fields = map[string]string{}
			}
			r.Fields[f.Name] = v
		}
	}
	if r.Duration, err = e.duration(in.Inputs, flow); err != nil {
		return nil, err
	}
	now := e.opt.Now().UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	r.ExpiresAt = now.Add(flow.RequestTimeout)
	// The actor is who called: a bot requesting for someone is recorded
	// as itself, with the person in on_behalf_of.
	ev := e.event(r, model.Requested, strings.ToLower(actor.Email), map[string]string{
		"flow": r.Flow, "target": r.Target, "reason": r.Reason, "duration": model.FormatDuration(r.Duration)})
	for name, v := range r.Fields {
		ev.Details["field."+name] = v
	}
	if !strings.EqualFold(actor.Email, requester.Email) {
		ev.Details["on_behalf_of"] = requester.Email
	}
	if err := e.st.CreateRequest(ctx, r, ev); err != nil {
		return nil, err
	}
	e.opt.Metrics.transition(string(model.Requested))
	e.sched.set(r.ExpiresAt, r.ID)
	return r, nil
}

func (e *Engine) duration(inputs map[string]any, flow *model.Flow) (time.Duration, error) {
	raw, err := inputString(inputs, "duration")
	if err != nil {
		return 0, err
	}
	f, _ := flow.Params.Field("duration")
	if raw == "" && f.HasDefault {
		raw = f.Default
	}
	if raw == "" && len(f.AllowedValues) > 0 {
		raw = f.AllowedValues[0] // the flow's first choice
	}
	if raw == "" {
		return DefaultDuration, nil
	}
	d, err := ParseDuration(raw)
	if err != nil {
		return 0, invalid("flow_inputs.duration", "%s", err)
	}
	if len(f.AllowedValues) > 0 {
		match := false
		for _, a := range f.AllowedValues {
			if ad, err := ParseDuration(a); err == nil && ad == d {
				match = true
			}
		}
		if !match {
			return 0, invalid("flow_inputs.duration", "%s is not one of the flow's allowed durations (%s)", raw, strings.Join(f.AllowedValues, ", "))
		}
	}
	if d > flow.MaxDuration {
		return 0, invalid("flow_inputs.duration", "%s is longer than the flow's maximum of %s", d, flow.MaxDuration)
	}
	return d, nil
}

// Get reads a request.
func (e *Engine) Get(ctx context.Context, id string) (*model.Request, error) {
	r, err := e.st.GetRequest(ctx, id)
	if store.IsNotFound(err) {
		return nil, notFound("no request %s", id)
	}
	return r, err
}

// lockFor looks a request up, checks that the actor may do action on it,
// and only then takes its lock and reads it again: an unknown or hidden id
// never enters the lock map.
func (e *Engine) lockFor(ctx context.Context, actor Actor, action authz.Action, id string) (*model.Request, func(), error) {
	r, err := e.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := e.Authorize(ctx, actor, action, r); err != nil {
		return nil, nil, err
	}
	unlock := e.lock(r.ID)
	if r, err = e.Get(ctx, id); err != nil {
		unlock()
		return nil, nil, err
	}
	return r, unlock, nil
}

// Approve approves a pending request and grants access.
func (e *Engine) Approve(ctx context.Context, actor Actor, id, message string) (*model.Request, error) {
	r, unlock, err := e.lockFor(ctx, actor, authz.Approve, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if r.State == model.Pending && !r.ExpiresAt.After(e.opt.Now()) {
		return nil, conflict("request expired at %s before anyone answered", r.ExpiresAt.Format(time.RFC3339))
	}
	next, _, err := model.Transition(r.State, model.Approve)
	if err != nil {
		return nil, conflict("%s", err)
	}
	flow, err := e.flowOf(ctx, r)
	if err != nil {
		return nil, err
	}
	now := e.opt.Now().UTC()
	from := r.State
	r.State, r.Approver, r.Message = next, strings.ToLower(actor.Email), message
	if g, strat, _, err := e.grantFor(ctx, r); err == nil && strat != nil {
		r.Identity, r.Granted = g.Identity, map[string]string{"type": g.TargetType}
		for k, v := range g.TargetSettings {
			r.Granted[k] = v
		}
	}
	// The deadline is stored before the grant is made, and there always is
	// one: without scheduled de-escalation, access still ends at the flow's
	// max_duration.
	details := map[string]string{}
	dl := now.Add(r.Duration)
	if !flow.Params.ScheduleDeescalation {
		dl = now.Add(flow.MaxDuration)
		details["deadline_reason"] = "max_duration"
	}
	r.Deadline = &dl
	if message != "" {
		details["message"] = message
	}
	details["deadline"] = r.Deadline.Format(time.RFC3339Nano)
	e.enqueue(r)
	// The approval is stored by the grant, in the commit of its ledger
	// intent (before any AWS call that grants), or on its own first when
	// the grant ends otherwise. The grant does not stop when the caller
	// goes away.
	if err := e.grant(context.WithoutCancel(ctx), r, &unsaved{from: from, ev: e.event(r, model.Approve, actor.Email, details)}); err != nil {
		if errors.Is(err, store.ErrStale) {
			return nil, conflict("request changed state meanwhile; read it again")
		}
		return nil, err
	}
	return r, nil
}

// Deny denies a pending request.
func (e *Engine) Deny(ctx context.Context, actor Actor, id, message string) (*model.Request, error) {
	r, unlock, err := e.lockFor(ctx, actor, authz.Deny, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	next, _, err := model.Transition(r.State, model.Deny)
	if err != nil {
		return nil, conflict("%s", err)
	}
	from := r.State
	r.State, r.Approver, r.Message = next, strings.ToLower(actor.Email), message
	details := map[string]string{}
	if message != "" {
		details["message"] = message
	}
	if err := e.st.SaveRequest(ctx, r, from, e.event(r, model.Deny, actor.Email, details)); err != nil {
		if errors.Is(err, store.ErrStale) {
			return nil, conflict("request changed state meanwhile; read it again")
		}
		return nil, err
	}
	e.opt.Metrics.transition(string(model.Deny))
	return r, nil
}

// Revoke ends active access now. Who may revoke is authz's rule
// requests.revoke: the requester, an approver of the flow, an admin (even
// when the flow sets allow_revoke = false) or an automation token.
func (e *Engine) Revoke(ctx context.Context, actor Actor, id, message string) (*model.Request, error) {
	r, unlock, err := e.lockFor(ctx, actor, authz.Revoke, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return e.revokeLocked(ctx, actor, r, message)
}

// revokeLocked revokes r, whose lock the caller holds, once the caller has
// been authorized.
func (e *Engine) revokeLocked(ctx context.Context, actor Actor, r *model.Request, message string) (*model.Request, error) {
	if _, _, err := model.Transition(r.State, model.Revoke); err != nil {
		return nil, conflict("%s", err)
	}
	from := r.State
	now := e.opt.Now().UTC()
	// Move the deadline to now before touching AWS: if we crash, the restart
	// finds it overdue and finishes the job.
	r.Deadline = &now
	r.DeescalateType = "revoke"
	r.EndedBy, r.EndMessage = strings.ToLower(actor.Email), message
	details := map[string]string{}
	if message != "" {
		details["message"] = message
	}
	if err := e.st.SaveRequest(ctx, r, from, e.event(r, model.Revoke, actor.Email, details)); err != nil {
		if errors.Is(err, store.ErrStale) {
			return nil, conflict("request changed state meanwhile; read it again")
		}
		return nil, err
	}
	e.opt.Metrics.transition(string(model.Revoke))
	if err := e.deescalate(context.WithoutCancel(ctx), r, "revoke", actor.Email); err != nil {
		return r, &Error{Kind: Upstream, Message: "access could not be removed yet and will be retried: " + err.Error()}
	}
	return r, nil
}
