// Package connector knows what each connector role that the Terraform
// modules in terraform/modules create must look like, and verifies a
// deployed role against that with IAM read calls only.
//
// It is the code form of the modules' promises: the runtime connector role
// (trust: the named principals, only with the External ID; permissions:
// sts:AssumeRole on role/sym/* in the allowed accounts, plus the chosen
// addons), the IAM connector role (trust: only the runtime roles; membership
// changes on the configured groups) and the Lambda connector role. It must
// never write to IAM: it is what a security reviewer runs against a live
// account.
package connector

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/policy"
)

// Addon names, as the runtime-connector module's addons input spells them.
const (
	AddonSecretsManager    = "aws/secretsmgr"
	AddonKinesisFirehose   = "aws/kinesis-firehose"
	AddonKinesisDataStream = "aws/kinesis-data-stream"
)

// OriginalVendorAccount is the original Sym's production AWS account, the
// original runtime-connector's default trusted account. A runtime role
// must never trust it: it holds the External ID of every role it was given,
// which a migrating team keeps (docs/migrating.md steps 3 and 4).
const OriginalVendorAccount = "803477428605"

// principalAccount answers the account of a trusted principal: an account
// id, or the account field of an ARN.
func principalAccount(p string) string {
	if model.IsAccountID(p) {
		return p
	}
	if parts := strings.SplitN(p, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// Addons lists the known addons.
var Addons = []string{AddonSecretsManager, AddonKinesisFirehose, AddonKinesisDataStream}

// Expectation is what the deployed connectors should be, in the modules'
// own terms.
type Expectation struct {
	// RuntimeRoleARN is the runtime connector role (output
	// sym_runtime_connector_role.arn or settings.role_arn).
	RuntimeRoleARN string `json:"runtime_role_arn"`
	// ExternalID is the External ID the trust policy must require
	// (settings.external_id).
	ExternalID string `json:"external_id"`
	// TrustedPrincipals are the principals the trust policy must name,
	// exactly: ARNs or account ids (an account id means its root). Empty
	// means the module's default: the runtime role's own account root.
	TrustedPrincipals []string `json:"trusted_principals,omitempty"`
	// AccountSafelist are the accounts, besides the runtime role's own, in
	// which the runtime may assume /sym/ roles.
	AccountSafelist []string `json:"account_safelist,omitempty"`
	// Environment is the module's environment input; empty derives it
	// from the runtime role's name (SymRuntimeProd -> prod).
	Environment string `json:"environment,omitempty"`
	// Addons expected on the runtime role (aws/secretsmgr, ...).
	Addons []string `json:"addons,omitempty"`
	// DetectAddons accepts addon policies found on the role by name instead
	// of requiring exactly Addons; each found one must still be exactly what
	// the addon module makes. The server uses it: it does not know the
	// Terraform inputs.
	DetectAddons bool `json:"detect_addons,omitempty"`
	// SecretsTagName is the secretsmgr addon's tag_name (default SymEnv).
	SecretsTagName string `json:"secrets_tag_name,omitempty"`
	// StreamARNs are the kinesis-data-stream addon's stream_arns.
	StreamARNs []string `json:"stream_arns,omitempty"`
	// Destinations are log destinations the runtime role must be able to
	// write (stream ARNs through the kinesis-data-stream addon, delivery
	// streams through the kinesis-firehose addon).
	Destinations []Destination `json:"destinations,omitempty"`
	// Secrets are sym_secret paths (or ARNs) the runtime role must be able
	// to read once tagged for the environment.
	Secrets []string `json:"secrets,omitempty"`
	// Region is where bare stream and secret names live (default
	// us-east-1).
	Region string `json:"region,omitempty"`
	// DeclaredPolicyARNs are the runtime-connector's policy_arns: attached
	// on purpose, listed with what they allow but not a difference.
	DeclaredPolicyARNs []string `json:"declared_policy_arns,omitempty"`

	// GroupPaths are the IAM paths of the groups sym may change
	// (--allowed-group-paths; empty: /sym/): an IAM connector role whose
	// policies let it change membership of groups elsewhere is a
	// difference.
	GroupPaths []string `json:"allowed_group_paths,omitempty"`
	// AllowBroadPolicies accepts DeclaredPolicyARNs naming AWS-managed
	// admin-level policies (--allow-broad-runtime-policies); without it
	// each is a difference, as the server refuses them.
	AllowBroadPolicies bool `json:"allow_broad_runtime_policies,omitempty"`

	IAMConnectors    []IAMConnector    `json:"iam_connectors,omitempty"`
	LambdaConnectors []LambdaConnector `json:"lambda_connectors,omitempty"`
	SSOConnectors    []SSOConnector    `json:"sso_connectors,omitempty"`
}

// IAMConnector is one iam-connector module's role.
type IAMConnector struct {
	RoleARN string  `json:"role_arn"`
	Groups  []Group `json:"groups"` // empty means the module default /sym/*
}

// Group is one group_config entry; Name may hold wildcards.
type Group struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// ParseGroup reads PATH:NAME (e.g. "/sym/:*"); a bare name means path /.
func ParseGroup(s string) (Group, error) {
	i := strings.LastIndex(s, ":")
	g := Group{Path: "/", Name: s}
	if i >= 0 {
		g = Group{Path: s[:i], Name: s[i+1:]}
	}
	if !strings.HasPrefix(g.Path, "/") || !strings.HasSuffix(g.Path, "/") {
		return Group{}, fmt.Errorf("group %q: the path must start and end with a slash, e.g. /sym/:*", s)
	}
	if g.Name == "" || strings.Contains(g.Name, "/") {
		return Group{}, fmt.Errorf("group %q: the name must be a group name or pattern without slashes", s)
	}
	return g, nil
}

// DefaultGroups is the iam-connector module's default group_config.
var DefaultGroups = []Group{{Path: "/sym/", Name: "*"}}

// LambdaConnector is one lambda-connector module's role.
type LambdaConnector struct {
	RoleARN      string   `json:"role_arn"`
	FunctionARNs []string `json:"function_arns"`
}

// SSOConnector is one sso-connector module's role.
type SSOConnector struct {
	RoleARN string `json:"role_arn"`
	// AccountAssignment is the module's sso_account_assignment_enabled:
	// the SymSSO<Env>-Account policy is attached.
	AccountAssignment bool `json:"account_assignment"`
	// DetectAccountAssignment accepts the -Account policy present or not
	// (each found policy must still be exactly the module's). The server
	// uses it: it does not know the Terraform inputs.
	DetectAccountAssignment bool `json:"detect_account_assignment,omitempty"`
}

// ExpectationFromSettings builds the runtime part of an expectation from a
// runtime permission-context integration's settings (role_arn,
// external_id, account_id_safelist), as the server holds them.
func ExpectationFromSettings(settings map[string]string) (Expectation, error) {
	e := Expectation{RuntimeRoleARN: settings["role_arn"], ExternalID: settings["external_id"], DetectAddons: true}
	if e.RuntimeRoleARN == "" {
		return e, fmt.Errorf("the runtime context settings have no role_arn")
	}
	if e.ExternalID == "" {
		return e, fmt.Errorf("the runtime context settings have no external_id")
	}
	e.AccountSafelist = splitList(settings["account_id_safelist"])
	// The runtime-connector module also records whom it trusts and which
	// extra policies it attached, so that the server can check the role
	// against exactly what was declared.
	e.TrustedPrincipals = splitList(settings["trusted_principals"])
	e.DeclaredPolicyARNs = splitList(settings["policy_arns"])
	return e, nil
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// TitleCase is Terraform's title(): upper-case every letter that starts a
// word ("sandbox-2" -> "Sandbox-2"). The modules build IAM names with it.
func TitleCase(s string) string {
	out := []rune(s)
	prevWord := false
	for i, r := range out {
		if !prevWord && unicode.IsLetter(r) {
			out[i] = unicode.ToUpper(r)
		}
		prevWord = unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
	}
	return string(out)
}

// roleARN is an IAM role ARN split into what the checks need.
type roleARN struct {
	ARN, Partition, Account, Path, Name string
}

func parseRoleARN(arn string) (roleARN, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !model.IsAccountID(parts[4]) || !strings.HasPrefix(parts[5], "role/") {
		return roleARN{}, fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<path><name>)", arn)
	}
	rest := strings.TrimPrefix(parts[5], "role")
	i := strings.LastIndex(rest, "/")
	return roleARN{ARN: arn, Partition: parts[1], Account: parts[4], Path: rest[:i+1], Name: rest[i+1:]}, nil
}

func (r roleARN) policyARN(name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:policy/sym/%s", r.Partition, r.Account, name)
}

// The documents below are the Go form of the modules' jsonencode()d
// documents; Sids are left out because comparison ignores them.

func doc(statements ...map[string]any) *policy.Document {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return policy.MustParse(string(b))
}

// RuntimeTrustPolicy is the runtime connector's trust policy.
func RuntimeTrustPolicy(principals []string, externalID string) *policy.Document {
	return doc(map[string]any{
		"Effect": "Allow", "Action": []string{"sts:AssumeRole"},
		"Principal": map[string]any{"AWS": principals},
		"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": externalID}},
	})
}

// AssumeRolesPolicy is the runtime connector's only permission besides
// addons: sts:AssumeRole on /sym/ roles in the given accounts.
func AssumeRolesPolicy(partition string, accounts []string) *policy.Document {
	var resources []string
	for _, a := range accounts {
		resources = append(resources, fmt.Sprintf("arn:%s:iam::%s:role/sym/*", partition, a))
	}
	return doc(map[string]any{"Effect": "Allow", "Action": []string{"sts:AssumeRole"}, "Resource": resources})
}

// SecretsManagerPolicy is the secretsmgr-addon's policy.
func SecretsManagerPolicy(partition, account, environment, tagName string) *policy.Document {
	if tagName == "" {
		tagName = "SymEnv"
	}
	return doc(map[string]any{
		"Effect":    "Allow",
		"Action":    []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		"Resource":  []string{fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:*", partition, account)},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + tagName: environment}},
	})
}

// KinesisFirehosePolicy is the kinesis-firehose-addon's policy, conditioned
// on aws:ResourceTag/SymEnv (Firehose has no firehose:ResourceTag/ key).
func KinesisFirehosePolicy(partition, account, environment string) *policy.Document {
	return doc(map[string]any{
		"Effect":    "Allow",
		"Action":    []string{"firehose:PutRecord", "firehose:PutRecordBatch"},
		"Resource":  []string{fmt.Sprintf("arn:%s:firehose:*:%s:deliverystream/*", partition, account)},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/SymEnv": environment}},
	}, map[string]any{"Effect": "Allow", "Action": []string{"firehose:ListDeliveryStreams"}, "Resource": []string{"*"}})
}

// KinesisDataStreamPolicy is the kinesis-data-stream-addon's policy.
func KinesisDataStreamPolicy(streamARNs []string) *policy.Document {
	return doc(map[string]any{
		"Effect": "Allow", "Action": []string{"kinesis:PutRecord", "kinesis:PutRecords"}, "Resource": streamARNs,
	}, map[string]any{"Effect": "Allow", "Action": []string{"kinesis:ListStreams"}, "Resource": []string{"*"}})
}

// ChainedTrustPolicy is a strategy connector's trust policy: the runtime
// roles, no condition.
func ChainedTrustPolicy(runtimeRoleARNs []string) *policy.Document {
	return doc(map[string]any{
		"Effect": "Allow", "Action": []string{"sts:AssumeRole"},
		"Principal": map[string]any{"AWS": runtimeRoleARNs},
	})
}

// IAMConnectorPolicy is the iam-connector's policy.
func IAMConnectorPolicy(partition, account string, groups []Group) *policy.Document {
	if len(groups) == 0 {
		groups = DefaultGroups
	}
	var arns []string
	for _, g := range groups {
		arns = append(arns, fmt.Sprintf("arn:%s:iam::%s:group%s%s", partition, account, g.Path, g.Name))
	}
	return doc(map[string]any{
		"Effect": "Allow", "Action": []string{"iam:AddUserToGroup", "iam:RemoveUserFromGroup"}, "Resource": arns,
	}, map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"iam:GetGroup", "iam:GetUser", "iam:ListGroups", "iam:ListGroupsForUser"},
		"Resource": []string{"*"},
	})
}

// MembershipActions are the IAM actions that change a group's members: the
// iam-connector module allows them on the configured groups only.
var MembershipActions = []string{"iam:AddUserToGroup", "iam:RemoveUserFromGroup"}

// MembershipGrants lists, for each named policy document of a role, the
// resources on which an Allow statement lets the role change group
// membership: its Action names (or its NotAction leaves out) a membership
// action, wildcards included (iam:*, iam:Add*, *). A statement with
// NotResource counts as "*" (everything but a few). Conditions are not
// read and Deny statements do not subtract: a grant that is narrowed only
// by them still counts, so the check errs towards refusing.
func MembershipGrants(docs map[string]*policy.Document) []awsauth.MembershipGrant {
	var out []awsauth.MembershipGrant
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, s := range docs[name].Statements {
			if s.Effect != "Allow" || !changesMembership(s) {
				continue
			}
			resources := s.Resource
			if len(s.NotResource) > 0 {
				resources = []string{"*"}
			}
			for _, r := range resources {
				out = append(out, awsauth.MembershipGrant{Policy: name, Resource: r})
			}
		}
	}
	return out
}

func changesMembership(s policy.Statement) bool {
	for _, a := range MembershipActions {
		switch {
		case len(s.Action) > 0:
			for _, p := range s.Action {
				if policy.Wildcard(p, a, true) {
					return true
				}
			}
		case len(s.NotAction) > 0:
			left := true
			for _, p := range s.NotAction {
				left = left && !policy.Wildcard(p, a, true)
			}
			if left {
				return true
			}
		}
	}
	return false
}

// groupsOf reads the group_config entries back from the group ARNs an
// iam-connector policy names (arn:P:iam::ACCOUNT:group/PATH/NAME).
func groupsOf(d *policy.Document) []Group {
	var out []Group
	for _, s := range d.Statements {
		if !changesMembership(s) {
			continue
		}
		for _, r := range s.Resource {
			parts := strings.SplitN(r, ":", 6)
			if len(parts) != 6 || !strings.HasPrefix(parts[5], "group/") {
				continue
			}
			rest := strings.TrimPrefix(parts[5], "group")
			i := strings.LastIndex(rest, "/")
			if g := (Group{Path: rest[:i+1], Name: rest[i+1:]}); g.Name != "" && !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// SSOConnectorPolicy is the sso-connector's SymSSO<Env> policy: account
// assignments, and finding the requester's identity-store user.
func SSOConnectorPolicy() *policy.Document {
	return doc(map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"sso:CreateAccountAssignment", "sso:DeleteAccountAssignment", "sso:Describe*", "sso:List*"},
		"Resource": []string{"*"},
	}, map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"identitystore:DescribeUser", "identitystore:GetUserId", "identitystore:ListUsers"},
		"Resource": []string{"*"},
	})
}

// SSOGroupPolicy is the sso-connector's SymSSOGroup<Env> policy: group
// membership writes, identity-store group reads.
func SSOGroupPolicy() *policy.Document {
	return doc(map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"identitystore:CreateGroupMembership", "identitystore:DeleteGroupMembership"},
		"Resource": []string{"*"},
	}, map[string]any{
		"Effect": "Allow",
		"Action": []string{"identitystore:DescribeGroup", "identitystore:DescribeGroupMembership",
			"identitystore:GetGroupMembershipId", "identitystore:IsMemberInGroups", "identitystore:ListGroupMemberships",
			"identitystore:ListGroupMembershipsForMember", "identitystore:ListGroups"},
		"Resource": []string{"*"},
	})
}

// ListAccountsPolicy is the sso-connector's SymListAccounts<Env> policy.
func ListAccountsPolicy() *policy.Document {
	return doc(map[string]any{
		"Effect": "Allow", "Action": []string{"organizations:ListAccounts", "organizations:ListAccountsForParent"},
		"Resource": []string{"*"},
	})
}

// SSOAccountPolicy is the sso-connector's SymSSO<Env>-Account policy (with
// sso_account_assignment_enabled): the IAM changes Identity Center makes in
// the caller's name when it provisions an account assignment.
func SSOAccountPolicy(partition string) *policy.Document {
	return doc(map[string]any{
		"Effect": "Allow",
		"Action": []string{"iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
			"iam:DetachRolePolicy", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
			"iam:PutRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription"},
		"Resource": []string{fmt.Sprintf("arn:%s:iam::*:role/aws-reserved/sso.amazonaws.com/*", partition)},
	}, map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"iam:CreateSAMLProvider", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"},
		"Resource": []string{fmt.Sprintf("arn:%s:iam::*:saml-provider/AWSSSO_*", partition)},
	})
}

// LambdaConnectorPolicy is the lambda-connector's policy.
func LambdaConnectorPolicy(functionARNs []string) *policy.Document {
	return doc(map[string]any{"Effect": "Allow", "Action": []string{"lambda:InvokeFunction"}, "Resource": functionARNs})
}
