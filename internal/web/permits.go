package web

import (
	"context"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// The web app's questions about who may do what. Each answers with the rule
// the API and the engine apply (the engine's own checks), never a copy of
// it: a button is drawn only when the action would be allowed, and the
// action is checked again by the engine when the form arrives.

// mayDecide: approve or deny r.
func (a *App) mayDecide(ctx context.Context, actor engine.Actor, r *model.Request) bool {
	return r.State == model.Pending && a.cfg.Engine.MayDecide(ctx, actor, r) == nil
}

// mayRevoke: end r's access now.
func (a *App) mayRevoke(ctx context.Context, actor engine.Actor, r *model.Request) bool {
	return r.State == model.Active && a.cfg.Engine.MayRevoke(ctx, actor, r) == nil
}

// mayWithdraw: take a pending r back.
func (a *App) mayWithdraw(ctx context.Context, actor engine.Actor, r *model.Request) bool {
	return r.State == model.Pending && a.cfg.Engine.MayWithdraw(ctx, actor, r) == nil
}

// maySee: read r and its timeline (authz's rule requests.read: its
// requester, the flow's approvers, admins and auditors).
func (a *App) maySee(ctx context.Context, actor engine.Actor, r *model.Request) bool {
	return a.cfg.Engine.MaySee(ctx, actor, r) == nil
}

type permitError string

func (e permitError) Error() string { return string(e) }

// mayAudit: the audit page (authz's rule events.read: admins and auditors).
func mayAudit(actor engine.Actor) error {
	if err := authz.Check(authz.ReadEvents, actor.Caller(), authz.Resource{}); err != nil {
		return permitError("the audit log is for admins and auditors; you are a " + actor.Role)
	}
	return nil
}

// mayListActive: everything active now (admins).
func mayListActive(actor engine.Actor) error {
	if actor.Role == store.RoleAdmin {
		return nil
	}
	return permitError("the list of everyone's active access is for admins; your own is under My requests")
}
