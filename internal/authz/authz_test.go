package authz

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func docPath(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "authz.md")
}

// TestDocMatchesTable holds docs/authz.md to the table the code consults:
// same rules, same order, same columns, same cells.
func TestDocMatchesTable(t *testing.T) {
	b, err := os.ReadFile(docPath(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseMarkdown(string(b))
	if err != nil {
		t.Fatalf("docs/authz.md: %v", err)
	}
	if len(doc) != len(Table) {
		t.Fatalf("docs/authz.md has %d rules, the code %d; paste authz.Markdown() into the doc", len(doc), len(Table))
	}
	for i, r := range Table {
		d := doc[i]
		if d.Action != r.Action {
			t.Errorf("row %d: doc says %s, code %s", i+1, d.Action, r.Action)
			continue
		}
		if len(d.Cells) != len(Columns) {
			t.Errorf("rule %s: doc has %d columns, the code %d (%v)", r.Action, len(d.Cells), len(Columns), Columns)
		}
		if d.Endpoints != r.Endpoints {
			t.Errorf("rule %s: doc names endpoints %q, code %q", r.Action, d.Endpoints, r.Endpoints)
		}
		for _, c := range Columns {
			if d.Cells[c] != r.Cells[c] {
				t.Errorf("rule %s, %s: doc says %s, code %s", r.Action, c, d.Cells[c], r.Cells[c])
			}
		}
	}
}

func TestColumnOf(t *testing.T) {
	req := Resource{Owner: "alice@example.com", Flow: "prod", Approvers: []string{"bob@example.com", "alice@example.com"}}
	cases := []struct {
		c    Caller
		r    Resource
		want Column
	}{
		{Caller{}, req, Anonymous},
		{Caller{Bot: true, Role: RoleAdmin}, req, Bot},
		{Caller{Email: "ci@example.com", Role: RoleAutomation}, req, Automation},
		{Caller{Email: "aud@example.com", Role: RoleAuditor}, req, Auditor},
		{Caller{Email: "ALICE@example.com", Role: RoleMember}, req, ApproverOwn},
		{Caller{Email: "bob@example.com", Role: RoleMember}, req, ApproverOthers},
		{Caller{Email: "carol@example.com", Role: RoleMember}, req, MemberOthers},
		{Caller{Email: "carol@example.com", Role: RoleMember}, Resource{Owner: "carol@example.com"}, MemberOwn},
		{Caller{Email: "root@example.com", Role: RoleAdmin}, req, AdminOthers},
		{Caller{Email: "root@example.com", Role: RoleAdmin}, Resource{Owner: "root@example.com"}, AdminOwn},
		// A grant to bob's own IAM user is bob's own request, whoever asked.
		{Caller{Email: "Bob@example.com", Role: RoleMember}, Resource{Owner: "bob-second@example.com", Approvers: []string{"bob@example.com"},
			SameIdentity: map[string]string{"bob@example.com": "aws_iam bob"}}, ApproverOwn},
		{Caller{Email: "root@example.com", Role: RoleAdmin}, Resource{Owner: "carol@example.com",
			SameIdentity: map[string]string{"root@example.com": "aws_iam root"}}, AdminOwn},
	}
	for _, c := range cases {
		if got := ColumnOf(c.c, c.r); got != c.want {
			t.Errorf("ColumnOf(%+v) = %s, want %s", c.c, got, c.want)
		}
	}
}

func TestCheckNamesTheRule(t *testing.T) {
	member := Caller{Email: "carol@example.com", Role: RoleMember}
	err := Check(Approve, member, Resource{Owner: "carol@example.com", Flow: "prod"})
	d, ok := err.(*Denied)
	if !ok || d.Status != 403 || d.Rule != ApproveNoApprovers {
		t.Fatalf("member approving own request on a flow without approvers: %v", err)
	}
	for _, says := range []string{"flow prod names no approvers", "vars.approvers", string(ApproveNoApprovers)} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("%q does not say %q", err, says)
		}
	}
	bot := Caller{Bot: true, Role: RoleAdmin}
	err = Check(Approve, bot, Resource{Owner: "carol@example.com", Flow: "prod", Approvers: []string{"dan@example.com"}})
	if d, ok := err.(*Denied); !ok || d.Status != 403 || !strings.Contains(err.Error(), "automation token") {
		t.Fatalf("bot approving: %v", err)
	}
	if err := Check(Revoke, Caller{Email: "root@example.com", Role: RoleAdmin}, Resource{Owner: "carol@example.com", NoRevoke: true}); err != nil {
		t.Fatalf("admins always revoke: %v", err)
	}
	if err := Check(ReadRequest, member, Resource{Owner: "dan@example.com"}); err == nil || err.(*Denied).Status != 404 {
		t.Fatalf("others' requests are hidden from members: %v", err)
	}
	if err := Check("no.such.action", Caller{Email: "root@example.com", Role: RoleAdmin}, Resource{}); err == nil {
		t.Fatal("an unknown action must be refused")
	}
}

// TestTableIsComplete: every rule has a reason when it refuses, no
// automation token decides anything, and an automation user's token (a CI
// secret) makes no user, role or credential: with one it could make itself
// a decider.
func TestTableIsComplete(t *testing.T) {
	for _, r := range Table {
		refuses := slices.ContainsFunc(Columns, func(c Column) bool { return r.Cells[c] == Forbidden })
		if refuses && r.Why == "" {
			t.Errorf("rule %s refuses without saying why", r.Action)
		}
		if r.Cells[Anonymous] != Unauthenticated {
			t.Errorf("rule %s lets anonymous callers in", r.Action)
		}
		if strings.HasPrefix(string(r.Action), "requests.approve") || strings.HasPrefix(string(r.Action), "requests.deny") {
			if r.Cells[Automation] == Allow || r.Cells[Bot] == Allow || r.Cells[Auditor] == Allow {
				t.Errorf("rule %s lets automation or auditors decide", r.Action)
			}
		}
		if (r.Action == WriteUsers || r.Action == IssueToken) && r.Cells[Automation] == Allow {
			t.Errorf("rule %s lets an automation user's token make users or credentials", r.Action)
		}
	}
}
