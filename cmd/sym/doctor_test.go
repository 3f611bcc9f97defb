package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/internal/testenv"
)

// TestDoctorJudgesRuntimeRolesByTheServersGuardRails: a runtime role made
// exactly as the runtime-connector module makes it, whose declared
// policy_arns name AdministratorAccess, passes `sym doctor` against a server
// started with --allow-broad-runtime-policies and fails it, naming the flag,
// against the same database served without it. A server that does not say
// its guard rails (an older one: here the flagged server behind a proxy that
// drops the field) is judged strictly, and doctor says so. Members are not
// told the guard rails: they are about integration settings, which only
// entities.read callers see.
func TestDoctorJudgesRuntimeRolesByTheServersGuardRails(t *testing.T) {
	// moto knows the AWS-managed policies only when told to load them.
	t.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
	m := testenv.StartMoto(t)
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sym.db")
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	broad := testenv.StartSymProcess(t, db, testenv.FreePort(t), m.Env(), "--allow-broad-runtime-policies")
	admin := api.NewClient(broad.URL, broad.AdminToken)
	var info struct {
		AWSIdentity struct {
			PrincipalARN string `json:"principal_arn"`
		} `json:"aws_identity"`
		GuardRails *struct {
			AllowBroadRuntimePolicies bool `json:"allow_broad_runtime_policies"`
		} `json:"guard_rails"`
	}
	must(admin.Do(ctx, "GET", "/server", nil, &info))
	principal := info.AWSIdentity.PrincipalARN
	if principal == "" {
		t.Fatalf("the server did not say its principal:\n%s", broad.Log.String())
	}

	// The runtime role as the module makes it for this server, with
	// AdministratorAccess as its one extra policy.
	const externalID, adminPolicy = "doctor-guard-rails-external-id", "arn:aws:iam::aws:policy/AdministratorAccess"
	ic := iam.NewFromConfig(m.AWSConfig(t))
	out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("SymRuntimeProd"), Path: aws.String("/sym/"),
		AssumeRolePolicyDocument: aws.String(connector.RuntimeTrustPolicy([]string{principal}, externalID).JSON())})
	must(err)
	role := aws.ToString(out.Role.Arn)
	p, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("SymRuntimeProd"), Path: aws.String("/sym/"),
		PolicyDocument: aws.String(connector.AssumeRolesPolicy("aws", []string{testenv.MotoAccount}).JSON())})
	must(err)
	for _, arn := range []string{aws.ToString(p.Policy.Arn), adminPolicy} {
		_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("SymRuntimeProd"), PolicyArn: aws.String(arn)})
		must(err)
	}
	must(admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "permission_context", "slug": "prod-runtime-context",
		"external_id": testenv.MotoAccount, "settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": role,
			"external_id": externalID, "account_id": testenv.MotoAccount, "trusted_principals": principal, "policy_arns": adminPolicy}}, nil))

	// A member reads the server's answer without the guard rails.
	if o, code := symRun(bin, broad.URL, broad.AdminToken, "users", "create", "mia@example.com"); code != 0 {
		t.Fatalf("users create (%d): %s", code, o)
	}
	var raw map[string]any
	must(api.NewClient(broad.URL, tokenFor(t, bin, broad.URL, broad.AdminToken, "mia@example.com")).Do(ctx, "GET", "/server", nil, &raw))
	if _, ok := raw["guard_rails"]; ok {
		t.Errorf("a member was told the guard rails: %v", raw)
	}

	doctor := func(url string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, "doctor", "--dir", dir)
		cmd.Env = append(append(os.Environ(), m.Env()...), "SYM_API_URL="+url, "SYM_JWT="+broad.AdminToken)
		b, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(b), cmd.ProcessState.ExitCode()
	}
	passed := "ok    runtime role " + role + " (prod-runtime-context) is what its module promises"
	refused := "FAIL  runtime role " + role + " (prod-runtime-context) is not what its module promises"
	rule := "policy_arns names " + adminPolicy + ", an AWS-managed admin-level policy; the server refuses it unless started with --allow-broad-runtime-policies"
	older := "note  the server does not say its guard rails (it is older than this sym): runtime roles are judged by the default ones, as if it ran without --allow-broad-runtime-policies"

	text, code := doctor(broad.URL)
	if code != 0 || !strings.Contains(text, passed) || !strings.Contains(text, "note  the server runs with --allow-broad-runtime-policies") ||
		!strings.Contains(text, "all checks passed") || strings.Contains(text, older) {
		t.Errorf("doctor against a server with --allow-broad-runtime-policies: exit %d, want 0 with %q:\n%s", code, passed, text)
	}

	// The same server as an older one would answer: no guard_rails.
	proxy := olderServer(t, broad.URL)
	text, code = doctor(proxy.URL)
	if code != 1 || !strings.Contains(text, older) || strings.Count(text, "the server does not say its guard rails") != 1 ||
		!strings.Contains(text, refused) || !strings.Contains(text, rule) {
		t.Errorf("doctor against a server that does not say its guard rails: exit %d, want 1 with %q and %q:\n%s", code, older, refused, text)
	}

	// The same database, served without the flag.
	must(broad.Stop())
	strict := testenv.StartSymProcess(t, db, testenv.FreePort(t), m.Env())
	text, code = doctor(strict.URL)
	next := "next: remove " + adminPolicy + " from the runtime's policy_arns and terraform apply, or start sym server with --allow-broad-runtime-policies"
	if code != 1 || !strings.Contains(text, refused) || !strings.Contains(text, rule) || !strings.Contains(text, next) ||
		!strings.Contains(text, "1 check(s) failed") || strings.Contains(text, older) || strings.Contains(text, "note  the server runs with") {
		t.Errorf("doctor against a server without --allow-broad-runtime-policies: exit %d, want 1 with %q, %q and %q:\n%s", code, refused, rule, next, text)
	}
}

// olderServer serves url through a proxy that drops guard_rails from
// GET /api/v1/server, as a server from before that field answers.
func olderServer(t *testing.T, target string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/v1/server" || resp.StatusCode != 200 {
			return nil
		}
		var v map[string]json.RawMessage
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if _, ok := v["guard_rails"]; !ok {
			t.Errorf("the server sent no guard_rails to the admin bot: %s", b)
		}
		delete(v, "guard_rails")
		if b, err = json.Marshal(v); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	s := httptest.NewServer(rp)
	t.Cleanup(s.Close)
	return s
}

// TestDoctorSaysWhenItCannotReadARuntimeRole: `sym doctor` reads runtime
// roles with the shell's own AWS identity. When that read fails (no
// network to IAM here; equally no credentials, or no iam:GetRole), doctor
// says it could not read the role and what the shell needs, instead of
// reporting a role that differs from its module and sending the operator
// to `terraform apply`, which changes nothing. The same for the IAM users
// it checks: one failure that says what the shell needs (it was a bare SDK
// error, once per user, each after the SDK's retries).
func TestDoctorSaysWhenItCannotReadARuntimeRole(t *testing.T) {
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	srv := testenv.StartSymProcess(t, filepath.Join(dir, "sym.db"), testenv.FreePort(t), noAWS(dir))
	role := "arn:aws:iam::" + testenv.MotoAccount + ":role/sym/SymRuntimeProd"
	if err := api.NewClient(srv.URL, srv.AdminToken).Do(context.Background(), "POST", "/entities/integrations", map[string]any{
		"type": "permission_context", "slug": "prod-runtime-context", "external_id": testenv.MotoAccount,
		"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": role, "external_id": "doctor-unread-external-id",
			"account_id": testenv.MotoAccount}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := api.NewClient(srv.URL, srv.AdminToken).Do(context.Background(), "POST", "/users", map[string]any{
			"email": u + "@example.com", "role": "member", "identities": map[string]string{"aws_iam": u}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "doctor", "--dir", dir)
	cmd.Env = append(os.Environ(), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken, "AWS_ENDPOINT_URL=http://127.0.0.1:1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	b, _ := cmd.CombinedOutput()
	out := string(b)
	if cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("doctor: exit %d, want 1:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	want := "FAIL  cannot read runtime role " + role + " (prod-runtime-context) with this shell's AWS identity"
	if !strings.Contains(out, want) || !strings.Contains(out, "iam:GetRole") {
		t.Errorf("doctor does not say it could not read the role, and what the reader needs; want %q:\n%s", want, out)
	}
	if strings.Contains(out, "is not what its module promises") || strings.Contains(out, "terraform apply the project") {
		t.Errorf("doctor blames the role (and sends the operator to terraform apply) for a read that failed:\n%s", out)
	}
	if n := strings.Count(out, "FAIL  cannot read IAM user"); n != 1 || !strings.Contains(out, "iam:GetUser") ||
		!strings.Contains(out, "IAM users not checked") {
		t.Errorf("doctor does not say once that it could not read the IAM users, what the reader needs, and that it checked none (%d failures):\n%s", n, out)
	}
}
