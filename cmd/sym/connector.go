package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/connector"
)

// newConnectorCmd is `sym connector`: checks of the AWS connector roles the
// Terraform modules in terraform/modules create.
func newConnectorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Check the AWS connector roles sym uses in your account",
	}
	cmd.AddCommand(newConnectorVerifyCmd())
	return cmd
}

func newConnectorVerifyCmd() *cobra.Command {
	var (
		e              connector.Expectation
		iamRoles       []string
		groups         []string
		lambdaRoles    []string
		lambdaFuncs    []string
		ssoRoles       []string
		ssoAccount     bool
		jsonOut        bool
		trusted        []string
		safelist       []string
		declaredExtras []string
		destinations   []string
		fromServer     bool
		groupPaths     string
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify that the deployed connector roles are exactly what the modules promise",
		Long: `verify reads the runtime connector role, and each strategy connector role
given, with IAM read calls (GetRole, ListAttachedRolePolicies, GetPolicy,
GetPolicyVersion, ListRolePolicies, GetRolePolicy) and reports whether each is
exactly what its Terraform module promises:

  runtime connector  trusted only by the expected principals, and only with
                     the External ID; sts:AssumeRole on role/sym/* in the
                     current and safelisted accounts and nothing else; the
                     addon policies with their tag conditions
  IAM connector      trusted only by the runtime role; AddUserToGroup and
                     RemoveUserFromGroup on the configured groups only
  Lambda connector   trusted only by the runtime role; InvokeFunction on the
                     listed functions only
  SSO connector      trusted only by the runtime role; SymSSO<Env> (account
                     assignments, user look-up), SymSSOGroup<Env> (group
                     memberships), SymListAccounts<Env> and, with
                     sso_account_assignment_enabled, SymSSO<Env>-Account

With --log-destination, --secret or --from-server it also evaluates the
runtime role's policies against what the server will do with them: write each
Kinesis stream (the kinesis-data-stream addon's stream_arns) and Firehose
delivery stream (tagged SymEnv=<environment>), read each secret once tagged
SymEnv=<environment>, and read no secret tagged otherwise or untagged.
--from-server takes the log destinations and secrets that the sym server at
$SYM_API_URL runs through this runtime role.

Policies attached beyond these are listed with what they allow; those not
declared with --extra-policy are differences.

It applies the sym server's guard rails too, with the same flags: an
--extra-policy naming an AWS-managed admin-level policy (AdministratorAccess*,
PowerUserAccess, *FullAccess, job-function/*Administrator) is a difference
unless --allow-broad-runtime-policies, and an IAM connector role whose
policies (any of them, inline ones included) let it add users to or remove
them from groups outside --allowed-group-paths (default /sym/) is a
difference: the server refuses such roles before using them. The exit status is 1 when any
difference is found. AWS is reached through the SDK's default configuration
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).`,
		Example: `  # in a root that outputs the runtime connector module's settings as runtime_settings
  # (the quickstart does):
  sym connector verify \
    --runtime-role-arn arn:aws:iam::123456789012:role/sym/SymRuntimeProd \
    --external-id "$(terraform output -json runtime_settings | jq -r .external_id)" \
    --account-safelist 111122223333 --addon aws/secretsmgr \
    --iam-connector-role-arn arn:aws:iam::123456789012:role/sym/SymIAMProd \
    --group /sym/:* --group /teams/:db-admins \
    --sso-connector-role-arn arn:aws:iam::123456789012:role/sym/SymSSOProd`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if e.GroupPaths, err = awsauth.ParseGroupPaths(groupPaths); err != nil {
				return usageError{err}
			}
			e.TrustedPrincipals = trusted
			e.AccountSafelist = splitCommas(safelist)
			e.DeclaredPolicyARNs = declaredExtras
			var gs []connector.Group
			for _, g := range groups {
				parsed, err := connector.ParseGroup(g)
				if err != nil {
					return usageError{err}
				}
				gs = append(gs, parsed)
			}
			if len(gs) > 0 && len(iamRoles) == 0 {
				return usageError{fmt.Errorf("--group needs --iam-connector-role-arn")}
			}
			for _, arn := range iamRoles {
				e.IAMConnectors = append(e.IAMConnectors, connector.IAMConnector{RoleARN: arn, Groups: gs})
			}
			if len(lambdaFuncs) > 0 && len(lambdaRoles) == 0 {
				return usageError{fmt.Errorf("--lambda-arn needs --lambda-connector-role-arn")}
			}
			for _, arn := range lambdaRoles {
				if len(lambdaFuncs) == 0 {
					return usageError{fmt.Errorf("--lambda-connector-role-arn needs the --lambda-arn functions it may invoke")}
				}
				e.LambdaConnectors = append(e.LambdaConnectors, connector.LambdaConnector{RoleARN: arn, FunctionARNs: lambdaFuncs})
			}
			for _, arn := range ssoRoles {
				e.SSOConnectors = append(e.SSOConnectors, connector.SSOConnector{RoleARN: arn, AccountAssignment: ssoAccount})
			}
			if e.RuntimeRoleARN == "" || e.ExternalID == "" {
				return usageError{fmt.Errorf("--runtime-role-arn and --external-id are required")}
			}
			for _, d := range destinations {
				parsed, err := connector.ParseDestination(d)
				if err != nil {
					return usageError{err}
				}
				e.Destinations = append(e.Destinations, parsed)
			}
			if fromServer {
				dests, secrets, err := addonUsesFromServer(e.RuntimeRoleARN)
				if err != nil {
					return err
				}
				e.Destinations = append(e.Destinations, dests...)
				e.Secrets = append(e.Secrets, secrets...)
			}

			cfg, err := config.LoadDefaultConfig(cmd.Context())
			if err != nil {
				return fmt.Errorf("load the AWS configuration: %w", err)
			}
			if e.Region == "" {
				e.Region = cfg.Region
			}
			rep, err := connector.Verify(cmd.Context(), iam.NewFromConfig(cfg), e)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					OK          bool     `json:"ok"`
					Differences []string `json:"differences"`
					connector.Report
				}{rep.OK(), nonNil(rep.Differences()), rep}); err != nil {
					return err
				}
			} else {
				fmt.Fprint(out, rep.Text())
			}
			if !rep.OK() {
				return fmt.Errorf("%d difference(s) from what the connector modules promise, first: %s",
					len(rep.Differences()), rep.Differences()[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&e.RuntimeRoleARN, "runtime-role-arn", "", "ARN of the runtime connector role (module output sym_runtime_connector_role.arn)")
	f.StringVar(&e.ExternalID, "external-id", "", "the External ID the trust policy must require (settings.external_id)")
	f.StringArrayVar(&trusted, "trusted-principal", nil, "a principal ARN or account id the trust policy must name (repeat; default: the runtime role's account root)")
	f.StringArrayVar(&safelist, "account-safelist", nil, "account ids (repeat or comma-separate) besides the runtime's own where /sym/ roles may be assumed")
	f.StringVar(&e.Environment, "environment", "", "the modules' environment input (default: from the runtime role name, SymRuntimeProd -> prod)")
	f.StringArrayVar(&e.Addons, "addon", nil, "an addon expected on the runtime role: aws/secretsmgr, aws/kinesis-firehose, aws/kinesis-data-stream (repeat)")
	f.StringVar(&e.SecretsTagName, "secrets-tag-name", "SymEnv", "the aws/secretsmgr addon's tag_name")
	f.StringArrayVar(&e.StreamARNs, "stream-arn", nil, "a stream ARN given to the aws/kinesis-data-stream addon (repeat)")
	f.StringArrayVar(&destinations, "log-destination", nil, "a log destination the runtime role must write: kinesis_data_stream:<stream name or ARN> or kinesis_firehose:<delivery stream> (repeat)")
	f.StringArrayVar(&e.Secrets, "secret", nil, "a secret path or ARN the runtime role must read once tagged for the environment (repeat)")
	f.StringVar(&e.Region, "region", "", "region of streams and secrets given by name (default: the AWS configuration's region)")
	f.BoolVar(&fromServer, "from-server", false, "also check the Kinesis/Firehose log destinations and secrets the sym server ($SYM_API_URL, $SYM_JWT) uses through this runtime role")
	f.StringArrayVar(&declaredExtras, "extra-policy", nil, "a policy ARN attached on purpose through policy_arns (repeat): listed, not a difference")
	f.StringArrayVar(&iamRoles, "iam-connector-role-arn", nil, "ARN of an IAM connector role to verify (repeat)")
	f.StringArrayVar(&groups, "group", nil, "a group_config entry of the IAM connector as PATH:NAME, e.g. /sym/:* (repeat: list every entry, or every group the connector may change; default /sym/:*)")
	f.StringArrayVar(&lambdaRoles, "lambda-connector-role-arn", nil, "ARN of a Lambda connector role to verify (repeat)")
	f.StringArrayVar(&lambdaFuncs, "lambda-arn", nil, "a function ARN the Lambda connector may invoke (repeat)")
	f.StringArrayVar(&ssoRoles, "sso-connector-role-arn", nil, "ARN of an SSO (IAM Identity Center) connector role to verify (repeat)")
	f.BoolVar(&ssoAccount, "sso-account-assignment", true, "the SSO connector's sso_account_assignment_enabled: expect the SymSSO<Env>-Account policy")
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	f.StringVar(&groupPaths, "allowed-group-paths", awsauth.DefaultGroupPath, "comma list of the IAM paths of the groups sym may change (the server's flag): an IAM connector role that may change membership elsewhere is a difference")
	f.BoolVar(&e.AllowBroadPolicies, "allow-broad-runtime-policies", false, "accept --extra-policy entries naming AWS-managed admin-level policies (the server's flag)")
	// --api-url: the server --from-server reads.
	return clientFlags(cmd, false)
}

func splitCommas(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// addonUsesFromServer lists the AWS log destinations and the secrets that
// the sym server reaches through the runtime role: those of the permission
// contexts whose role_arn is it, and of the environments running on them.
func addonUsesFromServer(runtimeRoleARN string) ([]connector.Destination, []string, error) {
	c, err := client()
	if err != nil {
		return nil, nil, err
	}
	type entity struct {
		ID                string            `json:"id"`
		Type              string            `json:"type"`
		Path              string            `json:"path"`
		SourceID          string            `json:"source_id"`
		ContextID         string            `json:"context_id"`
		RuntimeID         string            `json:"runtime_id"`
		IntegrationID     string            `json:"integration_id"`
		LogDestinationIDs []string          `json:"log_destination_ids"`
		Settings          map[string]string `json:"settings"`
	}
	list := func(kind string) ([]entity, error) {
		var out []entity
		if err := c.Do(ctx(), "GET", "/entities/"+kind, nil, &out); err != nil {
			return nil, fmt.Errorf("read %s from the sym server: %w", kind, err)
		}
		return out, nil
	}
	kinds := map[string][]entity{}
	for _, k := range []string{"integrations", "runtimes", "environments", "log-destinations", "secret-sources", "secrets"} {
		if kinds[k], err = list(k); err != nil {
			return nil, nil, err
		}
	}
	contexts := map[string]bool{}
	for _, i := range kinds["integrations"] {
		if i.Type == "permission_context" && i.Settings["role_arn"] == runtimeRoleARN {
			contexts[i.ID] = true
		}
	}
	if len(contexts) == 0 {
		return nil, nil, fmt.Errorf("the sym server has no permission context with role_arn %s", runtimeRoleARN)
	}
	runtimes := map[string]bool{}
	for _, r := range kinds["runtimes"] {
		if contexts[r.ContextID] {
			runtimes[r.ID] = true
		}
	}
	envDests := map[string]bool{}
	for _, e := range kinds["environments"] {
		if runtimes[e.RuntimeID] {
			for _, id := range e.LogDestinationIDs {
				envDests[id] = true
			}
		}
	}
	var dests []connector.Destination
	for _, d := range kinds["log-destinations"] {
		if (d.Type == "kinesis_data_stream" || d.Type == "kinesis_firehose") &&
			(contexts[d.IntegrationID] || (d.IntegrationID == "" && envDests[d.ID])) {
			dests = append(dests, connector.Destination{Type: d.Type, Stream: d.Settings["stream_name"]})
		}
	}
	sources := map[string]bool{}
	for _, s := range kinds["secret-sources"] {
		if contexts[s.Settings["context_id"]] {
			sources[s.ID] = true
		}
	}
	var secrets []string
	for _, s := range kinds["secrets"] {
		if sources[s.SourceID] && !slices.Contains(secrets, s.Path) {
			secrets = append(secrets, s.Path)
		}
	}
	return dests, secrets, nil
}
