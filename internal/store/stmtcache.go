package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// Prepared statements kept per connection. database/sql hands every
// ExecContext and QueryContext to the driver as SQL text, and the SQLite
// driver compiles that text again each time; in a grant's commit (the
// request, its audit event and chain, the outbox, the ledger) compiling
// took about as long as running. Each connection here keeps the statements
// it compiled, by their text, and runs them again.
//
// A statement that is still being read (its rows are open) is not run
// again underneath the reader: a second use of the same text while rows
// are open compiles a statement of its own, as before. A connection keeps
// at most maxCachedStmts statements (the store's SQL is fixed text, but a
// few queries are built from optional filters); beyond that new text is
// compiled each time, as before.

const maxCachedStmts = 256

// openDB opens the SQLite database at dsn with per-connection statement
// caching.
func openDB(dsn string) *sql.DB {
	return sql.OpenDB(cachingConnector{dsn: dsn, base: &sqlite.Driver{}})
}

type cachingConnector struct {
	dsn  string
	base *sqlite.Driver
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.base.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

func (c cachingConnector) Driver() driver.Driver { return c.base }

// baseConn is what the SQLite driver's connection offers and the cache
// needs.
type baseConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// driverStmt is what the SQLite driver's prepared statement offers.
type driverStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	stmt    driverStmt
	reading int // rows open on it
}

type cachingConn struct {
	baseConn
	stmts map[string]*cachedStmt
}

func newCachingConn(c driver.Conn) (driver.Conn, error) {
	b, ok := c.(baseConn)
	if !ok {
		c.Close()
		return nil, errors.New("the SQLite driver's connection lacks a method the store needs")
	}
	return &cachingConn{baseConn: b, stmts: map[string]*cachedStmt{}}, nil
}

// cached returns the connection's statement for query, compiling it the
// first time; nil when query is not to be cached or its statement is being
// read.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.reading > 0 {
			return nil, nil
		}
		return s, nil
	}
	// Text with more than one statement is run by the driver one statement
	// at a time anyway; schema changes happen once.
	if len(c.stmts) >= maxCachedStmts || strings.Contains(strings.TrimRight(strings.TrimSpace(query), ";"), ";") {
		return nil, nil
	}
	ds, err := c.baseConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(driverStmt)
	if !ok {
		ds.Close()
		return nil, nil
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.baseConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.baseConn.QueryContext(ctx, query, args)
	}
	r, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.reading++
	return &cachedRows{Rows: r, s: s}, nil
}

func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.baseConn.Close()
}

// cachedRows marks its statement free again once closed.
type cachedRows struct {
	driver.Rows
	s      *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	if !r.closed {
		r.closed = true
		r.s.reading--
	}
	return r.Rows.Close()
}
