package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

// catalogCache is the typed entities at one entity generation of the store,
// with the plans resolved from them.
type catalogCache struct {
	gen   int64
	cat   *model.Catalog
	plans sync.Map // flow id + "|" + strategy id -> *plan
}

// catalog returns the typed entities, read from the store once per entity
// generation: a burst of grants and de-escalations reads no entity rows.
func (e *Engine) catalog(ctx context.Context) (*catalogCache, error) {
	gen := e.st.EntityGeneration() // before the read: a write during it makes the next call reload
	if c := e.cat.Load(); c != nil && c.gen == gen {
		return c, nil
	}
	rows, err := e.st.AllEntities(ctx)
	if err != nil {
		return nil, fmt.Errorf("read entities: %w", err)
	}
	cat := model.NewCatalog()
	for _, r := range rows {
		cat.Add(r.Kind, r.ID, r.Body)
	}
	c := &catalogCache{gen: gen, cat: cat}
	e.cat.Store(c)
	return c, nil
}

// findFlow finds a flow by id or by name (case-insensitive).
func (e *Engine) findFlow(ctx context.Context, ref string) (*model.Flow, error) {
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.cat.FlowByRef(ref)
	var fe *model.FieldError
	if errors.As(err, &fe) {
		return nil, invalid(fe.Field, "%s", fe.Message)
	}
	if err != nil {
		return nil, conflict("%s", err)
	}
	return f, nil
}

// flowOf reads the flow a request was made through.
func (e *Engine) flowOf(ctx context.Context, r *model.Request) (*model.Flow, error) {
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	if f, ok := c.cat.Flows[r.FlowID]; ok {
		return f, nil
	}
	return nil, conflict("the request's flow %s: %s", r.Flow, c.cat.Why("flows", r.FlowID))
}

// plan is a flow resolved down to the roles and targets it acts through.
type plan struct {
	flow     *model.Flow
	strategy *model.Strategy // nil for an approval-only flow
	strat    strategy.AccessStrategy
	targets  []*model.Target
	runtime  awsauth.Runtime
	// rtContext is the runtime's permission context.
	rtContext *model.Integration
	// connector is the strategy's connector role, in connectorAccount.
	connector        string
	connectorAccount string
	region           string
}

func (p *plan) targetNames() []string {
	var names []string
	for _, t := range p.targets {
		names = append(names, t.Slug)
	}
	return names
}

func (p *plan) target(ref string) (*model.Target, error) {
	for _, t := range p.targets {
		if t.ID == ref || strings.EqualFold(t.Slug, ref) {
			return t, nil
		}
	}
	if len(p.targets) == 0 {
		return nil, invalid("flow_inputs.target_id", "the flow has no targets")
	}
	return nil, invalid("flow_inputs.target_id", "%q is not a target of this flow (targets: %s)", ref, strings.Join(p.targetNames(), ", "))
}

// resolve follows a flow to its strategy (the flow's own, or strategyID
// when a request was made through another), targets and role chain, and
// says in words what is missing.
func (e *Engine) resolve(ctx context.Context, flow *model.Flow, strategyID string) (*plan, error) {
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	if strategyID == "" {
		strategyID = flow.Params.StrategyID
	}
	key := flow.ID + "|" + strategyID
	if p, ok := c.plans.Load(key); ok {
		return p.(*plan), nil
	}
	p, err := resolvePlan(c.cat, e.strategies, flow, strategyID)
	if err == nil {
		c.plans.Store(key, p)
	}
	return p, err
}

func resolvePlan(cat *model.Catalog, strategies map[string]strategy.AccessStrategy, flow *model.Flow, strategyID string) (*plan, error) {
	p := &plan{flow: flow}
	if strategyID == "" {
		return p, nil // an approval-only flow
	}
	var ok bool
	if p.strategy, ok = cat.Strategies[strategyID]; !ok {
		return nil, conflict("flow %s names strategy %s, which does not exist", flow.Slug, strategyID)
	}
	p.strat = strategies[p.strategy.Type]
	if p.strat == nil {
		return nil, conflict("strategy type %s cannot grant access in this server yet", p.strategy.Type)
	}
	for _, tid := range p.strategy.TargetIDs {
		if t, ok := cat.Targets[tid]; ok {
			p.targets = append(p.targets, t)
		}
	}
	integ, ok := cat.Integrations[p.strategy.IntegrationID]
	if !ok || integ.AWS == nil {
		if err, bad := cat.Invalid[p.strategy.IntegrationID]; bad {
			return nil, conflict("strategy %s: %s", p.strategy.Slug, err)
		}
		return nil, conflict("strategy %s has no permission context integration", p.strategy.Slug)
	}
	p.connector, p.connectorAccount, p.region = integ.AWS.RoleARN, integ.AWS.Account, integ.AWS.Region
	env, ok := cat.Environments[flow.EnvironmentID]
	if !ok {
		return nil, conflict("flow %s has no environment", flow.Slug)
	}
	rt, ok := cat.Runtimes[env.RuntimeID]
	if !ok {
		return nil, conflict("environment %s has no runtime: set its runtime_id", env.Slug)
	}
	rtCtx, ok := cat.Integrations[rt.ContextID]
	if !ok || rtCtx.AWS == nil {
		if err, bad := cat.Invalid[rt.ContextID]; bad {
			return nil, conflict("runtime %s: %s", rt.Slug, err)
		}
		return nil, conflict("runtime %s has no permission context", rt.Slug)
	}
	p.rtContext = rtCtx
	a := rtCtx.AWS
	p.runtime = awsauth.Runtime{RoleARN: a.RoleARN, ExternalID: a.ExternalID, Region: a.Region,
		Safelist: awsauth.ParseSafelist(a.Safelist)}
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
	flow, err := e.flowOf(ctx, r)
	if err != nil {
		return g, nil, nil, fmt.Errorf("flow %s of the request no longer exists", r.Flow)
	}
	// Act through the strategy the request was made with, even if the flow
	// changed strategy since.
	p, err := e.resolve(ctx, flow, r.StrategyID)
	if err != nil {
		return g, nil, nil, err
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
		if c, err := e.catalog(ctx); err == nil {
			e.describe(&g, r, p, c.cat)
		}
		return g, p.strat, p, nil
	}
	c, err := e.catalog(ctx)
	if err != nil {
		return g, nil, nil, err
	}
	e.describe(&g, r, p, c.cat)
	t, ok := c.cat.Targets[r.TargetID]
	if !ok {
		return g, nil, nil, fmt.Errorf("target %s of the request no longer exists", r.Target)
	}
	if !p.strategy.HasTarget(r.TargetID) {
		return g, nil, nil, fmt.Errorf("target %s is no longer a target of the strategy", r.Target)
	}
	u, err := e.st.GetUser(ctx, r.Requester)
	if err != nil {
		return g, nil, nil, fmt.Errorf("requester %s no longer exists", r.Requester)
	}
	g.Identity = requesterIdentity(u, p.strat.IdentityKey(), p.connectorAccount)
	g.TargetType, g.TargetSettings = t.Type, make(map[string]string, len(t.Settings))
	for k, v := range t.Settings {
		g.TargetSettings[k] = v
	}
	return g, p.strat, p, nil
}

// requesterIdentity is the user's identity for a strategy: the one for the
// account the grant acts in (the connector role's, "aws_iam:<account>"),
// else the account-less one.
func requesterIdentity(u *store.User, key, account string) string {
	if account != "" {
		if v := u.Identities[key+":"+account]; v != "" {
			return v
		}
	}
	return u.Identities[key]
}

// InUse lists the open requests (pending, approved, active) whose flow,
// target, strategy, environment, runtime or permission contexts include the
// entity id: deleting it would leave them unable to finish, or a grant
// impossible to remove.
func (e *Engine) InUse(ctx context.Context, id string) ([]string, error) {
	open, err := e.openUsing(ctx, id)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, r := range open {
		users = append(users, fmt.Sprintf("%s request %s", r.State, r.ID))
	}
	return users, nil
}

// openUsing answers the open requests that InUse describes.
func (e *Engine) openUsing(ctx context.Context, id string) ([]*model.Request, error) {
	open, err := e.st.OpenRequests(ctx)
	if err != nil {
		return nil, err
	}
	c, err := e.catalog(ctx)
	if err != nil {
		return nil, err
	}
	cat := c.cat
	var users []*model.Request
	for _, r := range open {
		ids := []string{r.FlowID, r.TargetID, r.StrategyID}
		if flow, ok := cat.Flows[r.FlowID]; ok {
			ids = append(ids, flow.EnvironmentID)
			if env, ok := cat.Environments[flow.EnvironmentID]; ok {
				ids = append(ids, env.RuntimeID)
				if rt, ok := cat.Runtimes[env.RuntimeID]; ok {
					ids = append(ids, rt.ContextID)
				}
			}
		}
		if st, ok := cat.Strategies[r.StrategyID]; ok {
			ids = append(ids, st.IntegrationID)
		}
		for _, x := range ids {
			if x == id {
				users = append(users, r)
				break
			}
		}
	}
	return users, nil
}
