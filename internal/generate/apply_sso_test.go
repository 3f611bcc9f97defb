package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestGeneratedSSOAndLambdaProjectsApplyAgainstMoto takes the IAM Identity
// Center quickstart and the AWS Lambda quickstart through terraform fmt,
// init, validate and apply against one moto and one real sym server (the
// two applies side by side), then makes a real request through each:
//   - sso: the permission set is assigned to the requester's identity-store
//     user on approval (found by email) and the assignment is gone after
//     revoke;
//   - lambda: approval invokes the function in moto with the escalate event
//     of REFERENCE section 10 and the request is active; revoke invokes it
//     with the deescalate event and the request ends. What moto received is
//     read from its answer (moto's Lambda without Docker echoes the payload)
//     as it passes a proxy between the server and moto.
func TestGeneratedSSOAndLambdaProjectsApplyAgainstMoto(t *testing.T) {
	m := testenv.StartMoto(t)
	// The server reaches moto through this proxy, which forwards every
	// call untouched; it keeps what moto answers to invocations of fn.
	proxy := testenv.StartFaultProxy(t, m.URL)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: proxy.URL})
	sso := testenv.SetupSSO(t, m, "ReadOnly", "unused", testenv.SSOUser{UserName: "alice@example.com", Email: "alice@example.com"})
	fn := testenv.CreateLambda(t, m, "sym-db-access")
	var echoes struct {
		sync.Mutex
		payloads [][]byte
	}
	proxy.Add(testenv.Fault{Action: "POST /2015-03-31/functions/" + fn + "/invocations", Rewrite: func(body []byte) []byte {
		echoes.Lock()
		defer echoes.Unlock()
		echoes.payloads = append(echoes.payloads, slices.Clone(body))
		return body
	}})
	invocations := func() [][]byte {
		echoes.Lock()
		defer echoes.Unlock()
		return slices.Clone(echoes.payloads)
	}

	ctx := context.Background()
	run := append(slices.Clone(testenv.TerraformEnv(t)), m.Env()...)
	run = append(run, "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
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
	type request struct{ ID, State, Error string }
	ask := func(t *testing.T, flow, target string) request {
		t.Helper()
		var r request
		if err := admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": flow, "user_email": "alice@example.com",
			"flow_inputs": map[string]any{"target_id": target, "reason": "quickstart test", "duration": "30m"}}, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("sso", func(t *testing.T) {
		t.Parallel()
		const env = "demo"
		tfvars := fmt.Sprintf(`aws_endpoint = %q
runtime_trusted_principal_arns = ["arn:aws:iam::%s:user/sym-server"]
approvers = ["bob@example.com"]
targets = [{ name = "readonly", label = "Read-only", permission_set_arn = %q, account_id = "111122223333" }]
`, m.URL, testenv.MotoAccount, sso.PermissionSetARN)
		outputs := applyQuickstart(t, AWSSSO, env, tfvars, run)
		if flow, connector, instance := outputs["flow_name"], outputs["sso_connector_role_arn"], outputs["instance_arn"]; flow != env+"-sso-access" ||
			connector != "arn:aws:iam::"+testenv.MotoAccount+":role/sym/SymSSODemo" || instance != sso.InstanceARN {
			t.Fatalf("outputs: flow %q, connector %q, instance %q (moto's is %s)", flow, connector, instance, sso.InstanceARN)
		}

		// A real request through what Terraform declared.
		r := ask(t, outputs["flow_name"], "readonly")
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
	})

	t.Run("lambda", func(t *testing.T) {
		t.Parallel()
		const env = "lam"
		tfvars := fmt.Sprintf(`aws_endpoint = %q
runtime_trusted_principal_arns = ["arn:aws:iam::%s:user/sym-server"]
approvers = ["bob@example.com"]
targets = [{ name = "db", label = "Database", arn = %q }]
`, m.URL, testenv.MotoAccount, fn)
		outputs := applyQuickstart(t, AWSLambda, env, tfvars, run)
		if flow, connector := outputs["flow_name"], outputs["lambda_connector_role_arn"]; flow != env+"-lambda-access" ||
			connector != "arn:aws:iam::"+testenv.MotoAccount+":role/sym/SymLambdaLam" {
			t.Fatalf("outputs: flow %q, connector %q", flow, connector)
		}
		if n := len(invocations()); n != 0 {
			t.Fatalf("the function was invoked %d times before any request", n)
		}

		// A real request through what Terraform declared.
		r := ask(t, outputs["flow_name"], "db")
		if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil || r.State != "active" {
			t.Fatalf("approve: %v, %s %s", err, r.State, r.Error)
		}
		got := invocations()
		if len(got) != 1 {
			t.Fatalf("moto answered %d invocations of %s on approval, want 1 (escalate)", len(got), fn)
		}
		escalate := decodeEvent(t, got[0])
		for path, want := range map[string]string{
			"type": "event", "event.type": "escalate", "state.status": "approved",
			"run.srn": "srn:default:flow_run:" + r.ID, "run.flow": "srn:default:flow:" + outputs["flow_name"] + ":latest",
			"run.actors.request.username": "alice@example.com", "run.actors.approve.username": "bob@example.com",
			"actor.username": "bob@example.com", "fields.reason": "quickstart test",
			"fields.target.name": "db", "fields.target.type": "aws_lambda_function", "fields.target.label": "Database",
			"fields.target.settings.arn": fn,
		} {
			if v := escalate.at(path); v != want {
				t.Errorf("escalate %s = %q, want %q", path, v, want)
			}
		}
		if err := admin.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r); err != nil || r.State != "ended" {
			t.Fatalf("revoke: %v, %s %s", err, r.State, r.Error)
		}
		got = invocations()
		if len(got) != 2 {
			t.Fatalf("moto answered %d invocations of %s after the revoke, want 2 (escalate, deescalate)", len(got), fn)
		}
		deescalate := decodeEvent(t, got[1])
		for path, want := range map[string]string{
			"type": "event", "event.type": "deescalate", "event.channel": "api", "state.status": "escalated",
			"fields.deescalate_type": "revoke", "run.srn": "srn:default:flow_run:" + r.ID,
			"run.actors.request.username": "alice@example.com", "fields.target.settings.arn": fn,
		} {
			if v := deescalate.at(path); v != want {
				t.Errorf("deescalate %s = %q, want %q", path, v, want)
			}
		}
	})
}

// applyQuickstart renders a quickstart for env into a new project, checks
// it with terraform fmt, writes tfvars, and runs init, validate, apply and
// output; it answers the string outputs.
func applyQuickstart(t *testing.T, render func(AWSIAMOptions) ([]File, error), env, tfvars string, run []string) map[string]string {
	t.Helper()
	files, err := render(AWSIAMOptions{Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(t.TempDir(), "my-access")
	if _, err := Write(project, files, false); err != nil {
		t.Fatal(err)
	}
	envDir := filepath.Join(project, "environments", env)
	testenv.Terraform(t, project, run, "fmt", "-check", "-recursive", "-diff")
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
	out := map[string]string{}
	for name, o := range outputs {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			out[name] = s
		}
	}
	return out
}

// event is a Lambda payload as the function received it.
type event map[string]any

func decodeEvent(t *testing.T, b []byte) event {
	t.Helper()
	var e event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("the function's payload is not a JSON object: %v\n%s", err, b)
	}
	return e
}

// at answers the string at a dotted path, or "" when there is none.
func (e event) at(path string) string {
	var v any = map[string]any(e)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}
