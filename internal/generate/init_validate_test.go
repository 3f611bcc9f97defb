package generate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestInitFreshDirectoryValidates: what `sym init` writes into an empty
// directory is a working Terraform configuration on its own.
func TestInitFreshDirectoryValidates(t *testing.T) {
	dir := t.TempDir()
	bin := testenv.SymBinary(t)
	if stdout, stderr, err := runSym(t, bin, "init", "--dir", dir, "--org", "acme"); err != nil {
		t.Fatalf("sym init: %v\n%s%s", err, stdout, stderr)
	}
	files := readDir(t, dir)
	if !strings.Contains(files["sym.tf"], "required_providers") || !strings.Contains(files["sym.env"], "SYM_API_URL=") {
		t.Fatalf("sym init wrote %v", files)
	}
	env := append(testenv.TerraformEnv(t), "TF_DATA_DIR="+filepath.Join(t.TempDir(), ".terraform"))
	testenv.Terraform(t, dir, env, "fmt", "-check")
	testenv.Terraform(t, dir, env, "init", "-input=false", "-backend=false")
	testenv.Terraform(t, dir, env, "validate")
}
