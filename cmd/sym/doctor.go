package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/connector"
	"github.com/spf13/cobra"
)

// doctor runs the checks of 'sym doctor' and counts the failures.
type doctor struct {
	out      io.Writer
	failures int
}

func (d *doctor) ok(format string, a ...any) {
	fmt.Fprintf(d.out, "ok    %s\n", fmt.Sprintf(format, a...))
}

func (d *doctor) fail(next, format string, a ...any) {
	d.failures++
	fmt.Fprintf(d.out, "FAIL  %s\n", fmt.Sprintf(format, a...))
	if next != "" {
		fmt.Fprintf(d.out, "      next: %s\n", next)
	}
}

func (d *doctor) note(format string, a ...any) {
	fmt.Fprintf(d.out, "note  %s\n", fmt.Sprintf(format, a...))
}

// symOrgLine finds the default of variable "sym_org" (sym.tf) or a
// sym_org = "..." assignment (terraform.tfvars).
var (
	symOrgDefault = regexp.MustCompile(`(?s)variable\s+"sym_org"\s*\{[^}]*?default\s*=\s*"([^"]*)"`)
	symOrgTfvars  = regexp.MustCompile(`(?m)^\s*sym_org\s*=\s*"([^"]*)"`)
)

// projectOrg reads the org a Terraform root in dir would use (empty: the
// server's), and where it found it; from is empty when dir is not a sym
// Terraform root.
func projectOrg(dir string) (org, from string) {
	for _, f := range []string{"terraform.tfvars", "sym.auto.tfvars"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			if m := symOrgTfvars.FindSubmatch(b); m != nil {
				return string(m[1]), filepath.Join(dir, f)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sym.tf")); err == nil {
		if m := symOrgDefault.FindSubmatch(b); m != nil {
			return string(m[1]), filepath.Join(dir, "sym.tf")
		}
	}
	return "", ""
}

// broadPolicies are the entries of a runtime's policy_arns (a comma list)
// that the server's guard rails refuse as admin-level AWS-managed policies.
func broadPolicies(g awsauth.Guards, list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); g.CheckPolicyARNs(a) != nil {
			out = append(out, a)
		}
	}
	return out
}

func init() {
	var dir string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what usually goes wrong: server, token, org, AWS identity, connector roles, IAM users",
		Long: `doctor checks, in order, what a newcomer usually gets wrong, and says what to
do about each failure:

  the server     reachable at $SYM_API_URL (or --api-url), and a sym server
  the token      $SYM_JWT is valid, and whose it is
  the org        the Terraform root in --dir (sym.tf, terraform.tfvars) uses
                 the org the server runs
  AWS identity   the server has AWS credentials, and which principal the
                 runtime connector role must trust
  runtime roles  each runtime connector role trusts that principal and is
                 exactly what its module promises under the server's guard
                 rails (--allow-broad-runtime-policies), read with your own
                 AWS credentials as 'sym connector verify' does
  IAM users      the IAM user of every sym user's aws_iam identity exists
                 (needs an admin token)

It exits 1 when a check fails.`,
		Example: `  sym doctor
  sym doctor --dir infra/environments/prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &doctor{out: cmd.OutOrStdout()}
			runDoctor(cmd.Context(), d, dir)
			if d.failures > 0 {
				return fmt.Errorf("%d check(s) failed (see above)", d.failures)
			}
			fmt.Fprintln(d.out, "all checks passed")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "a Terraform root of a sym project (with sym.tf) whose org to check")
	root.AddCommand(clientFlags(cmd, false))
}

func runDoctor(ctx context.Context, d *doctor, dir string) {
	base, err := serverURL()
	if err != nil {
		d.fail("", "%v", err)
		return
	}
	token := os.Getenv("SYM_JWT")
	if token == "" {
		d.fail("export SYM_JWT=<token>: the server's SYM_ADMIN_TOKEN, or one from 'sym tokens issue EMAIL'", "SYM_JWT is not set")
		return
	}
	c := api.NewClient(base, token)
	var info api.ServerInfo
	if err := c.Do(ctx, "GET", "/server", nil, &info); err != nil {
		switch {
		case api.StatusOf(err) == 401:
			d.ok("sym server at %s answers", base)
			d.fail("use the server's SYM_ADMIN_TOKEN, or ask an admin for 'sym tokens issue YOUR_EMAIL'", "SYM_JWT is not a token this server knows")
		default:
			d.fail("", "%v", err)
		}
		return
	}
	d.ok("sym server %s at %s answers (org %s)", info.Version, base, info.Org)
	who := info.You.Email + " (" + info.You.Role + ")"
	if info.You.Bot {
		who = "the admin bot (SYM_ADMIN_TOKEN)"
	}
	d.ok("SYM_JWT is valid: you are %s", who)

	if org, from := projectOrg(dir); from == "" {
		d.note("no sym Terraform root in %s (no sym_org in sym.tf or terraform.tfvars): org not compared", dir)
	} else if org == "" {
		d.ok("the Terraform root %s leaves sym_org empty: it uses the server's org %q", dir, info.Org)
	} else if !strings.EqualFold(org, info.Org) {
		d.fail(fmt.Sprintf("set sym_org = %q in %s/terraform.tfvars (or run 'sym init --dir %s --org %s --force')", info.Org, dir, dir, info.Org),
			"%s sets org %q but the server runs org %q: terraform apply would fail with \"Wrong organisation\"", from, org, info.Org)
	} else {
		d.ok("the Terraform root %s uses org %q, as the server does", dir, org)
	}

	var principal string
	switch {
	case info.AWSIdentity != nil:
		principal = info.AWSIdentity.PrincipalARN
		d.ok("the server reaches AWS as %s; the runtime connector role must trust %s", info.AWSIdentity.ARN, principal)
	case info.CredentialsError:
		d.fail(awsauth.CredentialsHelp+"; then restart sym server", "the server has no usable AWS credentials: %s", info.AWSError)
	default:
		d.fail("check the server's network access to STS (and AWS_ENDPOINT_URL for an emulator)", "the server cannot tell its AWS identity: %s", info.AWSError)
	}

	var contexts []struct {
		ID       string            `json:"id"`
		Slug     string            `json:"slug"`
		Type     string            `json:"type"`
		Settings map[string]string `json:"settings"`
	}
	if err := c.Do(ctx, "GET", "/entities/integrations", nil, &contexts); err != nil {
		d.fail("", "read the integrations: %v", err)
		return
	}
	// Judge runtime roles as the server does. A server older than
	// guard_rails is judged by the default guard rails: strict, never
	// more lenient than the server.
	var guards awsauth.Guards
	guardsNote := "the server does not say its guard rails (it is older than this sym): runtime roles are judged by the default ones, as if it ran without --allow-broad-runtime-policies"
	if info.GuardRails != nil {
		guards.AllowBroadPolicies, guardsNote = info.GuardRails.AllowBroadRuntimePolicies, ""
		if guards.AllowBroadPolicies {
			guardsNote = "the server runs with --allow-broad-runtime-policies: a runtime's policy_arns may name AWS-managed admin-level policies"
		}
	}
	cfg, cfgErr := config.LoadDefaultConfig(ctx)
	var reader *iam.Client
	if cfgErr == nil {
		reader = iam.NewFromConfig(cfg)
	}
	runtimes := 0
	for _, ic := range contexts {
		if ic.Type != "permission_context" || ic.Settings["external_id"] == "" {
			continue // only runtime contexts carry the External ID
		}
		runtimes++
		if runtimes == 1 && guardsNote != "" {
			d.note("%s", guardsNote)
		}
		if trusted := strings.Split(ic.Settings["trusted_principals"], ","); principal != "" && ic.Settings["trusted_principals"] != "" &&
			!slices.Contains(trusted, principal) {
			d.fail(fmt.Sprintf("set runtime_trusted_principal_arns = [%q] and terraform apply", principal),
				"runtime %s trusts %s, not the server's identity %s", ic.Slug, ic.Settings["trusted_principals"], principal)
			continue
		}
		if reader == nil {
			d.fail("give this shell AWS credentials (as for terraform apply)", "cannot read runtime role %s: %v", ic.Settings["role_arn"], cfgErr)
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := connector.VerifyRuntimeWith(vctx, reader, ic.Settings, nil, guards)
		cancel()
		var aerr *smithy.OperationError
		if errors.As(err, &aerr) {
			// Not a role that differs: an IAM read this shell made failed.
			next := "give this shell AWS credentials (as for terraform apply) that may call iam:GetRole, ListAttachedRolePolicies, " +
				"GetPolicy, GetPolicyVersion, ListRolePolicies and GetRolePolicy, and network access to IAM"
			if awsauth.IsCredentialsError(err) {
				next = "give this shell AWS credentials (as for terraform apply): AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; " +
					"they need iam:GetRole, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion, ListRolePolicies and GetRolePolicy"
			}
			d.fail(next, "cannot read runtime role %s (%s) with this shell's AWS identity, so it was not checked: %v", ic.Settings["role_arn"], ic.Slug, err)
			continue
		}
		if err != nil {
			next := "terraform apply the project that declares it; 'sym connector verify' shows the whole report"
			if broad := broadPolicies(guards, ic.Settings["policy_arns"]); len(broad) > 0 {
				next = fmt.Sprintf("remove %s from the runtime's policy_arns and terraform apply, or start sym server with --allow-broad-runtime-policies",
					strings.Join(broad, ", "))
			}
			d.fail(next, "runtime role %s (%s) is not what its module promises: %v", ic.Settings["role_arn"], ic.Slug, err)
			continue
		}
		d.ok("runtime role %s (%s) is what its module promises", ic.Settings["role_arn"], ic.Slug)
	}
	if runtimes == 0 {
		d.note("no runtime yet: terraform apply a project (sym generate aws-iam) to declare one")
	}

	if info.You.Role != "admin" {
		d.note("IAM users not checked: listing users needs an admin token")
		return
	}
	var users []user
	if err := c.Do(ctx, "GET", "/users", nil, &users); err != nil {
		d.fail("", "list users: %v", err)
		return
	}
	if reader == nil {
		return
	}
	for _, u := range users {
		for _, k := range sortedKeys(u.Identities) {
			if k != "aws_iam" {
				continue // aws_iam:ACCOUNT names a user of another account
			}
			name := u.Identities[k]
			_, err := reader.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
			var nse *types.NoSuchEntityException
			switch {
			case errors.As(err, &nse):
				d.fail(fmt.Sprintf("create the IAM user %s, or 'sym users set-identity %s %s=<the right IAM user>'", name, u.Email, k),
					"%s's %s identity names IAM user %s, which does not exist: a grant to them would fail", u.Email, k, name)
			case err != nil:
				// A read this shell cannot make: the next user's would
				// fail the same way, after the SDK's retries again.
				d.fail("give this shell AWS credentials (as for terraform apply) that may call iam:GetUser, and network access to IAM",
					"cannot read IAM user %s (%s) with this shell's AWS identity: %v", name, u.Email, err)
				d.note("IAM users not checked: the rest were not read")
				return
			default:
				d.ok("IAM user %s of %s exists", name, u.Email)
			}
		}
	}
}
