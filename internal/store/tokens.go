package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opensym/sym/internal/model"
)

// Token is an API token as listed: never its secret (only its SHA-256 is
// stored).
type Token struct {
	ID         string     `json:"id"`
	UserEmail  string     `json:"user_email"`
	Issuer     string     `json:"issuer"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// DefaultTokenTTL is a token's life when the issuer says nothing.
const DefaultTokenTTL = 30 * 24 * time.Hour

// lastUsedEvery bounds how often a token's last use is written.
const lastUsedEvery = time.Minute

func newTokenID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "tok_" + hex.EncodeToString(b)
}

// IssueToken records a token (by hash) for a user, issued by issuer and
// valid until expires, with the audit events (issue) in the same
// transaction: no token exists without its audit row.
func (s *Store) IssueToken(ctx context.Context, email, token, issuer string, expires time.Time, evs ...*model.AuditEvent) (*Token, error) {
	t := &Token{ID: newTokenID(), UserEmail: strings.ToLower(email), Issuer: strings.ToLower(issuer),
		CreatedAt: s.now().UTC(), ExpiresAt: expires.UTC()}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_email, created_at, id, issuer, expires_at) VALUES (?,?,?,?,?,?)`,
		HashToken(token), t.UserEmail, stamp(t.CreatedAt), t.ID, t.Issuer, stamp(t.ExpiresAt)); err != nil {
		return nil, fmt.Errorf("insert token: %w", err)
	}
	for _, ev := range evs {
		if ev.Details == nil {
			ev.Details = map[string]string{}
		}
		ev.Details["token_id"] = t.ID
		if err := appendEvent(ctx, tx, ev, s.now()); err != nil {
			return nil, err
		}
	}
	return t, tx.Commit()
}

// AddToken records a token for a user with the default life and no issuer
// (tests and tools that predate issuers).
func (s *Store) AddToken(ctx context.Context, email, token string) error {
	_, err := s.IssueToken(ctx, email, token, "", s.now().Add(DefaultTokenTTL))
	return err
}

// DeadTokenError is a token the store knows that no longer works: revoked,
// or expired, at At. It is ErrNotFound too (errors.Is): a caller that only
// asks whether a token is live need not tell it from an unknown one.
type DeadTokenError struct {
	ID      string
	Revoked bool
	At      time.Time
}

func (e *DeadTokenError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("token %s was revoked at %s", e.ID, e.At.Format(time.RFC3339))
	}
	return fmt.Sprintf("token %s expired at %s", e.ID, e.At.Format(time.RFC3339))
}

// Is makes a dead token ErrNotFound.
func (e *DeadTokenError) Is(target error) bool { return target == ErrNotFound }

// UserForToken finds the user a live token belongs to: an unknown token is
// ErrNotFound, an expired or revoked one a *DeadTokenError (ErrNotFound
// too). It notes the token's last use.
func (s *Store) UserForToken(ctx context.Context, token string) (*User, error) {
	u, _, err := s.TokenOwner(ctx, token)
	return u, err
}

// TokenOwner is UserForToken that also answers the token's id (a web
// session signed in with the token names it).
func (s *Store) TokenOwner(ctx context.Context, token string) (*User, string, error) {
	var id, email, expires, lastUsed, revoked string
	err := s.rdb.QueryRowContext(ctx, `SELECT id, user_email, expires_at, last_used_at, revoked_at FROM tokens WHERE hash=?`, HashToken(token)).
		Scan(&id, &email, &expires, &lastUsed, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	} else if err != nil {
		return nil, "", fmt.Errorf("look up token: %w", err)
	}
	now := s.now().UTC()
	if revoked != "" {
		return nil, "", &DeadTokenError{ID: id, Revoked: true, At: parseStamp(revoked)}
	}
	if at := parseStamp(expires); !at.After(now) {
		return nil, "", &DeadTokenError{ID: id, At: at}
	}
	if lastUsed == "" || now.Sub(parseStamp(lastUsed)) >= lastUsedEvery {
		_, _ = s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at=? WHERE id=?`, stamp(now), id)
	}
	u, err := s.GetUser(ctx, email)
	return u, id, err
}

// ListTokens lists tokens, newest first; email narrows it when not empty.
func (s *Store) ListTokens(ctx context.Context, email string) ([]Token, error) {
	where, args := ``, []any{}
	if email != "" {
		where, args = `WHERE user_email=?`, append(args, strings.ToLower(strings.TrimSpace(email)))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_email, issuer, created_at, expires_at, last_used_at, revoked_at FROM tokens `+where+` ORDER BY created_at DESC LIMIT `+fmt.Sprint(MaxList), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var created, expires, lastUsed, revoked string
		if err := rows.Scan(&t.ID, &t.UserEmail, &t.Issuer, &created, &expires, &lastUsed, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt, t.ExpiresAt = parseStamp(created), parseStamp(expires)
		if lastUsed != "" {
			v := parseStamp(lastUsed)
			t.LastUsedAt = &v
		}
		if revoked != "" {
			v := parseStamp(revoked)
			t.RevokedAt = &v
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetToken reads one token by id.
func (s *Store) GetToken(ctx context.Context, id string) (*Token, error) {
	var t Token
	var created, expires, lastUsed, revoked string
	err := s.db.QueryRowContext(ctx, `SELECT id, user_email, issuer, created_at, expires_at, last_used_at, revoked_at FROM tokens WHERE id=?`, id).
		Scan(&t.ID, &t.UserEmail, &t.Issuer, &created, &expires, &lastUsed, &revoked)
	if err != nil {
		return nil, ErrNotFound
	}
	t.CreatedAt, t.ExpiresAt = parseStamp(created), parseStamp(expires)
	if revoked != "" {
		v := parseStamp(revoked)
		t.RevokedAt = &v
	}
	return &t, nil
}

// RevokeToken ends a token at once, with its audit events in the same
// transaction. ErrNotFound for an unknown id; revoking twice is harmless.
func (s *Store) RevokeToken(ctx context.Context, id string, evs ...*model.AuditEvent) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at=? WHERE id=? AND revoked_at=''`, stamp(s.now()), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE id=?`, id).Scan(&one); err != nil {
			return ErrNotFound
		}
		return nil
	}
	for _, ev := range evs {
		if err := appendEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
	}
	return tx.Commit()
}
