package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/testenv"
)

// TestAllowedAccountsAndRuntimeRoles: with --allowed-accounts and
// --allowed-runtime-roles set, entity writes pointing elsewhere answer 400
// naming the flag, writes inside are accepted; and a server whose flags no
// longer admit the stored runtime role refuses the grant before any AWS
// call (the same grant under the first server's flags calls AWS).
func TestAllowedAccountsAndRuntimeRoles(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	db := t.TempDir() + "/sym.db"
	ctx := context.Background()
	acct := testenv.MotoAccount
	guards := awsauth.Guards{Accounts: []string{acct}, RuntimeRoles: []string{"arn:aws:iam::" + acct + ":role/sym/SymRuntime*"}}
	first := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db, Guards: guards})
	f := testenv.SetupIAMFlow(t, m, first.URL, first.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	find := func(slug string) string {
		var rows []struct {
			ID string `json:"id"`
		}
		if err := f.Admin.Do(ctx, "GET", "/entities/integrations?slug="+slug+"&type=permission_context", nil, &rows); err != nil || len(rows) != 1 {
			t.Fatalf("find %s: %v", slug, err)
		}
		return rows[0].ID
	}
	rtCtx, iamCtx := find("prod-runtime-context"), find("prod-iam-context")
	rtSettings := func(role, safelist string) map[string]any {
		return map[string]any{"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": role,
			"external_id": f.ExternalID, "account_id": acct, "account_id_safelist": safelist}}
	}
	connSettings := func(role string) map[string]any {
		return map[string]any{"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": role}}
	}
	newCtx := func(role string) map[string]any {
		b := connSettings(role)
		b["type"], b["slug"], b["external_id"] = "permission_context", "elsewhere", acct
		return b
	}
	cases := []struct {
		name, method, path string
		body               map[string]any
		flag               string // "" = accepted
	}{
		{"runtime role off the pattern", "PATCH", "/entities/integrations/" + rtCtx, rtSettings("arn:aws:iam::"+acct+":role/sym/SymIAMProd", ""), "--allowed-runtime-roles"},
		{"runtime role in another account", "PATCH", "/entities/integrations/" + rtCtx, rtSettings("arn:aws:iam::999999999999:role/sym/SymRuntimeProd", ""), "--allowed-accounts"},
		{"safelist naming another account", "PATCH", "/entities/integrations/" + rtCtx, rtSettings(f.RuntimeRole, "999999999999"), "--allowed-accounts"},
		{"connector role in another account", "PATCH", "/entities/integrations/" + iamCtx, connSettings("arn:aws:iam::999999999999:role/sym/SymIAMProd"), "--allowed-accounts"},
		{"new context in another account", "POST", "/entities/integrations", newCtx("arn:aws:iam::999999999999:role/sym/X"), "--allowed-accounts"},
		{"runtime through a connector context", "POST", "/entities/runtimes", map[string]any{"slug": "odd", "context_id": iamCtx}, "--allowed-runtime-roles"},
		{"runtime role inside", "PATCH", "/entities/integrations/" + rtCtx, rtSettings(f.RuntimeRole, acct), ""},
		{"connector role inside", "PATCH", "/entities/integrations/" + iamCtx, connSettings(f.IAMRole), ""},
		{"new context inside", "POST", "/entities/integrations", newCtx("arn:aws:iam::" + acct + ":role/sym/X"), ""},
		{"runtime through the runtime context", "POST", "/entities/runtimes", map[string]any{"slug": "second", "context_id": rtCtx}, ""},
		{"log stream in another account", "POST", "/entities/log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
			"settings": map[string]string{"stream_name": "arn:aws:kinesis:us-east-1:999999999999:stream/audit"}}, "--allowed-accounts"},
		{"Lambda function in another account", "POST", "/entities/access-targets", map[string]any{"type": "aws_lambda_function", "slug": "fn",
			"settings": map[string]string{"arn": "arn:aws:lambda:us-east-1:999999999999:function:grant"}}, "--allowed-accounts"},
		{"log stream inside", "POST", "/entities/log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
			"settings": map[string]string{"stream_name": "arn:aws:kinesis:us-east-1:" + acct + ":stream/audit"}}, ""},
		{"Lambda function inside", "POST", "/entities/access-targets", map[string]any{"type": "aws_lambda_function", "slug": "fn2",
			"settings": map[string]string{"arn": "arn:aws:lambda:us-east-1:" + acct + ":function:grant"}}, ""},
	}
	for _, c := range cases {
		err := f.Admin.Do(ctx, c.method, c.path, c.body, nil)
		if c.flag == "" && err != nil {
			t.Errorf("%s: %v, want accepted", c.name, err)
		}
		if c.flag != "" && (api.StatusOf(err) != 400 || !strings.Contains(err.Error(), c.flag)) {
			t.Errorf("%s: %v, want 400 naming %s", c.name, err, c.flag)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	before := fp.Seen("*")
	if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" || fp.Seen("*") == before {
		t.Fatalf("grant inside the guard rails: %s %q after %d AWS calls", a.State, a.Error, fp.Seen("*")-before)
	}
	do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// The same database under flags that no longer admit the runtime role:
	// refused in awsauth's chain before any AWS call.
	strict := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, DB: db,
		Guards: awsauth.Guards{RuntimeRoles: []string{"arn:aws:iam::" + acct + ":role/sym/SymRuntimeStaging"}}})
	alice, bob = api.NewClient(strict.URL, alice.Token), api.NewClient(strict.URL, bob.Token)
	r = ask(t, alice, f.Flow, f.Targets[0], "1h")
	before = fp.Seen("*")
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "errored" || !strings.Contains(a.Error, "--allowed-runtime-roles") {
		t.Fatalf("grant through a runtime role the flags no longer admit: %s %q", a.State, a.Error)
	}
	if n := fp.Seen("*") - before; n != 0 {
		t.Fatalf("%d AWS calls for a refused runtime role: %v", n, fp.Counts())
	}
	if got := members(t, m, f.Groups[0]); len(got) != 0 {
		t.Fatalf("group has %v", got)
	}
}
