package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/opensym/sym/internal/model"
)

// ListVisibleRequests lists, newest first, the requests made by viewer or
// belonging to one of flowIDs (the flows viewer approves); state and
// requester narrow it when not empty.
func (s *Store) ListVisibleRequests(ctx context.Context, state, requester, viewer, before string, flowIDs []string, limit int) ([]*model.Request, error) {
	where := `WHERE (requester=?`
	args := []any{strings.ToLower(viewer)}
	if len(flowIDs) > 0 {
		where += ` OR json_extract(body, '$.flow_id') IN (?` + strings.Repeat(`,?`, len(flowIDs)-1) + `)`
		for _, id := range flowIDs {
			args = append(args, id)
		}
	}
	where += `)`
	if err := s.olderThan(ctx, before, &where, &args); err != nil {
		return nil, err
	}
	if state != "" {
		where += ` AND state=?`
		args = append(args, state)
	}
	if requester != "" {
		where += ` AND requester=?`
		args = append(args, strings.ToLower(requester))
	}
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	return s.queryRequests(ctx, where+fmt.Sprintf(` ORDER BY %s LIMIT %d`, listOrder, limit), args...)
}

// MaxList caps every listing.
const MaxList = 500
