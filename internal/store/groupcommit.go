package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit. With synchronous=FULL every commit waits for the WAL to
// reach the disk (an fsync, a few milliseconds), and SQLite has one writer:
// a thousand removals that each commit alone queue a thousand fsyncs one
// behind the other. Tx hands its work to one committer instead, which runs
// the work of every caller waiting at that moment in one transaction, each
// in its own savepoint (a caller's error undoes its own writes only), and
// commits once. Each caller's writes are durable when its Tx returns, as
// with a commit of its own; a caller alone waits for nobody.

// maxGroup bounds how many callers' work one commit carries.
const maxGroup = 128

// ErrClosed says the store was closed.
var ErrClosed = errors.New("the store is closed")

type txWork struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

type committer struct {
	once   sync.Once
	work   chan *txWork
	closed chan struct{}
	exited chan struct{}
}

func newCommitter() *committer {
	return &committer{work: make(chan *txWork), closed: make(chan struct{}), exited: make(chan struct{})}
}

// Tx runs fn in a transaction and commits it, possibly together with other
// callers' work (group commit). fn's writes are committed when Tx returns
// nil; when fn returns an error they are undone and Tx returns it. fn must
// not call Tx (or any other write of this store): the committer runs one
// transaction at a time.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := s.group
	c.once.Do(func() { go s.commitLoop() })
	w := &txWork{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.work <- w:
	case <-c.closed:
		return ErrClosed
	}
	return <-w.done
}

func (s *Store) commitLoop() {
	c := s.group
	defer close(c.exited)
	for {
		select {
		case <-c.closed:
			return
		case w := <-c.work:
			batch := []*txWork{w}
		more:
			for len(batch) < maxGroup {
				select {
				case w := <-c.work:
					batch = append(batch, w)
				default:
					break more
				}
			}
			s.commitGroup(batch)
		}
	}
}

// stopCommitter ends the committer once the work it took is done.
func (s *Store) stopCommitter() {
	c := s.group
	select {
	case <-c.closed:
		return
	default:
	}
	close(c.closed)
	started := true
	c.once.Do(func() { started = false })
	if started {
		<-c.exited
	}
}

// commitGroup runs a group's work in one transaction. One caller's work
// runs bare; several run in savepoints, so that one's error rolls back its
// own writes only.
func (s *Store) commitGroup(batch []*txWork) {
	results := make([]error, len(batch))
	finish := func(common error) {
		for i, w := range batch {
			if results[i] == nil {
				results[i] = common
			}
			w.done <- results[i]
		}
	}
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		finish(fmt.Errorf("begin transaction: %w", err))
		return
	}
	defer tx.Rollback()
	if len(batch) == 1 {
		if results[0] = run(batch[0], tx); results[0] != nil {
			finish(nil)
			return
		}
	} else {
		ctx := context.Background()
		for i, w := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT grp`); err != nil {
				finish(fmt.Errorf("savepoint: %w", err))
				return
			}
			if results[i] = run(w, tx); results[i] != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO grp`); err != nil {
					// The transaction is in an unknown state: none of it commits.
					finish(fmt.Errorf("roll back to savepoint: %w", err))
					return
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE grp`); err != nil {
				finish(fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
	}
	finish(s.commitEvents(tx))
}

// run is one caller's work; a panic in it is that caller's error.
func run(w *txWork, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store transaction panicked: %v", p)
		}
	}()
	if err := w.ctx.Err(); err != nil {
		return err
	}
	return w.fn(tx)
}
