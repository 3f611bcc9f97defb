package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// TestTerraformSeedConfigurations runs the real terraform binary, with the
// provider installed from a filesystem mirror under symopsio/sym, on the
// configuration of the seed documents (testdata/seeds): init, apply, a
// second plan that must show no changes, destroy.
func TestTerraformSeedConfigurations(t *testing.T) {
	srv := testenv.StartServer(t)
	dir := t.TempDir()
	entries, err := os.ReadDir("testdata/seeds")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata/seeds", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), testenv.TerraformEnv(t)...)
	env = append(env, "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken, "TF_ACC=", "TF_LOG=")

	terraform := func(args ...string) (string, int) {
		t.Helper()
		start := time.Now()
		cmd := exec.Command("terraform", args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("terraform %s: %v", args[0], err)
		}
		t.Logf("terraform %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
		return out.String(), code
	}
	mustTerraform := func(args ...string) string {
		t.Helper()
		out, code := terraform(args...)
		if code != 0 {
			t.Fatalf("terraform %s failed (exit %d):\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}

	out := mustTerraform("init", "-input=false", "-no-color")
	if !strings.Contains(out, "symopsio/sym") {
		t.Errorf("init did not install symopsio/sym:\n%s", out)
	}
	mustTerraform("apply", "-input=false", "-auto-approve", "-no-color")

	// What the guide promises, as the server holds it.
	ctx := context.Background()
	c := adminClient(srv)
	flows, err := c.lookup(ctx, "flows", "iam_access", "")
	if err != nil || len(flows) != 1 {
		t.Fatalf("flow iam_access on the server: %v %v", flows, err)
	}
	strategies, err := c.lookup(ctx, "access-strategies", "main-aws-iam", "aws_iam")
	if err != nil || len(strategies) != 1 {
		t.Fatalf("strategy main-aws-iam on the server: %v %v", strategies, err)
	}
	targets, err := c.lookup(ctx, "access-targets", "cloudwatchreadonly", "aws_iam_group")
	if err != nil || len(targets) != 1 || targets[0].strMap("settings")["iam_group"] != "CloudwatchReadOnly" {
		t.Fatalf("target CloudwatchReadOnly on the server: %v %v", targets, err)
	}
	if got := strategies[0].strList("targets"); len(got) != 1 || got[0] != targets[0].str("id") {
		t.Errorf("strategy targets = %v, want [%s]", got, targets[0].str("id"))
	}
	integrations, err := c.lookup(ctx, "integrations", "main-iam", "permission_context")
	if err != nil || len(integrations) != 1 || strategies[0].str("integration_id") != integrations[0].str("id") {
		t.Errorf("strategy integration = %q, want main-iam (%v %v)", strategies[0].str("integration_id"), integrations, err)
	}
	params, _ := flows[0]["params"].(map[string]any)
	if params["strategy_id"] != strategies[0].str("id") {
		t.Errorf("flow params.strategy_id = %v, want %s", params["strategy_id"], strategies[0].str("id"))
	}
	code, _ := base64.StdEncoding.DecodeString(flows[0].str("implementation"))
	impl, _ := os.ReadFile("testdata/seeds/impl.py")
	if string(code) != string(impl) {
		t.Errorf("flow implementation on the server = %q, want the contents of impl.py", code)
	}

	// The second plan shows no changes: exit code 0 (2 means changes).
	if out, code := terraform("plan", "-input=false", "-detailed-exitcode", "-no-color"); code != 0 {
		t.Errorf("second plan: exit %d, want 0 (no changes):\n%s", code, out)
	}

	mustTerraform("destroy", "-input=false", "-auto-approve", "-no-color")
	for _, kind := range []string{"flows", "environments", "access-strategies", "access-targets", "runtimes", "integrations", "error-loggers"} {
		left, err := c.lookup(ctx, kind, "", "")
		if err != nil || len(left) != 0 {
			t.Errorf("%s left on the server after destroy: %v %v", kind, left, err)
		}
	}
}
