package main_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/internal/testenv"
)

// TestConnectorVerifyAppliesTheServersRules: `sym connector verify` refuses
// what the server refuses. Roles made with the SDK exactly as the modules
// make them, except that the runtime role carries AdministratorAccess
// (declared with --extra-policy, as policy_arns would) and the IAM
// connector may change a group under /teams/: both are differences until
// --allow-broad-runtime-policies and --allowed-group-paths say otherwise.
func TestConnectorVerifyAppliesTheServersRules(t *testing.T) {
	// moto knows the AWS-managed policies only when told to load them.
	t.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
	m := testenv.StartMoto(t)
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(t))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const acct, externalID = testenv.MotoAccount, "verify-rules-external-id"
	role := func(name, trust string, policies map[string]string, managed ...string) string {
		t.Helper()
		out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String("/sym/"), AssumeRolePolicyDocument: aws.String(trust)})
		must(err)
		for pname, doc := range policies {
			p, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(pname), Path: aws.String("/sym/"), PolicyDocument: aws.String(doc)})
			must(err)
			managed = append(managed, aws.ToString(p.Policy.Arn))
		}
		for _, arn := range managed {
			_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)})
			must(err)
		}
		return aws.ToString(out.Role.Arn)
	}
	const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	rt := role("SymRuntimeProd", connector.RuntimeTrustPolicy([]string{"arn:aws:iam::" + acct + ":root"}, externalID).JSON(),
		map[string]string{"SymRuntimeProd": connector.AssumeRolesPolicy("aws", []string{acct}).JSON()}, admin)
	groups := []connector.Group{{Path: "/sym/", Name: "*"}, {Path: "/teams/", Name: "db-admins"}}
	iamRole := role("SymIAMProd", connector.ChainedTrustPolicy([]string{rt}).JSON(),
		map[string]string{"SymIAMProd": connector.IAMConnectorPolicy("aws", acct, groups).JSON()})

	bin := testenv.SymBinary(t)
	verify := func(extra ...string) (string, int) {
		t.Helper()
		args := append([]string{"connector", "verify", "--runtime-role-arn", rt, "--external-id", externalID, "--extra-policy", admin,
			"--iam-connector-role-arn", iamRole, "--group", "/sym/:*", "--group", "/teams/:db-admins"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append(os.Environ(), m.Env()...), "SYM_API_URL=", "SYM_JWT=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	broad := "policy_arns names " + admin + ", an AWS-managed admin-level policy; the server refuses it unless started with --allow-broad-runtime-policies"
	paths := "lets it change the members of arn:aws:iam::" + acct + ":group/teams/db-admins, groups outside --allowed-group-paths (/sym/)"

	out, code := verify()
	if code != 1 || !strings.Contains(out, broad) || !strings.Contains(out, paths) || !strings.Contains(out, "2 difference(s) found") {
		t.Fatalf("default flags: exit %d, want 1 with the two rules' differences:\n%s", code, out)
	}
	out, code = verify("--allow-broad-runtime-policies")
	if code != 1 || strings.Contains(out, broad) || !strings.Contains(out, paths) || !strings.Contains(out, "1 difference(s) found") {
		t.Fatalf("--allow-broad-runtime-policies: exit %d, want 1 with the group paths difference only:\n%s", code, out)
	}
	out, code = verify("--allow-broad-runtime-policies", "--allowed-group-paths", "/sym/,/teams/")
	if code != 0 || !strings.Contains(out, "membership changes only on groups under /sym/, /teams/") ||
		!strings.Contains(out, "verified: every connector role is exactly as narrow as its module promises") {
		t.Fatalf("both flags: exit %d, want 0:\n%s", code, out)
	}
	if out, code = verify("--allowed-group-paths", "teams"); code != 2 || !strings.Contains(out, "--allowed-group-paths") {
		t.Fatalf("a bad --allowed-group-paths: exit %d, want 2 naming the flag:\n%s", code, out)
	}
}
