package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
)

// SSO is an IAM Identity Center set-up in moto: the account's instance, a
// permission set, an identity-store group, and users.
type SSO struct {
	Moto             *Moto
	InstanceARN      string
	IdentityStoreID  string
	PermissionSetARN string
	GroupID          string
	// Users maps a user name to its identity-store user id.
	Users map[string]string
}

// SSOUser is an identity-store user to create: UserName, and Email as its
// primary email.
type SSOUser struct{ UserName, Email string }

// SetupSSO creates, in moto's Identity Center instance, a permission set
// named permissionSet, a group named group and the users.
func SetupSSO(tb testing.TB, m *Moto, permissionSet, group string, users ...SSOUser) *SSO {
	tb.Helper()
	ctx := context.Background()
	cfg := m.AWSConfig(tb)
	admin := ssoadmin.NewFromConfig(cfg)
	ids := identitystore.NewFromConfig(cfg)
	inst, err := admin.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil || len(inst.Instances) == 0 {
		tb.Fatalf("list Identity Center instances in moto: %v (%d instances)", err, len(inst.Instances))
	}
	s := &SSO{Moto: m, InstanceARN: aws.ToString(inst.Instances[0].InstanceArn),
		IdentityStoreID: aws.ToString(inst.Instances[0].IdentityStoreId), Users: map[string]string{}}
	ps, err := admin.CreatePermissionSet(ctx, &ssoadmin.CreatePermissionSetInput{InstanceArn: aws.String(s.InstanceARN),
		Name: aws.String(permissionSet), SessionDuration: aws.String("PT1H")})
	if err != nil {
		tb.Fatalf("create permission set %s: %v", permissionSet, err)
	}
	s.PermissionSetARN = aws.ToString(ps.PermissionSet.PermissionSetArn)
	g, err := ids.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: aws.String(s.IdentityStoreID), DisplayName: aws.String(group)})
	if err != nil {
		tb.Fatalf("create identity-store group %s: %v", group, err)
	}
	s.GroupID = aws.ToString(g.GroupId)
	for _, u := range users {
		s.AddUser(tb, u)
	}
	return s
}

// AddUser creates one identity-store user.
func (s *SSO) AddUser(tb testing.TB, u SSOUser) string {
	tb.Helper()
	ids := identitystore.NewFromConfig(s.Moto.AWSConfig(tb))
	in := &identitystore.CreateUserInput{IdentityStoreId: aws.String(s.IdentityStoreID), UserName: aws.String(u.UserName),
		DisplayName: aws.String(u.UserName), Name: &istypes.Name{GivenName: aws.String(u.UserName), FamilyName: aws.String("Test")}}
	if u.Email != "" {
		in.Emails = []istypes.Email{{Value: aws.String(u.Email), Primary: true, Type: aws.String("work")}}
	}
	out, err := ids.CreateUser(context.Background(), in)
	if err != nil {
		tb.Fatalf("create identity-store user %s: %v", u.UserName, err)
	}
	s.Users[u.UserName] = aws.ToString(out.UserId)
	return aws.ToString(out.UserId)
}

// Assigned lists the user ids assigned the permission set in the account,
// read from Identity Center itself (one entry per assignment).
func (s *SSO) Assigned(tb testing.TB, account string) []string {
	tb.Helper()
	out, err := ssoadmin.NewFromConfig(s.Moto.AWSConfig(tb)).ListAccountAssignments(context.Background(), &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn: aws.String(s.InstanceARN), AccountId: aws.String(account), PermissionSetArn: aws.String(s.PermissionSetARN)})
	if err != nil {
		tb.Fatalf("list account assignments: %v", err)
	}
	var users []string
	for _, a := range out.AccountAssignments {
		if a.PrincipalType != types.PrincipalTypeUser {
			tb.Fatalf("unexpected %s assignment %s", a.PrincipalType, aws.ToString(a.PrincipalId))
		}
		users = append(users, aws.ToString(a.PrincipalId))
	}
	return users
}

// Members lists the user ids in the group, read from the identity store.
func (s *SSO) Members(tb testing.TB) []string {
	tb.Helper()
	out, err := identitystore.NewFromConfig(s.Moto.AWSConfig(tb)).ListGroupMemberships(context.Background(), &identitystore.ListGroupMembershipsInput{
		IdentityStoreId: aws.String(s.IdentityStoreID), GroupId: aws.String(s.GroupID)})
	if err != nil {
		tb.Fatalf("list group memberships: %v", err)
	}
	var users []string
	for _, m := range out.GroupMemberships {
		u, ok := m.MemberId.(*istypes.MemberIdMemberUserId)
		if !ok {
			tb.Fatalf("group member of unexpected kind %T", m.MemberId)
		}
		users = append(users, u.Value)
	}
	return users
}

// String names the set-up in failure messages.
func (s *SSO) String() string {
	return fmt.Sprintf("instance %s, permission set %s, group %s", s.InstanceARN, s.PermissionSetARN, s.GroupID)
}

// AssignmentStatus is a FaultProxy Rewrite for IAM Identity Center's
// assignment operations (Create/DeleteAccountAssignment and their
// Describe*Status): the answer's Status becomes status, with reason as its
// FailureReason when given.
func AssignmentStatus(status, reason string) func([]byte) []byte {
	return func(body []byte) []byte {
		var m map[string]map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return body
		}
		for _, st := range m {
			st["Status"] = status
			if reason != "" {
				st["FailureReason"] = reason
			}
		}
		out, _ := json.Marshal(m)
		return out
	}
}
