package model

import (
	"strings"
	"testing"
	"time"
)

// TestStrictRoleARNs: partitions, accounts and paths outside the grammar
// are refused; good ARNs split as expected.
func TestStrictRoleARNs(t *testing.T) {
	bad := []string{
		"arn:awsevil:iam::123456789012:role/sym/X",
		"arn:aws:iam::12345678901:role/sym/X",
		"arn:aws:iam::123456789012:role/sym/../X",
		"arn:aws:iam::123456789012:role/sym//X",
		"arn:aws:iam::123456789012:role/sym/*/X",
		"arn:aws:iam::123456789012:role/sym/./X",
		"arn:aws:iam::123456789012:user/sym/X",
		"arn:aws:iam::123456789012:role/",
		"arn:aws:iam::123456789012:role0", // found by FuzzParseRoleARN: no slash after "role"
	}
	for _, a := range bad {
		if _, _, _, err := ParseRoleARN(a); err == nil {
			t.Errorf("ParseRoleARN(%q) accepted it", a)
		}
	}
	for arn, want := range map[string][3]string{
		"arn:aws:iam::123456789012:role/sym/SymRuntimeProd":        {"123456789012", "/sym/", "SymRuntimeProd"},
		"arn:aws-us-gov:iam::123456789012:role/Plain":              {"123456789012", "/", "Plain"},
		"arn:aws-cn:iam::123456789012:role/sym/team-a/SymIAM@prod": {"123456789012", "/sym/team-a/", "SymIAM@prod"},
	} {
		a, p, n, err := ParseRoleARN(arn)
		if err != nil || [3]string{a, p, n} != want {
			t.Errorf("ParseRoleARN(%q) = %s %s %s %v, want %v", arn, a, p, n, err, want)
		}
	}
	for _, p := range []string{"/sym/", "/", "/a/b.c/"} {
		if err := CheckIAMPath(p); err != nil {
			t.Errorf("CheckIAMPath(%q): %v", p, err)
		}
	}
	for _, p := range []string{"sym/", "/sym", "/sym/../", "/a//b/", "/sym/*/", ""} {
		if err := CheckIAMPath(p); err == nil {
			t.Errorf("CheckIAMPath(%q) accepted it", p)
		}
	}
}

// FuzzParseRoleARN: never panics, and whatever it accepts is re-assembled
// exactly from its parts with a clean path.
func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::123456789012:role/sym/X", "arn:aws-cn:iam::123456789012:role/X",
		"arn:aws:iam::123456789012:role/sym/../X", "arn:awsevil:iam::1:role/x", "", "arn:aws:iam::123456789012:role//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		acct, path, name, err := ParseRoleARN(arn)
		if err != nil {
			return
		}
		if got := "arn:" + RolePartition(arn) + ":iam::" + acct + ":role" + path + name; got != arn {
			t.Fatalf("%q parsed into parts that make %q", arn, got)
		}
		if CheckIAMPath(path) != nil || strings.Contains(path, "..") || strings.Contains(path, "//") {
			t.Fatalf("%q accepted with path %q", arn, path)
		}
	})
}

// FuzzCheckIAMPath: never panics; an accepted path has no "..", "//" or
// wildcard.
func FuzzCheckIAMPath(f *testing.F) {
	for _, s := range []string{"/sym/", "/", "/a/../", "//", "/*/", "/a.b/c/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckIAMPath(p) == nil && (strings.Contains(p, "/../") || strings.Contains(p, "//") || strings.ContainsAny(p, "*?")) {
			t.Fatalf("accepted %q", p)
		}
	})
}

// FuzzParseDuration: never panics; an accepted duration is positive.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1h", "30m", "90", "1h30m", "-1h", "soon", "0", "9999999999h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v without error", s, d)
		}
		_ = FormatDuration(d)
		_ = time.Duration(d)
	})
}
