package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutboxQueuesWithABacklog: while a log destination is down its
// events pile up in the outbox (a weekend's outage of a busy server: many
// thousands), and the deliverer asks which destinations owe events several
// times a second and after every append. That question reads the pending
// index once per destination (a search), never every pending row: with a
// scan, a backlog of 300,000 rows cost 145 ms a time, a busy core for as
// long as the destination was down.
func TestOutboxQueuesWithABacklog(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "sym.db"))
	defer s.Close()
	if _, err := s.db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000)
		INSERT INTO outbox (destination_id, role, event_seq, created_at)
		SELECT CASE WHEN i % 4 = 0 THEN 'logger-up' ELSE 'stream-down' END, CASE WHEN i % 4 = 0 THEN 'error' ELSE 'log' END, i, 0 FROM n;
		UPDATE outbox SET delivered_at = 1 WHERE destination_id = 'logger-up' AND id < 19000;
		INSERT INTO outbox_destinations (destination_id, role, attempts) VALUES ('stream-down', 'log', 7)`); err != nil {
		t.Fatal(err)
	}
	qs, err := s.OutboxQueues(ctx)
	if err != nil || len(qs) != 2 || qs[0] != (OutboxQueue{"logger-up", "error", 0}) || qs[1] != (OutboxQueue{"stream-down", "log", 7}) {
		t.Fatalf("OutboxQueues: %+v %v", qs, err)
	}
	rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+outboxQueuesQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var step string
		if err := rows.Scan(&id, &parent, &unused, &step); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, step)
	}
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN outbox") {
			t.Fatalf("OutboxQueues reads every pending row (%q):\n%s", step, strings.Join(plan, "\n"))
		}
	}
}
