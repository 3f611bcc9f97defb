package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// Withdraw takes a pending request back before anyone answered it. Who
// may is authz's rule requests.withdraw (the requester, an admin or an
// automation token); nothing was granted, so nothing is owed to AWS.
func (e *Engine) Withdraw(ctx context.Context, actor Actor, id, message string) (*model.Request, error) {
	r, unlock, err := e.lockFor(ctx, actor, authz.Withdraw, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return e.withdraw(ctx, actor, r, message)
}

// withdraw records the withdrawal of r; the caller holds r's lock.
func (e *Engine) withdraw(ctx context.Context, actor Actor, r *model.Request, message string) (*model.Request, error) {
	next, _, err := model.Transition(r.State, model.Withdraw)
	if err != nil {
		return nil, conflict("%s", err)
	}
	from := r.State
	now := e.opt.Now().UTC()
	r.State, r.EndedAt = next, &now
	r.EndedBy, r.EndMessage = strings.ToLower(actor.Email), message
	details := map[string]string{}
	if message != "" {
		details["message"] = message
	}
	if err := e.st.SaveRequest(ctx, r, from, e.event(r, model.Withdraw, actor.Email, details)); err != nil {
		if errors.Is(err, store.ErrStale) {
			return nil, conflict("request changed state meanwhile; read it again")
		}
		return nil, err
	}
	e.opt.Metrics.transition(string(model.Withdraw))
	return r, nil
}

// Release prepares the deletion of entity id: pending requests that use it
// are withdrawn (they could never be granted without it), in the name of
// actor with message. Requests that hold or are getting access block the
// deletion: it answers them as a Conflict, and withdraws nothing.
func (e *Engine) Release(ctx context.Context, actor Actor, id, message string) ([]string, error) {
	open, err := e.openUsing(ctx, id)
	if err != nil {
		return nil, err
	}
	var blocking, withdrawn []string
	for _, r := range open {
		if r.State != model.Pending {
			blocking = append(blocking, fmt.Sprintf("%s request %s", r.State, r.ID))
		}
	}
	if len(blocking) > 0 {
		return nil, conflict("cannot delete: in use by %s; revoke it first (sym revoke ID) or let it end", strings.Join(blocking, ", "))
	}
	for _, r := range open {
		unlock := e.lock(r.ID)
		cur, err := e.st.GetRequest(ctx, r.ID)
		if err == nil && cur.State == model.Pending {
			_, err = e.withdraw(ctx, actor, cur, message)
		} else if err == nil && !cur.State.IsResolved() {
			err = conflict("cannot delete: request %s became %s meanwhile", r.ID, cur.State)
		}
		unlock()
		if err != nil {
			return withdrawn, err
		}
		withdrawn = append(withdrawn, r.ID)
	}
	return withdrawn, nil
}

// Approvers says who may decide r: the flow's approvers (empty: admins
// only, see package authz) and whether the requester may approve it too.
func (e *Engine) Approvers(ctx context.Context, r *model.Request) (approvers []string, self bool) {
	f, err := e.flowOf(ctx, r)
	if err != nil {
		return nil, false
	}
	return f.Approvers, f.AllowSelfApproval
}
