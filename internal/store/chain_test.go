package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/model"
)

// auditDB writes n audit events through the store and closes it.
func auditDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sym.db")
	s := open(t, path)
	for i := 1; i <= n; i++ {
		ev := &model.AuditEvent{Type: "entity.update", Actor: "admin@example.com", Details: map[string]string{"n": fmt.Sprint(i)}}
		if err := s.AppendEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func exec(t *testing.T, path, q string) {
	t.Helper()
	s := open(t, path)
	defer s.Close()
	if _, err := s.db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestAuditChainDetectsTampering: an edited row, a deleted row, two rows
// swapped and a deleted newest row are each named by VerifyAudit.
func TestAuditChainDetectsTampering(t *testing.T) {
	ctx := context.Background()
	path := auditDB(t, 5)
	if n, err := VerifyAudit(ctx, path); err != nil || n != 5 {
		t.Fatalf("untouched log: %d verified, %v", n, err)
	}
	cases := []struct {
		name, sql string
		seq       int64
		says      string
	}{
		{"edited row", `UPDATE events SET actor='mallory@example.com' WHERE seq=3`, 3, "content changed"},
		{"edited details", `UPDATE events SET details='{"n":"99"}' WHERE seq=2`, 2, "content changed"},
		{"deleted row", `DELETE FROM events WHERE seq=2`, 3, "between seq 1 and 3 are missing"},
		{"two rows swapped", `UPDATE events SET seq=-1 WHERE seq=2; UPDATE events SET seq=2 WHERE seq=4; UPDATE events SET seq=4 WHERE seq=-1`, 2, "link to the event before it is broken"},
		{"newest row deleted", `DELETE FROM events WHERE seq=5`, 4, "newest events are missing"},
		{"hash blanked", `UPDATE events SET hash='' WHERE seq=1`, 1, "content changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := auditDB(t, 5)
			exec(t, p, c.sql)
			_, err := VerifyAudit(ctx, p)
			var te *TamperError
			if !errors.As(err, &te) || te.Seq != c.seq || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want tampering at seq %d saying %q", err, c.seq, c.says)
			}
		})
	}
	// Reopening a tampered database never re-seals it.
	p := auditDB(t, 3)
	exec(t, p, `UPDATE events SET hash='' WHERE seq=2`)
	open(t, p).Close()
	if _, err := VerifyAudit(ctx, p); err == nil {
		t.Fatal("reopening the store repaired a blanked hash")
	}
}

// TestEventsBeforeTheChainAreSealedOnce: a database whose events predate
// the chain gets them chained at the migration, and verifies.
func TestEventsBeforeTheChainAreSealedOnce(t *testing.T) {
	ctx := context.Background()
	p := auditDB(t, 3)
	exec(t, p, `UPDATE events SET hash='', prev_hash=''; DELETE FROM audit_head`)
	open(t, p).Close()
	if n, err := VerifyAudit(ctx, p); err != nil || n != 3 {
		t.Fatalf("sealed legacy log: %d, %v", n, err)
	}
}

// TestAuditVerifyBesideAWritingServer: `sym audit verify` reads the
// database of a running server, which appends events meanwhile. Each check
// sees one moment of the log: never a head older than the events it walks,
// which read as "the newest events are missing" though nothing was
// touched.
func TestAuditVerifyBesideAWritingServer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sym.db")
	s := open(t, path)
	defer s.Close()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			ev := &model.AuditEvent{Type: "entity.update", Actor: "admin@example.com", Details: map[string]string{"n": fmt.Sprint(i)}}
			if err := s.AppendEvent(ctx, ev); err != nil {
				done <- err
				return
			}
		}
	}()
	var failed error
	for range 300 {
		if _, err := VerifyAudit(ctx, path); err != nil {
			failed = err
			break
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if failed != nil {
		t.Fatalf("verify beside a writer: %v", failed)
	}
}
