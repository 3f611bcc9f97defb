// Package awsiam is the aws_iam access strategy: escalation adds the
// requester's IAM user to the target's IAM group, de-escalation removes it,
// both through the chained IAM connector role.
package awsiam

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
)

// Strategy is the aws_iam strategy.
type Strategy struct{ Chain *awsauth.Chain }

// IdentityKey: requesters need an IAM user name.
func (s *Strategy) IdentityKey() string { return "aws_iam" }

func (s *Strategy) client(g strategy.Grant) (*iam.Client, string, error) {
	group := g.TargetSettings["iam_group"]
	if group == "" {
		return nil, "", fmt.Errorf("target has no iam_group setting")
	}
	if g.Identity == "" {
		return nil, "", fmt.Errorf("%s has no aws_iam identity (an IAM user name); set it with 'sym users set-identity'", g.Requester)
	}
	cfg, err := s.Chain.ConnectorConfig(g.Runtime, g.ConnectorRoleARN, g.Region)
	if err != nil {
		return nil, "", err
	}
	return iam.NewFromConfig(cfg), group, nil
}

// Escalate adds the user to the group. AddUserToGroup is idempotent.
func (s *Strategy) Escalate(ctx context.Context, g strategy.Grant) error {
	c, group, err := s.client(g)
	if err != nil {
		return err
	}
	if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: &group, UserName: &g.Identity}); err != nil {
		return fmt.Errorf("add IAM user %s to group %s: %w", g.Identity, group, err)
	}
	return nil
}

// Deescalate removes the user from the group; a user who is not in it (or
// a group or user already deleted) counts as done.
func (s *Strategy) Deescalate(ctx context.Context, g strategy.Grant) error {
	c, group, err := s.client(g)
	if err != nil {
		return err
	}
	_, err = c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: &group, UserName: &g.Identity})
	var nse *types.NoSuchEntityException
	if err != nil && !errors.As(err, &nse) {
		return fmt.Errorf("remove IAM user %s from group %s: %w", g.Identity, group, err)
	}
	return nil
}
