package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Session is a signed-in browser: the cookie holds a random id whose hash
// is the key here, so a copy of the database signs nobody in.
type Session struct {
	User      *User
	CSRF      string // the token every form of this session must carry
	Via       string // oidc, token or link
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession records a session under the hash of id. tokenID names the
// sym token it was signed in with ("" for another way): the session lives
// no longer than that token.
func (s *Store) CreateSession(ctx context.Context, id, email, csrf, via, tokenID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (hash, user_email, csrf, via, token_id, created_at, expires_at) VALUES (?,?,?,?,?,?,?)`,
		HashToken(id), strings.ToLower(email), csrf, via, tokenID, stamp(s.now()), expires.UnixMilli())
	return err
}

// GetSession reads a session that has not expired and whose token, if it
// was signed in with one, is neither revoked nor expired; ErrNotFound
// otherwise.
func (s *Store) GetSession(ctx context.Context, id string) (*Session, error) {
	var email, csrf, via, created, tokenID, tokenExpires, tokenRevoked string
	var exp int64
	now := s.now()
	err := s.db.QueryRowContext(ctx, `SELECT s.user_email, s.csrf, s.via, s.created_at, s.expires_at, s.token_id,
		COALESCE(t.expires_at, ''), COALESCE(t.revoked_at, '')
		FROM web_sessions s LEFT JOIN tokens t ON s.token_id != '' AND t.id = s.token_id
		WHERE s.hash=? AND s.expires_at > ?`,
		HashToken(id), now.UnixMilli()).Scan(&email, &csrf, &via, &created, &exp, &tokenID, &tokenExpires, &tokenRevoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	if tokenID != "" && (tokenRevoked != "" || !parseStamp(tokenExpires).After(now)) {
		return nil, ErrNotFound
	}
	u, err := s.GetUser(ctx, email)
	if err != nil {
		return nil, err
	}
	return &Session{User: u, CSRF: csrf, Via: via, CreatedAt: parseStamp(created), ExpiresAt: time.UnixMilli(exp)}, nil
}

// DeleteSession ends a session (logout); expired sessions go with it.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE hash=? OR expires_at <= ?`, HashToken(id), s.now().UnixMilli())
	return err
}

// CreateLoginLink records a one-time sign-in code for a user.
func (s *Store) CreateLoginLink(ctx context.Context, code, email string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_login_links (hash, user_email, expires_at) VALUES (?,?,?)`,
		HashToken(code), strings.ToLower(email), expires.UnixMilli())
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return ErrNotFound
	}
	return err
}

// UseLoginLink consumes a one-time code: it returns its user once, and
// ErrNotFound for an unknown, used or expired code.
func (s *Store) UseLoginLink(ctx context.Context, code string) (*User, error) {
	var email string
	err := s.db.QueryRowContext(ctx, `DELETE FROM web_login_links WHERE hash=? AND expires_at > ? RETURNING user_email`,
		HashToken(code), s.now().UnixMilli()).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return s.GetUser(ctx, email)
}

// FirstSlackSignature records the signature of a signed Slack request
// until it expires and reports whether it was new: false means the same
// signed request was received before, and is a replay. Signatures past
// their time are forgotten on the way.
func (s *Store) FirstSlackSignature(ctx context.Context, signature string, until time.Time) (bool, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM slack_signatures WHERE until_ms < ?`, s.now().UnixMilli()); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO slack_signatures (signature, until_ms) VALUES (?,?) ON CONFLICT (signature) DO NOTHING`,
		signature, until.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SlackMessage is where a request's message was posted, so that it is
// updated in place.
type SlackMessage struct {
	Channel, TS string
}

// SaveSlackMessage remembers a request's message in a channel.
func (s *Store) SaveSlackMessage(ctx context.Context, requestID, channel, ts string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO slack_messages (request_id, channel, ts) VALUES (?,?,?)
		ON CONFLICT (request_id, channel) DO UPDATE SET ts=excluded.ts`, requestID, channel, ts)
	return err
}

// SlackMessages lists a request's messages.
func (s *Store) SlackMessages(ctx context.Context, requestID string) ([]SlackMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT channel, ts FROM slack_messages WHERE request_id=? ORDER BY channel`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SlackMessage
	for rows.Next() {
		var m SlackMessage
		if err := rows.Scan(&m.Channel, &m.TS); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// EventCursor is how far a reader of the audit log (a notifier) got;
// found is false when it never read.
func (s *Store) EventCursor(ctx context.Context, name string) (seq int64, found bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT seq FROM event_cursors WHERE name=?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

// SetEventCursor records how far a reader got.
func (s *Store) SetEventCursor(ctx context.Context, name string, seq int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO event_cursors (name, seq) VALUES (?,?)
		ON CONFLICT (name) DO UPDATE SET seq=excluded.seq`, name, seq)
	return err
}

// LastEventSeq is the sequence number of the newest audit event (0 when
// the log is empty).
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}
