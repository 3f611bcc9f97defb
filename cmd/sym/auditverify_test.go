package main_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
	_ "modernc.org/sqlite"
)

// TestAuditVerifyCommand: `sym audit verify --db` says how many events it
// verified, and names the first tampered one with exit code 1.
func TestAuditVerifyCommand(t *testing.T) {
	bin := testenv.SymBinary(t)
	db := filepath.Join(t.TempDir(), "sym.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"user.create", "token.issue", "entity.create", "entity.update"} {
		if err := st.AppendEvent(context.Background(), &model.AuditEvent{Type: typ, Actor: "admin-bot"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if out, code := symRun(bin, "", "", "audit", "verify", "--db", db); code != 0 || strings.TrimSpace(out) != "4 events verified" {
		t.Fatalf("verify of an untouched log (%d): %s", code, out)
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE events SET actor='mallory' WHERE seq=3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out, code := symRun(bin, "", "", "audit", "verify", "--db", db)
	if code != 1 || !strings.Contains(out, "seq 3") || !strings.Contains(out, "content changed") {
		t.Fatalf("verify of an edited log (%d): %s", code, out)
	}
	if out, code := symRun(bin, "", "", "audit", "verify"); code != 2 || !strings.Contains(out, "--db is required") {
		t.Fatalf("verify without --db (%d): %s", code, out)
	}
}
