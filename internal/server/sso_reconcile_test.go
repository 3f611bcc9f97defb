package server_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// ssoOutOfBand changes Identity Center behind sym's back, as another admin
// (or tool) would, straight against moto.
type ssoOutOfBand struct {
	t     *testing.T
	o     *otherStrategies
	admin *ssoadmin.Client
	ids   *identitystore.Client
}

func (b ssoOutOfBand) assign(user string) {
	b.t.Helper()
	if _, err := b.admin.CreateAccountAssignment(context.Background(), &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn: aws.String(b.o.sso.InstanceARN), PermissionSetArn: aws.String(b.o.sso.PermissionSetARN),
		PrincipalId: aws.String(user), PrincipalType: ssotypes.PrincipalTypeUser,
		TargetId: aws.String(ssoAccount), TargetType: ssotypes.TargetTypeAwsAccount}); err != nil {
		b.t.Fatal(err)
	}
}

func (b ssoOutOfBand) unassign(user string) {
	b.t.Helper()
	if _, err := b.admin.DeleteAccountAssignment(context.Background(), &ssoadmin.DeleteAccountAssignmentInput{
		InstanceArn: aws.String(b.o.sso.InstanceARN), PermissionSetArn: aws.String(b.o.sso.PermissionSetARN),
		PrincipalId: aws.String(user), PrincipalType: ssotypes.PrincipalTypeUser,
		TargetId: aws.String(ssoAccount), TargetType: ssotypes.TargetTypeAwsAccount}); err != nil {
		b.t.Fatal(err)
	}
}

func (b ssoOutOfBand) join(user string) {
	b.t.Helper()
	if _, err := b.ids.CreateGroupMembership(context.Background(), &identitystore.CreateGroupMembershipInput{
		IdentityStoreId: aws.String(b.o.sso.IdentityStoreID), GroupId: aws.String(b.o.sso.GroupID),
		MemberId: &istypes.MemberIdMemberUserId{Value: user}}); err != nil {
		b.t.Fatal(err)
	}
}

func (b ssoOutOfBand) leave(user string) {
	b.t.Helper()
	ctx := context.Background()
	out, err := b.ids.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{
		IdentityStoreId: aws.String(b.o.sso.IdentityStoreID), GroupId: aws.String(b.o.sso.GroupID)})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, m := range out.GroupMemberships {
		if u, ok := m.MemberId.(*istypes.MemberIdMemberUserId); ok && u.Value == user {
			if _, err := b.ids.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{
				IdentityStoreId: aws.String(b.o.sso.IdentityStoreID), MembershipId: m.MembershipId}); err != nil {
				b.t.Fatal(err)
			}
			return
		}
	}
	b.t.Fatalf("%s is not in the group", user)
}

func sortedIDs(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

// TestSSOReconciler: the reconciler does for Identity Center account
// assignments and identity-store group memberships what it does for IAM
// groups. Identity Center names users by identity-store user id, which the
// grant pins when it is made: a leftover of an ended grant is removed
// (audit reconciled), an open grant whose assignment or membership vanished
// is re-added (audit drift), and an assignment or membership sym did not
// make is reported and left alone, even in enforce mode (nothing in
// Identity Center marks a permission set or group as sym's alone). Ledger
// rows written before user ids were pinned are upgraded at start: still
// matched, and removed through the user they named.
func TestSSOReconciler(t *testing.T) {
	ctx := context.Background()
	eo := engine.Options{ReconcileEnforce: true}
	o := setupOtherStrategiesWith(t, eo)
	alice, bob := o.alice, o.bob
	b := ssoOutOfBand{t: t, o: o, admin: ssoadmin.NewFromConfig(o.moto.AWSConfig(t)), ids: identitystore.NewFromConfig(o.moto.AWSConfig(t))}
	carol := o.sso.AddUser(t, testenv.SSOUser{UserName: "carol", Email: "carol@elsewhere.example"})
	aliceU := o.aliceU

	// An admin reads the whole audit log.
	root, rootToken := newAdmin(t, o.iam.Admin, o.srv.URL)
	checkActions := func(rep engine.ReconcileReport, want ...string) {
		t.Helper()
		slices.Sort(want)
		if got := actionsOf(rep); !slices.Equal(got, want) || len(rep.Errors) != 0 {
			t.Fatalf("reconcile: %v (errors %v), want %v", got, rep.Errors, want)
		}
		for _, a := range rep.Actions {
			if a.Error != "" {
				t.Fatalf("%s %s failed: %s", a.Action, a.Member, a.Error)
			}
		}
	}
	held := func() (assigned, members []string) {
		return sortedIDs(o.sso.Assigned(t, ssoAccount)...), sortedIDs(o.sso.Members(t)...)
	}

	// Leftovers of ended grants, put back after the requests ended; and
	// carol's assignment and membership, which sym never made.
	r1 := ask(t, alice, "sso-access", "readonly", "1h")
	do(t, bob, "POST", "/requests/"+r1.ID+"/approve", nil, 200)
	do(t, alice, "POST", "/requests/"+r1.ID+"/revoke", nil, 200)
	r2 := ask(t, alice, "sso-access", "oncall", "1h")
	do(t, bob, "POST", "/requests/"+r2.ID+"/approve", nil, 200)
	do(t, alice, "POST", "/requests/"+r2.ID+"/revoke", nil, 200)
	b.assign(aliceU)
	b.join(aliceU)
	b.assign(carol)
	b.join(carol)
	both := sortedIDs(aliceU, carol)
	if a, m := held(); !slices.Equal(a, both) || !slices.Equal(m, both) {
		t.Fatalf("before reconciling: assigned %v, members %v", a, m)
	}
	want := []string{"remove " + aliceU, "remove " + aliceU, "report " + carol, "report " + carol}
	dry := reconcile(t, o.iam.Admin, true)
	checkActions(dry, want...)
	if a, m := held(); !slices.Equal(a, both) || !slices.Equal(m, both) {
		t.Fatalf("a dry run changed something: assigned %v, members %v", a, m)
	}
	checkActions(reconcile(t, o.iam.Admin, false), want...)
	if a, m := held(); !slices.Equal(a, []string{carol}) || !slices.Equal(m, []string{carol}) {
		t.Fatalf("after reconciling: assigned %v, members %v; want alice's leftovers gone and carol left alone", a, m)
	}
	reconciled := eventsOfType(t, root, "reconciled")
	byRequest := map[string]auditEvent{}
	for _, e := range reconciled {
		byRequest[e.RequestID] = e
	}
	if len(reconciled) != 2 || byRequest[r1.ID].Details["member"] != aliceU || byRequest[r2.ID].Details["member"] != aliceU ||
		byRequest[r1.ID].Details["group"] != o.sso.PermissionSetARN+" in account "+ssoAccount ||
		byRequest[r2.ID].Details["group"] != "identity-store group "+o.sso.GroupID {
		t.Fatalf("reconciled events: %+v, want one for each of alice's ended grants, naming the permission set or the group", reconciled)
	}
	drift := eventsOfType(t, root, "drift")
	if len(drift) != 2 {
		t.Fatalf("drift events: %+v, want carol reported once per target", drift)
	}
	for _, e := range drift {
		if e.Details["member"] != carol || e.RequestID != "" || !strings.Contains(e.Details["reason"], "left alone") {
			t.Fatalf("drift event %+v, want carol reported and left alone", e)
		}
	}

	// Open grants of active requests whose assignment and membership were
	// deleted out of band are re-added.
	r3 := ask(t, alice, "sso-access", "readonly", "1h")
	do(t, bob, "POST", "/requests/"+r3.ID+"/approve", nil, 200)
	r4 := ask(t, alice, "sso-access", "oncall", "1h")
	do(t, bob, "POST", "/requests/"+r4.ID+"/approve", nil, 200)
	b.unassign(aliceU)
	b.leave(aliceU)
	checkActions(reconcile(t, o.iam.Admin, false), "re-add "+aliceU, "re-add "+aliceU, "report "+carol, "report "+carol)
	if a, m := held(); !slices.Equal(a, both) || !slices.Equal(m, both) {
		t.Fatalf("after re-adding: assigned %v, members %v", a, m)
	}
	readded := map[string]bool{}
	for _, e := range eventsOfType(t, root, "drift") {
		if e.Details["re_added"] == "true" && e.Details["member"] == aliceU {
			readded[e.RequestID] = true
		}
	}
	if !readded[r3.ID] || !readded[r4.ID] {
		t.Fatalf("drift events do not say alice's grants %s and %s were re-added: %v", r3.ID, r4.ID, readded)
	}
	for _, id := range []string{r3.ID, r4.ID} {
		if r := do(t, alice, "GET", "/requests/"+id, nil, 200); r.State != "active" {
			t.Fatalf("request %s is %s after the re-add", id, r.State)
		}
	}
	// Their end removes alice's access and nothing of carol's.
	do(t, alice, "POST", "/requests/"+r3.ID+"/revoke", nil, 200)
	do(t, alice, "POST", "/requests/"+r4.ID+"/revoke", nil, 200)
	if a, m := held(); !slices.Equal(a, []string{carol}) || !slices.Equal(m, []string{carol}) {
		t.Fatalf("after the revokes: assigned %v, members %v", a, m)
	}

	// Ledger rows from before user ids were pinned: an open grant and an
	// ended one, keyed by the email that found the user.
	r5 := ask(t, alice, "sso-access", "readonly", "1h")
	do(t, bob, "POST", "/requests/"+r5.ID+"/approve", nil, 200)
	r6 := ask(t, alice, "sso-access", "oncall", "1h")
	do(t, bob, "POST", "/requests/"+r6.ID+"/approve", nil, 200)
	do(t, alice, "POST", "/requests/"+r6.ID+"/revoke", nil, 200)
	if err := o.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+o.srv.DB)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE grants SET identity_key=?, pinned=json_remove(pinned, '$.principal_id') WHERE request_id IN (?,?)`,
		"aws_sso:"+o.sso.InstanceARN+":email/alice@example.com", r5.ID, r6.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("rewrote %d ledger rows, want 2", n)
	}
	db.Close()
	again := testenv.StartServerWith(t, testenv.ServerOptions{Moto: o.moto, AWSEndpoint: o.fake.URL, DB: o.srv.DB, Engine: eo,
		SSOPollInterval: 20 * time.Millisecond})
	admin := api.NewClient(again.URL, again.AdminToken)
	b.join(aliceU) // the ended old grant's membership, put back
	checkActions(reconcile(t, admin, false), "remove "+aliceU, "report "+carol, "report "+carol)
	if a, m := held(); !slices.Equal(a, both) || !slices.Equal(m, []string{carol}) {
		t.Fatalf("after reconciling old rows: assigned %v (alice's open grant stays), members %v", a, m)
	}
	root = api.NewClient(again.URL, rootToken)
	found := false
	for _, e := range eventsOfType(t, root, "reconciled") {
		found = found || (e.RequestID == r6.ID && e.Details["member"] == aliceU)
	}
	if !found {
		t.Fatal("no reconciled event for the old row's leftover")
	}
	do(t, admin, "POST", "/requests/"+r5.ID+"/revoke", nil, 200)
	if a, _ := held(); !slices.Equal(a, []string{carol}) {
		t.Fatalf("the old open grant's revoke left assignments %v", a)
	}

	// An old open row whose user cannot be found any more (the email it
	// was looked up by leads nowhere): the reconciler cannot tell whose
	// access it is, so it removes nothing from that target and says so;
	// once that grant has ended, alice's assignment is a leftover again.
	alice, bob = api.NewClient(again.URL, alice.Token), api.NewClient(again.URL, bob.Token)
	r7 := ask(t, alice, "sso-access", "readonly", "1h")
	do(t, bob, "POST", "/requests/"+r7.ID+"/approve", nil, 200)
	db, err = sql.Open("sqlite", "file:"+again.DB+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE grants SET identity_key=?, pinned=json_set(json_remove(pinned, '$.principal_id'), '$.requester', 'ghost@example.com')
		WHERE request_id=?`, "aws_sso:"+o.sso.InstanceARN+":email/ghost@example.com", r7.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rep := reconcile(t, admin, false)
	if got := actionsOf(rep); !slices.Equal(got, sortedIDs("report "+aliceU, "report "+carol, "report "+carol)) ||
		len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "cannot be found") {
		t.Fatalf("with an open grant whose user cannot be found: %v, errors %v; want alice and carol reported and the grant named", got, rep.Errors)
	}
	if a, _ := held(); !slices.Equal(a, both) {
		t.Fatalf("the reconciler removed access an unresolved open grant may cover: assigned %v", a)
	}
	// Its removal looks the user up by what the row names, finds no one,
	// and so removes nothing: alice's assignment is left, and the next
	// pass removes it as the leftover of her earlier grants.
	do(t, admin, "POST", "/requests/"+r7.ID+"/revoke", nil, 200)
	checkActions(reconcile(t, admin, false), "remove "+aliceU, "report "+carol, "report "+carol)
	if a, _ := held(); !slices.Equal(a, []string{carol}) {
		t.Fatalf("after the unresolved grant ended: assigned %v", a)
	}
}
