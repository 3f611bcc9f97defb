package connector

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// escalateThroughModules registers the roles the modules made (through their
// outputs: the sym_runtime the runtime-connector declared, the iam-connector's
// settings) and runs a real escalation and de-escalation with the engine.
func escalateThroughModules(t *testing.T, moto *testenv.Moto, d deployed) {
	t.Helper()
	ctx := context.Background()
	ic := iam.NewFromConfig(moto.AWSConfig(t))
	if _, err := ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("prod-admins"), Path: aws.String("/sym/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	admin := api.NewClient(d.Server.URL, d.Server.AdminToken)
	var r struct{ ID, State, Error string }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var env, integ, target, strat, flow struct{ ID string }
	must(admin.Do(ctx, "POST", "/entities/environments", map[string]any{"slug": "prod", "runtime_id": d.RuntimeID}, &env))
	must(admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "prod-iam",
		"external_id": d.IAMSettings["account_id"], "settings": d.IAMSettings}, &integ))
	must(admin.Do(ctx, "POST", "/entities/access-targets", map[string]any{"type": "aws_iam_group", "slug": "prod-admins",
		"settings": map[string]string{"iam_group": "prod-admins"}}, &target))
	must(admin.Do(ctx, "POST", "/entities/access-strategies", map[string]any{"type": "aws_iam", "slug": "prod-iam",
		"integration_id": integ.ID, "targets": []string{target.ID}}, &strat))
	must(admin.Do(ctx, "POST", "/entities/flows", map[string]any{"slug": "aws-access", "environment_id": env.ID,
		"params": map[string]any{"strategy_id": strat.ID}, "vars": map[string]string{"approvers": "bob@example.com"}}, &flow))
	must(admin.Do(ctx, "POST", "/users", map[string]any{"email": "alice@example.com", "identities": map[string]string{"aws_iam": "alice"}}, nil))
	// Automation tokens never approve (docs/authz.md): bob, the flow's approver, does.
	grantAndRevoke(t, moto, d.Server, "aws-access", "alice@example.com", "prod-admins", "alice", "bob@example.com")
	var tok struct{ Token string }
	must(admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "bob@example.com"}, &tok))
	approver := api.NewClient(d.Server.URL, tok.Token)

	// The server refuses a runtime role that drifted from its module: the
	// External ID condition removed behind Terraform's back.
	role := roleName(d.RuntimeRole)
	out, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	must(err)
	orig := decodeIfNeeded(t, aws.ToString(out.Role.AssumeRolePolicyDocument))
	_, err = ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::123456789012:root"}}]}`)})
	must(err)
	must(admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": "aws-access", "user_email": "alice@example.com",
		"flow_inputs": map[string]any{"target_id": "prod-admins", "reason": "after drift", "duration": "1h"}}, &r))
	must(approver.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r))
	if r.State != "errored" || !strings.Contains(r.Error, "not what its module promises") || !strings.Contains(r.Error, "WITHOUT an External ID") {
		t.Fatalf("grant through a drifted runtime role: state %s, error %q", r.State, r.Error)
	}
	if got := testenv.GroupMembers(t, moto, "prod-admins"); len(got) != 0 {
		t.Fatalf("group members after a refused grant: %v", got)
	}
	_, err = ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(orig)})
	must(err)
}

// grantAndRevoke requests flow's access to group for email; approver (one
// of the flow's vars.approvers: automation tokens never approve) approves
// it, and the server must have chained two roles and added iamUser to the
// group once; then it revokes, and the group must be empty again.
func grantAndRevoke(t *testing.T, moto *testenv.Moto, srv *testenv.Server, flow, email, group, iamUser, approver string) {
	t.Helper()
	ctx := context.Background()
	admin := api.NewClient(srv.URL, srv.AdminToken)
	if err := admin.Do(ctx, "POST", "/users", map[string]any{"email": approver, "role": "member"}, nil); err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	if err := admin.Do(ctx, "POST", "/tokens", map[string]any{"user_email": approver}, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token for %s: %v", approver, err)
	}
	lead := api.NewClient(srv.URL, tok.Token)
	var r struct{ ID, State, Error string }
	if err := admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": flow, "user_email": email,
		"flow_inputs": map[string]any{"target_id": group, "reason": "module test", "duration": "1h"}}, &r); err != nil {
		t.Fatal(err)
	}
	before := srv.Chain.Calls().Snapshot()
	if err := lead.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.State != "active" {
		t.Fatalf("grant through the module-made roles: %s %s", r.State, r.Error)
	}
	after := srv.Chain.Calls().Snapshot()
	if after["STS.AssumeRole"]-before["STS.AssumeRole"] != 2 || after["IAM.AddUserToGroup"]-before["IAM.AddUserToGroup"] != 1 {
		t.Fatalf("the grant did not chain two roles and add once: %v -> %v", before, after)
	}
	if got := testenv.GroupMembers(t, moto, group); !slices.Equal(got, []string{iamUser}) {
		t.Fatalf("group members during the grant: %v", got)
	}
	if err := lead.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r); err != nil {
		t.Fatal(err)
	}
	if r.State != "ended" {
		t.Fatalf("revoke: %s %s", r.State, r.Error)
	}
	if got := testenv.GroupMembers(t, moto, group); len(got) != 0 {
		t.Fatalf("group members after de-escalation: %v", got)
	}
}
