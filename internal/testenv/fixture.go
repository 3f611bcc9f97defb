package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
)

// FixtureExternalID is the runtime connector's External ID in SetupIAMFlow;
// every in-process server's log is checked not to hold it.
const FixtureExternalID = "3f1c5e9a-7b1d-4d0e-9c55-0a1b2c3d4e5f"

// IAMFlow is a complete aws_iam setup: IAM users, groups and the two
// connector roles in moto, and the entities that use them in a sym server.
type IAMFlow struct {
	Flow        string // flow name
	FlowID      string
	Targets     []string // target names, one per group
	Groups      []string // IAM group names
	RuntimeRole string
	IAMRole     string
	ExternalID  string
	Admin       *api.Client // the admin bot
	// Users maps an email to its API client; each has an IAM user of the
	// same name before the @.
	Users map[string]*api.Client
	// Auditor is a user with role auditor (auditor@example.com): it reads
	// the whole audit log, which automation tokens may not.
	Auditor *api.Client
}

// IAMFlowOptions shape SetupIAMFlow.
type IAMFlowOptions struct {
	Groups int               // IAM groups / targets (default 1)
	Users  []string          // emails (default alice@example.com, bob@example.com)
	Vars   map[string]string // flow vars (approvers default to every user)
	Params map[string]any    // extra flow params
}

// SetupIAMFlow creates the AWS side in moto through the SDK and the sym
// side through the API, as a team would.
func SetupIAMFlow(tb testing.TB, m *Moto, baseURL, adminToken string, o IAMFlowOptions) *IAMFlow {
	tb.Helper()
	if o.Groups == 0 {
		o.Groups = 1
	}
	if o.Users == nil {
		o.Users = []string{"alice@example.com", "bob@example.com"}
	}
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(tb))
	must := func(err error, what string) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	rt, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("SymRuntimeProd"), Path: aws.String("/sym/"), AssumeRolePolicyDocument: aws.String(trust)})
	must(err, "create runtime role")
	conn, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("SymIAMProd"), Path: aws.String("/sym/"), AssumeRolePolicyDocument: aws.String(trust)})
	must(err, "create IAM connector role")
	f := &IAMFlow{RuntimeRole: *rt.Role.Arn, IAMRole: *conn.Role.Arn, ExternalID: FixtureExternalID,
		Admin: api.NewClient(baseURL, adminToken), Users: map[string]*api.Client{}}
	for i := 0; i < o.Groups; i++ {
		g := fmt.Sprintf("sym-prod-admins-%d", i)
		_, err := ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(g), Path: aws.String("/sym/")})
		must(err, "create group")
		f.Groups = append(f.Groups, g)
	}
	for _, email := range o.Users {
		name := email[:len(email)-len("@example.com")]
		_, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		must(err, "create IAM user")
		must(f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": email, "role": "member",
			"identities": map[string]string{"aws_iam": name}}, nil), "create sym user")
		var tok struct{ Token string }
		must(f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": email}, &tok), "issue token")
		f.Users[email] = api.NewClient(baseURL, tok.Token)
	}
	must(f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "auditor@example.com", "role": "auditor"}, nil), "create the auditor")
	var audTok struct{ Token string }
	must(f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "auditor@example.com"}, &audTok), "issue the auditor's token")
	f.Auditor = api.NewClient(baseURL, audTok.Token)
	var e struct{ ID string }
	post := func(kind string, body map[string]any) string {
		tb.Helper()
		must(f.Admin.Do(ctx, "POST", "/entities/"+kind, body, &e), "create "+kind)
		return e.ID
	}
	rtCtx := post("integrations", map[string]any{"type": "permission_context", "slug": "prod-runtime-context",
		"external_id": MotoAccount, "settings": map[string]string{"cloud": "aws", "region": "us-east-1",
			"role_arn": f.RuntimeRole, "external_id": f.ExternalID, "account_id": MotoAccount}})
	runtime := post("runtimes", map[string]any{"slug": "prod", "context_id": rtCtx})
	env := post("environments", map[string]any{"slug": "prod", "runtime_id": runtime})
	connCtx := post("integrations", map[string]any{"type": "permission_context", "slug": "prod-iam-context",
		"external_id": MotoAccount, "settings": map[string]string{"cloud": "aws", "region": "us-east-1",
			"role_arn": f.IAMRole, "account_id": MotoAccount}})
	var targetIDs []string
	for _, g := range f.Groups {
		name := g
		targetIDs = append(targetIDs, post("access-targets", map[string]any{"type": "aws_iam_group", "slug": name,
			"label": "Group " + g, "settings": map[string]string{"iam_group": g}}))
		f.Targets = append(f.Targets, name)
	}
	strat := post("access-strategies", map[string]any{"type": "aws_iam", "slug": "prod-iam", "integration_id": connCtx, "targets": targetIDs})
	params := map[string]any{"strategy_id": strat, "allow_revoke": true, "schedule_deescalation": true}
	for k, v := range o.Params {
		params[k] = v
	}
	vars := map[string]string{}
	for k, v := range o.Vars {
		vars[k] = v
	}
	if _, ok := vars["approvers"]; !ok {
		// Every fixture user approves the others' requests (never their
		// own): a flow without approvers is for admins only.
		vars["approvers"] = strings.Join(o.Users, ", ")
	}
	f.FlowID = post("flows", map[string]any{"slug": "aws-access", "environment_id": env, "params": params, "vars": vars})
	f.Flow = "aws-access"
	return f
}

// GroupMembers lists the IAM user names in a group, read from IAM itself.
func GroupMembers(tb testing.TB, m *Moto, group string) []string {
	tb.Helper()
	out, err := iam.NewFromConfig(m.AWSConfig(tb)).GetGroup(context.Background(), &iam.GetGroupInput{GroupName: aws.String(group)})
	if err != nil {
		tb.Fatalf("GetGroup %s: %v", group, err)
	}
	var names []string
	for _, u := range out.Users {
		names = append(names, *u.UserName)
	}
	return names
}
