package docstest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"

	"github.com/opensym/sym/internal/provider"
	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/testenv"
)

// TestProviderExamplesValidate: the examples of docs/resources and
// docs/data-sources (examples/resources, examples/data-sources, with
// examples/provider) are one configuration that Terraform validates: every
// resource one page's example refers to is declared by another's, as a
// reader copying them together would find. The flow's and the flows
// filter's code, which the examples read with file(), are the quickstart's
// impl.py and the original's flows_filter.py.
func TestProviderExamplesValidate(t *testing.T) {
	root := moduleRoot(t)
	dir := t.TempDir()
	copyTo := func(src, name string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyTo("examples/provider/provider.tf", "provider.tf")
	n := 0
	for _, pattern := range []string{"examples/resources/*/resource.tf", "examples/data-sources/*/data-source.tf"} {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			copyTo(rel, filepath.Base(filepath.Dir(f))+"."+filepath.Base(f))
			n++
		}
	}
	if n < 15 {
		t.Fatalf("only %d examples under examples/resources and examples/data-sources", n)
	}
	copyTo("examples/aws-iam-quickstart/modules/aws-iam-flow/impl.py", "impl.py")
	copyTo("internal/provider/testdata/original/config/flows_filter.py", "flows_filter.py")

	env := append(testenv.TerraformEnv(t), "TF_DATA_DIR="+filepath.Join(t.TempDir(), ".terraform"))
	testenv.Terraform(t, dir, env, "init", "-input=false", "-backend=false")
	if out := testenv.Terraform(t, dir, env, "validate"); !strings.Contains(out, "The configuration is valid") {
		t.Fatalf("terraform validate:\n%s", out)
	}
}

// TestProviderNamesTheServersAddress: the provider's api_url description
// (and the error without one, which quotes the same example) and the
// provider example name the address `sym server` listens on by default
// (they named :8080, where nothing of sym listens).
func TestProviderNamesTheServersAddress(t *testing.T) {
	want := "http://" + server.DefaultListen
	var sch fwprovider.SchemaResponse
	provider.New("test")().Schema(context.Background(), fwprovider.SchemaRequest{}, &sch)
	if d := sch.Schema.Attributes["api_url"].GetDescription(); !strings.Contains(d, want) {
		t.Errorf("the provider's api_url description does not name %s: %q", want, d)
	}
	example, err := os.ReadFile(filepath.Join(moduleRoot(t), "examples", "provider", "provider.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), `"`+want+`"`) {
		t.Errorf("examples/provider/provider.tf does not set api_url to %s:\n%s", want, example)
	}
}
