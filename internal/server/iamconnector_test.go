package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/policy"
	"github.com/opensym/sym/internal/testenv"
)

// TestIAMConnectorRoleIsVerified: the IAM connector role is checked like
// the runtime role. Roles made with the SDK: one shaped as the
// iam-connector module makes it passes; hand-made ones whose policies let
// them change membership of groups outside --allowed-group-paths (Resource
// "*", group/*, a path prefix without its slash, NotResource, NotAction,
// an extra inline iam:*) are refused naming the rule. Through the server:
// the check runs before the first AddUserToGroup, is trusted for the
// verify interval, runs again at once after an AccessDenied and then
// refuses the role widened meanwhile, with no AddUserToGroup reaching AWS;
// removals do not wait for it.
func TestIAMConnectorRoleIsVerified(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	opt := engine.Options{GrantAttempts: 2, RetryBase: 20 * time.Millisecond, RetryCap: 100 * time.Millisecond, VerifyEvery: time.Hour}
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, Engine: opt,
		ConnectorVerifier: func(own aws.Config) func(context.Context, string, string, string) error {
			return connector.StrategyCheckWith(iam.NewFromConfig(own), awsauth.Guards{})
		}})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 3})
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(t))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const acct = testenv.MotoAccount
	trust := connector.ChainedTrustPolicy([]string{f.RuntimeRole}).JSON()
	attach := func(role, name, doc string) {
		t.Helper()
		p, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), Path: aws.String("/sym/"), PolicyDocument: aws.String(doc)})
		must(err)
		_, err = ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: p.Policy.Arn})
		must(err)
	}
	inline := func(role, name, doc string) {
		t.Helper()
		_, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		must(err)
	}
	membership := func(stmt string) string {
		return `{"Version":"2012-10-17","Statement":[` + stmt + `,{"Effect":"Allow","Action":["iam:GetGroup","iam:GetUser","iam:ListGroups","iam:ListGroupsForUser"],"Resource":"*"}]}`
	}
	module := func(groups ...connector.Group) string {
		return connector.IAMConnectorPolicy("aws", acct, groups).JSON()
	}
	teams := awsauth.Guards{GroupPaths: []string{"/sym/", "/teams/"}}

	t.Run("roles made with the SDK", func(t *testing.T) {
		for i, c := range []struct {
			name   string
			guards awsauth.Guards
			policy string // the managed policy named after the role
			inline string // an inline policy beside it
			refuse string // "" passes; else the resource the refusal names
		}{
			{name: "module's shape", policy: module(connector.DefaultGroups...)},
			{name: "module's shape, /teams/ allowed", guards: teams, policy: module(connector.Group{Path: "/sym/", Name: "*"}, connector.Group{Path: "/teams/", Name: "db-admins"})},
			{name: "module's shape, /teams/ not allowed", policy: module(connector.Group{Path: "/sym/", Name: "*"}, connector.Group{Path: "/teams/", Name: "db-admins"}),
				refuse: "arn:aws:iam::" + acct + ":group/teams/db-admins"},
			{name: "Resource *", policy: membership(`{"Effect":"Allow","Action":["iam:AddUserToGroup","iam:RemoveUserFromGroup"],"Resource":"*"}`), refuse: "members of *,"},
			{name: "every group", policy: membership(`{"Effect":"Allow","Action":["iam:AddUserToGroup","iam:RemoveUserFromGroup"],"Resource":"arn:aws:iam::` + acct + `:group/*"}`),
				refuse: "arn:aws:iam::" + acct + ":group/*"},
			{name: "path prefix without its slash", policy: membership(`{"Effect":"Allow","Action":"iam:AddUserToGroup","Resource":"arn:aws:iam::` + acct + `:group/sym*"}`),
				refuse: "arn:aws:iam::" + acct + ":group/sym*"},
			{name: "NotResource", policy: membership(`{"Effect":"Allow","Action":"iam:Add*","NotResource":"arn:aws:iam::` + acct + `:group/admins/*"}`), refuse: "members of *,"},
			{name: "NotAction", policy: membership(`{"Effect":"Allow","NotAction":"iam:Delete*","Resource":"*"}`), refuse: "members of *,"},
			{name: "module's policy and an inline iam:*", policy: module(connector.DefaultGroups...),
				inline: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`, refuse: "inline policy Convenience"},
		} {
			role := fmt.Sprintf("SymIAMCase%d", i)
			out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), Path: aws.String("/sym/"), AssumeRolePolicyDocument: aws.String(trust)})
			must(err)
			attach(role, role, c.policy)
			if c.inline != "" {
				inline(role, "Convenience", c.inline)
			}
			err = connector.MembershipCheck(ic, c.guards)(ctx, awsauth.Runtime{RoleARN: f.RuntimeRole}, aws.ToString(out.Role.Arn))
			switch {
			case c.refuse == "" && err != nil:
				t.Errorf("%s: refused: %v", c.name, err)
			case c.refuse != "" && (!awsauth.IsGuard(err) || !strings.Contains(err.Error(), "--allowed-group-paths") || !strings.Contains(err.Error(), c.refuse)):
				t.Errorf("%s: want a guard refusal naming --allowed-group-paths and %q, got %v", c.name, c.refuse, err)
			}
		}
	})

	t.Run("through the server", func(t *testing.T) {
		// The fixture's connector role, made as the module makes it.
		role := f.IAMRole[strings.LastIndex(f.IAMRole, "/")+1:]
		_, err := ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(trust)})
		must(err)
		attach(role, role, module(connector.DefaultGroups...))
		alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
		grant := func(target string) *req {
			t.Helper()
			r := ask(t, alice, f.Flow, target, "1h")
			return do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		}
		first := grant(f.Targets[0])
		if first.State != "active" || fp.Seen("GetRole") != 1 {
			t.Fatalf("first grant: %s %q with %d role reads; want active after 1", first.State, first.Error, fp.Seen("GetRole"))
		}
		// One check reads the role, its one managed policy once, and its
		// (no) inline policies: five IAM reads.
		reads := 0
		for _, a := range []string{"GetRole", "ListAttachedRolePolicies", "GetPolicy", "GetPolicyVersion", "ListRolePolicies", "GetRolePolicy"} {
			reads += fp.Seen(a)
		}
		if reads != 5 {
			t.Fatalf("the check made %d IAM reads, want 5: %v", reads, fp.Counts())
		}
		if a := grant(f.Targets[1]); a.State != "active" || fp.Seen("GetRole") != 1 {
			t.Fatalf("second grant within the interval: %s %q with %d role reads; want active, the check trusted", a.State, a.Error, fp.Seen("GetRole"))
		}
		// Someone widens the role; AWS then refuses a call (as it would
		// after any change): the next attempt checks again, and refuses.
		inline(role, "Convenience", policy.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AddUserToGroup","Resource":"arn:aws:iam::`+acct+`:group/*"}]}`).JSON())
		fp.Add(testenv.Fault{Action: "AddUserToGroup", Status: 403, Code: "AccessDenied", Times: 1})
		a := grant(f.Targets[2])
		if a.State != "errored" || !strings.Contains(a.Error, "--allowed-group-paths") || !strings.Contains(a.Error, "inline policy Convenience") ||
			!strings.Contains(a.Error, "group/*") {
			t.Fatalf("grant through a widened role after an AccessDenied: %s %q; want errored naming the policy, the groups and the flag", a.State, a.Error)
		}
		if fp.Seen("GetRole") != 2 || fp.Forwarded("AddUserToGroup") != 2 {
			t.Fatalf("role reads %d (want 2: checked again at once), AddUserToGroup reaching AWS %d (want 2: none after the refusal)",
				fp.Seen("GetRole"), fp.Forwarded("AddUserToGroup"))
		}
		if got := members(t, m, f.Groups[2]); len(got) != 0 {
			t.Fatalf("members after a refused grant: %v", got)
		}
		// Removal does not wait for the check: the widened role still
		// takes alice out.
		if r := do(t, bob, "POST", "/requests/"+first.ID+"/revoke", nil, 200); r.State != "ended" {
			t.Fatalf("revoke through the refused role: %s %q", r.State, r.Error)
		}
		if got := members(t, m, f.Groups[0]); len(got) != 0 {
			t.Fatalf("members after the revoke: %v", got)
		}
	})
}
