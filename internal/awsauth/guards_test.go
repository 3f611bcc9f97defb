package awsauth_test

import (
	"strings"
	"testing"

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
