package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// Caller is the actor as package authz sees it.
func (a Actor) Caller() authz.Caller {
	return authz.Caller{Email: strings.ToLower(a.Email), Role: authz.Role(a.Role), Bot: a.Bot}
}

// Automation reports an automation token (the admin bot or a token of an
// automation user).
func (a Actor) Automation() bool { return a.Caller().Automation() }

// RequestResource describes a request for package authz: its requester and
// its flow's approver rules (the flow as it is now). A request whose flow
// is gone or broken names no approvers, so only admins decide it.
func (e *Engine) RequestResource(ctx context.Context, r *model.Request) (authz.Resource, error) {
	res := authz.Resource{Owner: r.Requester, Flow: r.Flow}
	flow, err := e.flowOf(ctx, r)
	if err != nil {
		return res, nil
	}
	res.Flow = flow.Slug
	res.Approvers = flow.Approvers
	res.AllowSelfApproval = flow.AllowSelfApproval
	res.NoRevoke = !flow.Params.AllowRevoke
	return res, nil
}

// Authorize checks action on a request with authz.Check. A refusal that
// hides the request reads exactly like a request that does not exist.
func (e *Engine) Authorize(ctx context.Context, actor Actor, action authz.Action, r *model.Request) error {
	res, err := e.RequestResource(ctx, r)
	if err != nil {
		return err
	}
	id, err := e.sharedIdentity(ctx, actor, r)
	if err != nil {
		return err
	}
	if id != "" {
		res.SameIdentity = map[string]string{strings.ToLower(actor.Email): id}
	}
	return asEngineError(authz.Check(action, actor.Caller(), res), r.ID)
}

// sharedIdentity names the identity r's grant goes to ("aws_iam bob") when
// the actor, who is not the requester, holds it too: a second account
// mapped to the same IAM user, Identity Center user or Lambda user id.
// Deciding such a request would be deciding one's own. "" otherwise.
func (e *Engine) sharedIdentity(ctx context.Context, actor Actor, r *model.Request) (string, error) {
	c := actor.Caller()
	if c.Anonymous() || c.Automation() || strings.EqualFold(c.Email, r.Requester) || r.StrategyID == "" {
		return "", nil
	}
	flow, err := e.flowOf(ctx, r)
	if err != nil {
		return "", nil // a request without its flow grants nothing more
	}
	p, err := e.resolve(ctx, flow, r.StrategyID)
	if err != nil || p.strat == nil {
		return "", nil
	}
	key := p.strat.IdentityKey()
	// Once approved, the grant went to the identity recorded then.
	grantee := r.Identity
	if grantee == "" {
		requester, err := e.st.GetUser(ctx, r.Requester)
		if store.IsNotFound(err) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		grantee = requesterIdentity(requester, key, p.connectorAccount)
	}
	if grantee == "" {
		return "", nil
	}
	me, err := e.st.GetUser(ctx, c.Email)
	if store.IsNotFound(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	// IAM user names, like emails, are unique regardless of case.
	if strings.EqualFold(requesterIdentity(me, key, p.connectorAccount), grantee) {
		return key + " " + grantee, nil
	}
	return "", nil
}

func asEngineError(err error, id string) error {
	var d *authz.Denied
	if !errors.As(err, &d) {
		return err
	}
	switch d.Status {
	case 404:
		return notFound("no request %s", id)
	}
	return &Error{Kind: Forbidden, Message: d.Error()}
}

// GetFor reads a request the actor may see; others' answer NotFound.
func (e *Engine) GetFor(ctx context.Context, actor Actor, id string) (*model.Request, error) {
	r, err := e.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.Authorize(ctx, actor, authz.ReadRequest, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ApproverFlows lists the ids of the flows that name email as an approver.
func (e *Engine) ApproverFlows(ctx context.Context, email string) ([]string, error) {
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id, f := range c.cat.Flows {
		if f.IsApprover(email) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// ListFor lists the requests the actor may read, newest first: everything
// for admins, auditors and automation; for members their own and those of
// the flows they approve.
func (e *Engine) ListFor(ctx context.Context, actor Actor, state, requester, before string, limit int) ([]*model.Request, error) {
	c := actor.Caller()
	if c.Automation() || c.Role == authz.RoleAdmin || c.Role == authz.RoleAuditor {
		return e.st.ListRequestsBefore(ctx, state, requester, before, limit)
	}
	if before != "" {
		// Paging after a request the member may not see reads like paging
		// after one that does not exist: a request id is no oracle.
		r, err := e.st.GetRequest(ctx, before)
		if err == nil && e.Authorize(ctx, actor, authz.ReadRequest, r) != nil {
			return nil, store.ErrNotFound
		}
	}
	flows, err := e.ApproverFlows(ctx, c.Email)
	if err != nil {
		return nil, err
	}
	return e.st.ListVisibleRequests(ctx, state, requester, c.Email, before, flows, limit)
}

// EndAccessOf ends every open request of a user before the user is deleted
// or demoted: pending ones are denied, granted ones revoked through the
// same path as any revoke (so the removal is recorded and retried). The
// caller has already been authorized to change the user; actor is recorded
// in each event.
func (e *Engine) EndAccessOf(ctx context.Context, actor Actor, email, why string) (int, error) {
	open, err := e.st.OpenRequests(ctx)
	if err != nil {
		return 0, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	n := 0
	for _, r := range open {
		if r.Requester != email {
			continue
		}
		if err := e.endOne(ctx, actor, r.ID, why); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (e *Engine) endOne(ctx context.Context, actor Actor, id, why string) error {
	unlock := e.lock(id)
	defer unlock()
	r, err := e.Get(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case r.State == model.Pending:
		from := r.State
		r.State, _, _ = model.Transition(r.State, model.Deny)
		r.Approver, r.Message = strings.ToLower(actor.Email), why
		if err := e.st.SaveRequest(ctx, r, from, e.event(r, model.Deny, strings.ToLower(actor.Email), map[string]string{"message": why})); err != nil {
			return err
		}
		e.opt.Metrics.transition(string(model.Deny))
	case r.State.HoldsAccess():
		if _, err := e.revokeLocked(context.WithoutCancel(ctx), actor, r, why); err != nil {
			var ee *Error
			if errors.As(err, &ee) && ee.Kind == Upstream {
				// Recorded, and retried until it succeeds: the user is
				// on the way out.
				return nil
			}
			return err
		}
	}
	return nil
}
