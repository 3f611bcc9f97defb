package provider

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

const providerBlock = `
provider "sym" {
  org     = "default"
  api_url = "{{URL}}"
}
`

// TestAccBadValues checks that a bad value of every resource fails at plan,
// before anything reaches the server, with a message that says what to fix.
func TestAccBadValues(t *testing.T) {
	srv := startServer(t)
	cases := []struct {
		hcl  string
		want string
	}{
		{`resource "sym_environment" "x" { name = "my prod" }`,
			`name.*must contain no whitespace`},
		{`resource "sym_integration" "x" {
  type     = "permission_context"
  name     = "ctx"
  settings = { cloud = "aws", role_arn = "arn:aws:iam::123:user/bob" }
}`, `(?s)Invalid permission context.*settings.role_arn`},
		// The server's grammar of a role ARN (one path, no blank), checked
		// at plan as the server checks it at apply.
		{`resource "sym_integration" "x" {
  type     = "permission_context"
  name     = "ctx"
  settings = { role_arn = "arn:aws:iam::123456789012:role/sym//SymIAM Prod" }
}`, `(?s)Invalid permission context.*settings.role_arn.*is not\s+an IAM role ARN`},
		{`resource "sym_runtime" "x" {
  name       = "prod"
  context_id = ""
}`, `(?s)context_id.*length must be at least 1`},
		{`resource "sym_target" "x" {
  type = "aws_iam_group"
  name = "ro"
}`, `A target of type aws_iam_group needs settings.iam_group`},
		{`resource "sym_target" "x" {
  type     = "aws_sso_permission_set"
  name     = "ps"
  settings = { permission_set_arn = "ps-1234", account_id = "1234" }
}`, `(?s)settings.permission_set_arn "ps-1234" is not a permission set ARN.*settings.account_id\s+"1234" is not a 12-digit AWS account id`},
		{`resource "sym_target" "x" {
  type = "aws_sso_group"
  name = "g"
}`, `A target of type aws_sso_group needs settings.group_id`},
		{`resource "sym_target" "x" {
  type     = "aws_lambda_function"
  name     = "fn"
  settings = { arn = "sym-grant" }
}`, `settings.arn "sym-grant" is not a Lambda function ARN`},
		{`resource "sym_strategy" "x" {
  type = "aws_sso"
  name = "s"
}`, `An aws_sso strategy needs settings.instance_arn`},
		{`resource "sym_strategy" "x" {
  type = "aws_iam_groups"
  name = "s"
}`, `(?s)type.*value must be one of`},
		{`resource "sym_flow" "x" {
  name           = "f"
  environment_id = "00000000-0000-0000-0000-000000000000"
  implementation = "impl.py"
  params {}
}`, `(?s)implementation is a path.*file\("impl.py"\)`},
		{`resource "sym_flow" "x" {
  name           = "f"
  environment_id = "00000000-0000-0000-0000-000000000000"
  implementation = "pass"
  params {
    allow_revoke          = false
    schedule_deescalation = false
  }
}`, `At least one of params.allow_revoke and params.schedule_deescalation must be\s+true`},
		{`resource "sym_flow" "x" {
  name           = "f"
  environment_id = "00000000-0000-0000-0000-000000000000"
  implementation = "pass"
  params {
    prompt_field {
      name = "n"
      type = "float"
    }
  }
}`, `(?s)prompt_field.*type.*value must be one of`},
		{`resource "sym_secrets" "x" {
  type = "aws_secrets_manager"
  name = "s"
}`, `needs settings.context_id`},
		{`resource "sym_secret" "x" {
  path      = ""
  source_id = "00000000-0000-0000-0000-000000000000"
}`, `(?s)path.*length must be at least 1`},
		{`resource "sym_log_destination" "x" {
  type     = "kinesis_firehose"
  settings = { region = "us-east-1" }
}`, `settings.stream_name: a log destination of type kinesis_firehose needs\s+stream_name`},
		{`resource "sym_log_destination" "x" {
  type     = "http"
  settings = { url = "hooks.example.com/audit" }
}`, `(?s)settings.url.*"hooks.example.com/audit" is not an http:// or https://\s+URL`},
		{`resource "sym_log_destination" "x" {
  type     = "s3"
  settings = { bucket = "audit" }
}`, `(?s)type.*value must be one of.*kinesis_firehose`},
		{`resource "sym_flow" "x" {
  name           = "f"
  environment_id = "00000000-0000-0000-0000-000000000000"
  implementation = "pass"
  vars           = { max_duration = "forever" }
  params {}
}`, `(?s)vars.max_duration: "forever" is not a duration`},
		{`resource "sym_error_logger" "x" {
  destination = ""
}`, `(?s)destination.*length must be at least 1`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      render(providerBlock, "URL", srv.URL) + c.hcl,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(c.want),
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: protoV6Factories, Steps: steps})
	// Nothing reached the server.
	for _, kind := range []string{"environments", "integrations", "runtimes", "access-targets", "access-strategies", "flows", "secret-sources", "secrets", "log-destinations", "error-loggers"} {
		all, err := adminClient(srv).lookup(context.Background(), kind, "", "")
		if err != nil || len(all) != 0 {
			t.Errorf("%s on the server after plans that failed: %v %v", kind, all, err)
		}
	}
}

// TestAccProviderErrors checks the messages a user gets for a server of
// another organisation, a bad token, a token without the admin role, and
// a server that does not answer.
func TestAccProviderErrors(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	admin := adminClient(srv)
	if err := admin.do(ctx, http.MethodPost, "/users", nil, map[string]any{"email": "member@example.com", "role": "member"}, nil); err != nil {
		t.Fatalf("create a member: %v", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := admin.do(ctx, http.MethodPost, "/tokens", nil, map[string]any{"user_email": "member@example.com"}, &tok); err != nil || tok.Token == "" {
		t.Fatalf("create a member token: %v", err)
	}
	t.Setenv("MEMBER_JWT", tok.Token)
	t.Setenv("BAD_JWT", "not-a-token")

	const env = `resource "sym_environment" "x" { name = "prod" }`
	cfg := func(org, url, tokenVar string) string {
		return render(`
provider "sym" {
  org         = "{{ORG}}"
  api_url     = "{{URL}}"
  jwt_env_var = "{{VAR}}"
}
`, "ORG", org, "URL", url, "VAR", tokenVar) + env
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: cfg("acme", srv.URL, "SYM_JWT"), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Wrong organisation.*configured for org "acme" but the sym\s+server.*runs org "default"`)},
			{Config: cfg("default", srv.URL, "BAD_JWT"), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)refused the token \(401 Unauthorized\).*set SYM_JWT`)},
			{Config: cfg("default", "http://127.0.0.1:1", "SYM_JWT"), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)cannot reach the sym server at\s+http://127.0.0.1:1`)},
			{Config: cfg("default", srv.URL, "NO_SUCH_VAR"), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)No sym API token.*NO_SUCH_VAR is empty.*sym tokens issue`)},
			// A member may plan (reads) but not create.
			{Config: cfg("default", srv.URL, "MEMBER_JWT"),
				ExpectError: regexp.MustCompile(`(?s)Creating sym environment.*may not do this \(403 Forbidden\).*admin`)},
		},
	})
}

// TestAccProviderOrgFallback: without org in the provider block the
// provider takes SYM_ORG, and without that the organisation the server
// reports (as an unconfigured provider instance of a module does); a
// SYM_ORG of another organisation is refused.
func TestAccProviderOrgFallback(t *testing.T) {
	srv := startServer(t)
	cfg := render(`
provider "sym" {
  api_url = "{{URL}}"
}

resource "sym_environment" "x" { name = "prod" }
`, "URL", srv.URL)
	t.Setenv(OrgEnvVar, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true},
			{PreConfig: func() { os.Setenv(OrgEnvVar, "DEFAULT") }, Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true},
			{PreConfig: func() { os.Setenv(OrgEnvVar, "acme") }, Config: cfg, PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Wrong organisation.*configured for org "acme".*runs org "default".*SYM_ORG`)},
		},
	})
}
