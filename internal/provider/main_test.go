package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/opensym/sym/internal/testenv"
)

// TestMain turns acceptance tests on for every run of this package: they
// need nothing but the terraform binary and an in-process sym server, so
// `go test ./...` runs them (they must never be skipped).
func TestMain(m *testing.M) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		fmt.Fprintln(os.Stderr, "terraform is not on PATH; the provider's acceptance tests need it (Terraform >= 1.5)")
		os.Exit(1)
	}
	os.Setenv("TF_ACC", "1")
	os.Setenv("TF_ACC_TERRAFORM_PATH", tf)
	os.Setenv("CHECKPOINT_DISABLE", "1")
	// A CLI configuration of our own: the default one does not exist here,
	// and no provider may come from the network.
	dir, err := os.MkdirTemp("", "sym-provider-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg := filepath.Join(dir, "terraform.rc")
	if err := testenv.WriteCLIConfig(cfg, filepath.Join(dir, "no-mirror")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TF_CLI_CONFIG_FILE", cfg)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// protoV6Factories runs the provider in the test process.
var protoV6Factories = map[string]func() (tfprotov6.ProviderServer, error){
	"sym": func() (tfprotov6.ProviderServer, error) { return ProtocolServer("test")(), nil },
}

// startServer starts a sym server for the test and points SYM_JWT at its
// admin token.
func startServer(t *testing.T) *testenv.Server {
	t.Helper()
	srv := testenv.StartServer(t)
	t.Setenv("SYM_JWT", srv.AdminToken)
	t.Setenv("SYM_API_URL", "")
	return srv
}

// adminClient talks to srv as the admin, behind Terraform's back.
func adminClient(srv *testenv.Server) *client { return newClient(srv.URL, srv.AdminToken) }

// stateID answers the id of a resource in Terraform's state.
func stateID(s *terraform.State, addr string) (string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return "", fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.ID, nil
}

// stateAttr answers one attribute of a resource in Terraform's state.
func stateAttr(s *terraform.State, addr, attr string) (string, error) {
	rs, ok := s.RootModule().Resources[addr]
	if !ok {
		return "", fmt.Errorf("%s is not in the state", addr)
	}
	return rs.Primary.Attributes[attr], nil
}

// render fills {{KEY}} placeholders of an HCL template.
func render(tmpl string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{{"+kv[i]+"}}", kv[i+1])
	}
	out := strings.NewReplacer(pairs...).Replace(tmpl)
	if i := strings.Index(out, "{{"); i >= 0 {
		panic("unfilled placeholder in test config: " + out[i:min(len(out), i+30)])
	}
	return out
}

// deleteBehindTerraform deletes the entities of the given resources through
// the API, in the order given.
func deleteBehindTerraform(srv *testenv.Server, kinds map[string]string, order ...string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		c := adminClient(srv)
		for _, addr := range order {
			id, err := stateID(s, addr)
			if err != nil {
				return err
			}
			if err := c.delete(context.Background(), kinds[addr], id); err != nil {
				return fmt.Errorf("delete %s behind Terraform's back: %w", addr, err)
			}
		}
		return nil
	}
}
