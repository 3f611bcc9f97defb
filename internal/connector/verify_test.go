package connector

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// deployed is what the modules made in moto, read from terraform outputs.
type deployed struct {
	RuntimeRole string
	ExternalID  string
	IAMRole     string
	Settings    map[string]string
	IAMSettings map[string]string
	SSOSettings map[string]string
	LambdaRole  string
	RuntimeID   string
	Server      *testenv.Server
}

// applyConnectors applies runtime-connector and iam-connector, the way a
// team would, to moto and a temporary sym server.
func applyConnectors(t *testing.T, moto *testenv.Moto) deployed {
	t.Helper()
	modules := modulesCopy(t)
	// The server reaches moto, so that grants can run through the roles
	// the modules make.
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: moto,
		// The server checks the runtime role before every grant here, as
		// `sym server` does before the first.
		Engine: engine.Options{VerifyEvery: time.Nanosecond},
		RuntimeVerifier: func(own aws.Config) func(context.Context, map[string]string) error {
			reader := iam.NewFromConfig(own)
			return func(ctx context.Context, settings map[string]string) error {
				_, err := VerifyRuntime(ctx, reader, settings, nil)
				return err
			}
		},
		// And the SSO and Lambda connector roles before their first grant,
		// the IAM connector role before it adds anyone to a group (its
		// group_config names a group under /teams/: the server allows it).
		ConnectorVerifier: func(own aws.Config) func(context.Context, string, string, string) error {
			return StrategyCheckWith(iam.NewFromConfig(own), awsauth.Guards{GroupPaths: []string{"/sym/", "/teams/"}})
		}})
	dir := t.TempDir()
	main := `terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
    sym = { source = "opensym/sym" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    iam      = "` + moto.URL + `"
    sts      = "` + moto.URL + `"
    ssoadmin = "` + moto.URL + `"
  }
}

provider "sym" {
  org = "default"
}

module "runtime_connector" {
  source              = "` + filepath.Join(modules, "runtime-connector") + `"
  environment         = "prod"
  account_id_safelist = ["111122223333"]
  addons              = ["aws/secretsmgr", "aws/kinesis-firehose"]
}

module "iam_connector" {
  source            = "` + filepath.Join(modules, "iam-connector") + `"
  environment       = "prod"
  runtime_role_arns = [module.runtime_connector.sym_runtime_connector_role.arn]
  group_config = [
    { path = "/sym/", name = "*" },
    { path = "/teams/", name = "db-admins" },
  ]
}

module "sso_connector" {
  source            = "` + filepath.Join(modules, "sso-connector") + `"
  environment       = "prod"
  runtime_role_arns = [module.runtime_connector.sym_runtime_connector_role.arn]
}

module "lambda_connector" {
  source            = "` + filepath.Join(modules, "lambda-connector") + `"
  environment       = "prod"
  runtime_role_arns = [module.runtime_connector.sym_runtime_connector_role.arn]
  lambda_arns       = ["arn:aws:lambda:us-east-1:123456789012:function:sym-grant"]
}

output "sso_settings" { value = module.sso_connector.settings }
output "lambda_role"  { value = module.lambda_connector.settings.role_arn }
output "runtime_role" { value = module.runtime_connector.sym_runtime_connector_role.arn }
output "external_id"  { value = module.runtime_connector.settings.external_id }
output "iam_role"     { value = module.iam_connector.settings.role_arn }
output "settings"     { value = module.runtime_connector.settings }
output "iam_settings" { value = module.iam_connector.settings }
output "runtime_id"   { value = module.runtime_connector.sym_runtime.id }
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(testenv.TerraformEnv(t), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	testenv.Terraform(t, dir, env, "init", "-input=false", "-no-color")
	testenv.Terraform(t, dir, env, "apply", "-auto-approve", "-input=false", "-no-color")
	var outs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(testenv.Terraform(t, dir, env, "output", "-json")), &outs); err != nil {
		t.Fatalf("terraform output: %v", err)
	}
	d := deployed{Server: srv}
	for name, dst := range map[string]any{"runtime_role": &d.RuntimeRole, "external_id": &d.ExternalID, "iam_role": &d.IAMRole,
		"settings": &d.Settings, "iam_settings": &d.IAMSettings, "runtime_id": &d.RuntimeID,
		"sso_settings": &d.SSOSettings, "lambda_role": &d.LambdaRole} {
		if err := json.Unmarshal(outs[name].Value, dst); err != nil {
			t.Fatalf("output %s: %v", name, err)
		}
	}
	return d
}

// TestVerifyDetectsDrift applies the modules, verifies them, then changes
// the roles behind Terraform's back one way at a time (through the IAM API,
// as an attacker or a hurried colleague would) and expects verification to
// fail naming exactly that change, and to pass again once it is undone.
func TestVerifyDetectsDrift(t *testing.T) {
	moto := testenv.StartMoto(t)
	d := applyConnectors(t, moto)
	ctx := context.Background()
	client := iam.NewFromConfig(moto.AWSConfig(t))

	exp := Expectation{
		RuntimeRoleARN:  d.RuntimeRole,
		ExternalID:      d.ExternalID,
		AccountSafelist: []string{"111122223333"},
		Addons:          []string{AddonSecretsManager, AddonKinesisFirehose},
		IAMConnectors: []IAMConnector{{RoleARN: d.IAMRole, Groups: []Group{
			{Path: "/sym/", Name: "*"}, {Path: "/teams/", Name: "db-admins"},
		}}},
		SSOConnectors:    []SSOConnector{{RoleARN: d.SSOSettings["role_arn"], AccountAssignment: true}},
		LambdaConnectors: []LambdaConnector{{RoleARN: d.LambdaRole, FunctionARNs: []string{"arn:aws:lambda:us-east-1:123456789012:function:sym-grant"}}},
		GroupPaths:       []string{"/sym/", "/teams/"},
	}
	verify := func(t *testing.T) Report {
		t.Helper()
		rep, err := Verify(ctx, client, exp)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return rep
	}
	mustPass := func(t *testing.T) {
		t.Helper()
		if rep := verify(t); !rep.OK() {
			t.Fatalf("freshly applied modules must verify, got:\n%s", rep.Text())
		}
	}
	// mustFailWith expects exactly one difference, containing every word.
	mustFailWith := func(t *testing.T, words ...string) {
		t.Helper()
		rep := verify(t)
		diffs := rep.Differences()
		if len(diffs) != 1 {
			t.Fatalf("want exactly one difference naming %q, got %d:\n%s", words, len(diffs), rep.Text())
		}
		for _, w := range words {
			if !strings.Contains(diffs[0], w) {
				t.Errorf("difference %q does not name %q", diffs[0], w)
			}
		}
		if rep.Err() == nil {
			t.Error("Err must be non-nil when there is a difference")
		}
	}

	t.Run("fresh", func(t *testing.T) {
		rep := verify(t)
		if !rep.OK() || len(rep.Roles) != 4 {
			t.Fatalf("want all four roles verified, got:\n%s", rep.Text())
		}
		text := rep.Text()
		for _, want := range []string{
			"only arn:aws:iam::123456789012:root may assume the role, and only with External ID \"" + d.ExternalID + "\"",
			"allows sts:AssumeRole on arn:aws:iam::123456789012:role/sym/*, arn:aws:iam::111122223333:role/sym/*",
			"when aws:ResourceTag/SymEnv equals prod",
			"allows iam:AddUserToGroup, iam:RemoveUserFromGroup on arn:aws:iam::123456789012:group/sym/*, arn:aws:iam::123456789012:group/teams/db-admins",
			"only the runtime connector role " + d.RuntimeRole + " may assume it",
			"policy SymSSOProd: allows sso:CreateAccountAssignment, sso:DeleteAccountAssignment, sso:Describe*, sso:List* on *",
			"policy SymSSOGroupProd: allows identitystore:CreateGroupMembership, identitystore:DeleteGroupMembership on *",
			"policy SymListAccountsProd: allows organizations:ListAccounts, organizations:ListAccountsForParent on *",
			"policy SymSSOProd-Account: allows iam:AttachRolePolicy",
			"allows lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:sym-grant",
			"allowed group paths: membership changes only on groups under /sym/, /teams/ (--allowed-group-paths)",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("report does not say %q:\n%s", want, text)
			}
		}
		// The /teams/ group is a difference under the default paths.
		narrow := exp
		narrow.GroupPaths = nil
		if rep, err := Verify(ctx, client, narrow); err != nil || len(rep.Differences()) != 1 ||
			!strings.Contains(rep.Differences()[0], "group/teams/db-admins, groups outside --allowed-group-paths (/sym/)") {
			t.Errorf("the /teams/ group under the default --allowed-group-paths: %v\n%s", err, rep.Text())
		}
		// The server's check, from the integration settings alone.
		if _, err := VerifyRuntime(ctx, client, d.Settings, nil); err != nil {
			t.Errorf("VerifyRuntime on fresh settings: %v", err)
		}
	})

	t.Run("statement added to the assume-roles policy", func(t *testing.T) {
		arn := "arn:aws:iam::123456789012:policy/sym/SymRuntimeProd"
		undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
			doc["Statement"] = append(doc["Statement"].([]any), map[string]any{
				"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*",
			})
		})
		mustFailWith(t, "assume-roles policy SymRuntimeProd", "grants what the module does not", "iam:CreateAccessKey on *")
		undo()
		mustPass(t)
	})

	t.Run("External ID condition removed from the trust policy", func(t *testing.T) {
		role := roleName(d.RuntimeRole)
		out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		orig := aws.ToString(out.Role.AssumeRolePolicyDocument)
		noCondition := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::123456789012:root"}}]}`
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(noCondition)}); err != nil {
			t.Fatal(err)
		}
		rep := verify(t)
		if rep.OK() || !strings.Contains(strings.Join(rep.Differences(), "\n"), "may assume the role WITHOUT an External ID") {
			t.Fatalf("want the missing External ID named, got:\n%s", rep.Text())
		}
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(decodeIfNeeded(t, orig))}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("trust of the original vendor's account, declared", func(t *testing.T) {
		// A runtime-connector applied with the original's sym_account_id =
		// "803477428605" (before the module refused it): the settings
		// declare the vendor's root, the trust policy names it, and the
		// vendor knows the External ID a migrating team keeps.
		role := roleName(d.RuntimeRole)
		out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		orig := decodeIfNeeded(t, aws.ToString(out.Role.AssumeRolePolicyDocument))
		withVendor := `{"Version":"2012-10-17","Statement":[{"Sid":"SymServerMayAssumeWithExternalId","Effect":"Allow","Action":["sts:AssumeRole"],` +
			`"Principal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:iam::803477428605:root"]},` +
			`"Condition":{"StringEquals":{"sts:ExternalId":"` + d.ExternalID + `"}}}]}`
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(withVendor)}); err != nil {
			t.Fatal(err)
		}
		declared := exp
		declared.TrustedPrincipals = []string{"arn:aws:iam::123456789012:root", "803477428605"}
		rep, err := Verify(ctx, client, declared)
		if err != nil {
			t.Fatal(err)
		}
		if diffs := rep.Differences(); len(diffs) != 1 || !strings.Contains(diffs[0], "803477428605") || !strings.Contains(diffs[0], "vendor") {
			t.Errorf("want one difference naming the vendor's account 803477428605, got:\n%s", rep.Text())
		}
		settings := maps.Clone(d.Settings)
		settings["trusted_principals"] = "arn:aws:iam::123456789012:root,arn:aws:iam::803477428605:root"
		if _, err := VerifyRuntime(ctx, client, settings, nil); err == nil || !strings.Contains(err.Error(), "803477428605") {
			t.Errorf("the server's check passed a runtime role the vendor's account may assume: %v", err)
		}
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(orig)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("an IAM connector shared by the account's runtimes", func(t *testing.T) {
		// The iam-connector takes a list of runtime_role_arns: one
		// connector for prod and staging is what the module makes. Another
		// runtime connector role of the same account (/sym/SymRuntime...)
		// may share it; a role of another account, or any other role, may
		// not.
		role := roleName(d.IAMRole)
		out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		orig := decodeIfNeeded(t, aws.ToString(out.Role.AssumeRolePolicyDocument))
		account := strings.Split(d.RuntimeRole, ":")[4]
		trust := func(t *testing.T, other string) {
			t.Helper()
			doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["` +
				d.RuntimeRole + `","` + other + `"]}}]}`
			if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(doc)}); err != nil {
				t.Fatal(err)
			}
		}
		trust(t, "arn:aws:iam::"+account+":role/sym/SymRuntimeStaging")
		mustPass(t)
		for _, other := range []string{"arn:aws:iam::444455556666:role/sym/SymRuntimeStaging", "arn:aws:iam::" + account + ":role/ci-deployer"} {
			trust(t, other)
			rep := verify(t)
			if diffs := strings.Join(rep.Differences(), "\n"); rep.OK() || !strings.Contains(diffs, "statement the module does not write: allows sts:AssumeRole to ") || !strings.Contains(diffs, other) {
				t.Errorf("an IAM connector also trusted by %s: want the statement named, got:\n%s", other, rep.Text())
			}
		}
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(orig)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("trust of anyone with the External ID, declared", func(t *testing.T) {
		// A hand-written runtime context whose settings declare
		// trusted_principals = "*" (no module writes it): the role may then
		// be assumed from any AWS account by whoever learns the External ID,
		// which every reader of the settings knows.
		role := roleName(d.RuntimeRole)
		out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		orig := decodeIfNeeded(t, aws.ToString(out.Role.AssumeRolePolicyDocument))
		for _, principal := range []string{`"*"`, `{"AWS":"*"}`, `{"AWS":["arn:aws:iam::123456789012:root","*"]}`} {
			anyone := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole"],"Principal":` + principal + `,` +
				`"Condition":{"StringEquals":{"sts:ExternalId":"` + d.ExternalID + `"}}}]}`
			if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(anyone)}); err != nil {
				t.Fatal(err)
			}
			settings := maps.Clone(d.Settings)
			settings["trusted_principals"] = "arn:aws:iam::123456789012:root,*"
			if principal == `{"AWS":"*"}` || principal == `"*"` {
				settings["trusted_principals"] = "*"
			}
			if _, err := VerifyRuntime(ctx, client, settings, nil); err == nil || !strings.Contains(err.Error(), "anyone") {
				t.Errorf("Principal %s: the server's check passed a runtime role anyone may assume: %v", principal, err)
			}
			declared := exp
			declared.TrustedPrincipals = splitList(settings["trusted_principals"])
			if rep := verify2(t, ctx, client, declared); rep.OK() {
				t.Errorf("Principal %s: sym connector verify --trusted-principal '*' passed:\n%s", principal, rep.Text())
			}
		}
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(orig)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("group ARN widened to *", func(t *testing.T) {
		arn := "arn:aws:iam::123456789012:policy/sym/SymIAMProd"
		undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
			doc["Statement"].([]any)[0].(map[string]any)["Resource"] = []any{"*"}
		})
		rep := verify(t)
		all := strings.Join(rep.Differences(), "\n")
		for _, want := range []string{
			"IAM connector " + d.IAMRole + ": policy SymIAMProd: grants what the module does not: allows iam:AddUserToGroup, iam:RemoveUserFromGroup on * without conditions",
			"lacks the module's statement: allows iam:AddUserToGroup, iam:RemoveUserFromGroup on arn:aws:iam::123456789012:group/sym/*",
			"allowed group paths: IAM connector role " + d.IAMRole + ": its policy SymIAMProd lets it change the members of *, groups outside --allowed-group-paths (/sym/,/teams/)",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("want %q among the differences:\n%s", want, rep.Text())
			}
		}
		if len(rep.Differences()) != 3 {
			t.Errorf("want the widened statement, the missing one and the group paths rule, got:\n%s", rep.Text())
		}
		undo()
		mustPass(t)
	})

	t.Run("extra managed policy attached", func(t *testing.T) {
		p, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{
			PolicyName:     aws.String("Convenience"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(p.Policy.Arn)
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(roleName(d.RuntimeRole)), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		mustFailWith(t, "extra policy "+arn, "attached but not declared", "allows s3:* on *")

		// Declared through policy_arns it is listed, not a difference.
		exp.DeclaredPolicyARNs = []string{arn}
		rep := verify(t)
		if !rep.OK() || !strings.Contains(rep.Text(), "declared in policy_arns; allows s3:* on *") {
			t.Errorf("a declared extra policy must be listed with what it allows and pass:\n%s", rep.Text())
		}
		exp.DeclaredPolicyARNs = nil
		if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(roleName(d.RuntimeRole)), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("addons cover the configured log destinations and secrets", func(t *testing.T) {
		covered := exp
		covered.Destinations = []Destination{{Type: "kinesis_firehose", Stream: "sym-audit-fh"}}
		covered.Secrets = []string{"sym/prod/okta"}
		rep := verify2(t, ctx, client, covered)
		text := rep.Text()
		for _, want := range []string{
			"log destination kinesis_firehose sym-audit-fh: the role may write records to arn:aws:firehose:us-east-1:123456789012:deliverystream/sym-audit-fh once it is tagged SymEnv=prod",
			"secret sym/prod/okta: the role may read it when it is tagged SymEnv=prod",
		} {
			if !rep.OK() || !strings.Contains(text, want) {
				t.Errorf("report does not say %q (or differs):\n%s", want, text)
			}
		}
		// A stream the kinesis-data-stream addon was never given.
		uncovered := covered
		uncovered.Destinations = append(slices.Clone(covered.Destinations), Destination{Type: "kinesis_data_stream", Stream: "sym-audit"})
		rep = verify2(t, ctx, client, uncovered)
		if diffs := rep.Differences(); len(diffs) != 1 || !strings.Contains(diffs[0],
			"the role may not kinesis:PutRecord, kinesis:PutRecords on arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit") {
			t.Errorf("want the uncovered stream named, got:\n%s", rep.Text())
		}
		// The secrets addon without its tag condition reads every secret.
		undo := newDefaultVersion(t, client, "arn:aws:iam::123456789012:policy/sym/SymSecretsManagerProd", func(doc map[string]any) {
			delete(doc["Statement"].([]any)[0].(map[string]any), "Condition")
		})
		rep = verify2(t, ctx, client, covered)
		all := strings.Join(rep.Differences(), "\n")
		for _, want := range []string{"secrets scope: the role may read secrets tagged for another environment", "secrets scope: the role may read untagged secrets"} {
			if !strings.Contains(all, want) {
				t.Errorf("want %q among the differences:\n%s", want, rep.Text())
			}
		}
		undo()
		mustPass(t)

		// sym connector verify --from-server finds them in the server.
		admin := api.NewClient(d.Server.URL, d.Server.AdminToken)
		var e struct{ ID string }
		mk := func(kind string, body map[string]any) string {
			t.Helper()
			if err := admin.Do(ctx, "POST", "/entities/"+kind, body, &e); err != nil {
				t.Fatalf("create %s: %v", kind, err)
			}
			return e.ID
		}
		var ctxs []struct{ ID string }
		if err := admin.Do(ctx, "GET", "/entities/integrations?slug=prod-runtime-context", nil, &ctxs); err != nil || len(ctxs) != 1 {
			t.Fatalf("the module's runtime context: %v %v", ctxs, err)
		}
		src := mk("secret-sources", map[string]any{"type": "aws_secrets_manager", "slug": "verify-secrets",
			"settings": map[string]string{"context_id": ctxs[0].ID}})
		mk("secrets", map[string]any{"path": "sym/prod/slack", "source_id": src})
		mk("log-destinations", map[string]any{"type": "kinesis_firehose", "integration_id": ctxs[0].ID,
			"settings": map[string]string{"stream_name": "sym-audit-fh"}})
		cmd := exec.Command(testenv.SymBinary(t), "connector", "verify", "--runtime-role-arn", d.RuntimeRole,
			"--external-id", d.ExternalID, "--account-safelist", "111122223333",
			"--addon", AddonSecretsManager, "--addon", AddonKinesisFirehose, "--from-server")
		cmd.Env = append(append(os.Environ(), moto.Env()...), "SYM_API_URL="+d.Server.URL, "SYM_JWT="+d.Server.AdminToken)
		out, err := cmd.CombinedOutput()
		for _, want := range []string{
			"ok   log destination kinesis_firehose sym-audit-fh: the role may write records",
			"ok   secret sym/prod/slack: the role may read it when it is tagged SymEnv=prod",
			"verified: every connector role is exactly as narrow as its module promises",
		} {
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("sym connector verify --from-server (err %v) does not say %q:\n%s", err, want, out)
			}
		}
	})

	t.Run("secrets addon with its own tag_name, as the server sees it", func(t *testing.T) {
		// runtime-connector with addon_params = { "aws/secretsmgr" = {
		// tag_name = "Team" } } makes exactly this policy; the server's
		// check, which knows no Terraform inputs, must accept it.
		arn := "arn:aws:iam::123456789012:policy/sym/SymSecretsManagerProd"
		undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
			doc["Statement"].([]any)[0].(map[string]any)["Condition"] = map[string]any{
				"StringEquals": map[string]any{"aws:ResourceTag/Team": "prod"}}
		})
		if _, err := VerifyRuntime(ctx, client, d.Settings, nil); err != nil {
			t.Errorf("the server refused the secretsmgr addon the module makes with tag_name Team: %v", err)
		}
		// sym connector verify is told the tag name; SymEnv (its default)
		// is a difference, Team is not.
		if rep := verify(t); rep.OK() || !strings.Contains(strings.Join(rep.Differences(), "\n"), "aws:ResourceTag/Team") {
			t.Errorf("verify expecting SymEnv must name the Team condition:\n%s", rep.Text())
		}
		team := exp
		team.SecretsTagName = "Team"
		if rep := verify2(t, ctx, client, team); !rep.OK() {
			t.Errorf("verify told tag_name Team:\n%s", rep.Text())
		}
		undo()
		// Whatever tag it names, the server still refuses a policy that
		// reads more than the secrets tagged for the environment.
		for name, cond := range map[string]any{
			"any value":          map[string]any{"StringLike": map[string]any{"aws:ResourceTag/Team": "*"}},
			"another env":        map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/Team": "staging"}},
			"no condition":       nil,
			"a NotEquals":        map[string]any{"StringNotEquals": map[string]any{"aws:ResourceTag/Team": "staging"}},
			"two tags, one like": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/Team": "prod"}, "StringLike": map[string]any{"aws:ResourceTag/SymEnv": "*"}},
		} {
			undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
				st := doc["Statement"].([]any)[0].(map[string]any)
				if cond == nil {
					delete(st, "Condition")
				} else {
					st["Condition"] = cond
				}
			})
			if _, err := VerifyRuntime(ctx, client, d.Settings, nil); err == nil || !strings.Contains(err.Error(), "addon aws/secretsmgr") {
				t.Errorf("%s: the server's check must refuse the widened secretsmgr addon: %v", name, err)
			}
			undo()
		}
		mustPass(t)
	})

	t.Run("kinesis-data-stream addon widened to every account and region", func(t *testing.T) {
		// The addon as the module makes it (stream_arns of one stream),
		// attached by hand: the server detects it and accepts it.
		name := "SymKinesisDataStreamProd"
		p, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), Path: aws.String("/sym/"),
			PolicyDocument: aws.String(KinesisDataStreamPolicy([]string{"arn:aws:kinesis:us-east-1:123456789012:stream/sym-*"}).JSON())})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(p.Policy.Arn)
		role := roleName(d.RuntimeRole)
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyRuntime(ctx, client, d.Settings, nil); err != nil {
			t.Errorf("the server refused the kinesis-data-stream addon the module makes: %v", err)
		}
		// The module takes stream ARNs of one region and account (wildcards
		// in the name only); these reach any stream anywhere.
		for _, wide := range [][]any{
			{"arn:aws:kinesis:*:*:stream/*"},
			{"arn:aws:kinesis:us-east-1:*:stream/sym-*"},
			{"arn:aws:kinesis:*:123456789012:stream/sym-*"},
			{"arn:aws:kinesis:us-east-1:123456789012:stream/sym-*", "arn:aws:kinesis:us-east-1:123456789012:*stream/*"},
		} {
			undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
				doc["Statement"].([]any)[0].(map[string]any)["Resource"] = wide
			})
			if _, err := VerifyRuntime(ctx, client, d.Settings, nil); err == nil || !strings.Contains(err.Error(), "addon aws/kinesis-data-stream") {
				t.Errorf("%v: the server's check must refuse the widened kinesis-data-stream addon: %v", wide, err)
			}
			undo()
		}
		if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("Lambda connector widened to every account and region", func(t *testing.T) {
		// lambda-connector takes function ARNs of one region and account
		// (wildcards in the name only); the server's check, which reads the
		// functions back from the policy, must not take these for them.
		arn := "arn:aws:iam::123456789012:policy/sym/SymLambdaProd"
		for _, wide := range [][]any{
			{"arn:aws:lambda:*:*:function:*"},
			{"arn:aws:lambda:us-east-1:*:function:sym-grant"},
			{"arn:aws:lambda:*:123456789012:function:sym-grant"},
			{"arn:aws:lambda:us-east-1:123456789012:function:sym-grant", "arn:aws:lambda:us-east-1:123456789012:*:function:*"},
		} {
			undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
				doc["Statement"].([]any)[0].(map[string]any)["Resource"] = wide
			})
			if err := StrategyCheck(client)(ctx, "aws_lambda", d.RuntimeRole, d.LambdaRole); err == nil || !strings.Contains(err.Error(), "policy SymLambdaProd") {
				t.Errorf("%v: the server's check must refuse the widened Lambda connector: %v", wide, err)
			}
			undo()
		}
		if err := StrategyCheck(client)(ctx, "aws_lambda", d.RuntimeRole, d.LambdaRole); err != nil {
			t.Errorf("the module-made Lambda connector: %v", err)
		}
		mustPass(t)
	})

	t.Run("SSO group policy widened", func(t *testing.T) {
		arn := "arn:aws:iam::123456789012:policy/sym/SymSSOGroupProd"
		undo := newDefaultVersion(t, client, arn, func(doc map[string]any) {
			doc["Statement"] = append(doc["Statement"].([]any), map[string]any{
				"Effect": "Allow", "Action": "identitystore:DeleteUser", "Resource": "*",
			})
		})
		mustFailWith(t, "SSO connector "+d.SSOSettings["role_arn"], "policy SymSSOGroupProd", "grants what the module does not", "identitystore:DeleteUser on *")
		// The server's check of the role, which knows no Terraform inputs.
		err := StrategyCheck(client)(ctx, "aws_sso", d.RuntimeRole, d.SSOSettings["role_arn"])
		if err == nil || !strings.Contains(err.Error(), "identitystore:DeleteUser") {
			t.Errorf("the server's check must refuse the widened role: %v", err)
		}
		undo()
		mustPass(t)
		for typ, role := range map[string]string{"aws_sso": d.SSOSettings["role_arn"], "aws_lambda": d.LambdaRole} {
			if err := StrategyCheck(client)(ctx, typ, d.RuntimeRole, role); err != nil {
				t.Errorf("the server's check of the module-made %s connector: %v", typ, err)
			}
		}
	})

	t.Run("SSO connector without the account-assignment policy", func(t *testing.T) {
		arn := "arn:aws:iam::123456789012:policy/sym/SymSSOProd-Account"
		role := roleName(d.SSOSettings["role_arn"])
		if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		mustFailWith(t, "policy SymSSOProd-Account", "is not attached")
		// sso_account_assignment_enabled = false says it should not be.
		exp.SSOConnectors[0].AccountAssignment = false
		mustPass(t)
		exp.SSOConnectors[0].AccountAssignment = true
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		mustPass(t)
	})

	t.Run("escalation through the module-made roles", func(t *testing.T) {
		escalateThroughModules(t, moto, d)
		escalateSSOThroughModules(t, moto, d)
	})

	t.Run("wrong expectations are differences too", func(t *testing.T) {
		wrong := exp
		wrong.ExternalID = "guessed"
		rep, err := Verify(ctx, client, wrong)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || !strings.Contains(strings.Join(rep.Differences(), "\n"), `requires External ID "`+d.ExternalID+`", expected "guessed"`) {
			t.Errorf("a wrong External ID must be named:\n%s", rep.Text())
		}
		wrong = exp
		wrong.TrustedPrincipals = []string{"arn:aws:iam::123456789012:role/sym-server"}
		rep, _ = Verify(ctx, client, wrong)
		if rep.OK() || !strings.Contains(strings.Join(rep.Differences(), "\n"), "arn:aws:iam::123456789012:root may assume the role, which is not an expected principal") {
			t.Errorf("an account-wide trust where one principal was expected must be named:\n%s", rep.Text())
		}
	})
}

// newDefaultVersion makes a changed copy of a managed policy's default
// version the new default, and returns the undo.
func newDefaultVersion(t *testing.T, client *iam.Client, arn string, change func(map[string]any)) func() {
	t.Helper()
	ctx := context.Background()
	p, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	orig := p.Policy.DefaultVersionId
	v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: orig})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(decodeIfNeeded(t, aws.ToString(v.PolicyVersion.Document))), &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	b, _ := json.Marshal(doc)
	nv, err := client.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(string(b)), SetAsDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := client.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: orig}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: nv.PolicyVersion.VersionId}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify2(t *testing.T, ctx context.Context, client *iam.Client, e Expectation) Report {
	t.Helper()
	rep, err := Verify(ctx, client, e)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func roleName(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func decodeIfNeeded(t *testing.T, doc string) string {
	t.Helper()
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc
	}
	d, err := urlUnescape(doc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
