package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/model"
)

// What the front ends (web app, Slack) ask of the engine before they draw a
// button or a form: the same rules the actions themselves apply, exported,
// so that no front end keeps a copy of them.

// MayDecide says whether actor may approve or deny r: authz's rules
// requests.approve and requests.deny, the check Approve and Deny make.
func (e *Engine) MayDecide(ctx context.Context, actor Actor, r *model.Request) error {
	return e.Authorize(ctx, actor, authz.Approve, r)
}

// MayRevoke says whether actor may revoke r (authz's rule requests.revoke,
// the check Revoke makes).
func (e *Engine) MayRevoke(ctx context.Context, actor Actor, r *model.Request) error {
	return e.Authorize(ctx, actor, authz.Revoke, r)
}

// MaySee says whether actor may read r and its events (authz's rule
// requests.read).
func (e *Engine) MaySee(ctx context.Context, actor Actor, r *model.Request) error {
	return e.Authorize(ctx, actor, authz.ReadRequest, r)
}

// MayWithdraw says whether actor may take r back (authz's rule
// requests.withdraw, the check Withdraw makes).
func (e *Engine) MayWithdraw(ctx context.Context, actor Actor, r *model.Request) error {
	return e.Authorize(ctx, actor, authz.Withdraw, r)
}

// FlowForm is what a requester fills in for one flow.
type FlowForm struct {
	ID, Name, Label string
	Vars            map[string]string
	Targets         []FormTarget // empty for an approval-only flow
	// Fields are the flow's prompt fields other than target_id, reason
	// and duration, in the flow's order.
	Fields         []PromptField
	ReasonRequired bool
	// Durations are the allowed durations; empty means free text
	// (DefaultDuration is then a suggestion).
	Durations       []string
	DefaultDuration string
	// Problem says in words why the flow cannot be requested now (a broken
	// reference); the form is then shown disabled.
	Problem string
}

// FormTarget is one target a requester may pick.
type FormTarget struct{ ID, Name, Label string }

// PromptField is one prompt field of a flow.
type PromptField struct {
	Name, Label, Type string
	Required          bool
	Default           string
	AllowedValues     []string
}

// Sources of requests, as flows name them in params.allowed_sources. The
// web app is a front end of the API: its requests count as "api".
const (
	SourceAPI   = "api"
	SourceSlack = "slack"
)

// sourceAllowed applies a flow's allowed_sources: absent, every source;
// an empty list, none.
func sourceAllowed(flow *model.Flow, source string) error {
	srcs, ok := flow.Params.Raw["allowed_sources"].([]any)
	if !ok || source == "" {
		return nil
	}
	var names []string
	for _, s := range srcs {
		if strings.EqualFold(fmt.Sprint(s), source) {
			return nil
		}
		names = append(names, fmt.Sprint(s))
	}
	if len(names) == 0 {
		return forbidden("flow %s takes no requests (allowed_sources is empty)", flow.Slug)
	}
	return forbidden("flow %s takes requests only from %s, not from %s (allowed_sources)", flow.Slug, strings.Join(names, ", "), source)
}

// Forms lists the flows a requester can fill in, by name. A flow whose
// allowed_sources does not name source (when the list is present) is left
// out.
func (e *Engine) Forms(ctx context.Context, source string) ([]FlowForm, error) {
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var out []FlowForm
	for _, flow := range c.cat.Flows {
		if sourceAllowed(flow, source) != nil {
			continue
		}
		f := FlowForm{ID: flow.ID, Name: flow.Slug, Label: flow.Label, Vars: flow.Vars,
			ReasonRequired: true, DefaultDuration: DefaultDuration.String()}
		if f.Label == "" {
			f.Label = f.Name
		}
		p, err := e.resolve(ctx, flow, flow.Params.StrategyID)
		if err != nil {
			f.Problem = err.Error()
			out = append(out, f)
			continue
		}
		for _, t := range p.targets {
			ft := FormTarget{ID: t.ID, Name: t.Slug, Label: t.Label}
			if ft.Label == "" {
				ft.Label = ft.Name
			}
			f.Targets = append(f.Targets, ft)
		}
		for _, m := range flow.Params.PromptFields {
			pf := PromptField{Name: m.Name, Label: m.Label, Type: m.Type, Required: m.Required, Default: m.Default,
				AllowedValues: m.AllowedValues}
			if pf.Label == "" {
				pf.Label = strings.ReplaceAll(pf.Name, "_", " ")
			}
			if pf.Type == "" {
				pf.Type = "string"
			}
			switch pf.Name {
			case "target_id":
				continue
			case "reason":
				f.ReasonRequired = pf.Required
				continue
			case "duration":
				f.Durations = pf.AllowedValues
				if m.HasDefault {
					f.DefaultDuration = pf.Default
				} else if len(pf.AllowedValues) > 0 {
					f.DefaultDuration = pf.AllowedValues[0]
				}
				continue
			}
			f.Fields = append(f.Fields, pf)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b FlowForm) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
