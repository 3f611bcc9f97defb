package model

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// IdentityKinds are the identities a user can have, by the key an admin
// sets (sym users create --identity KEY=VALUE), and what the value is.
var IdentityKinds = map[string]string{
	"aws_iam": "the user's IAM user name",
	"aws_sso": "the user's IAM Identity Center user id or user name",
	// Optional: the aws_lambda strategy sends it as the requester's
	// identity in its payload (service aws_lambda), the email otherwise.
	"aws_lambda": "the user's name as your Lambda functions know it",
}

var accountSuffix = regexp.MustCompile(`^[0-9]{12}$`)

// CheckIdentityKey refuses identity keys no strategy reads: a known kind,
// optionally scoped to one AWS account as KIND:ACCOUNT_ID.
func CheckIdentityKey(key string) error {
	kind, acct, scoped := strings.Cut(key, ":")
	if _, ok := IdentityKinds[kind]; ok && (!scoped || accountSuffix.MatchString(acct)) {
		return nil
	}
	var known []string
	for _, k := range slices.Sorted(maps.Keys(IdentityKinds)) {
		known = append(known, k+" ("+IdentityKinds[k]+")")
	}
	if _, ok := IdentityKinds[kind]; ok {
		return fmt.Errorf("identity %q: the part after %s: must be a 12-digit AWS account id", key, kind)
	}
	return fmt.Errorf("unknown identity %q: use %s, optionally for one AWS account as KIND:ACCOUNT_ID", key, strings.Join(known, ", "))
}
