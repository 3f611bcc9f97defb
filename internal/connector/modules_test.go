package connector

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// modulesCopy copies terraform/modules into a temporary directory, so that
// terraform init leaves no .terraform or lock file in the repository. The
// modules refer to each other by relative path, so the tree is copied whole.
func modulesCopy(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "terraform", "modules")
	dst := filepath.Join(t.TempDir(), "modules")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if d.Name() == ".terraform.lock.hcl" || strings.HasSuffix(d.Name(), ".tfstate") {
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the modules: %v", err)
	}
	return dst
}

// awsOnlyEnv is a Terraform CLI configuration for the modules that need no
// sym provider: hashicorp/* from the machine's mirror, nothing from the
// network.
func awsOnlyEnv(t *testing.T) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "terraform.rc")
	rc := `provider_installation {
  filesystem_mirror {
    path    = "` + testenv.HashicorpMirror() + `"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
`
	if err := os.WriteFile(cfg, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"TF_CLI_CONFIG_FILE=" + cfg, "TF_PLUGIN_CACHE_DIR=", "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
}

// TestModules runs each module's terraform test files (tests/*.tftest.hcl)
// against its own moto_server: every resource and policy document asserted
// field by field, and every bad input rejected at plan time.
func TestModules(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatalf("terraform is not on PATH: install Terraform >= 1.5 (%v)", err)
	}
	modules := modulesCopy(t)
	for _, m := range []string{
		"iam-connector",
		"lambda-connector",
		"sso-connector",
		"secretsmgr-addon",
		"kinesis-firehose-addon",
		"kinesis-data-stream-addon",
		"runtime-connector/modules/role",
		"runtime-connector",
	} {
		t.Run(strings.ReplaceAll(m, "/", "_"), func(t *testing.T) {
			t.Parallel()
			moto := testenv.StartMoto(t)
			var env []string
			if m == "runtime-connector" {
				srv := testenv.StartServer(t)
				env = append(testenv.TerraformEnv(t), "SYM_API_URL="+srv.URL, "SYM_JWT="+srv.AdminToken)
			} else {
				env = awsOnlyEnv(t)
			}
			env = append(env, "TF_DATA_DIR="+filepath.Join(t.TempDir(), ".terraform"))
			dir := filepath.Join(modules, m)
			testenv.Terraform(t, dir, env, "init", "-backend=false", "-input=false", "-no-color")
			out := testenv.Terraform(t, dir, env, "test", "-no-color", `-var=aws_endpoint="`+moto.URL+`"`)
			if !strings.Contains(out, "Success!") || strings.Contains(out, " 0 passed") {
				t.Fatalf("terraform test did not pass:\n%s", out)
			}
			t.Logf("%s", lastLine(out))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
