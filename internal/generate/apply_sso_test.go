package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestGeneratedSSOProjectAppliesAgainstMoto takes the IAM Identity Center
// quickstart through terraform fmt, init, validate and apply against moto
// and a real sym server, then makes a real request: the permission set is
// assigned to the requester's identity-store user on approval (found by
// email) and the assignment is gone after revoke. The AWS Lambda
// quickstart passes fmt, init and validate.
func TestGeneratedSSOProjectAppliesAgainstMoto(t *testing.T) {
	const env = "demo"
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	sso := testenv.SetupSSO(t, m, "ReadOnly", "unused", testenv.SSOUser{UserName: "alice@example.com", Email: "alice@example.com"})
	ctx := context.Background()

	files, err := AWSSSO(AWSIAMOptions{Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(t.TempDir(), "my-access")
	if _, err := Write(project, files, false); err != nil {
		t.Fatal(err)
	}
	envDir := filepath.Join(project, "environments", env)
	run := append(slices.Clone(testenv.TerraformEnv(t)), m.Env()...)
	run = append(run, "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	testenv.Terraform(t, project, run, "fmt", "-check", "-recursive", "-diff")
	tfvars := fmt.Sprintf(`aws_endpoint = %q
runtime_trusted_principal_arns = ["arn:aws:iam::%s:user/sym-server"]
approvers = ["bob@example.com"]
targets = [{ name = "readonly", label = "Read-only", permission_set_arn = %q, account_id = "111122223333" }]
`, m.URL, testenv.MotoAccount, sso.PermissionSetARN)
	if err := os.WriteFile(filepath.Join(envDir, "terraform.tfvars"), []byte(tfvars), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Terraform(t, envDir, run, "init", "-input=false")
	testenv.Terraform(t, envDir, run, "validate")
	testenv.Terraform(t, envDir, run, "apply", "-auto-approve", "-input=false")
	var outputs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(testenv.Terraform(t, envDir, run, "output", "-json")), &outputs); err != nil {
		t.Fatalf("terraform output -json: %v", err)
	}
	var flow, connector, instance string
	for name, into := range map[string]*string{"flow_name": &flow, "sso_connector_role_arn": &connector, "instance_arn": &instance} {
		if err := json.Unmarshal(outputs[name].Value, into); err != nil {
			t.Fatalf("output %s: %v", name, err)
		}
	}
	if flow != env+"-sso-access" || connector != "arn:aws:iam::"+testenv.MotoAccount+":role/sym/SymSSODemo" || instance != sso.InstanceARN {
		t.Fatalf("outputs: flow %q, connector %q, instance %q (moto's is %s)", flow, connector, instance, sso.InstanceARN)
	}

	// A real request through what Terraform declared.
	admin := api.NewClient(srv.URL, srv.AdminToken)
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		if err := admin.Do(ctx, "POST", "/users", map[string]any{"email": email, "role": "member"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var tok struct{ Token string }
	if err := admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "bob@example.com"}, &tok); err != nil {
		t.Fatal(err)
	}
	bob := api.NewClient(srv.URL, tok.Token)
	var r struct{ ID, State, Error string }
	if err := admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": flow, "user_email": "alice@example.com",
		"flow_inputs": map[string]any{"target_id": "readonly", "reason": "quickstart test", "duration": "30m"}}, &r); err != nil {
		t.Fatal(err)
	}
	if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil || r.State != "active" {
		t.Fatalf("approve: %v, %s %s", err, r.State, r.Error)
	}
	if got := sso.Assigned(t, "111122223333"); !slices.Equal(got, []string{sso.Users["alice@example.com"]}) {
		t.Fatalf("assignments during the grant: %v", got)
	}
	if err := admin.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r); err != nil || r.State != "ended" {
		t.Fatalf("revoke: %v, %s", err, r.State)
	}
	if got := sso.Assigned(t, "111122223333"); len(got) != 0 {
		t.Fatalf("assignments after revoke: %v", got)
	}

	// The Lambda quickstart.
	const lenv = "lam"
	fn := "arn:aws:lambda:us-east-1:" + testenv.MotoAccount + ":function:sym-db-access"
	files, err = AWSLambda(AWSIAMOptions{Environment: lenv})
	if err != nil {
		t.Fatal(err)
	}
	lproject := filepath.Join(t.TempDir(), "my-lambda-access")
	if _, err := Write(lproject, files, false); err != nil {
		t.Fatal(err)
	}
	lenvDir := filepath.Join(lproject, "environments", lenv)
	testenv.Terraform(t, lproject, run, "fmt", "-check", "-recursive", "-diff")
	tfvars = fmt.Sprintf(`aws_endpoint = %q
runtime_trusted_principal_arns = ["arn:aws:iam::%s:user/sym-server"]
approvers = ["bob@example.com"]
targets = [{ name = "db", label = "Database", arn = %q }]
`, m.URL, testenv.MotoAccount, fn)
	if err := os.WriteFile(filepath.Join(lenvDir, "terraform.tfvars"), []byte(tfvars), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Terraform(t, lenvDir, run, "init", "-input=false")
	testenv.Terraform(t, lenvDir, run, "validate")
	// Invocations through the aws_lambda strategy are what
	// TestOtherStrategiesEndToEnd and the awslambda tests exercise; a second
	// apply here would double this test's minutes on a shared machine, so
	// the Lambda project stops at validate.
}
