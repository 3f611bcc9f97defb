package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opensym/sym/internal/model"
)

// Outbox roles: why a destination receives an event.
const (
	// OutboxLog is a log destination of the event's environment: it receives
	// every audit event.
	OutboxLog = "log"
	// OutboxError is the environment's error logger: it receives the events
	// model.IsFailureEvent names.
	OutboxError = "error"
)

// enqueueDeliveries writes one outbox row per destination that owes the
// event, inside the event's own transaction: the event and the promise to
// deliver it are stored together or not at all. Every audit event, whoever
// appends it, passes through here.
//
// An event of a request goes to the destinations of the request's
// environment (its flow's). An event of no request (a change of the
// platform's configuration, say) concerns every environment, and goes to
// each of their destinations once.
func enqueueDeliveries(ctx context.Context, tx *sql.Tx, ev *model.AuditEvent, now time.Time) error {
	envs, err := eventEnvironments(ctx, tx, ev.RequestID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	add := func(destID, role, envID string) error {
		if destID == "" || destID == model.NullRef || seen[role+"|"+destID] {
			return nil
		}
		seen[role+"|"+destID] = true
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (destination_id, role, event_seq, request_id, environment_id, created_at) VALUES (?,?,?,?,?,?)`,
			destID, role, ev.Seq, ev.RequestID, envID, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("queue audit event for %s: %w", destID, err)
		}
		return nil
	}
	for _, env := range envs {
		var body struct {
			LogDestinationIDs []string `json:"log_destination_ids"`
			ErrorLoggerID     string   `json:"error_logger_id"`
		}
		if err := json.Unmarshal([]byte(env.body), &body); err != nil {
			return fmt.Errorf("environment %s: corrupt body: %w", env.id, err)
		}
		for _, d := range body.LogDestinationIDs {
			if err := add(d, OutboxLog, env.id); err != nil {
				return err
			}
		}
		if model.IsFailureEvent(ev.Type) {
			if err := add(body.ErrorLoggerID, OutboxError, env.id); err != nil {
				return err
			}
		}
	}
	return nil
}

type envRow struct{ id, body string }

// eventEnvironments finds the environments an event belongs to: the
// request's flow's environment, or all of them when the event has no
// request (or its flow is gone).
func eventEnvironments(ctx context.Context, tx *sql.Tx, requestID string) ([]envRow, error) {
	if requestID != "" {
		var e envRow
		err := tx.QueryRowContext(ctx, `SELECT e.id, e.body FROM requests r
			JOIN entities f ON f.kind='flows' AND f.id = json_extract(r.body, '$.flow_id')
			JOIN entities e ON e.kind='environments' AND e.id = json_extract(f.body, '$.environment_id')
			WHERE r.id = ?`, requestID).Scan(&e.id, &e.body)
		if err == nil {
			return []envRow{e}, nil
		}
		if err != sql.ErrNoRows {
			return nil, fmt.Errorf("find the environment of request %s: %w", requestID, err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, body FROM entities WHERE kind='environments' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	var out []envRow
	for rows.Next() {
		var e envRow
		if err := rows.Scan(&e.id, &e.body); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// commitEvents commits a transaction that appended audit events, and tells
// the delivery loop (Appended) that the outbox may have new rows.
func (s *Store) commitEvents(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return err
	}
	select {
	case s.appended <- struct{}{}:
	default:
	}
	return nil
}

// Appended receives a value after audit events were committed (at most one
// waits), so that delivery need not wait for its next poll.
func (s *Store) Appended() <-chan struct{} { return s.appended }

// OutboxItem is one event owed to one destination.
type OutboxItem struct {
	ID            int64
	DestinationID string
	Role          string
	EnvironmentID string
	QueuedAt      time.Time
	Event         model.AuditEvent
}

// OutboxQueue names a destination that has undelivered events.
type OutboxQueue struct {
	DestinationID string
	Role          string
	// Attempts is how many deliveries in a row have failed so far.
	Attempts int
}

// outboxQueuesQuery lists the destinations with undelivered events, their
// role and failed attempts. It walks the pending index from one destination
// to the next (a search each), so that its cost is the number of
// destinations, not of the events a destination that is down owes: the
// deliverer asks several times a second. (A destination's id names one
// role.)
const outboxQueuesQuery = `WITH RECURSIVE q(id) AS (
		SELECT (SELECT MIN(destination_id) FROM outbox WHERE delivered_at IS NULL)
		UNION ALL
		SELECT (SELECT MIN(destination_id) FROM outbox WHERE delivered_at IS NULL AND destination_id > q.id) FROM q WHERE q.id IS NOT NULL
	)
	SELECT q.id, (SELECT role FROM outbox WHERE delivered_at IS NULL AND destination_id = q.id ORDER BY id LIMIT 1), COALESCE(d.attempts, 0)
	FROM q LEFT JOIN outbox_destinations d ON d.destination_id = q.id
	WHERE q.id IS NOT NULL
	ORDER BY q.id`

// OutboxQueues lists the destinations with undelivered events.
func (s *Store) OutboxQueues(ctx context.Context) ([]OutboxQueue, error) {
	rows, err := s.db.QueryContext(ctx, outboxQueuesQuery)
	if err != nil {
		return nil, fmt.Errorf("list outbox queues: %w", err)
	}
	defer rows.Close()
	var out []OutboxQueue
	for rows.Next() {
		var q OutboxQueue
		if err := rows.Scan(&q.DestinationID, &q.Role, &q.Attempts); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// PendingOutbox reads the oldest undelivered events of a destination, in
// the order they were appended.
func (s *Store) PendingOutbox(ctx context.Context, destinationID string, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT o.id, o.destination_id, o.role, o.environment_id, o.created_at,
			e.seq, e.id, e.request_id, e.type, e.actor, e.at, e.details
		FROM outbox o JOIN events e ON e.seq = o.event_seq
		WHERE o.destination_id = ? AND o.delivered_at IS NULL
		ORDER BY o.id LIMIT ?`, destinationID, limit)
	if err != nil {
		return nil, fmt.Errorf("read the outbox of %s: %w", destinationID, err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var queued int64
		var at, details string
		if err := rows.Scan(&it.ID, &it.DestinationID, &it.Role, &it.EnvironmentID, &queued,
			&it.Event.Seq, &it.Event.ID, &it.Event.RequestID, &it.Event.Type, &it.Event.Actor, &at, &details); err != nil {
			return nil, err
		}
		it.QueuedAt = time.UnixMilli(queued).UTC()
		it.Event.At = parseStamp(at)
		_ = json.Unmarshal([]byte(details), &it.Event.Details)
		out = append(out, it)
	}
	return out, rows.Err()
}

// MarkDelivered records that a destination has the given outbox rows.
func (s *Store) MarkDelivered(ctx context.Context, destinationID, role string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args := []any{now, destinationID}
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = "?"
		args = append(args, id)
	}
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET delivered_at=? WHERE destination_id=? AND delivered_at IS NULL AND id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return fmt.Errorf("mark delivered: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_destinations (destination_id, role, delivered_total, last_delivered_at, attempts, next_attempt_at)
		VALUES (?,?,?,?,0,NULL)
		ON CONFLICT(destination_id) DO UPDATE SET delivered_total = delivered_total + excluded.delivered_total,
			last_delivered_at = excluded.last_delivered_at, attempts = 0, next_attempt_at = NULL`,
		destinationID, role, n, now); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return tx.Commit()
}

// MarkFailed records a failed delivery attempt and when the next one is
// due; it answers how many attempts in a row have failed. The message must
// hold no secret: the status API shows it.
func (s *Store) MarkFailed(ctx context.Context, destinationID, role, message string, next time.Time) (int, error) {
	now := s.now().UnixMilli()
	var attempts int
	err := s.db.QueryRowContext(ctx, `INSERT INTO outbox_destinations (destination_id, role, failures_total, attempts, last_error, last_error_at, next_attempt_at)
		VALUES (?,?,1,1,?,?,?)
		ON CONFLICT(destination_id) DO UPDATE SET failures_total = failures_total + 1, attempts = attempts + 1,
			last_error = excluded.last_error, last_error_at = excluded.last_error_at, next_attempt_at = excluded.next_attempt_at
		RETURNING attempts`, destinationID, role, message, now, next.UnixMilli()).Scan(&attempts)
	if err != nil {
		return 0, fmt.Errorf("record a failed delivery: %w", err)
	}
	return attempts, nil
}

// OutboxStatus is how far one destination is behind.
type OutboxStatus struct {
	DestinationID   string     `json:"id"`
	Role            string     `json:"role"`
	Pending         int64      `json:"pending"`
	OldestPendingAt *time.Time `json:"oldest_pending_at,omitempty"`
	DeliveredTotal  int64      `json:"delivered_total"`
	FailuresTotal   int64      `json:"failures_total"`
	Attempts        int64      `json:"attempts"`
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"`
	NextAttemptAt   *time.Time `json:"next_attempt_at,omitempty"`
}

// OutboxStatuses reports every destination that has owed or delivered
// events, by destination id.
func (s *Store) OutboxStatuses(ctx context.Context) (map[string]*OutboxStatus, error) {
	out := map[string]*OutboxStatus{}
	rows, err := s.db.QueryContext(ctx, `SELECT destination_id, role, delivered_total, failures_total, attempts,
		last_delivered_at, last_error, last_error_at, next_attempt_at FROM outbox_destinations`)
	if err != nil {
		return nil, fmt.Errorf("read delivery status: %w", err)
	}
	for rows.Next() {
		st := &OutboxStatus{}
		var delivered, errAt, next sql.NullInt64
		if err := rows.Scan(&st.DestinationID, &st.Role, &st.DeliveredTotal, &st.FailuresTotal, &st.Attempts,
			&delivered, &st.LastError, &errAt, &next); err != nil {
			rows.Close()
			return nil, err
		}
		st.LastDeliveredAt, st.LastErrorAt, st.NextAttemptAt = msTime(delivered), msTime(errAt), msTime(next)
		out[st.DestinationID] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT destination_id, role, COUNT(*), MIN(created_at) FROM outbox
		WHERE delivered_at IS NULL GROUP BY destination_id, role`)
	if err != nil {
		return nil, fmt.Errorf("count undelivered events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, role string
		var n int64
		var oldest sql.NullInt64
		if err := rows.Scan(&id, &role, &n, &oldest); err != nil {
			return nil, err
		}
		st := out[id]
		if st == nil {
			st = &OutboxStatus{DestinationID: id, Role: role}
			out[id] = st
		}
		st.Pending, st.OldestPendingAt = n, msTime(oldest)
	}
	return out, rows.Err()
}

// AbandonOutbox gives up what a destination that no longer exists still
// owes: in one transaction it appends ev (its details gain the
// destination, role, events given up and their first and last seq) and
// forgets the undelivered rows and the destination's delivery status. The
// events themselves stay in the audit log. It answers how many were given
// up; with none it appends nothing.
func (s *Store) AbandonOutbox(ctx context.Context, destinationID string, ev *model.AuditEvent) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var role sql.NullString
		var first, last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(role), MIN(event_seq), MAX(event_seq) FROM outbox
			WHERE destination_id=? AND delivered_at IS NULL`, destinationID).Scan(&n, &role, &first, &last); err != nil {
			return fmt.Errorf("count what %s owes: %w", destinationID, err)
		}
		if n == 0 {
			return nil
		}
		if ev.Details == nil {
			ev.Details = map[string]string{}
		}
		ev.Details["destination"] = destinationID
		ev.Details["role"] = role.String
		ev.Details["events"] = fmt.Sprint(n)
		ev.Details["first_seq"] = fmt.Sprint(first.Int64)
		ev.Details["last_seq"] = fmt.Sprint(last.Int64)
		if err := appendEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE destination_id=? AND delivered_at IS NULL`, destinationID); err != nil {
			return fmt.Errorf("give up what %s owes: %w", destinationID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox_destinations WHERE destination_id=?`, destinationID); err != nil {
			return fmt.Errorf("forget the delivery status of %s: %w", destinationID, err)
		}
		return nil
	})
	return n, err
}

// PruneOutbox forgets rows delivered before t; what is undelivered stays.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune the outbox: %w", err)
	}
	return res.RowsAffected()
}

func msTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}
