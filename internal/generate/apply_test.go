package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// readDir answers every file under dir by slash path relative to dir.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runSym runs the sym binary and answers its stdout, stderr and exit error.
func runSym(t *testing.T, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// lookup answers the entities of kind named slug.
func lookup(t *testing.T, c *api.Client, kind, slug string) []map[string]any {
	t.Helper()
	var found []map[string]any
	if err := c.Do(context.Background(), "GET", api.Query("/entities/"+kind, "slug", slug), nil, &found); err != nil {
		t.Fatalf("look up %s %s: %v", kind, slug, err)
	}
	return found
}

func groupsOf(t *testing.T, ic *iam.Client, user string) []string {
	t.Helper()
	out, err := ic.ListGroupsForUser(context.Background(), &iam.ListGroupsForUserInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("list groups of %s: %v", user, err)
	}
	var names []string
	for _, g := range out.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	return names
}

// TestGeneratedProjectAppliesAgainstMoto writes the quickstart with the Go
// function and with the built binary, checks they agree, and then takes the
// binary's project through terraform fmt, init, validate, apply and destroy
// against moto and a real sym server, checking in between, through the API
// and IAM, that everything exists and that a request really moves a user in
// and out of a group.
func TestGeneratedProjectAppliesAgainstMoto(t *testing.T) {
	const env = "demo"
	tfEnv := testenv.TerraformEnv(t)
	bin := testenv.SymBinary(t)
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	ctx := context.Background()

	// The Go function and the binary write the same project.
	fromGo := t.TempDir()
	files, err := AWSIAM(AWSIAMOptions{Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(fromGo, files, false); err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(t.TempDir(), "my-access")
	if _, stderr, err := runSym(t, bin, "generate", "aws-iam", "--dir", project, "--environment", env); err != nil {
		t.Fatalf("sym generate aws-iam: %v\n%s", err, stderr)
	}
	envDir := filepath.Join(project, "environments", env)
	if stdout, stderr, err := runSym(t, bin, "init", "--dir", envDir, "--api-url", srv.URL); err != nil {
		t.Fatalf("sym init: %v\n%s%s", err, stdout, stderr)
	} else if !strings.Contains(stdout, "sym.env") {
		t.Errorf("sym init did not say it wrote sym.env:\n%s", stdout)
	}
	generated := readDir(t, project)
	symEnv, ok := generated["environments/"+env+"/sym.env"]
	if !ok || !strings.Contains(symEnv, "SYM_API_URL="+srv.URL+"\n") {
		t.Errorf("sym.env does not name the server %s:\n%s", srv.URL, symEnv)
	}
	delete(generated, "environments/"+env+"/sym.env")
	want := readDir(t, fromGo)
	if !maps.Equal(generated, want) {
		t.Fatalf("sym generate aws-iam and generate.AWSIAM disagree:\nbinary: %v\nGo:     %v", sortedPaths(generated), sortedPaths(want))
	}

	// Without --force the binary refuses to overwrite a changed file, names
	// it, and exits non-zero; with --force it restores it.
	changed := filepath.Join(project, "modules", "aws-iam-flow", "main.tf")
	if err := os.WriteFile(changed, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runSym(t, bin, "generate", "aws-iam", "--dir", project, "--environment", env)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr, changed) || !strings.Contains(stderr, "--force") {
		t.Fatalf("generate over a changed file: %v, stderr %q; want exit 1 naming %s and --force", err, stderr, changed)
	}
	if b, _ := os.ReadFile(changed); string(b) != "# mine\n" {
		t.Fatalf("the refused generate overwrote %s", changed)
	}
	if _, stderr, err := runSym(t, bin, "generate", "aws-iam", "--dir", project, "--environment", env, "--force"); err != nil {
		t.Fatalf("generate --force: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(changed); string(b) != want["modules/aws-iam-flow/main.tf"] {
		t.Fatalf("generate --force did not restore %s", changed)
	}

	// Terraform: fmt, init, validate, apply.
	run := append(slices.Clone(tfEnv), m.Env()...)
	run = append(run, "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	testenv.Terraform(t, project, run, "fmt", "-check", "-recursive", "-diff")
	tfvars := fmt.Sprintf("aws_endpoint = %q\nruntime_trusted_principal_arns = [\"arn:aws:iam::%s:user/sym-server\"]\napprovers = [\"approver@example.com\"]\n",
		m.URL, testenv.MotoAccount)
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
	var flowName, runtimeRole string
	var targets []string
	var groups map[string]string
	for name, into := range map[string]any{"flow_name": &flowName, "runtime_role_arn": &runtimeRole, "target_names": &targets, "group_names": &groups} {
		if err := json.Unmarshal(outputs[name].Value, into); err != nil {
			t.Fatalf("output %s: %v (outputs: %v)", name, err, outputs)
		}
	}
	if flowName != env+"-iam-access" || runtimeRole != "arn:aws:iam::"+testenv.MotoAccount+":role/sym/SymRuntimeDemo" {
		t.Errorf("outputs: flow_name %q, runtime_role_arn %q", flowName, runtimeRole)
	}
	wantTargets := []string{env + "-cloudwatch-readonly", env + "-s3-readonly"}
	if !slices.Equal(targets, wantTargets) || groups["s3-readonly"] != env+"-s3-readonly" {
		t.Errorf("outputs: target_names %v, group_names %v; want %v", targets, groups, wantTargets)
	}

	// The platform entities, through the API.
	c := api.NewClient(srv.URL, srv.AdminToken)
	flows := lookup(t, c, "flows", flowName)
	if len(flows) != 1 {
		t.Fatalf("flows named %s: %v", flowName, flows)
	}
	params, _ := flows[0]["params"].(map[string]any)
	vars, _ := flows[0]["vars"].(map[string]any)
	if params["strategy_id"] == "" || params["strategy_id"] == nil || vars["approvers"] != "approver@example.com" {
		t.Errorf("flow %s: params %v, vars %v", flowName, params, vars)
	}
	var fields []string
	promptFields, _ := params["prompt_fields"].([]any)
	for _, f := range promptFields {
		fm, _ := f.(map[string]any)
		fields = append(fields, fmt.Sprint(fm["name"]))
	}
	if !slices.Equal(fields, []string{"reason", "duration"}) {
		t.Errorf("flow prompt fields %v, want reason and duration", fields)
	}
	for _, name := range targets {
		found := lookup(t, c, "access-targets", name)
		if len(found) != 1 || found[0]["type"] != "aws_iam_group" {
			t.Errorf("target %s: %v", name, found)
		}
	}
	for kind, name := range map[string]string{
		"environments": env, "access-strategies": env + "-aws-iam", "secret-sources": env + "-secrets",
		"runtimes": env, "integrations": env + "-iam-context",
	} {
		if found := lookup(t, c, kind, name); len(found) != 1 {
			t.Errorf("%s named %s: %v", kind, name, found)
		}
	}

	// The AWS side, through IAM.
	ic := iam.NewFromConfig(m.AWSConfig(t))
	for role, path := range map[string]string{
		"SymRuntimeDemo": "/sym/", "SymIAMDemo": "/sym/",
		env + "-s3-readonly": "/sym-targets/", env + "-cloudwatch-readonly": "/sym-targets/",
	} {
		out, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Errorf("role %s: %v", role, err)
			continue
		}
		if got := aws.ToString(out.Role.Path); got != path {
			t.Errorf("role %s has path %s, want %s", role, got, path)
		}
		if role == "SymRuntimeDemo" {
			trust := aws.ToString(out.Role.AssumeRolePolicyDocument)
			if !strings.Contains(trust, "sts%3AExternalId") && !strings.Contains(trust, "sts:ExternalId") || !strings.Contains(trust, "user%2Fsym-server") && !strings.Contains(trust, "user/sym-server") {
				t.Errorf("runtime role trust policy lacks the External ID or the trusted principal: %s", trust)
			}
		}
	}
	for _, g := range groups {
		out, err := ic.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String(g)})
		if err != nil {
			t.Errorf("group %s: %v", g, err)
		} else if aws.ToString(out.Group.Path) != "/sym/" {
			t.Errorf("group %s has path %s, want /sym/", g, aws.ToString(out.Group.Path))
		}
	}

	// A request through the applied flow moves a user into the group, and a
	// revoke moves them out.
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dana")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "POST", "/users", map[string]any{"email": "dana@example.com", "role": "member", "identities": map[string]string{"aws_iam": "dana"}}, nil); err != nil {
		t.Fatal(err)
	}
	var req struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	err = c.Do(ctx, "POST", "/events/request", map[string]any{"flow": flowName, "user_email": "dana@example.com",
		"flow_inputs": map[string]string{"target_id": env + "-s3-readonly", "reason": "generated project test", "duration": "30m"}}, &req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	// The flow's approver decides (the admin bot, an automation token, may not).
	if err := c.Do(ctx, "POST", "/users", map[string]any{"email": "approver@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	if err := c.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "approver@example.com"}, &tok); err != nil {
		t.Fatal(err)
	}
	if err := api.NewClient(srv.URL, tok.Token).Do(ctx, "POST", "/requests/"+req.ID+"/approve", map[string]string{}, &req); err != nil {
		t.Fatalf("approve: %v", err)
	}
	waitFor(t, "dana in "+env+"-s3-readonly", func() bool { return slices.Contains(groupsOf(t, ic, "dana"), env+"-s3-readonly") })
	if err := c.Do(ctx, "POST", "/requests/"+req.ID+"/revoke", map[string]string{}, &req); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	waitFor(t, "dana out of every group", func() bool { return len(groupsOf(t, ic, "dana")) == 0 })

	testenv.Terraform(t, envDir, run, "destroy", "-auto-approve", "-input=false")
	_, err = ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("SymRuntimeDemo")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("runtime role after destroy: %v, want NoSuchEntity", err)
	}
	if found := lookup(t, c, "flows", flowName); len(found) != 0 {
		t.Errorf("flow %s after destroy: %v", flowName, found)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
