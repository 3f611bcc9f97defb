// Package logdest delivers the audit log to an environment's log
// destinations (Kinesis Data Streams, Kinesis Data Firehose, HTTP) and its
// error logger, at least once, from the outbox the store fills in the same
// transaction as each audit event.
//
// One worker per destination sends that destination's events in the order
// they were appended, a batch at a time; a failure holds the queue (so one
// request's events never overtake each other) and is retried with jittered
// exponential back-off until the destination answers again. A crash between
// an event and its delivery loses nothing: the row stays undelivered and is
// sent after the restart, so a destination may see an event twice, always
// with the same id.
//
// AWS destinations are reached through the runtime connector role (its
// kinesis addons), with the guard rails of package awsauth. No record, log
// line or status message may carry a secret value.
package logdest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/secrets"
	"github.com/opensym/sym/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Options tune delivery.
type Options struct {
	Log *slog.Logger
	Now func() time.Time
	// Poll is how often the outbox is looked at for new work (Kick wakes the
	// loop at once).
	Poll time.Duration
	// Batch is the most events sent in one call.
	Batch int
	// BackoffBase and BackoffMax bound the wait after a failed attempt: it
	// doubles from BackoffBase up to BackoffMax, with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Keep is how long delivered rows stay in the outbox.
	Keep time.Duration
	// Registry receives the delivery metrics when set.
	Registry prometheus.Registerer
	// HTTPClient sends http destinations and webhooks.
	HTTPClient *http.Client
	// Org names the organisation in every record.
	Org string
}

// Sender delivers a batch of records to one destination and answers how
// many of them, from the first, it delivered. An error with n < len(recs)
// leaves the rest queued.
type Sender interface {
	Send(ctx context.Context, recs []Record) (n int, err error)
}

// ErrorSenderFunc builds the sender of an error logger from its integration
// and destination (a URL or path for webhooks, a channel for Slack). Secrets
// the integration names resolve through the Deliverer's secrets.Resolver.
type ErrorSenderFunc func(ctx context.Context, integration *model.Integration, destination string) (Sender, error)

// Record is one event as a destination receives it: the audit event the API
// shows, with the environment and organisation it belongs to.
type Record struct {
	Item  store.OutboxItem
	Data  []byte // the JSON object
	Event model.AuditEvent
}

// Deliverer runs the delivery workers.
type Deliverer struct {
	st      *store.Store
	chain   *awsauth.Chain
	secrets *secrets.Resolver
	opt     Options
	metrics *metrics

	// errorSenders build senders for error loggers by integration type;
	// "http" and "webhook" are built in, "slack" is queued until a sender
	// is registered (RegisterErrorSender).
	mu           sync.Mutex
	errorSenders map[string]ErrorSenderFunc
	running      map[string]bool
	// parked destinations have no sender yet; the loop looks at them again
	// after parkFor, or at once when a sender is registered.
	parked map[string]time.Time

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New builds a deliverer; Start runs it.
func New(st *store.Store, chain *awsauth.Chain, res *secrets.Resolver, opt Options) *Deliverer {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Batch <= 0 {
		opt.Batch = 100
	}
	if opt.BackoffBase <= 0 {
		opt.BackoffBase = time.Second
	}
	if opt.BackoffMax <= 0 {
		opt.BackoffMax = time.Minute
	}
	if opt.Keep <= 0 {
		opt.Keep = 24 * time.Hour
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	d := &Deliverer{st: st, chain: chain, secrets: res, opt: opt, running: map[string]bool{}, parked: map[string]time.Time{},
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	d.metrics = newMetrics(opt.Registry, d)
	d.errorSenders = map[string]ErrorSenderFunc{
		"http":    d.webhookSender,
		"webhook": d.webhookSender,
	}
	return d
}

// RegisterErrorSender makes error loggers of an integration type (slack,
// say) deliverable; until then their events stay queued.
func (d *Deliverer) RegisterErrorSender(integrationType string, build ErrorSenderFunc) {
	d.mu.Lock()
	d.errorSenders[integrationType] = build
	d.parked = map[string]time.Time{}
	d.mu.Unlock()
	d.Kick()
}

// Start runs the loop that hands each destination with queued events to a
// worker.
func (d *Deliverer) Start() {
	d.once.Do(func() {
		d.wg.Add(1)
		go d.loop()
	})
}

// Kick wakes the loop (after events were appended, say).
func (d *Deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Stop ends the loop and the workers; what is undelivered stays queued.
func (d *Deliverer) Stop() {
	select {
	case <-d.stop:
		return
	default:
	}
	close(d.stop)
	d.wg.Wait()
}

func (d *Deliverer) loop() {
	defer d.wg.Done()
	t := time.NewTicker(d.opt.Poll)
	defer t.Stop()
	lastPrune := d.opt.Now()
	for {
		d.dispatch()
		if now := d.opt.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if _, err := d.st.PruneOutbox(context.Background(), now.Add(-d.opt.Keep)); err != nil {
				d.opt.Log.Warn("prune the outbox", "err", err)
			}
		}
		select {
		case <-d.stop:
			return
		case <-t.C:
		case <-d.kick:
		case <-d.st.Appended():
		}
	}
}

func (d *Deliverer) dispatch() {
	queues, err := d.st.OutboxQueues(context.Background())
	if err != nil {
		d.opt.Log.Error("read the outbox", "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opt.Now()
	for _, q := range queues {
		if d.running[q.DestinationID] || now.Before(d.parked[q.DestinationID]) {
			continue
		}
		d.running[q.DestinationID] = true
		d.wg.Add(1)
		go d.worker(q)
	}
}

// worker drains one destination's queue, in order, and ends when it is
// empty (or when the destination cannot be delivered to yet).
func (d *Deliverer) worker(q store.OutboxQueue) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.running, q.DestinationID)
		d.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	attempts := q.Attempts
	for {
		items, err := d.st.PendingOutbox(ctx, q.DestinationID, d.opt.Batch)
		if err != nil || len(items) == 0 {
			return
		}
		delivered, err := d.deliver(ctx, q, items)
		if delivered > 0 {
			ids := make([]int64, delivered)
			for i := range ids {
				ids[i] = items[i].ID
			}
			if merr := d.st.MarkDelivered(context.Background(), q.DestinationID, q.Role, ids); merr != nil {
				d.opt.Log.Error("record a delivery", "destination", q.DestinationID, "err", merr)
				return
			}
			attempts = 0
			now := d.opt.Now()
			for _, it := range items[:delivered] {
				d.metrics.delivered(q.DestinationID, now.Sub(it.QueuedAt))
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, errGone) {
			d.abandon(q)
			return
		}
		if errors.Is(err, errWaiting) {
			// No sender for this kind yet: the events stay queued.
			d.mu.Lock()
			d.parked[q.DestinationID] = d.opt.Now().Add(parkFor)
			d.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		wait := d.backoff(attempts)
		msg := err.Error()
		attempts, _ = d.st.MarkFailed(context.Background(), q.DestinationID, q.Role, msg, d.opt.Now().Add(wait))
		d.metrics.failed(q.DestinationID)
		d.opt.Log.Warn("log destination delivery failed; retrying", "destination", q.DestinationID, "role", q.Role,
			"attempts", attempts, "retry_in", wait.String(), "err", msg)
		select {
		case <-d.stop:
			return
		case <-time.After(wait):
		}
	}
}

// abandon gives up what a deleted destination owes, with one audit event
// (log_destination.abandoned) that the remaining destinations receive.
func (d *Deliverer) abandon(q store.OutboxQueue) {
	ev := &model.AuditEvent{Type: "log_destination.abandoned", Actor: model.SystemActor, At: d.opt.Now().UTC()}
	n, err := d.st.AbandonOutbox(context.Background(), q.DestinationID, ev)
	if err != nil {
		d.opt.Log.Error("give up a deleted destination's events", "destination", q.DestinationID, "err", err)
		return
	}
	if n > 0 {
		d.opt.Log.Warn("log destination was deleted: gave up the undelivered events it owed (they stay in the audit log)",
			"destination", q.DestinationID, "role", q.Role, "events", n)
	}
}

func (d *Deliverer) backoff(attempts int) time.Duration {
	wait := d.opt.BackoffBase
	for i := 0; i < attempts && wait < d.opt.BackoffMax; i++ {
		wait *= 2
	}
	if wait > d.opt.BackoffMax {
		wait = d.opt.BackoffMax
	}
	// Jitter: between 75 % and 100 % of the step.
	return wait - time.Duration(rand.Int64N(int64(wait)/4+1))
}

var errWaiting = errors.New("no sender for this destination yet")

// errGone: the destination was deleted. Entity ids are never reused, so
// what it owes can never be delivered.
var errGone = errors.New("no longer exists")

// parkFor is how long a destination without a sender is left alone.
const parkFor = 30 * time.Second

// deliver sends one batch: it builds the records, finds the sender and
// answers how many of the first items the destination has.
func (d *Deliverer) deliver(ctx context.Context, q store.OutboxQueue, items []store.OutboxItem) (int, error) {
	// One environment per call: AWS destinations act through the
	// environment's runtime.
	env := items[0].EnvironmentID
	for i, it := range items {
		if it.EnvironmentID != env {
			items = items[:i]
			break
		}
	}
	sender, err := d.sender(ctx, q, env)
	if err != nil {
		return 0, err
	}
	envName := ""
	if row, err := d.st.GetEntity(ctx, "environments", env); err == nil {
		envName, _ = row.Body["slug"].(string)
	}
	recs := make([]Record, len(items))
	for i, it := range items {
		data, err := encode(it.Event, envName, d.opt.Org)
		if err != nil {
			return 0, err
		}
		recs[i] = Record{Item: it, Data: data, Event: it.Event}
	}
	if l, ok := sender.(limited); ok {
		if recs, err = d.fit(q, recs, envName, l); err != nil {
			return 0, err
		}
	}
	return sender.Send(ctx, recs)
}

// limited is a sender whose service refuses, whole, a call with a record
// or a total over a size (Kinesis: 1 MiB a record, 5 MiB a call).
type limited interface {
	limits() (record, call int)
}

// recordOverhead is what a record costs beyond its data: Kinesis counts
// the partition key (at most 256 bytes), Firehose's record gets a newline.
const recordOverhead = 256

// fit makes a batch one call can carry. A record over the per-record limit
// (an event whose details, a requester's free-text reason, say, are that
// large) could never be sent, and would hold every later event behind it:
// it is sent without its details, saying so and where the whole event is.
// The batch is cut where the call's total would pass its limit; the rest
// goes in the next call.
func (d *Deliverer) fit(q store.OutboxQueue, recs []Record, envName string, l limited) ([]Record, error) {
	record, call := l.limits()
	total := 0
	for i := range recs {
		if size := len(recs[i].Data); size+recordOverhead > record {
			ev := recs[i].Event
			ev.Details = map[string]string{"truncated": fmt.Sprintf(
				"this event's record was %d bytes, over the destination's limit of %d a record: its details are left out here; the whole event is in sym's audit log (seq %d)",
				size, record, ev.Seq)}
			data, err := encode(ev, envName, d.opt.Org)
			if err != nil {
				return nil, err
			}
			recs[i].Data = data
			d.opt.Log.Warn("an audit event is too large for its log destination: sent without its details", "destination", q.DestinationID,
				"event", ev.ID, "seq", ev.Seq, "bytes", size, "limit", record)
		}
		total += len(recs[i].Data) + recordOverhead
		if total > call && i > 0 {
			return recs[:i], nil
		}
	}
	return recs, nil
}

// encode is the one record format: the audit event as the API shows it
// (every field it has), with request_id and details always present, and the
// environment and organisation it belongs to.
func encode(ev model.AuditEvent, environment, org string) ([]byte, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if _, ok := m["request_id"]; !ok {
		m["request_id"] = ""
	}
	if _, ok := m["details"]; !ok {
		m["details"] = map[string]string{}
	}
	m["environment"] = environment
	m["org"] = org
	return json.Marshal(m)
}

// sender builds the sender of a destination from its entity, as it is now.
func (d *Deliverer) sender(ctx context.Context, q store.OutboxQueue, envID string) (Sender, error) {
	if q.Role == store.OutboxError {
		row, err := d.st.GetEntity(ctx, "error-loggers", q.DestinationID)
		if store.IsNotFound(err) {
			return nil, fmt.Errorf("error logger %s %w", q.DestinationID, errGone)
		} else if err != nil {
			return nil, fmt.Errorf("read error logger %s: %w", q.DestinationID, err)
		}
		logger := model.DecodeErrorLogger(row.ID, row.Body)
		integRow, err := d.st.GetEntity(ctx, "integrations", logger.IntegrationID)
		if err != nil {
			return nil, fmt.Errorf("error logger %s has no integration", q.DestinationID)
		}
		integ, _ := model.DecodeIntegration(integRow.ID, integRow.Body)
		d.mu.Lock()
		build := d.errorSenders[integ.Type]
		d.mu.Unlock()
		if build == nil {
			return nil, errWaiting
		}
		return build(ctx, integ, logger.Destination)
	}
	row, err := d.st.GetEntity(ctx, "log-destinations", q.DestinationID)
	if store.IsNotFound(err) {
		return nil, fmt.Errorf("log destination %s %w", q.DestinationID, errGone)
	} else if err != nil {
		return nil, fmt.Errorf("read log destination %s: %w", q.DestinationID, err)
	}
	dest, errs := model.DecodeLogDestination(row.ID, row.Body)
	if len(errs) > 0 {
		return nil, fmt.Errorf("log destination %s: %s", dest.ID, errs[0])
	}
	switch dest.Type {
	case "http":
		return d.httpSender(ctx, dest.URL, dest.Settings)
	case "kinesis_data_stream", "kinesis_firehose":
		rt, err := d.runtimeFor(ctx, dest, envID)
		if err != nil {
			return nil, err
		}
		if err := d.chain.CheckResource(rt, dest.StreamName); err != nil {
			return nil, err
		}
		region, err := streamRegion(dest, rt)
		if err != nil {
			return nil, err
		}
		cfg, err := d.chain.RuntimeConfig(rt)
		if err != nil {
			return nil, err
		}
		if region != "" {
			cfg.Region = region
		}
		if dest.Type == "kinesis_data_stream" {
			return newKinesisSender(cfg, dest.StreamName), nil
		}
		return newFirehoseSender(cfg, dest.StreamName), nil
	}
	return nil, fmt.Errorf("log destination %s has type %q, which this server cannot deliver to (known: %s)",
		dest.ID, dest.Type, strings.Join(model.LogDestinationTypes, ", "))
}

// streamRegion is the region an AWS destination's stream is written in:
// the region of its ARN (the SDK sends to the client's region whatever the
// ARN says), else settings.region, else "" (the runtime context's). A
// Firehose delivery stream is addressed by name in the caller's own
// account, so one named by an ARN of another account cannot be written by
// the runtime role: it is refused rather than sent to the runtime
// account's stream of the same name.
func streamRegion(dest *model.LogDestination, rt awsauth.Runtime) (string, error) {
	parts := strings.SplitN(dest.StreamName, ":", 6)
	if !strings.HasPrefix(dest.StreamName, "arn:") || len(parts) != 6 || parts[3] == "" {
		return dest.Region, nil
	}
	region, account := parts[3], parts[4]
	if dest.Region != "" && dest.Region != region {
		return "", fmt.Errorf("log destination %s: settings.region %s is not the region of its stream %s (%s): drop settings.region or make them agree",
			dest.ID, dest.Region, dest.StreamName, region)
	}
	if own, _, _, err := model.ParseRoleARN(rt.RoleARN); dest.Type == "kinesis_firehose" && err == nil && account != own {
		return "", fmt.Errorf("log destination %s: the delivery stream %s is in account %s, but Firehose takes records only from its own account and the runtime role %s is in account %s: name a delivery stream of account %s, or write through a runtime of account %s",
			dest.ID, dest.StreamName, account, rt.RoleARN, own, own, account)
	}
	return region, nil
}

// runtimeFor is the runtime connector an AWS destination writes through:
// its own permission context when it names one, else the environment's
// runtime's.
func (d *Deliverer) runtimeFor(ctx context.Context, dest *model.LogDestination, envID string) (awsauth.Runtime, error) {
	ctxID := dest.IntegrationID
	if ctxID == "" {
		envRow, err := d.st.GetEntity(ctx, "environments", envID)
		if err != nil {
			return awsauth.Runtime{}, fmt.Errorf("log destination %s has no integration_id and its environment is gone", dest.ID)
		}
		env := model.DecodeEnvironment(envRow.ID, envRow.Body)
		rtRow, err := d.st.GetEntity(ctx, "runtimes", env.RuntimeID)
		if err != nil {
			return awsauth.Runtime{}, fmt.Errorf("log destination %s has no integration_id and environment %s has no runtime", dest.ID, env.Slug)
		}
		ctxID = model.DecodeRuntime(rtRow.ID, rtRow.Body).ContextID
	}
	integRow, err := d.st.GetEntity(ctx, "integrations", ctxID)
	if err != nil {
		return awsauth.Runtime{}, fmt.Errorf("log destination %s: permission context %s does not exist", dest.ID, ctxID)
	}
	integ, errs := model.DecodeIntegration(integRow.ID, integRow.Body)
	if integ.AWS == nil || len(errs) > 0 {
		return awsauth.Runtime{}, fmt.Errorf("log destination %s: integration %s is not an AWS permission context", dest.ID, integ.Slug)
	}
	return awsauth.RuntimeOf(integ.AWS), nil
}

// Status is one destination's delivery state, as `sym log-destinations
// status` shows it.
type Status struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // log_destination or error_logger
	Type string `json:"type"` // kinesis_data_stream, ..., or the error logger's integration type
	// Target names where the events go: a stream, a URL without its query,
	// an error logger's destination.
	Target       string   `json:"target"`
	Environments []string `json:"environments"`
	// State: ok (nothing owed), delivering, retrying (the last attempt
	// failed), queued (no sender for this kind yet).
	State      string  `json:"state"`
	LagSeconds float64 `json:"lag_seconds"`
	store.OutboxStatus
}

// Status reports every log destination and error logger.
func (d *Deliverer) Status(ctx context.Context) ([]Status, error) {
	stats, err := d.st.OutboxStatuses(ctx)
	if err != nil {
		return nil, err
	}
	envs, err := d.st.FindEntities(ctx, "environments", "", "")
	if err != nil {
		return nil, err
	}
	usedBy := map[string][]string{}
	for _, row := range envs {
		env := model.DecodeEnvironment(row.ID, row.Body)
		for _, id := range env.LogDestinationIDs {
			usedBy[id] = append(usedBy[id], env.Slug)
		}
		if env.ErrorLoggerID != "" {
			usedBy[env.ErrorLoggerID] = append(usedBy[env.ErrorLoggerID], env.Slug)
		}
	}
	now := d.opt.Now()
	var out []Status
	add := func(row store.EntityRow, kind, role, typ, target string) {
		s := Status{ID: row.ID, Kind: kind, Type: typ, Target: target, Environments: usedBy[row.ID], State: "ok"}
		if s.Environments == nil {
			s.Environments = []string{}
		}
		if st := stats[row.ID]; st != nil {
			s.OutboxStatus = *st
		}
		s.OutboxStatus.DestinationID, s.OutboxStatus.Role = row.ID, role
		if s.OldestPendingAt != nil {
			s.LagSeconds = now.Sub(*s.OldestPendingAt).Seconds()
			s.State = "delivering"
			if s.Attempts > 0 {
				s.State = "retrying"
			}
		}
		out = append(out, s)
	}
	dests, err := d.st.FindEntities(ctx, "log-destinations", "", "")
	if err != nil {
		return nil, err
	}
	for _, row := range dests {
		dest, _ := model.DecodeLogDestination(row.ID, row.Body)
		target := dest.StreamName
		if target == "" {
			target = redactURL(dest.URL)
		}
		add(row, "log_destination", store.OutboxLog, dest.Type, target)
	}
	loggers, err := d.st.FindEntities(ctx, "error-loggers", "", "")
	if err != nil {
		return nil, err
	}
	for _, row := range loggers {
		logger := model.DecodeErrorLogger(row.ID, row.Body)
		typ := ""
		if row, err := d.st.GetEntity(ctx, "integrations", logger.IntegrationID); err == nil {
			integ, _ := model.DecodeIntegration(row.ID, row.Body)
			typ = integ.Type
		}
		dest := logger.Destination
		if strings.Contains(dest, "://") {
			dest = redactURL(dest)
		}
		add(row, "error_logger", store.OutboxError, typ, dest)
		d.mu.Lock()
		_, can := d.errorSenders[typ]
		d.mu.Unlock()
		if s := &out[len(out)-1]; !can && s.Pending > 0 {
			s.State = "queued"
			s.LastError = fmt.Sprintf("error loggers of type %q are queued: this server has no sender for them yet", typ)
		}
	}
	// Events still owed to destinations that were deleted meanwhile.
	seen := map[string]bool{}
	for _, s := range out {
		seen[s.ID] = true
	}
	for id, st := range stats {
		if !seen[id] && st.Pending > 0 {
			s := Status{ID: id, Kind: "deleted", Environments: []string{}, State: "retrying", OutboxStatus: *st}
			if st.OldestPendingAt != nil {
				s.LagSeconds = now.Sub(*st.OldestPendingAt).Seconds()
			}
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind > out[j].Kind })
	return out, nil
}
