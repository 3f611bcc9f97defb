package awsauth_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/awsauth"
)

func TestGroupPaths(t *testing.T) {
	def := awsauth.Guards{}
	for path, ok := range map[string]bool{"/sym/": true, "/sym/teams/": true, "/": false, "/symbolic/": false, "/admins/": false} {
		err := def.CheckGroupPath("g", path)
		if (err == nil) != ok || (err != nil && (!awsauth.IsGuard(err) || !strings.Contains(err.Error(), "--allowed-group-paths"))) {
			t.Errorf("default guards, path %s: %v", path, err)
		}
	}
	paths, err := awsauth.ParseGroupPaths("/sym/, /ops/")
	if err != nil || len(paths) != 2 {
		t.Fatalf("parse: %v %v", paths, err)
	}
	if err := (awsauth.Guards{GroupPaths: paths}).CheckGroupPath("g", "/ops/x/"); err != nil {
		t.Errorf("/ops/x/ with /ops/ allowed: %v", err)
	}
	for _, bad := range []string{"", "sym/", "/sym", "/a//b/", "/a/../", "/sym/*/"} {
		if _, err := awsauth.ParseGroupPaths(bad); err == nil {
			t.Errorf("ParseGroupPaths(%q) accepted", bad)
		}
	}
}

func TestBroadPolicy(t *testing.T) {
	for arn, broad := range map[string]bool{
		"arn:aws:iam::aws:policy/AdministratorAccess":              true,
		"arn:aws:iam::aws:policy/AdministratorAccess-Amplify":      true,
		"arn:aws:iam::aws:policy/PowerUserAccess":                  true,
		"arn:aws:iam::aws:policy/IAMFullAccess":                    true,
		"arn:aws-cn:iam::aws:policy/AmazonEC2FullAccess":           true,
		"arn:aws:iam::aws:policy/job-function/SystemAdministrator": true,
		"arn:aws:iam::aws:policy/ReadOnlyAccess":                   false,
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess":      false,
		"arn:aws:iam::123456789012:policy/AdministratorAccess":     false,
		"AdministratorAccess":                                      false,
	} {
		if got := awsauth.BroadPolicy(arn); got != broad {
			t.Errorf("BroadPolicy(%s) = %v", arn, got)
		}
	}
	if err := (awsauth.Guards{}).CheckPolicyARNs("arn:aws:iam::aws:policy/ReadOnlyAccess,arn:aws:iam::aws:policy/PowerUserAccess"); !awsauth.IsGuard(err) || !strings.Contains(err.Error(), "--allow-broad-runtime-policies") {
		t.Errorf("list with PowerUserAccess: %v", err)
	}
	if err := (awsauth.Guards{AllowBroadPolicies: true}).CheckPolicyARNs("arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
		t.Errorf("with the flag: %v", err)
	}
}

func TestAccountsAndRuntimeRoles(t *testing.T) {
	g := awsauth.Guards{Accounts: []string{"123456789012"}, RuntimeRoles: []string{"arn:aws:iam::123456789012:role/sym/*"}}
	for arn, flag := range map[string]string{
		"arn:aws:iam::123456789012:role/sym/SymRuntimeProd":      "",
		"arn:aws:iam::123456789012:role/sym/team/SymRuntimeProd": "",
		"arn:aws:iam::123456789012:role/SymRuntimeProd":          "--allowed-runtime-roles",
		"arn:aws:iam::123456789012:role/symbolic/SymRuntimeProd": "--allowed-runtime-roles",
		"arn:aws:iam::999999999999:role/sym/SymRuntimeProd":      "--allowed-accounts",
	} {
		err := g.CheckRuntimeRole(arn)
		if (flag == "") != (err == nil) || (err != nil && (!awsauth.IsGuard(err) || !strings.Contains(err.Error(), flag))) {
			t.Errorf("CheckRuntimeRole(%s) = %v, want %q", arn, err, flag)
		}
	}
	if err := (awsauth.Guards{}).CheckRuntimeRole("arn:aws:iam::999999999999:role/Anything"); err != nil {
		t.Errorf("no flags: %v", err)
	}
	if _, err := awsauth.ParseAccounts("123456789012, 12345"); err == nil {
		t.Error("ParseAccounts accepted a short account")
	}
	if _, err := awsauth.ParseRolePatterns("sym/*"); err == nil {
		t.Error("ParseRolePatterns accepted a pattern that is no role ARN")
	}
}

func TestChainCheckResource(t *testing.T) {
	chain := awsauth.NewChain(aws.Config{}, nil)
	chain.Guards = awsauth.Guards{Accounts: []string{"123456789012"}}
	rt := awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/R", ExternalID: "x", Safelist: []string{"999999999999"}}
	if err := chain.CheckResource(rt, "arn:aws:kinesis:us-east-1:123456789012:stream/s"); err != nil {
		t.Errorf("own account: %v", err)
	}
	if err := chain.CheckResource(rt, "arn:aws:kinesis:us-east-1:999999999999:stream/s"); !awsauth.IsGuard(err) || !strings.Contains(err.Error(), "--allowed-accounts") {
		t.Errorf("safelisted but outside --allowed-accounts: %v", err)
	}
	if err := chain.CheckResource(rt, "plain-name"); err != nil {
		t.Errorf("a bare name: %v", err)
	}
}

// TestMembershipGrants: the rule on IAM connector roles. A resource on
// which a role may change group membership must name only groups under an
// allowed path: its path, read up to the first wildcard, begins with one.
func TestMembershipGrants(t *testing.T) {
	const g = "arn:aws:iam::123456789012:group"
	def, ops := awsauth.Guards{}, awsauth.Guards{GroupPaths: []string{"/sym/", "/ops/"}}
	for _, c := range []struct {
		resource  string
		def, both bool
	}{
		{g + "/sym/*", true, true},
		{g + "/sym/admins", true, true},
		{g + "/sym/team/x?", true, true},
		{"arn:aws-us-gov:iam::123456789012:group/sym/*", true, true},
		{g + "/ops/db-*", false, true},
		{"*", false, false},
		{g + "/*", false, false},
		{g + "/admins", false, false},
		{g + "/sym*", false, false},       // matches /symbolic/
		{g + "/s?m/admins", false, false}, // a wildcard inside the path
		{g + "/sym/../admins", false, false},
		{"arn:aws:iam::*:group/sym/*", false, false},
		{"arn:*:iam::123456789012:group/sym/*", false, false},
		{"arn:aws:iam::123456789012:*", false, false},
		{"arn:aws:iam::123456789012:user/sym/x", false, false},
		{"arn:aws:s3:::bucket/sym/x", false, false},
	} {
		if got := def.GroupResourceAllowed(c.resource); got != c.def {
			t.Errorf("default guards, %s: allowed %v, want %v", c.resource, got, c.def)
		}
		if got := ops.GroupResourceAllowed(c.resource); got != c.both {
			t.Errorf("/sym/ and /ops/, %s: allowed %v, want %v", c.resource, got, c.both)
		}
	}
	role := "arn:aws:iam::123456789012:role/sym/SymIAMProd"
	if err := def.CheckMembershipGrants(role, []awsauth.MembershipGrant{{Policy: "policy SymIAMProd", Resource: g + "/sym/*"}}); err != nil {
		t.Errorf("module's grant refused: %v", err)
	}
	err := def.CheckMembershipGrants(role, []awsauth.MembershipGrant{{Policy: "policy SymIAMProd", Resource: g + "/sym/*"}, {Policy: "inline policy x", Resource: "*"}})
	if !awsauth.IsGuard(err) || !strings.Contains(err.Error(), "inline policy x") || !strings.Contains(err.Error(), "--allowed-group-paths (/sym/)") ||
		!strings.Contains(err.Error(), role) {
		t.Errorf("a grant on *: %v", err)
	}
}

// TestSettingsARNsInAllowedAccounts: with --allowed-accounts, any ARN a
// setting names (alone or in a comma list) must be in one of them.
func TestSettingsARNsInAllowedAccounts(t *testing.T) {
	g := awsauth.Guards{Accounts: []string{"123456789012"}}
	for _, c := range []struct {
		settings map[string]string
		refused  string
	}{
		{map[string]string{"stream_name": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}, ""},
		{map[string]string{"stream_name": "arn:aws:kinesis:us-east-1:999999999999:stream/s"}, "settings.stream_name"},
		{map[string]string{"arn": "arn:aws:lambda:us-east-1:999999999999:function:f"}, "settings.arn"},
		{map[string]string{"policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::999999999999:policy/x"}, "settings.policy_arns"},
		{map[string]string{"policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess,arn:aws:iam::123456789012:policy/x"}, ""},
		{map[string]string{"permission_set_arn": "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef"}, ""},
		{map[string]string{"stream_name": "plain-name", "note": "arn: is not one"}, ""},
		{map[string]string{"trusted_principals": "arn:aws:iam::999999999999:user/sym-server"}, ""},
	} {
		err := g.CheckSettings(c.settings)
		if (c.refused == "") != (err == nil) || (err != nil && (!awsauth.IsGuard(err) || !strings.Contains(err.Error(), c.refused) ||
			!strings.Contains(err.Error(), "--allowed-accounts"))) {
			t.Errorf("%v: %v, want refused naming %q", c.settings, err, c.refused)
		}
	}
	if err := (awsauth.Guards{}).CheckSettings(map[string]string{"arn": "arn:aws:lambda:us-east-1:999999999999:function:f"}); err != nil {
		t.Errorf("no --allowed-accounts: %v", err)
	}
}
