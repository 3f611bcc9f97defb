package awsauth

import (
	"fmt"
	"strings"
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

// CheckSettings applies the guard rails to an entity's settings when it is
// written (the API answers 400 with the error) and to a runtime's settings
// when they are used.
func (g Guards) CheckSettings(settings map[string]string) error {
	return g.CheckPolicyARNs(settings["policy_arns"])
}
