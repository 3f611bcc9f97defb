package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/testenv"
)

// TestGroupOutsideAllowedPathsIsRefused: a target's iam_group is free-form,
// so before adding anyone the grant reads the group (GetGroup) and refuses
// one outside --allowed-group-paths (default /sym/): no AddUserToGroup, no
// retry, an error naming the path and the flag. The same grant into a
// group under /sym/ lands.
func TestGroupOutsideAllowedPathsIsRefused(t *testing.T) {
	m := testenv.StartMoto(t)
	fp := testenv.StartFaultProxy(t, m.URL)
	opt := engine.Options{GrantAttempts: 3, RetryBase: 20 * time.Millisecond, RetryCap: 100 * time.Millisecond}
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, AWSEndpoint: fp.URL, Engine: opt})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{Groups: 2})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	// Target 1 is pointed at a group outside /sym/.
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(t))
	if _, err := ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("OrgAdmins"), Path: aws.String("/admins/")}); err != nil {
		t.Fatal(err)
	}
	var targets []struct {
		ID string `json:"id"`
	}
	if err := f.Admin.Do(ctx, "GET", "/entities/access-targets?slug="+f.Targets[1], nil, &targets); err != nil || len(targets) != 1 {
		t.Fatalf("find target: %v %v", targets, err)
	}
	if err := f.Admin.Do(ctx, "PATCH", "/entities/access-targets/"+targets[0].ID, map[string]any{"settings": map[string]string{"iam_group": "OrgAdmins"}}, nil); err != nil {
		t.Fatal(err)
	}

	r := ask(t, alice, f.Flow, f.Targets[1], "1h")
	a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	if a.State != "errored" || !strings.Contains(a.Error, "/admins/") || !strings.Contains(a.Error, "--allowed-group-paths") {
		t.Fatalf("grant into a group under /admins/: state %s error %q; want errored naming the path and the flag", a.State, a.Error)
	}
	if n := fp.Seen("AddUserToGroup"); n != 0 {
		t.Fatalf("AddUserToGroup reached AWS %d times for a refused group", n)
	}
	if n := fp.Seen("GetGroup"); n != 1 {
		t.Fatalf("GetGroup seen %d times: a guard refusal is not retried", n)
	}
	if got := members(t, m, "OrgAdmins"); len(got) != 0 {
		t.Fatalf("refused group has %v", got)
	}

	r = ask(t, alice, f.Flow, f.Targets[0], "1h")
	if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" || fp.Seen("AddUserToGroup") != 1 {
		t.Fatalf("grant into a /sym/ group: state %s error %q, AddUserToGroup seen %d", a.State, a.Error, fp.Seen("AddUserToGroup"))
	}
}
