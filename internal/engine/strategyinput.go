package engine

import (
	"context"
	"maps"
	"time"

	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/strategy"
)

// identityOptional reports a strategy that can grant a requester without
// an identity of its key (aws_sso finds the user by email; aws_lambda
// passes the email on).
func identityOptional(s strategy.AccessStrategy) bool {
	o, ok := s.(interface{ IdentityOptional() bool })
	return ok && o.IdentityOptional()
}

// describe fills in what a strategy passes on or needs besides the roles:
// the strategy's type and settings (an aws_sso strategy without
// instance_arn takes the sso-connector's, from its permission context) and
// what the request says.
func (e *Engine) describe(g *strategy.Grant, r *model.Request, p *plan, c *model.Catalog) {
	g.StrategyType = p.strategy.Type
	g.StrategySettings = maps.Clone(p.strategy.Settings)
	if g.StrategySettings == nil {
		g.StrategySettings = map[string]string{}
	}
	if integ, ok := c.Integrations[p.strategy.IntegrationID]; ok && g.StrategySettings["instance_arn"] == "" && integ.Settings["instance_arn"] != "" {
		g.StrategySettings["instance_arn"] = integ.Settings["instance_arn"]
	}
	g.Request = strategy.RequestInfo{Org: e.opt.Org, Flow: r.Flow, Reason: r.Reason, Duration: r.Duration,
		Approver: r.Approver, TargetID: r.TargetID, TargetName: r.Target}
	if t, ok := c.Targets[r.TargetID]; ok {
		g.Request.TargetLabel = t.Label
	}
	for name, text := range r.Fields {
		if g.Request.Fields == nil {
			g.Request.Fields = map[string]any{}
		}
		var f model.PromptField // a field the flow no longer declares stays text
		if p.flow != nil {
			f, _ = p.flow.Params.Field(name)
		}
		g.Request.Fields[name] = f.Value(text)
	}
}

type stepKey struct{}

// withStep tells the removal below who takes this step and why, for
// strategies that pass it on (the Lambda payload's actor and
// deescalate_type).
func withStep(ctx context.Context, typ, actor string) context.Context {
	st := strategy.Step{DeescalateType: typ}
	if actor != SystemActor {
		st.Actor = actor
	}
	return context.WithValue(ctx, stepKey{}, st)
}

// stepOf is the step withStep recorded; a removal nobody asked for (the
// reconciler's, say) is the platform's own.
func stepOf(ctx context.Context, now time.Time) strategy.Step {
	st, _ := ctx.Value(stepKey{}).(strategy.Step)
	st.At = now
	return st
}
