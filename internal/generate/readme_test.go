package generate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// TestIAMQuickstartREADMETrustsTheServersIdentity: the README's "Try it
// without AWS" apply passes runtime_trusted_principal_arns from a shell
// command. Against moto, with the README's environment, that command must
// answer the principal sym server says its runtime role must trust. moto's
// caller ARN (arn:aws:sts::123456789012:user/moto) is not one: the
// runtime-connector module refuses it, and the documented apply stopped
// there.
func TestIAMQuickstartREADMETrustsTheServersIdentity(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "examples", "aws-iam-quickstart", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var arg string
	for _, line := range strings.Split(string(readme), "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), `-var "runtime_trusted_principal_arns=`); ok {
			arg = `"runtime_trusted_principal_arns=` + a
		}
	}
	if arg == "" {
		t.Fatal(`the README has no line -var "runtime_trusted_principal_arns=..." in its apply`)
	}
	m := testenv.StartMoto(t)
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m})
	var server struct {
		AWSIdentity struct {
			PrincipalARN string `json:"principal_arn"`
		} `json:"aws_identity"`
	}
	if err := api.NewClient(srv.URL, srv.AdminToken).Do(context.Background(), "GET", "/server", nil, &server); err != nil || server.AWSIdentity.PrincipalARN == "" {
		t.Fatalf("the server's principal: %v %+v", err, server)
	}

	cmd := exec.Command("bash", "-c", "printf '%s' "+arg)
	cmd.Env = append(append(os.Environ(), m.Env()...), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the README's %s: %v", arg, err)
	}
	if want := fmt.Sprintf(`runtime_trusted_principal_arns=["%s"]`, server.AWSIdentity.PrincipalARN); string(out) != want {
		t.Errorf("the README's %s gives\n  %s\nwant the principal sym server names\n  %s", arg, out, want)
	}
}
