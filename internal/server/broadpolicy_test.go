package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/testenv"
)

// TestBroadRuntimePoliciesAreRefused: a runtime's policy_arns naming an
// AWS-managed admin-level policy is refused at entity write (400 naming
// --allow-broad-runtime-policies) and accepted with that flag. A database
// written under the flag and reopened without it refuses the grant before
// any AWS call, while a narrow policy on the same path reaches AWS.
func TestBroadRuntimePoliciesAreRefused(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	db := t.TempDir() + "/sym.db"
	ctx := context.Background()
	first := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db})
	f := testenv.SetupIAMFlow(t, m, first.URL, first.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	var ctxs []struct {
		ID string `json:"id"`
	}
	if err := f.Admin.Do(ctx, "GET", "/entities/integrations?slug=prod-runtime-context&type=permission_context", nil, &ctxs); err != nil || len(ctxs) != 1 {
		t.Fatalf("find the runtime context: %v", err)
	}
	settings := func(policies string) map[string]any {
		return map[string]any{"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": f.RuntimeRole,
			"external_id": f.ExternalID, "account_id": testenv.MotoAccount, "policy_arns": policies}}
	}
	patch := func(c *api.Client, policies string) error {
		return c.Do(ctx, "PATCH", "/entities/integrations/"+ctxs[0].ID, settings(policies), nil)
	}
	broad := []string{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess",
		"arn:aws:iam::aws:policy/IAMFullAccess", "arn:aws-us-gov:iam::aws:policy/AmazonS3FullAccess",
		"arn:aws:iam::aws:policy/job-function/SystemAdministrator",
		"arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::aws:policy/AdministratorAccess"}
	for _, p := range broad {
		err := patch(f.Admin, p)
		if api.StatusOf(err) != 400 || !strings.Contains(err.Error(), "--allow-broad-runtime-policies") {
			t.Errorf("PATCH policy_arns=%s: %v; want 400 naming --allow-broad-runtime-policies", p, err)
		}
		body := settings(p)
		body["type"], body["slug"], body["external_id"] = "permission_context", "other-runtime-context", testenv.MotoAccount
		if err := f.Admin.Do(ctx, "POST", "/entities/integrations", body, nil); api.StatusOf(err) != 400 || !strings.Contains(err.Error(), "--allow-broad-runtime-policies") {
			t.Errorf("POST policy_arns=%s: %v; want 400 naming --allow-broad-runtime-policies", p, err)
		}
	}
	for _, p := range []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/sym/AdministratorAccess", ""} {
		if err := patch(f.Admin, p); err != nil {
			t.Errorf("PATCH policy_arns=%q: %v; want accepted", p, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// With the flag, AdministratorAccess is accepted and used.
	allow := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db, Guards: awsauth.Guards{AllowBroadPolicies: true}})
	admin := api.NewClient(allow.URL, allow.AdminToken)
	if err := patch(admin, broad[0]); err != nil {
		t.Fatalf("PATCH AdministratorAccess with --allow-broad-runtime-policies: %v", err)
	}
	alice, bob = api.NewClient(allow.URL, alice.Token), api.NewClient(allow.URL, bob.Token)
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
		t.Fatalf("grant with the flag: %s %q", a.State, a.Error)
	}
	do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	if err := allow.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Without it, the stored AdministratorAccess refuses the grant before
	// any AWS call.
	strict := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db})
	alice, bob = api.NewClient(strict.URL, alice.Token), api.NewClient(strict.URL, bob.Token)
	r = ask(t, alice, f.Flow, f.Targets[0], "1h")
	before := fp.Seen("*")
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "errored" || !strings.Contains(a.Error, "--allow-broad-runtime-policies") {
		t.Fatalf("grant through a stored AdministratorAccess without the flag: %s %q", a.State, a.Error)
	}
	if n := fp.Seen("*") - before; n != 0 {
		t.Fatalf("%d AWS calls for a refused runtime: %v", n, fp.Counts())
	}
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group has %v", got)
	}
}
