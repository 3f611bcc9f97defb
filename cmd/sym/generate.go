package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opensym/sym/internal/generate"
	"github.com/spf13/cobra"
)

func init() {
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Write a Terraform project for a flow",
		Long: `generate writes a Terraform project you can apply and then change: the
environments, modules and connector modules of a flow, ready for terraform
init. It never overwrites a file you changed unless you pass --force.`,
	}

	var dir, env, genOrg string
	var force bool
	awsIAM := &cobra.Command{
		Use:   "aws-iam",
		Short: "Write the AWS IAM quickstart: temporary membership of IAM groups",
		Long: `aws-iam writes the AWS IAM quickstart (examples/aws-iam-quickstart) into --dir:

  environments/ENV/       providers, targets, variables, terraform.tfvars.example
  modules/sym-runtime/    runtime connector, sym_environment, Secrets Manager source
  modules/aws-iam-target/ an IAM group under /sym/ and the role its members may assume
  modules/aws-iam-flow/   IAM connector, targets, aws_iam strategy, the flow
  sym-modules/            copies of the sym connector modules those use

ENV is --environment (default prod); it names the directory and every
resource of the environment; generating another ENV into the same --dir adds
environments/ENV beside the first. A file that exists with the same
contents is left alone, and so is a shared file (README.md) as generated for
another environment of the project; a file with other contents (one you
changed) stops the command before anything is written, unless --force.

--org sets the default of sym_org (sym.tf); left empty, the provider uses
the org of the server SYM_API_URL points at.`,
		Example: `  sym generate aws-iam --dir my-access
  sym generate aws-iam --dir my-access --environment sandbox   # a second environment of the same project
  sym generate aws-iam --dir my-access --org acme              # for a server run with --org acme
  sym generate aws-iam --dir . --force    # rewrite every file of the layout`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageError{errors.New("--dir is required: the directory to write the project to")}
			}
			files, err := generate.AWSIAM(generate.AWSIAMOptions{Environment: env, Org: genOrg, Siblings: generate.ProjectEnvironments(dir)})
			if err != nil {
				return usageError{err}
			}
			res, err := generate.Write(dir, files, force)
			if err != nil {
				return err
			}
			if env == "" {
				env = generate.QuickstartEnvironment
			}
			out := cmd.OutOrStdout()
			report(out, dir, res)
			envDir := filepath.Join(dir, "environments", env)
			orgNote := "sym_org is empty: the provider uses the org of the server at SYM_API_URL"
			if genOrg != "" {
				orgNote = fmt.Sprintf("sym_org is %q: the server at SYM_API_URL must run --org %s", genOrg, genOrg)
			}
			fmt.Fprintf(out, `
Next:
  cd %[1]s
  cp terraform.tfvars.example terraform.tfvars   # fill in the principal sym server trusts (it prints it at start)
  export SYM_API_URL=<server URL> SYM_JWT=<admin token>   # or: sym init --api-url URL (writes sym.env)
  terraform init && terraform apply
(%[3]s.)
See %[2]s for the data flow and what to change for your AWS account.
`, envDir, filepath.Join(dir, "README.md"), orgNote)
			return nil
		},
	}
	awsIAM.Flags().StringVar(&dir, "dir", "", "directory to write the project to (created if missing; required)")
	awsIAM.Flags().StringVar(&env, "environment", generate.QuickstartEnvironment, "environment name: lowercase letters, digits and hyphens")
	awsIAM.Flags().BoolVar(&force, "force", false, "overwrite files that exist with other contents")
	awsIAM.Flags().StringVar(&genOrg, "org", generate.DefaultOrg, "the org your sym server runs (sym server --org); default: whatever org the server at SYM_API_URL runs")
	gen.AddCommand(awsIAM)

	gen.AddCommand(quickstartCmd("aws-sso", "Write the IAM Identity Center quickstart: permission sets assigned for a while",
		`aws-sso writes the IAM Identity Center quickstart (examples/aws-sso-quickstart)
into --dir:

  environments/ENV/       providers, runtime connector, environment, variables
                          (the permission sets requesters may ask for are
                          the targets input), terraform.tfvars.example
  modules/aws-sso-flow/   SSO connector, targets, aws_sso strategy, the flow
  sym-modules/            copies of the sym connector modules those use

Apply it in the account that holds the Identity Center instance.`, generate.AWSSSO))
	gen.AddCommand(quickstartCmd("aws-lambda", "Write the AWS Lambda quickstart: your functions grant and take away access",
		`aws-lambda writes the AWS Lambda quickstart (examples/aws-lambda-quickstart)
into --dir:

  environments/ENV/        providers, runtime connector, environment,
                           variables (the functions are the targets input),
                           terraform.tfvars.example
  modules/aws-lambda-flow/ Lambda connector, targets, aws_lambda strategy,
                           the flow
  sym-modules/             copies of the sym connector modules those use

sym invokes a target's function with an escalate event on approval and a
deescalate event when access ends (the original's payload, schema 6).`, generate.AWSLambda))

	var initDir, org string
	var initForce bool
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write the settings a Terraform project needs to reach a sym server",
		Long: `init writes two files into --dir (default: the current directory), a
Terraform root such as environments/prod of a generated project:

  sym.tf   the sym provider's requirement and its provider block (org)
  sym.env  SYM_API_URL, a place for SYM_JWT, and how Terraform finds the
           provider offline (TF_CLI_CONFIG_FILE)

When another .tf file of the directory already declares required_providers,
sym.tf leaves the requirement to it (Terraform allows one such block per
module) and init says what to add there if sym is missing. Load sym.env with
'set -a; . ./sym.env; set +a'; keep it out of version control once it holds
a token. The server URL is --api-url, else $SYM_API_URL, else
` + generate.DefaultAPIURL + `.`,
		Example: `  sym init --dir my-access/environments/prod --api-url https://sym.example.com
  sym init --dir my-access/environments/prod --org acme --force   # a server run with --org acme
  sym init --org acme    # a new Terraform root here`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			url := apiURL
			if url == "" {
				url = os.Getenv("SYM_API_URL")
			}
			files, notes, err := generate.Init(initDir, generate.InitOptions{Org: org, APIURL: url})
			if err != nil {
				return usageError{err}
			}
			res, err := generate.Write(initDir, files, initForce)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			report(out, initDir, res)
			for _, n := range notes {
				fmt.Fprintf(out, "\nNote: %s\n", n)
			}
			fmt.Fprintf(out, "\nNext: fill in SYM_JWT in %s (an admin runs 'sym tokens issue EMAIL'), then\n  set -a; . %s; set +a\n",
				filepath.Join(initDir, "sym.env"), filepath.Join(initDir, "sym.env"))
			return nil
		},
	}
	initCmd.Flags().StringVar(&initDir, "dir", ".", "the Terraform root directory to write to")
	initCmd.Flags().StringVar(&apiURL, "api-url", "", "sym server URL to write to sym.env (default $SYM_API_URL, else "+generate.DefaultAPIURL+")")
	initCmd.Flags().StringVar(&org, "org", generate.DefaultOrg, "the organisation your sym server runs (sym server --org)")
	initCmd.Flags().BoolVar(&initForce, "force", false, "overwrite sym.tf and sym.env if they exist with other contents (a token in sym.env too)")

	root.AddCommand(gen, initCmd)
}

func report(w io.Writer, dir string, res generate.Result) {
	for _, p := range res.Written {
		fmt.Fprintf(w, "wrote     %s\n", filepath.Join(dir, filepath.FromSlash(p)))
	}
	if n := len(res.Kept); n > 0 {
		fmt.Fprintf(w, "kept      %d file(s) under %s as generated for the project's other environment(s) (README.md, ...; --force rewrites them)\n", n, dir)
	}
	if n := len(res.Unchanged); n > 0 {
		fmt.Fprintf(w, "unchanged %d file(s) already up to date under %s\n", n, dir)
	}
}

// quickstartCmd is `sym generate NAME` for a quickstart rendered by render.
func quickstartCmd(name, short, long string, render func(generate.AWSIAMOptions) ([]generate.File, error)) *cobra.Command {
	var dir, env string
	var force bool
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long: long + `

ENV is --environment (default prod); it names the directory and every
resource of the environment. A file that exists with other contents stops
the command before anything is written, unless --force.`,
		Example: fmt.Sprintf("  sym generate %[1]s --dir my-access\n  sym generate %[1]s --dir my-access --environment sandbox", name),
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageError{errors.New("--dir is required: the directory to write the project to")}
			}
			files, err := render(generate.AWSIAMOptions{Environment: env})
			if err != nil {
				return usageError{err}
			}
			res, err := generate.Write(dir, files, force)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			report(out, dir, res)
			fmt.Fprintf(out, `
Next:
  sym init --dir %[1]s --api-url URL   # sym.env: server URL, token
  cd %[1]s
  cp terraform.tfvars.example terraform.tfvars      # sym server's identity, targets, approvers
  terraform init && terraform apply
See %[2]s for the data flow.
`, filepath.Join(dir, "environments", env), filepath.Join(dir, "README.md"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the project to (created if missing; required)")
	cmd.Flags().StringVar(&env, "environment", generate.QuickstartEnvironment, "environment name: lowercase letters, digits and hyphens")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite files that exist with other contents")
	return cmd
}
