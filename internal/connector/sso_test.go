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

// escalateSSOThroughModules grants an IAM Identity Center permission set
// through the roles the runtime-connector and sso-connector modules made
// (the sso-connector's settings output as the permission context, its
// instance_arn found by the module), and checks that the server refuses an
// SSO connector role that drifted from its module. It runs after
// escalateThroughModules, which declared the environment.
func escalateSSOThroughModules(t *testing.T, moto *testenv.Moto, d deployed) {
	t.Helper()
	ctx := context.Background()
	sso := testenv.SetupSSO(t, moto, "DatabaseAdmin", "db-admins", testenv.SSOUser{UserName: "alice@example.com", Email: "alice@example.com"})
	if sso.InstanceARN != d.SSOSettings["instance_arn"] {
		t.Fatalf("the module found instance %q, moto has %q", d.SSOSettings["instance_arn"], sso.InstanceARN)
	}
	admin := api.NewClient(d.Server.URL, d.Server.AdminToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var envs []struct{ ID string }
	must(admin.Do(ctx, "GET", "/entities/environments?slug=prod", nil, &envs))
	var integ, target, strat struct{ ID string }
	must(admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "prod-sso",
		"external_id": d.SSOSettings["account_id"], "settings": d.SSOSettings}, &integ))
	must(admin.Do(ctx, "POST", "/entities/access-targets", map[string]any{"type": "aws_sso_permission_set", "slug": "db-admin",
		"settings": map[string]string{"permission_set_arn": sso.PermissionSetARN, "account_id": "111122223333"}}, &target))
	must(admin.Do(ctx, "POST", "/entities/access-strategies", map[string]any{"type": "aws_sso", "slug": "prod-sso",
		"integration_id": integ.ID, "targets": []string{target.ID}, "settings": map[string]string{"instance_arn": d.SSOSettings["instance_arn"]}}, &strat))
	must(admin.Do(ctx, "POST", "/entities/flows", map[string]any{"slug": "sso-access", "environment_id": envs[0].ID,
		"params": map[string]any{"strategy_id": strat.ID}, "vars": map[string]string{"approvers": "bob@example.com"}}, nil))
	var tok struct{ Token string }
	must(admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "bob@example.com"}, &tok)) // bob: escalateThroughModules made him
	approver := api.NewClient(d.Server.URL, tok.Token)
	request := func() (r struct{ ID, State, Error string }) {
		must(admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": "sso-access", "user_email": "alice@example.com",
			"flow_inputs": map[string]any{"target_id": "db-admin", "reason": "module test", "duration": "1h"}}, &r))
		must(approver.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r))
		return r
	}
	r := request()
	if r.State != "active" {
		t.Fatalf("SSO grant through the module-made roles: %s %s", r.State, r.Error)
	}
	if got := sso.Assigned(t, "111122223333"); !slices.Equal(got, []string{sso.Users["alice@example.com"]}) {
		t.Fatalf("assignments during the grant: %v", got)
	}
	must(admin.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r))
	if got := sso.Assigned(t, "111122223333"); r.State != "ended" || len(got) != 0 {
		t.Fatalf("after revoke: %s, assignments %v", r.State, got)
	}

	// A policy attached to the SSO connector behind Terraform's back: the
	// server refuses the role before the next grant.
	ic := iam.NewFromConfig(moto.AWSConfig(t))
	p, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("SSOConvenience"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sso:*","Resource":"*"}]}`)})
	must(err)
	role := roleName(d.SSOSettings["role_arn"])
	_, err = ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: p.Policy.Arn})
	must(err)
	r = request()
	if r.State != "errored" || !strings.Contains(r.Error, "SSO connector role") || !strings.Contains(r.Error, "attached but not declared: allows sso:* on *") {
		t.Fatalf("grant through a drifted SSO connector: %s %q", r.State, r.Error)
	}
	if got := sso.Assigned(t, "111122223333"); len(got) != 0 {
		t.Fatalf("assignments after a refused grant: %v", got)
	}
	_, err = ic.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: p.Policy.Arn})
	must(err)
}
