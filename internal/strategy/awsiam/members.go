package awsiam

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
)

// Members reads the group (GetGroup, every page): its members, and whether
// sym manages it wholly, that is whether it lives under the IAM path /sym/
// (the reconciler's enforce mode removes members of such groups that no
// open grant explains). A group that does not exist is a NotGrantedError.
func (s *Strategy) Members(ctx context.Context, g strategy.Grant) (members []string, managed bool, err error) {
	c, grp, err := s.client(g, false)
	if err != nil {
		return nil, false, err
	}
	pages := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: &grp})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNoSuchEntity(err) {
			return nil, false, readGroupError(grp, err)
		}
		if err != nil {
			return nil, false, fmt.Errorf("read the members of IAM group %s: %w", grp, err)
		}
		if page.Group != nil && page.Group.Path != nil {
			managed = strings.HasPrefix(*page.Group.Path, awsauth.ConnectorPath)
		}
		for _, u := range page.Users {
			if u.UserName != nil {
				members = append(members, *u.UserName)
			}
		}
	}
	return members, managed, nil
}
