package engine

import (
	"context"
	"maps"
	"strconv"
	"strings"
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
		typ := ""
		if p.flow != nil {
			if f, ok := p.flow.Params.Field(name); ok {
				typ = f.Type
			}
		}
		g.Request.Fields[name] = fieldValue(typ, text)
	}
}

// fieldValue is a prompt field's text as a value of the field's type, as
// the original passes fields on: int a number, bool a bool, str_list and
// int_list a list; anything else, or text that does not read as its type,
// stays text.
func fieldValue(typ, text string) any {
	switch typ {
	case "int":
		if n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err == nil {
			return n
		}
	case "bool":
		if b, err := strconv.ParseBool(strings.TrimSpace(text)); err == nil {
			return b
		}
	case "str_list", "int_list":
		items := []any{}
		for _, item := range strings.Split(text, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if n, err := strconv.ParseInt(item, 10, 64); err == nil && typ == "int_list" {
				items = append(items, n)
			} else {
				items = append(items, item)
			}
		}
		return items
	}
	return text
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
