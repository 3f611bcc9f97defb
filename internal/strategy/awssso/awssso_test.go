package awssso_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
	"github.com/opensym/sym/internal/strategy/awssso"
	"github.com/opensym/sym/internal/testenv"
)

const account = "111122223333"

// TestStrategyAgainstMoto runs the aws_sso strategy against moto's IAM
// Identity Center through a fault proxy: permission-set assignments and
// group memberships made and removed, found by every kind of identity; a
// FAILED creation; an operation that stays IN_PROGRESS for a while; the cap
// on operations in flight.
func TestStrategyAgainstMoto(t *testing.T) {
	m := testenv.StartMoto(t)
	proxy := testenv.StartFaultProxy(t, m.URL)
	sso := testenv.SetupSSO(t, m, "ReadOnly", "oncall",
		testenv.SSOUser{UserName: "alice@example.com", Email: "alice@example.com"},
		testenv.SSOUser{UserName: "bob", Email: "bob@example.com"},
		testenv.SSOUser{UserName: "carol", Email: "carol.c@example.com"},
	)
	chain := awsauth.NewChain(testenv.AWSConfigAt(t, proxy.URL), nil)
	s := &awssso.Strategy{Chain: chain, PollInterval: 20 * time.Millisecond, PollMax: 50 * time.Millisecond, PollTimeout: 10 * time.Second}
	ctx := context.Background()
	grant := func(requester, identity, typ string) strategy.Grant {
		g := strategy.Grant{RequestID: "r-" + requester, Requester: requester, Identity: identity, StrategyType: "aws_sso",
			Runtime:          awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext-1", Region: "us-east-1"},
			ConnectorRoleARN: "arn:aws:iam::123456789012:role/sym/SymSSOProd", Region: "us-east-1",
			TargetType: typ, StrategySettings: map[string]string{"instance_arn": sso.InstanceARN}}
		if typ == "aws_sso_group" {
			g.TargetSettings = map[string]string{"group_id": sso.GroupID}
		} else {
			g.TargetSettings = map[string]string{"permission_set_arn": sso.PermissionSetARN, "account_id": account}
		}
		return g
	}

	t.Run("permission set: assigned, idempotent, removed", func(t *testing.T) {
		for _, c := range []struct{ name, requester, identity, user string }{
			{"user name is the email", "alice@example.com", "", "alice@example.com"},
			{"primary email is the email", "bob@example.com", "", "bob"},
			{"aws_sso identity is a user name", "carol@example.com", "carol", "carol"},
			{"aws_sso identity is a user id", "carol@example.com", sso.Users["carol"], "carol"},
		} {
			t.Run(c.name, func(t *testing.T) {
				g := grant(c.requester, c.identity, "aws_sso_permission_set")
				want := sso.Users[c.user]
				if has, err := s.HasAccess(ctx, g); err != nil || has {
					t.Fatalf("HasAccess before the grant: %v %v", has, err)
				}
				for i := 0; i < 2; i++ { // the second escalation changes nothing
					if err := s.Escalate(ctx, g); err != nil {
						t.Fatalf("Escalate %d: %v", i+1, err)
					}
					if got := sso.Assigned(t, account); !slices.Equal(got, []string{want}) {
						t.Fatalf("assignments after escalation %d: %v, want only %s", i+1, got, want)
					}
				}
				if has, err := s.HasAccess(ctx, g); err != nil || !has {
					t.Fatalf("HasAccess after the grant: %v %v", has, err)
				}
				if h, err := s.Holders(ctx, g); err != nil || !slices.Equal(h, []string{want}) {
					t.Fatalf("Holders: %v %v", h, err)
				}
				for i := 0; i < 2; i++ {
					if err := s.Deescalate(ctx, g); err != nil {
						t.Fatalf("Deescalate %d: %v", i+1, err)
					}
				}
				if got := sso.Assigned(t, account); len(got) != 0 {
					t.Fatalf("assignments after de-escalation: %v", got)
				}
			})
		}
	})

	t.Run("group membership", func(t *testing.T) {
		g := grant("bob@example.com", "", "aws_sso_group")
		for i := 0; i < 2; i++ {
			if err := s.Escalate(ctx, g); err != nil {
				t.Fatalf("Escalate: %v", err)
			}
		}
		if got := sso.Members(t); !slices.Equal(got, []string{sso.Users["bob"]}) {
			t.Fatalf("group members: %v", got)
		}
		if has, err := s.HasAccess(ctx, g); err != nil || !has {
			t.Fatalf("HasAccess: %v %v", has, err)
		}
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got := sso.Members(t); len(got) != 0 {
			t.Fatalf("group members after de-escalation: %v", got)
		}
	})

	t.Run("the pinned user id is what keys, grants and removes", func(t *testing.T) {
		for _, typ := range []string{"aws_sso_permission_set", "aws_sso_group"} {
			g := grant("bob@example.com", "", typ)
			id, err := s.Pin(ctx, g)
			if err != nil || id != sso.Users["bob"] {
				t.Fatalf("%s: Pin found %q (%v), want bob's id %s", typ, id, err, sso.Users["bob"])
			}
			g.PrincipalID = id
			if err := s.Escalate(ctx, g); err != nil {
				t.Fatal(err)
			}
			holders, err := s.Holders(ctx, g)
			if err != nil || len(holders) != 1 {
				t.Fatalf("%s: holders %v %v", typ, holders, err)
			}
			pinned, _ := s.Key(g)
			listed, _ := s.Key(strategy.HolderGrant(s, grant("", "", typ), holders[0]))
			if pinned != listed || !strings.Contains(pinned.Identity, "id/"+strings.ToLower(id)) {
				t.Fatalf("%s: the grant's key %v is not the key of the holder AWS lists, %v", typ, pinned, listed)
			}
			// The directory no longer leads from the request to bob (his
			// email changed, say): the removal still acts on the user the
			// grant was made to.
			g.Requester = "bob.renamed@example.com"
			if err := s.Deescalate(ctx, g); err != nil {
				t.Fatal(err)
			}
			if a, m := sso.Assigned(t, account), sso.Members(t); len(a) != 0 || len(m) != 0 {
				t.Fatalf("%s: after removing through the pinned id: assigned %v, members %v", typ, a, m)
			}
		}
		if _, err := s.Pin(ctx, grant("dave@example.com", "", "aws_sso_group")); !strategy.IsNotGranted(err) {
			t.Fatalf("Pin for a user the identity store does not have: %v", err)
		}
	})

	t.Run("no such user", func(t *testing.T) {
		for _, g := range []strategy.Grant{grant("dave@example.com", "", "aws_sso_permission_set"), grant("dave@example.com", "dave", "aws_sso_group")} {
			err := s.Escalate(ctx, g)
			if !strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "no IAM Identity Center user") {
				t.Fatalf("escalation for a user the identity store does not have: %v", err)
			}
			if err := s.Deescalate(ctx, g); err != nil {
				t.Fatalf("removing from a user that does not exist is done: %v", err)
			}
		}
	})

	t.Run("FAILED carries AWS's reason", func(t *testing.T) {
		g := grant("alice@example.com", "", "aws_sso_permission_set")
		const reason = "Received a 404 status error: Not supported policy arn:aws:iam::aws:policy/Nope"
		f := proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Times: 1, Rewrite: testenv.AssignmentStatus("FAILED", reason)})
		defer proxy.Remove(f)
		defer proxy.Remove(f2)
		err := s.Escalate(ctx, g)
		if !strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "FAILED: "+reason) {
			t.Fatalf("a FAILED creation must be an error with AWS's reason: %v", err)
		}
		// moto did make the assignment behind the rewritten answer: the
		// strategy removed it before saying nothing was granted.
		if got := sso.Assigned(t, account); len(got) != 0 {
			t.Fatalf("left behind after a FAILED creation: %v", got)
		}
		// When that removal fails, FAILED proves nothing: the assignment is
		// listed. An ordinary error, so that the engine keeps the grant open.
		f = proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 = proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Times: 1, Rewrite: testenv.AssignmentStatus("FAILED", reason)})
		f3 := proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Status: 500})
		defer proxy.Remove(f3)
		err = s.Escalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "FAILED: "+reason) {
			t.Fatalf("a FAILED creation whose leftover could not be removed: %v, want an ordinary error with AWS's reason", err)
		}
		if got := sso.Assigned(t, account); len(got) != 1 {
			t.Fatalf("the leftover: %v", got)
		}
		proxy.Remove(f3)
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a deletion that FAILED proves nothing was removed", func(t *testing.T) {
		// Identity Center answers the creation FAILED with the assignment
		// listed, and then the deletion of that leftover FAILED too: the
		// assignment may still be there, so the grant is not refused (a
		// NotGrantedError would close its ledger entry and leave it).
		g := grant("alice@example.com", "", "aws_sso_permission_set")
		const reason, delReason = "Received a 404 status error: Not supported policy", "Received a 500 status error"
		faults := []*testenv.Fault{
			proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Times: 1, Rewrite: testenv.AssignmentStatus("FAILED", reason)}),
			proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentDeletionStatus", Rewrite: testenv.AssignmentStatus("FAILED", delReason)}),
		}
		defer proxy.Clear()
		err := s.Escalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), delReason) {
			t.Fatalf("a FAILED creation whose leftover's deletion FAILED: %v, want an ordinary error with both reasons", err)
		}
		// A removal whose deletion FAILED is not done either: an ordinary
		// error, which the engine retries.
		if err := s.Escalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		err = s.Deescalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), delReason) {
			t.Fatalf("a deletion that FAILED: %v, want an ordinary error with AWS's reason", err)
		}
		for _, f := range faults {
			proxy.Remove(f)
		}
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got := sso.Assigned(t, account); len(got) != 0 {
			t.Fatalf("assignments left: %v", got)
		}
	})

	t.Run("done only when the status says SUCCEEDED", func(t *testing.T) {
		g := grant("bob@example.com", "", "aws_sso_permission_set")
		before := proxy.Seen("DescribeAccountAssignmentCreationStatus")
		f := proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Times: 3, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		defer proxy.Remove(f)
		defer proxy.Remove(f2)
		if err := s.Escalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if n := proxy.Seen("DescribeAccountAssignmentCreationStatus") - before; n != 4 {
			t.Fatalf("Escalate returned after %d status reads; want 4 (three IN_PROGRESS, then SUCCEEDED)", n)
		}
		dBefore := proxy.Seen("DescribeAccountAssignmentDeletionStatus")
		f3 := proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		defer proxy.Remove(f3)
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if n := proxy.Seen("DescribeAccountAssignmentDeletionStatus") - dBefore; n != 1 {
			t.Fatalf("Deescalate read the deletion status %d times, want 1", n)
		}
	})

	t.Run("still IN_PROGRESS at the time limit: outcome unknown", func(t *testing.T) {
		short := &awssso.Strategy{Chain: chain, PollInterval: 10 * time.Millisecond, PollTimeout: 50 * time.Millisecond}
		g := grant("carol@example.com", "carol", "aws_sso_permission_set")
		f := proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		err := short.Escalate(ctx, g)
		proxy.Remove(f)
		proxy.Remove(f2)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Fatalf("want a retryable unknown-outcome error, got %v", err)
		}
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an account outside --allowed-accounts is refused at grant, removed from all the same", func(t *testing.T) {
		// The target was written when the flags admitted its account;
		// the server now runs with --allowed-accounts without it (the
		// connector role's account is still allowed).
		g := grant("bob@example.com", "", "aws_sso_permission_set")
		if err := s.Escalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		guarded := awsauth.NewChain(testenv.AWSConfigAt(t, proxy.URL), nil)
		guarded.Guards = awsauth.Guards{Accounts: []string{"123456789012"}}
		strict := &awssso.Strategy{Chain: guarded, PollInterval: 20 * time.Millisecond}
		other := grant("carol@example.com", "carol", "aws_sso_permission_set")
		before := proxy.Seen("CreateAccountAssignment")
		err := strict.Escalate(ctx, other)
		if !awsauth.IsGuard(err) || !strings.Contains(err.Error(), account) || !strings.Contains(err.Error(), "--allowed-accounts") {
			t.Fatalf("a grant in account %s outside --allowed-accounts: %v, want a guard error naming the account and the flag", account, err)
		}
		if n := proxy.Seen("CreateAccountAssignment") - before; n != 0 {
			t.Fatalf("%d assignments created in an account the guard rails refuse", n)
		}
		// bob's grant, made before the flags changed, is still removed.
		if err := strict.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got := sso.Assigned(t, account); len(got) != 0 {
			t.Fatalf("assignments left: %v", got)
		}
	})

	t.Run("a removal waits for a creation whose outcome is unknown", func(t *testing.T) {
		// Identity Center is slow: the creation stays IN_PROGRESS past the
		// time limit and its assignment is not listed yet. Removing now
		// finds nothing to delete, yet the assignment lands later: the
		// removal is not done until the creation has ended.
		short := &awssso.Strategy{Chain: chain, PollInterval: 10 * time.Millisecond, PollTimeout: 50 * time.Millisecond}
		g := grant("carol@example.com", "carol", "aws_sso_permission_set")
		hide := func(body []byte) []byte {
			var m map[string]any
			if json.Unmarshal(body, &m) != nil {
				return body
			}
			m["AccountAssignments"] = []any{}
			out, _ := json.Marshal(m)
			return out
		}
		faults := []*testenv.Fault{
			proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "ListAccountAssignments", Rewrite: hide}),
		}
		defer proxy.Clear()
		if err := short.Escalate(ctx, g); err == nil || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Fatalf("want an unknown outcome, got %v", err)
		}
		err := short.Deescalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "IN_PROGRESS") {
			t.Fatalf("a removal while the creation is still IN_PROGRESS: %v, want an ordinary error saying so", err)
		}
		// The creation ends (SUCCEEDED) and its assignment is listed: the
		// removal deletes it.
		for _, f := range faults {
			proxy.Remove(f)
		}
		if err := short.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got := sso.Assigned(t, account); len(got) != 0 {
			t.Fatalf("assignments left: %v", got)
		}
	})

	t.Run("a grant does not count on an assignment whose deletion's outcome is unknown", func(t *testing.T) {
		// A removal's deletion stays IN_PROGRESS past the time limit, the
		// assignment still listed. A grant of the same assignment made
		// meanwhile (a second request of the same person) must not take
		// the listed assignment for access: it is on its way out.
		short := &awssso.Strategy{Chain: chain, PollInterval: 10 * time.Millisecond, PollTimeout: 50 * time.Millisecond}
		g := grant("carol@example.com", "carol", "aws_sso_permission_set")
		if err := short.Escalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		carol := sso.Users["carol"]
		stillListed := func(body []byte) []byte {
			var m map[string]any
			if json.Unmarshal(body, &m) != nil {
				return body
			}
			m["AccountAssignments"] = []any{map[string]any{"AccountId": account, "PermissionSetArn": sso.PermissionSetARN,
				"PrincipalId": carol, "PrincipalType": "USER"}}
			out, _ := json.Marshal(m)
			return out
		}
		faults := []*testenv.Fault{
			proxy.Add(testenv.Fault{Action: "DeleteAccountAssignment", Times: 1, Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentDeletionStatus", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")}),
			proxy.Add(testenv.Fault{Action: "ListAccountAssignments", Rewrite: stillListed}),
		}
		defer proxy.Clear()
		if err := short.Deescalate(ctx, g); err == nil || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Fatalf("want an unknown outcome, got %v", err)
		}
		err := short.Escalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "IN_PROGRESS") {
			t.Fatalf("a grant while the assignment's deletion is IN_PROGRESS: %v, want an ordinary error saying so", err)
		}
		// The deletion ends: the grant makes the assignment again.
		for _, f := range faults {
			proxy.Remove(f)
		}
		if err := short.Escalate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got := sso.Assigned(t, account); !slices.Equal(got, []string{carol}) {
			t.Fatalf("assignments after the grant: %v, want carol's", got)
		}
		if err := short.Deescalate(ctx, g); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a deletion AWS says is done while the access stays listed is not retried in a loop", func(t *testing.T) {
		// The deletion answers ResourceNotFound (nothing to delete) while the
		// list still shows the assignment or membership (the list lags, or
		// the two disagree). The removal gives up after a few tries with an
		// error the engine retries later with back-off, instead of deleting
		// again and again at the instance's whole request quota, which every
		// other grant and removal of the instance shares.
		for _, c := range []struct{ typ, del string }{
			{"aws_sso_permission_set", "DeleteAccountAssignment"},
			{"aws_sso_group", "DeleteGroupMembership"},
		} {
			g := grant("bob@example.com", "", c.typ)
			if err := s.Escalate(ctx, g); err != nil {
				t.Fatal(err)
			}
			f := proxy.Add(testenv.Fault{Action: c.del, Status: 400, Code: "ResourceNotFoundException"})
			before := proxy.Seen(c.del)
			dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := s.Deescalate(dctx, g)
			timedOut := dctx.Err() != nil
			cancel()
			n := proxy.Seen(c.del) - before
			proxy.Remove(f)
			if err == nil || strategy.IsNotGranted(err) || timedOut || !strings.Contains(err.Error(), "still listed") {
				t.Fatalf("%s: a removal whose access stays listed: %v, want an ordinary error saying it is still there", c.typ, err)
			}
			if n > 3 {
				t.Fatalf("%s: %d deletions in one removal, want at most 3", c.typ, n)
			}
			if err := s.Deescalate(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("at most InFlight assignment operations at once", func(t *testing.T) {
		const users = 6
		capped := &awssso.Strategy{Chain: chain, PollInterval: 20 * time.Millisecond, PollMax: 20 * time.Millisecond, InFlight: 2}
		// Every operation answers IN_PROGRESS twice before SUCCEEDED, so
		// that each stays in flight across several reads.
		var mu sync.Mutex
		open, most := 0, 0
		reads := map[string]int{}
		track := func(delta int) func([]byte) []byte {
			return func(body []byte) []byte {
				var m map[string]map[string]any
				_ = json.Unmarshal(body, &m)
				st := m["AccountAssignmentCreationStatus"]
				mu.Lock()
				defer mu.Unlock()
				id, _ := st["RequestId"].(string)
				if delta > 0 {
					open++
					most = max(most, open)
					st["Status"] = "IN_PROGRESS"
				} else if reads[id]++; reads[id] < 3 {
					st["Status"] = "IN_PROGRESS"
				} else {
					open--
				}
				out, _ := json.Marshal(m)
				return out
			}
		}
		f := proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Rewrite: track(+1)})
		f2 := proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: track(-1)})
		var gs []strategy.Grant
		for i := 0; i < users; i++ {
			name := "burst" + string(rune('a'+i))
			sso.AddUser(t, testenv.SSOUser{UserName: name, Email: name + "@example.com"})
			gs = append(gs, grant(name+"@example.com", "", "aws_sso_permission_set"))
		}
		var wg sync.WaitGroup
		errs := make([]error, users)
		for i := range gs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = capped.Escalate(ctx, gs[i]) }()
		}
		wg.Wait()
		proxy.Remove(f)
		proxy.Remove(f2)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("grant %d: %v", i, err)
			}
		}
		if most != 2 {
			t.Fatalf("at most %d operations were in flight at once; want exactly the cap of 2", most)
		}
		if got := sso.Assigned(t, account); len(got) != users {
			t.Fatalf("%d assignments after the burst, want %d", len(got), users)
		}
		for _, g := range gs {
			if err := capped.Deescalate(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
	})
}
