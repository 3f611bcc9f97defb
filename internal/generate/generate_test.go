package generate

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opensym/sym/examples"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/internal/testenv"
)

func byPath(files []File) map[string][]byte {
	m := map[string][]byte{}
	for _, f := range files {
		m[f.Path] = f.Data
	}
	return m
}

func TestAWSIAMLayout(t *testing.T) {
	for _, tc := range []struct{ option, env string }{
		{"", "prod"},
		{"sandbox-2", "sandbox-2"},
		{"prod_us", "prod_us"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			files, err := AWSIAM(AWSIAMOptions{Environment: tc.option})
			if err != nil {
				t.Fatal(err)
			}
			got := byPath(files)
			if len(got) != len(files) {
				t.Fatalf("%d files but %d distinct paths", len(files), len(got))
			}
			envDir := "environments/" + tc.env + "/"
			for _, want := range []string{
				"README.md", ".gitignore",
				envDir + "main.tf", envDir + "versions.tf", envDir + "aws.tf", envDir + "sym.tf",
				envDir + "variables.tf", envDir + "outputs.tf", envDir + "terraform.tfvars.example",
				"modules/sym-runtime/main.tf", "modules/aws-iam-target/main.tf", "modules/aws-iam-flow/main.tf",
				"modules/aws-iam-flow/impl.py",
				"sym-modules/runtime-connector/main.tf", "sym-modules/runtime-connector/modules/role/main.tf",
				"sym-modules/iam-connector/main.tf", "sym-modules/secretsmgr-addon/main.tf",
				"sym-modules/kinesis-firehose-addon/main.tf", "sym-modules/kinesis-data-stream-addon/main.tf",
			} {
				if _, ok := got[want]; !ok {
					t.Errorf("missing %s", want)
				}
			}
			if !strings.Contains(string(got[envDir+"main.tf"]), `environment_name = "`+tc.env+`"`) {
				t.Errorf("%smain.tf does not name the environment %s:\n%s", envDir, tc.env, got[envDir+"main.tf"])
			}
			readme := string(got["README.md"])
			for _, want := range []string{"SymRuntime" + connector.TitleCase(tc.env), "SymIAM" + connector.TitleCase(tc.env), tc.env + "-iam-access", tc.env + "-s3-readonly"} {
				if !strings.Contains(readme, want) {
					t.Errorf("README.md does not mention %s", want)
				}
			}
			for p, data := range got {
				if strings.HasPrefix(p, "environments/") && !strings.HasPrefix(p, envDir) {
					t.Errorf("%s is outside %s", p, envDir)
				}
				if strings.Contains(p, "/tests/") || strings.HasSuffix(p, ".tftest.hcl") || strings.Contains(p, ".terraform") {
					t.Errorf("%s is a test or Terraform working file", p)
				}
				if strings.Contains(p, "lambda-connector") || strings.Contains(p, "testing/") {
					t.Errorf("%s: a module the quickstart does not use", p)
				}
				if !strings.HasSuffix(p, ".tf") {
					continue
				}
				// Every local module source must land on a directory of
				// the project that has .tf files.
				for _, m := range sourceLine.FindAllSubmatch(data, -1) {
					src := string(m[2])
					if !isLocalSource(src) {
						continue
					}
					target := path.Join(path.Dir(p), src)
					if strings.HasPrefix(target, "..") {
						t.Errorf("%s: source %q leaves the project", p, src)
						continue
					}
					if _, ok := got[target+"/main.tf"]; !ok {
						t.Errorf("%s: source %q (%s) has no main.tf in the project", p, src, target)
					}
				}
			}
		})
	}
}

// TestTitleCase: the names the quickstarts get are the ones the modules
// make with Terraform's title(), which keeps the letter after "_".
func TestTitleCase(t *testing.T) {
	for in, want := range map[string]string{"prod": "Prod", "sandbox-2": "Sandbox-2", "my-env": "My-Env", "2fa": "2fa", "prod_us": "Prod_us"} {
		if got := connector.TitleCase(in); got != want {
			t.Errorf("TitleCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAWSIAMRefusesBadEnvironment(t *testing.T) {
	for _, env := range []string{"Prod", "prod.1", "-prod", "_prod", "a234567890123456789012345678901234", "prod env"} {
		if _, err := AWSIAM(AWSIAMOptions{Environment: env}); err == nil || !strings.Contains(err.Error(), "lowercase") {
			t.Errorf("environment %q: got %v, want a refusal that says what is allowed", env, err)
		}
	}
}

// The embed patterns of examples/embed.go must cover every file of the
// quickstart but Terraform's working files, or generate would silently
// leave a new kind of file behind.
func TestEmbedCoversTheQuickstart(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "aws-iam-quickstart")
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".terraform" {
				return filepath.SkipDir
			}
			return nil
		}
		if name == ".terraform.lock.hcl" || name == "terraform.tfvars" || strings.Contains(name, ".tfstate") {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		if _, err := fs.Stat(examples.AWSIAMQuickstart, filepath.ToSlash(rel)); err != nil {
			t.Errorf("%s is not embedded: add a pattern for it to examples/embed.go", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Fatalf("only %d files in %s", n, dir)
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	files, err := AWSIAM(AWSIAMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Write(dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != len(files) || len(res.Unchanged) != 0 {
		t.Fatalf("first write: %d written, %d unchanged of %d", len(res.Written), len(res.Unchanged), len(files))
	}

	// The same files again: nothing to do, no refusal.
	res, err = Write(dir, files, false)
	if err != nil || len(res.Written) != 0 || len(res.Unchanged) != len(files) {
		t.Fatalf("rewrite of identical files: %+v, %v", res, err)
	}

	// A file the user changed stops the write, before anything is written.
	edited := filepath.Join(dir, "modules", "aws-iam-flow", "main.tf")
	mine := []byte("# mine\n")
	if err := os.WriteFile(edited, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	removed := filepath.Join(dir, "README.md")
	if err := os.Remove(removed); err != nil {
		t.Fatal(err)
	}
	_, err = Write(dir, files, false)
	var ee *ExistsError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an *ExistsError", err)
	}
	if !strings.Contains(err.Error(), edited) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("the refusal must name the file and the way out: %v", err)
	}
	if b, _ := os.ReadFile(edited); string(b) != string(mine) {
		t.Errorf("the edited file was overwritten")
	}
	if _, err := os.Stat(removed); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused write still wrote %s", removed)
	}

	// --force overwrites.
	res, err = Write(dir, files, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 {
		t.Errorf("forced write wrote %v, want the edited and the removed file", res.Written)
	}
	if b, _ := os.ReadFile(edited); string(b) == string(mine) {
		t.Errorf("--force did not overwrite the edited file")
	}
}

func TestInit(t *testing.T) {
	t.Run("fresh directory", func(t *testing.T) {
		dir := t.TempDir()
		files, notes, err := Init(dir, InitOptions{Org: "acme", APIURL: "https://sym.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		got := byPath(files)
		symTF := string(got["sym.tf"])
		for _, want := range []string{`source  = "opensym/sym"`, `default     = "acme"`, `provider "sym"`, "org = var.sym_org"} {
			if !strings.Contains(symTF, want) {
				t.Errorf("sym.tf lacks %s:\n%s", want, symTF)
			}
		}
		env := string(got["sym.env"])
		for _, want := range []string{"SYM_API_URL=https://sym.example.com\n", "SYM_JWT=\n", "TF_CLI_CONFIG_FILE"} {
			if !strings.Contains(env, want) {
				t.Errorf("sym.env lacks %q:\n%s", want, env)
			}
		}
		if len(notes) != 0 {
			t.Errorf("notes for a fresh directory: %v", notes)
		}
	})

	t.Run("quickstart environment", func(t *testing.T) {
		// In a directory whose versions.tf requires sym already, sym init
		// writes exactly each quickstart's sym.tf, so that the READMEs'
		// `sym generate ...` then `sym init --dir .../environments/prod`
		// runs without --force.
		for name, quickstart := range map[string]func(AWSIAMOptions) ([]File, error){"aws-iam": AWSIAM, "aws-sso": AWSSSO, "aws-lambda": AWSLambda} {
			qs, err := quickstart(AWSIAMOptions{})
			if err != nil {
				t.Fatal(err)
			}
			q := byPath(qs)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "versions.tf"), q["environments/prod/versions.tf"], 0o644); err != nil {
				t.Fatal(err)
			}
			files, notes, err := Init(dir, InitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(byPath(files)["sym.tf"]), string(q["environments/prod/sym.tf"]); got != want {
				t.Errorf("%s: sym init's sym.tf differs from the quickstart's:\n--- init\n%s\n--- quickstart\n%s", name, got, want)
			}
			if len(notes) != 0 {
				t.Errorf("%s: notes: %v", name, notes)
			}
			if !strings.Contains(string(byPath(files)["sym.env"]), "SYM_API_URL="+DefaultAPIURL+"\n") {
				t.Errorf("%s: sym.env does not default to %s", name, DefaultAPIURL)
			}
		}
	})

	t.Run("required_providers without sym", func(t *testing.T) {
		dir := t.TempDir()
		tf := "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n"
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
			t.Fatal(err)
		}
		files, notes, err := Init(dir, InitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(byPath(files)["sym.tf"]), "required_providers") {
			t.Errorf("sym.tf declares required_providers a second time")
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "main.tf") || !strings.Contains(notes[0], `"opensym/sym"`) {
			t.Errorf("notes %q: want one that says what to add to main.tf", notes)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, o := range []InitOptions{{Org: "a b"}, {Org: `x"y`}, {APIURL: "localhost:8420"}, {APIURL: "ftp://x"}} {
			if _, _, err := Init(t.TempDir(), o); err == nil {
				t.Errorf("%+v: accepted", o)
			}
		}
	})
}

// The example in the repository is formatted as terraform fmt wants (the
// generated project is checked the same way in the apply test).
func TestQuickstartIsFormatted(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatalf("terraform is not on PATH: install Terraform >= 1.5 (%v)", err)
	}
	cmd := exec.Command("terraform", "fmt", "-check", "-recursive", "-diff", "-no-color", filepath.Join(root, "examples", "aws-iam-quickstart"))
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
}

// A second environment joins a project: its own directory is written, the
// README generated for the first is kept, and a file the user changed still
// stops the command. --org sets the default of sym_org.
func TestSecondEnvironmentAndOrg(t *testing.T) {
	dir := t.TempDir()
	prod, err := AWSIAM(AWSIAMOptions{Org: "my-org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, prod, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "environments/prod/sym.tf")); !strings.Contains(string(b), `default     = "my-org"`) {
		t.Fatalf("--org my-org: sym.tf says\n%s", b)
	}
	if got := ProjectEnvironments(dir); !slices.Equal(got, []string{"prod"}) {
		t.Fatalf("ProjectEnvironments: %v", got)
	}
	sandbox, err := AWSIAM(AWSIAMOptions{Environment: "sandbox", Siblings: ProjectEnvironments(dir)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Write(dir, sandbox, false)
	if err != nil {
		t.Fatalf("a second environment into the same project: %v", err)
	}
	if !slices.Contains(res.Kept, "README.md") || !slices.Contains(res.Written, "environments/sandbox/main.tf") {
		t.Fatalf("second environment: wrote %v, kept %v", res.Written, res.Kept)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "environments/sandbox/main.tf")); !strings.Contains(string(b), `environment_name = "sandbox"`) {
		t.Fatalf("sandbox main.tf:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "environments/sandbox/sym.tf")); !strings.Contains(string(b), `default     = ""`) {
		t.Fatalf("sandbox sym.tf without --org:\n%s", b)
	}
	// A README the user edited is theirs: a third environment refuses.
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# ours\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	staging, err := AWSIAM(AWSIAMOptions{Environment: "staging", Siblings: ProjectEnvironments(dir)})
	if err != nil {
		t.Fatal(err)
	}
	var ee *ExistsError
	if _, err := Write(dir, staging, false); !errors.As(err, &ee) || !slices.Contains(ee.Paths, "README.md") {
		t.Fatalf("over an edited README: %v", err)
	}
	if _, err := AWSIAM(AWSIAMOptions{Org: "a b"}); err == nil {
		t.Fatalf("org %q accepted", "a b")
	}
}
