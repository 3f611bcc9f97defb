package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache: statements a connection keeps give the same answers
// as compiling them each time, also when the same text is run again while
// its rows are still being read (in a transaction, one connection), after
// a failed run, and after the schema changed under a kept statement.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db := openDB("file:" + filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)")
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO t (v) VALUES (?)`
	for i := range 5 {
		if _, err := db.ExecContext(ctx, ins, fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A failed run (UNIQUE) leaves the kept statement usable.
	if _, err := db.ExecContext(ctx, ins, "v0"); err == nil {
		t.Fatal("a duplicate value was inserted")
	}
	if _, err := db.ExecContext(ctx, ins, "v5"); err != nil {
		t.Fatalf("the statement after a failed run: %v", err)
	}
	const sel = `SELECT id, v FROM t WHERE id >= ? ORDER BY id`
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, sel, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner int
	for rows.Next() {
		var id int
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		outer++
		// The same text while the outer rows are open.
		in, err := tx.QueryContext(ctx, sel, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for in.Next() {
			n++
		}
		in.Close()
		if want := 6 - id + 1; n != want {
			t.Fatalf("inner read from id %d: %d rows, want %d", id, n, want)
		}
		inner += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if outer != 6 || inner != 21 {
		t.Fatalf("read %d outer and %d inner rows, want 6 and 21", outer, inner)
	}
	// The schema changes under a kept statement.
	if _, err := db.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	var id int
	var v string
	if err := db.QueryRowContext(ctx, sel, 6).Scan(&id, &v); err != nil || id != 6 || v != "v5" {
		t.Fatalf("after the schema change: %d %q %v", id, v, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE w = 'x'`).Scan(&id); err != nil || id != 6 {
		t.Fatalf("new column: %d %v", id, err)
	}
}
