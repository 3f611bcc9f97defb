package generate

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opensym/sym/examples"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/terraform"
)

// QuickstartEnvironment is the environment the quickstart is written for;
// a generated project uses its own name in its place.
const QuickstartEnvironment = "prod"

// ModulesDir is where a generated project keeps its copies of sym's
// Terraform modules (terraform/modules in the sym repository).
const ModulesDir = "sym-modules"

// modulesRoot is where the embedded modules live in the sym repository,
// which the quickstarts' relative module sources refer to.
const modulesRoot = "terraform/modules"

// quickstart is one embedded example project that sym generate renders.
type quickstart struct {
	fsys fs.FS
	// root is the example's directory in the sym repository.
	root string
	// names are the IAM name prefixes the modules derive from the
	// environment (SymRuntime -> SymRuntimeProd), renamed in the docs.
	names []string
	// readme is sym-modules/README.md.
	readme string
}

var (
	awsIAMQuickstart = quickstart{fsys: examples.AWSIAMQuickstart, root: "examples/aws-iam-quickstart",
		names: []string{"SymRuntime", "SymIAM"}, readme: modulesReadme}
	awsSSOQuickstart = quickstart{fsys: examples.AWSSSOQuickstart, root: "examples/aws-sso-quickstart",
		names: []string{"SymRuntime", "SymSSO"}, readme: otherModulesReadme("aws-sso", "sso-connector",
			"the role the runtime chains into to assign IAM Identity Center permission sets")}
	awsLambdaQuickstart = quickstart{fsys: examples.AWSLambdaQuickstart, root: "examples/aws-lambda-quickstart",
		names: []string{"SymRuntime", "SymLambda"}, readme: otherModulesReadme("aws-lambda", "lambda-connector",
			"the role the runtime chains into to invoke the targets' Lambda functions, and nothing else")}
)

// AWSIAMOptions tune AWSIAM.
type AWSIAMOptions struct {
	// Environment names the environment directory and every resource of it;
	// default QuickstartEnvironment.
	Environment string
	// Org is the sym_org the environment's sym.tf defaults to; empty: the
	// org of the server the provider reaches.
	Org string
	// Siblings are the project's other environments (ProjectEnvironments):
	// the shared files as generated for them count as unchanged.
	Siblings []string
}

// ProjectEnvironments lists the environments of a generated project in dir
// (the directories under environments/), or none.
func ProjectEnvironments(dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "environments"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && CheckEnvironment(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// AWSIAM renders the AWS IAM quickstart as a self-contained project: the
// quickstart's files with the environment renamed, and copies of the sym
// modules it uses under ModulesDir, with module sources rewritten to them.
func AWSIAM(o AWSIAMOptions) ([]File, error) { return render(awsIAMQuickstart, o) }

// AWSSSO renders the IAM Identity Center quickstart (examples/aws-sso-quickstart)
// the same way: permission sets assigned through the sso-connector.
func AWSSSO(o AWSIAMOptions) ([]File, error) { return render(awsSSOQuickstart, o) }

// AWSLambda renders the AWS Lambda quickstart (examples/aws-lambda-quickstart):
// functions of the team's own invoked through the lambda-connector.
func AWSLambda(o AWSIAMOptions) ([]File, error) { return render(awsLambdaQuickstart, o) }

func render(q quickstart, o AWSIAMOptions) ([]File, error) {
	env := o.Environment
	if env == "" {
		env = QuickstartEnvironment
	}
	if err := CheckEnvironment(env); err != nil {
		return nil, err
	}
	if err := CheckOrg(o.Org); err != nil {
		return nil, err
	}
	qs, err := readTree(q.fsys, path.Base(q.root))
	if err != nil {
		return nil, fmt.Errorf("read the embedded quickstart: %w", err)
	}
	mods, err := readTree(terraform.Modules, "modules")
	if err != nil {
		return nil, fmt.Errorf("read the embedded modules: %w", err)
	}

	var files []File
	var needed []string
	envDir := "environments/" + QuickstartEnvironment
	for _, p := range sortedPaths(qs) {
		data := qs[p]
		out := p
		if strings.HasPrefix(p, envDir+"/") {
			out = "environments/" + env + strings.TrimPrefix(p, envDir)
		}
		if strings.HasSuffix(p, ".tf") {
			data, err = rewriteSources(q.root, p, out, data, &needed)
			if err != nil {
				return nil, err
			}
		}
		if env != QuickstartEnvironment {
			data, err = renameEnvironment(q, p, data, env)
			if err != nil {
				return nil, err
			}
		}
		if p == envDir+"/sym.tf" && o.Org != "" {
			if n := bytes.Count(data, orgDefault); n != 1 {
				return nil, fmt.Errorf("%s/%s: expected exactly one line %s to set the org, found %d", q.root, p, orgDefault, n)
			}
			data = bytes.Replace(data, orgDefault, fmt.Appendf(nil, "default     = %q", o.Org), 1)
		}
		// What lies outside the environment's directory serves every
		// environment of the project.
		files = append(files, File{Path: out, Data: data})
	}

	dirs, err := moduleDirs(mods, needed)
	if err != nil {
		return nil, err
	}
	for _, p := range sortedPaths(mods) {
		for _, d := range dirs {
			if path.Dir(p) == d {
				files = append(files, File{Path: ModulesDir + "/" + p, Data: mods[p]})
			}
		}
	}
	files = append(files, File{Path: ModulesDir + "/README.md", Data: []byte(q.readme)})
	for _, sib := range o.Siblings {
		if sib == env || CheckEnvironment(sib) != nil {
			continue
		}
		others, err := render(q, AWSIAMOptions{Environment: sib})
		if err != nil {
			return nil, err
		}
		byPath := map[string][]byte{}
		for _, f := range others {
			byPath[f.Path] = f.Data
		}
		for i := range files {
			if d, ok := byPath[files[i].Path]; ok && !bytes.Equal(d, files[i].Data) {
				files[i].Others = append(files[i].Others, d)
			}
		}
	}
	return files, nil
}

// rewriteSources points the module sources of the quickstart file p (written
// as out) that reach into the sym repository's terraform/modules at the
// project's own copies under ModulesDir, and records which modules it needs.
func rewriteSources(quickstartRoot, p, out string, data []byte, needed *[]string) ([]byte, error) {
	var bad error
	data = sourceLine.ReplaceAllFunc(data, func(line []byte) []byte {
		m := sourceLine.FindSubmatch(line)
		src := string(m[2])
		if !isLocalSource(src) {
			return line
		}
		target := path.Join(quickstartRoot, path.Dir(p), src)
		switch {
		case strings.HasPrefix(target, quickstartRoot+"/"):
			return line // within the quickstart: the layout is kept
		case strings.HasPrefix(target, modulesRoot+"/"):
			mod := strings.TrimPrefix(target, modulesRoot+"/")
			*needed = append(*needed, mod)
			return []byte(string(m[1]) + relSlash(path.Dir(out), ModulesDir+"/"+mod) + string(m[3]))
		default:
			bad = fmt.Errorf("%s/%s: module source %q is neither in the quickstart nor in %s", quickstartRoot, p, src, modulesRoot)
			return line
		}
	})
	return data, bad
}

// orgDefault is the default of sym_org in the quickstart's sym.tf.
var orgDefault = []byte(`default     = ""`)

// envLocal is the one line of the quickstart that names its environment.
var envLocal = []byte(`environment_name = "` + QuickstartEnvironment + `"`)

// renameEnvironment puts env where the quickstart says prod: the
// environment_name local of environments/prod/main.tf, the directory's name
// wherever a file mentions it, and the example names of the documentation.
func renameEnvironment(q quickstart, p string, data []byte, env string) ([]byte, error) {
	quickstartRoot := q.root
	if p == "environments/"+QuickstartEnvironment+"/main.tf" {
		if n := bytes.Count(data, envLocal); n != 1 {
			return nil, fmt.Errorf("%s/%s: expected exactly one line %s to rename the environment, found %d", quickstartRoot, p, envLocal, n)
		}
		data = bytes.Replace(data, envLocal, []byte(`environment_name = "`+env+`"`), 1)
	}
	data = bytes.ReplaceAll(data, []byte("environments/"+QuickstartEnvironment), []byte("environments/"+env))
	if strings.HasSuffix(p, ".md") {
		// The names the documentation uses as examples, derived from the
		// environment as the modules derive them.
		for _, kind := range q.names {
			data = bytes.ReplaceAll(data, []byte(kind+connector.TitleCase(QuickstartEnvironment)), []byte(kind+connector.TitleCase(env)))
		}
		data = bytes.ReplaceAll(data, []byte(QuickstartEnvironment+"-"), []byte(env+"-"))
	}
	return data, nil
}

const modulesReadme = `# sym-modules

Copies of the Terraform modules of sym (` + "`terraform/modules`" + ` in the sym repository), written by
` + "`sym generate aws-iam`" + ` so that this project needs nothing else:

- ` + "`runtime-connector`" + `: the role sym server assumes first, with an External ID (and its addons);
- ` + "`iam-connector`" + `: the role the runtime chains into to add users to, and remove them from, IAM groups.

To update them, generate a project into an empty directory with a newer ` + "`sym`" + ` and copy its
` + "`sym-modules/`" + ` over this one; then ` + "`terraform init`" + ` and ` + "`terraform plan`" + ` to see what changes.
`

// otherModulesReadme is sym-modules/README.md of a quickstart that uses the
// runtime connector and one strategy connector.
func otherModulesReadme(command, connector, what string) string {
	return "# sym-modules\n\nCopies of the Terraform modules of sym (`terraform/modules` in the sym repository), written by\n" +
		"`sym generate " + command + "` so that this project needs nothing else:\n\n" +
		"- `runtime-connector`: the role sym server assumes first, with an External ID (and its addons);\n" +
		"- `" + connector + "`: " + what + ".\n\n" +
		"To update them, generate a project into an empty directory with a newer `sym` and copy its\n" +
		"`sym-modules/` over this one; then `terraform init` and `terraform plan` to see what changes.\n"
}
