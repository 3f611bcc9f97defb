package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

func str(body map[string]any, key string) string {
	s, _ := body[key].(string)
	return s
}

func strMap(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, val := range m {
			if s, ok := val.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

func strList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// findEntity finds an entity by id or by name (case-insensitive).
func (e *Engine) findEntity(ctx context.Context, kind, ref, field string) (*store.EntityRow, error) {
	if row, err := e.st.GetEntity(ctx, kind, ref); err == nil {
		return row, nil
	}
	rows, err := e.st.FindEntities(ctx, kind, ref, "")
	if err != nil {
		return nil, err
	}
	switch len(rows) {
	case 0:
		return nil, invalid(field, "no %s named %q", model.Singular(kind), ref)
	case 1:
		return &rows[0], nil
	}
	return nil, invalid(field, "%q names several %s; use the id", ref, kind)
}

// plan is a flow resolved down to the roles and targets it acts through.
type plan struct {
	params     map[string]any
	vars       map[string]string
	strategyID string
	strategy   *store.EntityRow
	strat      strategy.AccessStrategy
	targets    []store.EntityRow
	runtime    awsauth.Runtime
	rtSettings map[string]string // the runtime permission context's settings
	connector  string            // the strategy's connector role ARN
	region     string
}

func (p *plan) targetNames() []string {
	var names []string
	for _, t := range p.targets {
		names = append(names, str(t.Body, "slug"))
	}
	return names
}

func (p *plan) target(ref string) (*store.EntityRow, error) {
	for i, t := range p.targets {
		if t.ID == ref || strings.EqualFold(str(t.Body, "slug"), ref) {
			return &p.targets[i], nil
		}
	}
	if len(p.targets) == 0 {
		return nil, invalid("flow_inputs.target_id", "the flow has no targets")
	}
	return nil, invalid("flow_inputs.target_id", "%q is not a target of this flow (targets: %s)", ref, strings.Join(p.targetNames(), ", "))
}

type cachedPlan struct {
	gen  int64
	plan *plan
}

// resolve follows a flow to its strategy, targets and role chain, and says
// in words what is missing. Plans are cached until any entity changes, so
// that a burst of de-escalations does not re-read the same rows.
func (e *Engine) resolve(ctx context.Context, flow *store.EntityRow) (*plan, error) {
	key := flow.ID + "|" + fmt.Sprint(flow.Body["params"])
	gen := e.st.EntityGeneration()
	if c, ok := e.plans.Load(key); ok && c.(cachedPlan).gen == gen {
		return c.(cachedPlan).plan, nil
	}
	p, err := e.resolveUncached(ctx, flow)
	if err == nil {
		e.plans.Store(key, cachedPlan{gen: gen, plan: p})
	}
	return p, err
}

func (e *Engine) resolveUncached(ctx context.Context, flow *store.EntityRow) (*plan, error) {
	p := &plan{vars: strMap(flow.Body["vars"])}
	p.params, _ = flow.Body["params"].(map[string]any)
	if sid, _ := p.params["strategy_id"].(string); sid != "" && sid != model.NullRef {
		p.strategyID = sid
	}
	if p.strategyID == "" {
		return p, nil // an approval-only flow
	}
	var err error
	p.strategy, err = e.st.GetEntity(ctx, "access-strategies", p.strategyID)
	if err != nil {
		return nil, conflict("flow %s names strategy %s, which does not exist", str(flow.Body, "slug"), p.strategyID)
	}
	typ := str(p.strategy.Body, "type")
	p.strat = e.strategies[typ]
	if p.strat == nil {
		return nil, conflict("strategy type %s cannot grant access in this server yet", typ)
	}
	for _, tid := range strList(p.strategy.Body["targets"]) {
		t, err := e.st.GetEntity(ctx, "access-targets", tid)
		if err == nil {
			p.targets = append(p.targets, *t)
		}
	}
	integ, err := e.st.GetEntity(ctx, "integrations", str(p.strategy.Body, "integration_id"))
	if err != nil {
		return nil, conflict("strategy %s has no permission context integration", str(p.strategy.Body, "slug"))
	}
	settings := strMap(integ.Body["settings"])
	p.connector, p.region = settings["role_arn"], settings["region"]
	env, err := e.st.GetEntity(ctx, "environments", str(flow.Body, "environment_id"))
	if err != nil {
		return nil, conflict("flow %s has no environment", str(flow.Body, "slug"))
	}
	rt, err := e.st.GetEntity(ctx, "runtimes", str(env.Body, "runtime_id"))
	if err != nil {
		return nil, conflict("environment %s has no runtime: set its runtime_id", str(env.Body, "slug"))
	}
	rtCtx, err := e.st.GetEntity(ctx, "integrations", str(rt.Body, "context_id"))
	if err != nil {
		return nil, conflict("runtime %s has no permission context", str(rt.Body, "slug"))
	}
	rs := strMap(rtCtx.Body["settings"])
	p.rtSettings = rs
	p.runtime = awsauth.Runtime{RoleARN: rs["role_arn"], ExternalID: rs["external_id"], Region: rs["region"],
		Safelist: awsauth.ParseSafelist(rs["account_id_safelist"])}
	if p.region == "" {
		p.region = p.runtime.Region
	}
	// The guard rails, before anything is stored or called.
	if err := awsauth.CheckConnector(p.runtime, p.connector); err != nil {
		return nil, conflict("%s", err)
	}
	return p, nil
}

// grantFor builds the strategy's input for a request. A flow that has no
// strategy grants nothing (approval only): strat is nil.
func (e *Engine) grantFor(ctx context.Context, r *model.Request) (strategy.Grant, strategy.AccessStrategy, *plan, error) {
	g := strategy.Grant{RequestID: r.ID, Requester: r.Requester}
	if r.StrategyID == "" {
		return g, nil, nil, nil
	}
	flow, err := e.st.GetEntity(ctx, "flows", r.FlowID)
	if err != nil {
		return g, nil, nil, fmt.Errorf("flow %s of the request no longer exists", r.Flow)
	}
	p, err := e.resolve(ctx, flow)
	if err != nil {
		return g, nil, nil, err
	}
	if p.strategyID != r.StrategyID {
		// The flow changed strategy; act through the one the request was made with.
		flowCopy := *flow
		params := map[string]any{}
		for k, v := range p.params {
			params[k] = v
		}
		params["strategy_id"] = r.StrategyID
		body := map[string]any{}
		for k, v := range flow.Body {
			body[k] = v
		}
		body["params"] = params
		flowCopy.Body = body
		if p, err = e.resolve(ctx, &flowCopy); err != nil {
			return g, nil, nil, err
		}
	}
	g.Runtime, g.ConnectorRoleARN, g.Region = p.runtime, p.connector, p.region
	if r.Identity != "" && r.Granted != nil {
		// Once approved, a request acts on what it was approved for: the
		// identity and target settings recorded then, even if the user's
		// mapping or the target changed or went away since. A removal must
		// undo exactly what the grant did.
		g.Identity, g.TargetType, g.TargetSettings = r.Identity, r.Granted["type"], map[string]string{}
		for k, v := range r.Granted {
			if k != "type" {
				g.TargetSettings[k] = v
			}
		}
		return g, p.strat, p, nil
	}
	t, err := e.st.GetEntity(ctx, "access-targets", r.TargetID)
	if err != nil {
		return g, nil, nil, fmt.Errorf("target %s of the request no longer exists", r.Target)
	}
	if !slices.Contains(strList(p.strategy.Body["targets"]), r.TargetID) {
		return g, nil, nil, fmt.Errorf("target %s is no longer a target of the strategy", r.Target)
	}
	u, err := e.st.GetUser(ctx, r.Requester)
	if err != nil {
		return g, nil, nil, fmt.Errorf("requester %s no longer exists", r.Requester)
	}
	g.Identity = requesterIdentity(u, p.strat.IdentityKey(), p.runtime.RoleARN)
	g.TargetType, g.TargetSettings = str(t.Body, "type"), strMap(t.Body["settings"])
	return g, p.strat, p, nil
}

// InUse lists the open requests (pending, approved, active) whose flow,
// target, strategy, environment, runtime or permission contexts include the
// entity id: deleting it would leave them unable to finish, or a grant
// impossible to remove.
func (e *Engine) InUse(ctx context.Context, id string) ([]string, error) {
	open, err := e.st.OpenRequests(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, r := range open {
		ids := []string{r.FlowID, r.TargetID, r.StrategyID}
		if flow, err := e.st.GetEntity(ctx, "flows", r.FlowID); err == nil {
			envID := str(flow.Body, "environment_id")
			ids = append(ids, envID)
			if env, err := e.st.GetEntity(ctx, "environments", envID); err == nil {
				rtID := str(env.Body, "runtime_id")
				ids = append(ids, rtID)
				if rt, err := e.st.GetEntity(ctx, "runtimes", rtID); err == nil {
					ids = append(ids, str(rt.Body, "context_id"))
				}
			}
		}
		if st, err := e.st.GetEntity(ctx, "access-strategies", r.StrategyID); err == nil {
			ids = append(ids, str(st.Body, "integration_id"))
		}
		if slices.Contains(ids, id) {
			users = append(users, fmt.Sprintf("%s request %s", r.State, r.ID))
		}
	}
	return users, nil
}
