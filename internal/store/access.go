package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/opensym/sym/internal/model"
)

// User is a person (or bot) who may call the API.
type User struct {
	Email      string            `json:"email"`
	Role       string            `json:"role"`
	Identities map[string]string `json:"identities"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Roles.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// CreateUser adds a user; ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u *User, evs ...*model.AuditEvent) error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if u.Identities == nil {
		u.Identities = map[string]string{}
	}
	ids, _ := json.Marshal(u.Identities)
	u.CreatedAt = s.now().UTC()
	err := s.audited(ctx, evs, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO users (email, role, identities, created_at) VALUES (?,?,?,?)`,
			u.Email, u.Role, string(ids), stamp(u.CreatedAt))
		return err
	})
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// UpdateUser stores a user's role and identities.
func (s *Store) UpdateUser(ctx context.Context, u *User, evs ...*model.AuditEvent) error {
	ids, _ := json.Marshal(u.Identities)
	return s.audited(ctx, evs, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE users SET role=?, identities=? WHERE email=?`, u.Role, string(ids), strings.ToLower(u.Email))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeleteUser removes a user and their tokens.
func (s *Store) DeleteUser(ctx context.Context, email string, evs ...*model.AuditEvent) error {
	return s.audited(ctx, evs, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM users WHERE email=?`, strings.ToLower(email))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// GetUser reads one user by email (case-insensitive).
func (s *Store) GetUser(ctx context.Context, email string) (*User, error) {
	us, err := s.queryUsers(ctx, `WHERE email=?`, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, ErrNotFound
	}
	return &us[0], nil
}

// ListUsers lists every user by email.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	return s.queryUsers(ctx, `ORDER BY email`)
}

func (s *Store) queryUsers(ctx context.Context, where string, args ...any) ([]User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT email, role, identities, created_at FROM users `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		var u User
		var ids, created string
		if err := rows.Scan(&u.Email, &u.Role, &ids, &created); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(ids), &u.Identities)
		if u.Identities == nil {
			u.Identities = map[string]string{}
		}
		u.CreatedAt = parseStamp(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// HashToken is how tokens are kept: their SHA-256, never the token itself.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ---- requests and the audit log ----

type requestBody struct {
	model.Request
	DurationSeconds float64 `json:"duration_seconds"`
}

func encodeRequest(r *model.Request) (string, error) {
	b, err := json.Marshal(requestBody{Request: *r, DurationSeconds: r.Duration.Seconds()})
	return string(b), err
}

func unixMilli(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// CreateRequest stores a new request together with its first audit event.
func (s *Store) CreateRequest(ctx context.Context, r *model.Request, ev *model.AuditEvent) error {
	body, err := encodeRequest(r)
	if err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO requests (id, state, body, requester, expires_at, deadline, created_at) VALUES (?,?,?,?,?,?,?)`,
			r.ID, string(r.State), body, r.Requester, r.ExpiresAt.UnixMilli(), unixMilli(r.Deadline), stamp(r.CreatedAt)); err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		return appendEvent(ctx, tx, ev, s.now())
	})
}

// SaveRequest writes r if its stored state is still from, with the audit
// events (any may be nil) in the same transaction. ErrStale when someone
// moved the request first.
func (s *Store) SaveRequest(ctx context.Context, r *model.Request, from model.State, evs ...*model.AuditEvent) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return s.SaveRequestIn(ctx, tx, r, from, evs...) })
}

// SaveRequestIn is SaveRequest inside tx (a Tx of this store's), so that
// the request's step commits with the other writes of tx (the grant
// ledger's).
func (s *Store) SaveRequestIn(ctx context.Context, tx *sql.Tx, r *model.Request, from model.State, evs ...*model.AuditEvent) error {
	r.UpdatedAt = s.now().UTC()
	body, err := encodeRequest(r)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE requests SET state=?, body=?, expires_at=?, deadline=? WHERE id=? AND state=?`,
		string(r.State), body, r.ExpiresAt.UnixMilli(), unixMilli(r.Deadline), r.ID, string(from))
	if err != nil {
		return fmt.Errorf("update request %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStale
	}
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		if err := appendEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
	}
	return nil
}

// GetRequest reads one request.
func (s *Store) GetRequest(ctx context.Context, id string) (*model.Request, error) {
	rs, err := s.queryRequests(ctx, `WHERE id=?`, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, ErrNotFound
	}
	return rs[0], nil
}

// ListRequests lists requests, newest first; state and requester narrow it
// when not empty.
func (s *Store) ListRequests(ctx context.Context, state, requester string, limit int) ([]*model.Request, error) {
	return s.ListRequestsBefore(ctx, state, requester, "", limit)
}

// ListRequestsBefore is ListRequests from the request before on: only
// those listed after it (older, in the listing's order), for paging. An
// unknown before is ErrNotFound.
func (s *Store) ListRequestsBefore(ctx context.Context, state, requester, before string, limit int) ([]*model.Request, error) {
	where := `WHERE 1=1`
	var args []any
	if err := s.olderThan(ctx, before, &where, &args); err != nil {
		return nil, err
	}
	if state != "" {
		where += ` AND state=?`
		args = append(args, state)
	}
	if requester != "" {
		where += ` AND requester=?`
		args = append(args, strings.ToLower(requester))
	}
	if limit <= 0 {
		limit = 500
	}
	return s.queryRequests(ctx, where+fmt.Sprintf(` ORDER BY %s LIMIT %d`, listOrder, limit), args...)
}

// listOrder is the order of request listings, newest first; id breaks ties
// so that a page ends at one place.
const listOrder = createdKey + ` DESC, id DESC`

// createdKey is a request's created_at as text that sorts as the time it
// says. The column holds RFC 3339 in UTC with as many fractional digits as
// the time needs (12:00:00Z, 12:00:00.1Z, 12:00:00.15Z), which do not sort
// as times ('Z' sorts after every digit); here the fraction is padded to
// nine digits.
const createdKey = `(CASE WHEN instr(created_at, '.') = 0 THEN substr(created_at, 1, 19) || '.000000000Z'
	ELSE substr(created_at, 1, 20) || substr(substr(created_at, 21, length(created_at) - 21) || '000000000', 1, 9) || 'Z' END)`

// olderThan narrows where to the requests a listing shows after the
// request before (none when before is empty).
func (s *Store) olderThan(ctx context.Context, before string, where *string, args *[]any) error {
	if before == "" {
		return nil
	}
	var created string
	if err := s.rdb.QueryRowContext(ctx, `SELECT `+createdKey+` FROM requests WHERE id=?`, before).Scan(&created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	*where += ` AND (` + createdKey + ` < ? OR (` + createdKey + ` = ? AND id < ?))`
	*args = append(*args, created, created, before)
	return nil
}

// OpenRequests lists the requests that still owe work: pending ones (they
// expire) and approved, active or removing ones (they de-escalate).
func (s *Store) OpenRequests(ctx context.Context) ([]*model.Request, error) {
	return s.queryRequests(ctx, `WHERE state IN ('pending','approved','active','removing')`)
}

func (s *Store) queryRequests(ctx context.Context, where string, args ...any) ([]*model.Request, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT body FROM requests `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query requests: %w", err)
	}
	defer rows.Close()
	out := []*model.Request{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var rb requestBody
		if err := json.Unmarshal([]byte(body), &rb); err != nil {
			return nil, fmt.Errorf("corrupt request: %w", err)
		}
		r := rb.Request
		r.Duration = time.Duration(rb.DurationSeconds * float64(time.Second))
		out = append(out, &r)
	}
	return out, rows.Err()
}

func appendEvent(ctx context.Context, tx *sql.Tx, ev *model.AuditEvent, now time.Time) error {
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.At.IsZero() {
		ev.At = now.UTC()
	}
	details, _ := json.Marshal(ev.Details)
	res, err := tx.ExecContext(ctx, `INSERT INTO events (id, request_id, type, actor, at, details) VALUES (?,?,?,?,?,?)`,
		ev.ID, ev.RequestID, ev.Type, ev.Actor, stamp(ev.At), string(details))
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	ev.Seq, _ = res.LastInsertId()
	if err := chain(ctx, tx, ev.Seq); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return enqueueDeliveries(ctx, tx, ev, now)
}

// AppendEvent appends one audit event on its own.
func (s *Store) AppendEvent(ctx context.Context, ev *model.AuditEvent) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return appendEvent(ctx, tx, ev, s.now()) })
}

// Events reads the audit log oldest first; requestID narrows it, afterSeq
// pages through it.
func (s *Store) Events(ctx context.Context, requestID string, afterSeq int64, limit int) ([]model.AuditEvent, error) {
	where := `WHERE seq > ?`
	args := []any{afterSeq}
	if requestID != "" {
		where += ` AND request_id=?`
		args = append(args, requestID)
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return s.queryEvents(ctx, where+fmt.Sprintf(` ORDER BY seq LIMIT %d`, limit), args...)
}

// NewestEvents reads the newest n events of the audit log (of requestID
// when not empty), still oldest first.
func (s *Store) NewestEvents(ctx context.Context, requestID string, n int) ([]model.AuditEvent, error) {
	if n <= 0 || n > 10000 {
		n = 1000
	}
	where, args := ``, []any{}
	if requestID != "" {
		where, args = `WHERE request_id=?`, append(args, requestID)
	}
	evs, err := s.queryEvents(ctx, where+fmt.Sprintf(` ORDER BY seq DESC LIMIT %d`, n), args...)
	slices.Reverse(evs)
	return evs, err
}

func (s *Store) queryEvents(ctx context.Context, rest string, args ...any) ([]model.AuditEvent, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, id, request_id, type, actor, at, details FROM events `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.AuditEvent{}
	for rows.Next() {
		var e model.AuditEvent
		var at, details string
		if err := rows.Scan(&e.Seq, &e.ID, &e.RequestID, &e.Type, &e.Actor, &at, &details); err != nil {
			return nil, err
		}
		e.At = parseStamp(at)
		_ = json.Unmarshal([]byte(details), &e.Details)
		out = append(out, e)
	}
	return out, rows.Err()
}

// IsNotFound reports a missing row.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
