// Package awsiam is the aws_iam access strategy: escalation adds the
// requester's IAM user to the target's IAM group, de-escalation removes it,
// both through the chained IAM connector role. Reads (standing membership,
// group members) go through the same role.
package awsiam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/strategy"
)

// Strategy is the aws_iam strategy.
type Strategy struct{ Chain *awsauth.Chain }

var _ strategy.AccessStrategy = (*Strategy)(nil)

// IdentityKey: requesters need an IAM user name.
func (s *Strategy) IdentityKey() string { return "aws_iam" }

func group(g strategy.Grant) (string, error) {
	grp := g.TargetSettings["iam_group"]
	if grp == "" {
		return "", fmt.Errorf("target has no iam_group setting")
	}
	return grp, nil
}

func account(g strategy.Grant) string {
	if g.Account != "" {
		return g.Account
	}
	acct, _, _, _ := model.ParseRoleARN(g.ConnectorRoleARN)
	return acct
}

// Key: IAM user and group names are unique regardless of case within an
// account.
func (s *Strategy) Key(g strategy.Grant) (strategy.Key, error) {
	grp, err := group(g)
	if err != nil {
		return strategy.Key{}, err
	}
	acct := account(g)
	if acct == "" {
		return strategy.Key{}, fmt.Errorf("connector role %q names no account", g.ConnectorRoleARN)
	}
	return strategy.Key{
		Identity: "aws_iam:" + acct + ":user/" + strings.ToLower(g.Identity),
		Target:   "aws_iam:" + acct + ":group/" + strings.ToLower(grp),
	}, nil
}

func (s *Strategy) client(g strategy.Grant, needUser bool) (*iam.Client, string, error) {
	grp, err := group(g)
	if err != nil {
		return nil, "", err
	}
	if needUser && g.Identity == "" {
		return nil, "", fmt.Errorf("%s has no aws_iam identity (an IAM user name); set it with 'sym users set-identity'", g.Requester)
	}
	cfg, err := s.Chain.ConnectorConfig(g.Runtime, g.ConnectorRoleARN, g.Region)
	if err != nil {
		return nil, "", err
	}
	return iam.NewFromConfig(cfg), grp, nil
}

func isNoSuchEntity(err error) bool {
	var nse *types.NoSuchEntityException
	return errors.As(err, &nse)
}

// HasAccess reads the user's groups (ListGroupsForUser). A user that does
// not exist cannot be granted anything: that is a NotGrantedError.
func (s *Strategy) HasAccess(ctx context.Context, g strategy.Grant) (bool, error) {
	c, grp, err := s.client(g, true)
	if err != nil {
		return false, err
	}
	pages := iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: &g.Identity})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if isNoSuchEntity(err) {
			return false, &strategy.NotGrantedError{Err: fmt.Errorf("IAM user %s does not exist in account %s: %w", g.Identity, account(g), err)}
		}
		if err != nil {
			return false, fmt.Errorf("list the IAM groups of user %s: %w", g.Identity, err)
		}
		for _, have := range out.Groups {
			if have.GroupName != nil && strings.EqualFold(*have.GroupName, grp) {
				return true, nil
			}
		}
	}
	return false, nil
}

var _ strategy.Preparer = (*Strategy)(nil)

// Escalate adds the user to the group. AddUserToGroup is idempotent; a user
// or group that does not exist is a NotGrantedError. GetGroup first
// confirms the group's path is within the allowed group paths (a guard
// refusal otherwise).
func (s *Strategy) Escalate(ctx context.Context, g strategy.Grant) error {
	c, grp, err := s.client(g, true)
	if err != nil {
		return err
	}
	out, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: &grp, MaxItems: aws.Int32(1)})
	if err != nil {
		return readGroupError(grp, err)
	}
	if err := s.checkPath(grp, out); err != nil {
		return err
	}
	return s.add(ctx, c, g, grp)
}

// Prepare reads the group once (GetGroup, every page of members until the
// user is found): its path must be within the allowed group paths (a
// guard refusal otherwise), and the user's membership is the standing
// answer. A group that does not exist is a NotGrantedError; a user that
// does not exist is simply not a member, and EscalatePrepared's
// AddUserToGroup then refuses it with NoSuchEntity (a NotGrantedError).
func (s *Strategy) Prepare(ctx context.Context, g strategy.Grant) (bool, error) {
	c, grp, err := s.client(g, true)
	if err != nil {
		return false, err
	}
	pages := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: &grp, MaxItems: aws.Int32(1000)})
	for first := true; pages.HasMorePages(); first = false {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return false, readGroupError(grp, err)
		}
		if first {
			if err := s.checkPath(grp, page); err != nil {
				return false, err
			}
		}
		for _, u := range page.Users {
			if u.UserName != nil && strings.EqualFold(*u.UserName, g.Identity) {
				return true, nil
			}
		}
	}
	return false, nil
}

// EscalatePrepared adds the user to the group that Prepare read and
// checked.
func (s *Strategy) EscalatePrepared(ctx context.Context, g strategy.Grant) error {
	c, grp, err := s.client(g, true)
	if err != nil {
		return err
	}
	return s.add(ctx, c, g, grp)
}

func readGroupError(grp string, err error) error {
	err = fmt.Errorf("read IAM group %s: %w", grp, err)
	if isNoSuchEntity(err) {
		return &strategy.NotGrantedError{Err: err}
	}
	return err
}

func (s *Strategy) checkPath(grp string, out *iam.GetGroupOutput) error {
	path := ""
	if out.Group != nil && out.Group.Path != nil {
		path = *out.Group.Path
	}
	return s.Chain.Guards.CheckGroupPath(grp, path)
}

// add is AddUserToGroup. The group was read just before, so NoSuchEntity
// almost always means the user does not exist.
func (s *Strategy) add(ctx context.Context, c *iam.Client, g strategy.Grant, grp string) error {
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: &grp, UserName: &g.Identity}); err != nil {
		if isNoSuchEntity(err) {
			return &strategy.NotGrantedError{Err: fmt.Errorf("IAM user %s does not exist in account %s (or group %s was deleted): add it to the group: %w", g.Identity, account(g), grp, err)}
		}
		return fmt.Errorf("add IAM user %s to group %s: %w", g.Identity, grp, err)
	}
	return nil
}

// Deescalate removes the user from the group; a user who is not in it (or
// a group or user already deleted) counts as done. It acts only through the
// pinned roles of g, so "no such entity" is an answer about the account the
// grant was made in.
func (s *Strategy) Deescalate(ctx context.Context, g strategy.Grant) error {
	c, grp, err := s.client(g, true)
	if err != nil {
		return err
	}
	_, err = c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: &grp, UserName: &g.Identity})
	if err != nil && !isNoSuchEntity(err) {
		return fmt.Errorf("remove IAM user %s from group %s: %w", g.Identity, grp, err)
	}
	return nil
}

// Holders lists the group's members (GetGroup, every page).
func (s *Strategy) Holders(ctx context.Context, g strategy.Grant) ([]string, error) {
	c, grp, err := s.client(g, false)
	if err != nil {
		return nil, err
	}
	var out []string
	pages := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: &grp})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the members of IAM group %s: %w", grp, err)
		}
		for _, u := range page.Users {
			if u.UserName != nil {
				out = append(out, *u.UserName)
			}
		}
	}
	return out, nil
}
