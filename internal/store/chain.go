package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The audit log is a hash chain: each event stores the SHA-256 of a
// canonical encoding of itself and of the previous event's hash, and the
// table audit_head keeps the newest seq, hash and the number of events. An
// edited row no longer matches its hash; a deleted, inserted or reordered
// row breaks the link of the next one; a deleted newest row disagrees with
// the head. VerifyAudit checks all of it offline. appendEvent is the only
// writer, and chains every event in the transaction that writes it.

// EventHash is the hash of one stored event: SHA-256 over the JSON array
// [prev, seq, id, request_id, type, actor, at, details] of strings, each
// exactly as stored (details is the stored JSON text, whose keys
// encoding/json sorts).
func EventHash(prev string, seq int64, id, requestID, typ, actor, at, details string) string {
	b, _ := json.Marshal([]string{prev, strconv.FormatInt(seq, 10), id, requestID, typ, actor, at, details})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

type storedEvent struct {
	seq                                    int64
	id, requestID, typ, actor, at, details string
	prev, hash                             string
}

func (e storedEvent) computed(prev string) string {
	return EventHash(prev, e.seq, e.id, e.requestID, e.typ, e.actor, e.at, e.details)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func readEvent(ctx context.Context, q querier, seq int64) (storedEvent, error) {
	var e storedEvent
	err := q.QueryRowContext(ctx, `SELECT seq, id, request_id, type, actor, at, details, prev_hash, hash FROM events WHERE seq=?`, seq).
		Scan(&e.seq, &e.id, &e.requestID, &e.typ, &e.actor, &e.at, &e.details, &e.prev, &e.hash)
	return e, err
}

// chain links the event at seq to the head and moves the head to it.
func chain(ctx context.Context, q querier, seq int64) error {
	var prev string
	var count int64
	err := q.QueryRowContext(ctx, `SELECT hash, count FROM audit_head WHERE id=1`).Scan(&prev, &count)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read audit head: %w", err)
	}
	e, err := readEvent(ctx, q, seq)
	if err != nil {
		return fmt.Errorf("read event %d back: %w", seq, err)
	}
	h := e.computed(prev)
	if _, err := q.ExecContext(ctx, `UPDATE events SET prev_hash=?, hash=? WHERE seq=?`, prev, h, seq); err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO audit_head (id, seq, hash, count) VALUES (1, ?, ?, 1)
		ON CONFLICT(id) DO UPDATE SET seq=excluded.seq, hash=excluded.hash, count=audit_head.count+1`, seq, h)
	return err
}

// sealUnchained chains the events written before the chain existed, once:
// only while there is no head yet (right after the migration that added
// it). With a head in place nothing is ever re-sealed, so a blanked hash
// stays visible to VerifyAudit.
func (s *Store) sealUnchained(ctx context.Context) error {
	var heads int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_head`).Scan(&heads); err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	if heads > 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq FROM events ORDER BY seq`)
	if err != nil {
		return err
	}
	var seqs []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, n)
	}
	rows.Close()
	if len(seqs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, n := range seqs {
		if err := chain(ctx, tx, n); err != nil {
			return fmt.Errorf("seal audit event %d: %w", n, err)
		}
	}
	return tx.Commit()
}

// TamperError names the first event whose content, order or presence
// changed.
type TamperError struct {
	Seq     int64
	ID      string
	Problem string
}

func (e *TamperError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("audit log tampered after event seq %d: %s", e.Seq, e.Problem)
	}
	return fmt.Sprintf("audit log tampered at event seq %d (id %s): %s", e.Seq, e.ID, e.Problem)
}

// VerifyAudit walks the whole chain of the database at path, opened read
// only (no migration runs, nothing is written), and returns the number of
// events verified, or a *TamperError for the first broken one. The head and
// the events are read in one transaction, so a server appending events
// meanwhile is seen at one moment.
func VerifyAudit(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer tx.Rollback()
	var head struct {
		seq, count int64
		hash       string
	}
	headErr := tx.QueryRowContext(ctx, `SELECT seq, hash, count FROM audit_head WHERE id=1`).Scan(&head.seq, &head.hash, &head.count)
	if headErr != nil && !errors.Is(headErr, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s has no chained audit log: it is from before sym chained it (the sym server that uses it chains it when it starts; sym restore chains a backup's): %w", path, headErr)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, id, request_id, type, actor, at, details, prev_hash, hash FROM events ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var n, last int64
	prev := ""
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.seq, &e.id, &e.requestID, &e.typ, &e.actor, &e.at, &e.details, &e.prev, &e.hash); err != nil {
			return n, err
		}
		if e.prev != prev {
			problem := "its link to the event before it is broken: an event was deleted, inserted or moved before it"
			if last != 0 && e.seq != last+1 {
				problem = fmt.Sprintf("events between seq %d and %d are missing", last, e.seq)
			}
			return n, &TamperError{Seq: e.seq, ID: e.id, Problem: problem}
		}
		if e.computed(prev) != e.hash {
			return n, &TamperError{Seq: e.seq, ID: e.id, Problem: "its content changed (it no longer matches its hash)"}
		}
		prev, last = e.hash, e.seq
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	switch {
	case headErr != nil && n > 0:
		return n, &TamperError{Seq: last, Problem: "the audit head is missing"}
	case headErr != nil:
		return 0, nil
	case head.count != n || head.seq != last || head.hash != prev:
		return n, &TamperError{Seq: last, Problem: fmt.Sprintf("the newest events are missing: the head records %d events up to seq %d, the log holds %d up to seq %d", head.count, head.seq, n, last)}
	}
	return n, nil
}
