package awsauth

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/model"
)

// DefaultGroupPath is the IAM path groups sym adds users to must be under
// unless the server is told otherwise (--allowed-group-paths).
const DefaultGroupPath = ConnectorPath

// Guards are the guard rails the server is started with: the entities
// cannot move them. The zero value allows groups under /sym/ only and sets
// no other limit.
type Guards struct {
	// GroupPaths are the IAM paths (prefixes ending in /) of the groups
	// sym may add users to (--allowed-group-paths); empty: /sym/.
	GroupPaths []string
	// Accounts, when set, are the only AWS accounts sym acts in
	// (--allowed-accounts): roles, safelists and account ids elsewhere are
	// refused.
	Accounts []string
	// RuntimeRoles, when set, are the ARN patterns (* matches any run of
	// characters) the runtime connector role must match
	// (--allowed-runtime-roles).
	RuntimeRoles []string
	// AllowBroadPolicies lets a runtime's policy_arns name AWS-managed
	// admin-level policies (--allow-broad-runtime-policies).
	AllowBroadPolicies bool
}

// AllowedGroupPaths is the effective list of allowed group paths.
func (g Guards) AllowedGroupPaths() []string {
	if len(g.GroupPaths) == 0 {
		return []string{DefaultGroupPath}
	}
	return g.GroupPaths
}

// ParseGroupPaths reads --allowed-group-paths: a comma list of IAM paths,
// each beginning and ending with /.
func ParseGroupPaths(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "..") || strings.ContainsAny(p, "*? ") {
			return nil, fmt.Errorf("--allowed-group-paths: %q is not an IAM path (it begins and ends with /, e.g. /sym/)", p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--allowed-group-paths is empty: name at least one IAM path (default /sym/)")
	}
	return out, nil
}

// CheckGroupPath refuses an IAM group whose path is outside the allowed
// group paths: sym never adds anyone to it.
func (g Guards) CheckGroupPath(group, path string) error {
	for _, p := range g.AllowedGroupPaths() {
		if strings.HasPrefix(path, p) {
			return nil
		}
	}
	return &GuardError{fmt.Sprintf("IAM group %s has the path %s, outside --allowed-group-paths (%s): sym adds nobody to it",
		group, path, strings.Join(g.AllowedGroupPaths(), ","))}
}

// BroadPolicy reports whether arn names an AWS-managed policy sym treats as
// admin-level (decision 012): AdministratorAccess and its variants,
// PowerUserAccess, any *FullAccess policy (IAMFullAccess among them: each
// hands a whole service over, IAM's hands over the account), and the
// job-function administrators.
func BroadPolicy(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != "aws" || !strings.HasPrefix(parts[5], "policy/") {
		return false
	}
	path := strings.TrimPrefix(parts[5], "policy/")
	name := path[strings.LastIndex(path, "/")+1:]
	return strings.HasPrefix(name, "AdministratorAccess") || name == "PowerUserAccess" || strings.HasSuffix(name, "FullAccess") ||
		(strings.HasPrefix(path, "job-function/") && strings.HasSuffix(name, "Administrator"))
}

// CheckPolicyARNs refuses a runtime's policy_arns (a comma list) naming an
// admin-level AWS-managed policy, unless --allow-broad-runtime-policies.
func (g Guards) CheckPolicyARNs(list string) error {
	if g.AllowBroadPolicies {
		return nil
	}
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); BroadPolicy(a) {
			return &GuardError{fmt.Sprintf("policy_arns names %s, an AWS-managed admin-level policy; the server refuses it unless started with --allow-broad-runtime-policies", a)}
		}
	}
	return nil
}

// ParseAccounts reads --allowed-accounts: a comma list of 12-digit ids.
func ParseAccounts(s string) ([]string, error) {
	out := ParseSafelist(s)
	for _, a := range out {
		if !model.IsAccountID(a) {
			return nil, fmt.Errorf("--allowed-accounts: %q is not a 12-digit AWS account id", a)
		}
	}
	return out, nil
}

// ParseRolePatterns reads --allowed-runtime-roles: a comma list of role
// ARN patterns (arn:aws:iam::123456789012:role/sym/*).
func ParseRolePatterns(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.HasPrefix(p, "arn:") || !strings.Contains(p, ":role/") {
			return nil, fmt.Errorf("--allowed-runtime-roles: %q is not a role ARN pattern (e.g. arn:aws:iam::123456789012:role/sym/*)", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// globMatch matches s against pattern, where * matches any run of
// characters (slashes included) and everything else matches itself.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// CheckAccount refuses an account outside --allowed-accounts (when set).
func (g Guards) CheckAccount(what, acct string) error {
	if len(g.Accounts) == 0 || slices.Contains(g.Accounts, acct) {
		return nil
	}
	return &GuardError{fmt.Sprintf("%s is in account %s, outside --allowed-accounts (%s)", what, acct, strings.Join(g.Accounts, ","))}
}

// CheckRuntimeRole refuses a runtime connector role outside
// --allowed-runtime-roles or --allowed-accounts (when set).
func (g Guards) CheckRuntimeRole(arn string) error {
	if acct, _, _, err := model.ParseRoleARN(arn); err == nil {
		if err := g.CheckAccount("runtime role "+arn, acct); err != nil {
			return err
		}
	}
	if len(g.RuntimeRoles) == 0 {
		return nil
	}
	for _, p := range g.RuntimeRoles {
		if globMatch(p, arn) {
			return nil
		}
	}
	return &GuardError{fmt.Sprintf("runtime role %s matches none of --allowed-runtime-roles (%s)", arn, strings.Join(g.RuntimeRoles, ","))}
}

// CheckSettings applies the guard rails to an entity's settings when it is
// written (the API answers 400 with the error) and to a runtime's settings
// when they are used: policy_arns, and the accounts of role_arn,
// account_id, account_id_safelist and of every other ARN a setting names.
func (g Guards) CheckSettings(settings map[string]string) error {
	if err := g.CheckPolicyARNs(settings["policy_arns"]); err != nil {
		return err
	}
	if arn := settings["role_arn"]; arn != "" {
		if acct, _, _, err := model.ParseRoleARN(arn); err == nil {
			if err := g.CheckAccount("role_arn "+arn, acct); err != nil {
				return err
			}
		}
	}
	if a := strings.TrimSpace(settings["account_id"]); a != "" {
		if err := g.CheckAccount("account_id", a); err != nil {
			return err
		}
	}
	for _, a := range ParseSafelist(settings["account_id_safelist"]) {
		if err := g.CheckAccount("account_id_safelist entry", a); err != nil {
			return err
		}
	}
	// Any other ARN a setting names (a log destination's stream, a Lambda
	// target's function, a secret...), alone or in a comma list: its
	// account too. AWS-managed policies (account "aws") and ARNs without an
	// account (SSO's) have none to check; trusted_principals name who may
	// assume the runtime role (sym server's own identity, which may live
	// in an account sym does not act in), not where sym acts.
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if k == "trusted_principals" {
			continue
		}
		for _, v := range strings.FieldsFunc(settings[k], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			if parts := strings.SplitN(v, ":", 6); len(parts) == 6 && parts[0] == "arn" && model.IsAccountID(parts[4]) {
				if err := g.CheckAccount("settings."+k+" "+v, parts[4]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// MembershipGrant is one resource on which a connector role's policy lets
// it change the members of IAM groups, and the policy that says so. The
// connector package reads them from the role's policies (it holds the IAM
// facts: which actions change membership); the rule is here.
type MembershipGrant struct {
	Policy   string // "policy SymIAMProd", "inline policy x", ...
	Resource string // a group ARN or pattern as the policy writes it ("*" for NotResource)
}

// GroupResourceAllowed reports whether a policy resource names only groups
// under the allowed group paths: an IAM group ARN (arn:P:iam::ACCOUNT:group
// followed by the group's path and name) whose path, read up to its first
// wildcard, begins with an allowed path. "*", group/*, or group/sym* (which
// matches /symbolic/) are not.
func (g Guards) GroupResourceAllowed(resource string) bool {
	parts := strings.SplitN(resource, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" || !model.IsAccountID(parts[4]) ||
		!slices.Contains([]string{"aws", "aws-us-gov", "aws-cn"}, parts[1]) || !strings.HasPrefix(parts[5], "group/") {
		return false
	}
	path := strings.TrimPrefix(parts[5], "group")
	if i := strings.IndexAny(path, "*?"); i >= 0 {
		path = path[:i]
	}
	if strings.Contains(path, "..") || strings.Contains(path, "//") || strings.ContainsAny(path, "${}") {
		return false
	}
	for _, p := range g.AllowedGroupPaths() {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// CheckMembershipGrants refuses an IAM connector role whose policies let it
// change the members of groups outside --allowed-group-paths: sym would be
// a way into any group the role can reach. It names the first such grant.
func (g Guards) CheckMembershipGrants(roleARN string, grants []MembershipGrant) error {
	for _, m := range grants {
		if !g.GroupResourceAllowed(m.Resource) {
			return &GuardError{fmt.Sprintf("IAM connector role %s: its %s lets it change the members of %s, groups outside --allowed-group-paths (%s); "+
				"sym uses a connector role only when it can change membership of the allowed groups alone (narrow the policy to group ARNs under those paths, as the iam-connector module's group_config does)",
				roleARN, m.Policy, m.Resource, strings.Join(g.AllowedGroupPaths(), ","))}
		}
	}
	return nil
}
