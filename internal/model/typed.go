package model

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Typed views of the entities the engine acts through. The wire format stays
// the map each entity was sent as (unknown params preserved, read back as
// written); these views are decoded from it once, where entities are read,
// with defaults set and the per-type rules checked, so that the engine never
// walks a map[string]any. Each Decode* is the one place a kind's rules live:
// ValidateTyped calls it when an entity is written.

// Defaults of a flow, when its vars and params do not say otherwise.
const (
	DefaultDuration       = time.Hour
	DefaultMaxDuration    = 12 * time.Hour
	DefaultRequestTimeout = 24 * time.Hour
)

// ParseDuration reads a request duration: Go duration text such as 30s,
// 30m, 1h or 1h30m; a bare number is minutes.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	if isDigits(s) {
		s += "m"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 30s, 30m, 1h or 1h30m)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// PromptField is one field of a flow's request form.
type PromptField struct {
	Name     string
	Type     string
	Label    string
	Required bool // default true
	// Default is the field's default rendered as text; HasDefault says
	// whether the flow set one.
	Default       string
	HasDefault    bool
	AllowedValues []string
}

// IsListType says whether a prompt field of this type holds a list
// (str_list, int_list, slack_user_list).
func IsListType(typ string) bool { return strings.HasSuffix(typ, "_list") }

// ListFromText reads a list typed as text, as the web form's textarea and
// Slack's multi-line input take it: one item a line, each trimmed, blank
// lines dropped, sent on as the API takes a list, "a,b". An item keeps its
// inner spaces ("web 1" is one item).
func ListFromText(text string) string {
	var items []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			items = append(items, line)
		}
	}
	return strings.Join(items, ",")
}

// FlowParams are a flow's typed params. Raw keeps the params as sent.
type FlowParams struct {
	// StrategyID is empty for an approval-only flow.
	StrategyID           string
	AllowRevoke          bool // default true
	ScheduleDeescalation bool // default true
	PromptFields         []PromptField
	Raw                  map[string]any
}

// Field finds a prompt field by name.
func (p FlowParams) Field(name string) (PromptField, bool) {
	for _, f := range p.PromptFields {
		if f.Name == name {
			return f, true
		}
	}
	return PromptField{}, false
}

// Flow is a typed flow.
type Flow struct {
	ID, Slug, Label, EnvironmentID string
	Params                         FlowParams
	// Vars are the flow's vars as sent; the ones the platform reads are
	// decoded below.
	Vars              map[string]string
	Approvers         []string // lower-cased; empty: admins decide (package authz)
	AllowSelfApproval bool
	MaxDuration       time.Duration
	RequestTimeout    time.Duration
}

// IsApprover reports whether email is one of the flow's approvers.
func (f *Flow) IsApprover(email string) bool {
	return slices.Contains(f.Approvers, strings.ToLower(strings.TrimSpace(email)))
}

// Environment is a typed environment.
type Environment struct {
	ID, Slug, RuntimeID string
	// ErrorLoggerID and LogDestinationIDs say where the environment's audit
	// events and failures are shipped.
	ErrorLoggerID     string
	LogDestinationIDs []string
}

// Runtime is a typed runtime: the permission context its connector uses.
type Runtime struct {
	ID, Slug, ContextID string
}

// Integration is a typed integration. AWS is set for an AWS permission
// context (cloud "aws" or unset).
type Integration struct {
	ID, Type, Slug, Label string
	ExternalID            string // the top-level field (an AWS account id for a runtime context)
	Settings              map[string]string
	AWS                   *AWSContext
}

// AWSContext is an AWS permission context: the role to assume and how.
type AWSContext struct {
	RoleARN string
	// Account is the role's account.
	Account    string
	ExternalID string // settings.external_id: the condition of the role's trust
	Region     string
	// Safelist is the raw account_id_safelist setting (awsauth parses and
	// checks it, with the other guard rails).
	Safelist string
}

// Target is a typed access target.
type Target struct {
	ID, Type, Slug, Label string
	Settings              map[string]string
	FieldBindings         []string
}

// Strategy is a typed access strategy.
type Strategy struct {
	ID, Type, Slug, Label string
	IntegrationID         string
	TargetIDs             []string
	Settings              map[string]string
}

// HasTarget reports whether the strategy names the target id.
func (s *Strategy) HasTarget(id string) bool { return slices.Contains(s.TargetIDs, id) }

// ---- decoding: bodies hold either decoded JSON or Normalize's output ----

func bodyString(b map[string]any, key string) string {
	s, _ := b[key].(string)
	if s == NullRef {
		return ""
	}
	return s
}

func bodyStringMap(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]string:
		for k, s := range m {
			out[k] = s
		}
	case map[string]any:
		for k, val := range m {
			if s, ok := val.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

func bodyStringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func anyList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out
	}
	return nil
}

// DecodeFlow reads a flow body, sets its defaults and checks its rules.
func DecodeFlow(id string, body map[string]any) (*Flow, []FieldError) {
	var errs []FieldError
	f := &Flow{ID: id, Slug: bodyString(body, "slug"), Label: bodyString(body, "label"),
		EnvironmentID: bodyString(body, "environment_id"), Vars: bodyStringMap(body["vars"])}
	raw, _ := body["params"].(map[string]any)
	if raw == nil {
		raw = map[string]any{}
	}
	p := FlowParams{Raw: raw, AllowRevoke: true, ScheduleDeescalation: true}
	for key, dst := range map[string]*bool{"allow_revoke": &p.AllowRevoke, "schedule_deescalation": &p.ScheduleDeescalation} {
		if v, ok := raw[key]; ok && v != nil {
			b, isBool := v.(bool)
			if !isBool {
				errs = append(errs, FieldError{"params." + key, "must be true or false"})
				continue
			}
			*dst = b
		}
	}
	if !p.AllowRevoke && !p.ScheduleDeescalation {
		errs = append(errs, FieldError{"params", "at least one of allow_revoke and schedule_deescalation must be true"})
	}
	if v, ok := raw["strategy_id"]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr {
			errs = append(errs, FieldError{"params.strategy_id", "must be a string"})
		} else if s != NullRef {
			p.StrategyID = s
		}
	}
	for i, item := range anyList(raw["prompt_fields"]) {
		m, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, FieldError{fmt.Sprintf("params.prompt_fields[%d]", i), "must be an object"})
			continue
		}
		pf := PromptField{Name: bodyString(m, "name"), Type: bodyString(m, "type"), Label: bodyString(m, "label"), Required: true}
		if pf.Name == "" {
			continue // a field without a name asks nothing
		}
		if v, ok := m["required"].(bool); ok {
			pf.Required = v
		}
		for _, a := range anyList(m["allowed_values"]) {
			text, err := inputText(a)
			if err != nil {
				text = fmt.Sprint(a)
			}
			pf.AllowedValues = append(pf.AllowedValues, text)
		}
		if v, ok := m["default"]; ok && v != nil {
			// As a request stores a value (a list "a,b"); a default that is
			// not of the field's type is refused when a request uses it.
			text, err := pf.ReadInput(v)
			if err != nil {
				text = fmt.Sprint(v)
			}
			pf.Default, pf.HasDefault = text, true
		}
		p.PromptFields = append(p.PromptFields, pf)
	}
	f.Params = p
	f.MaxDuration, f.RequestTimeout = DefaultMaxDuration, DefaultRequestTimeout
	for key, dst := range map[string]*time.Duration{"max_duration": &f.MaxDuration, "request_timeout": &f.RequestTimeout} {
		if v := strings.TrimSpace(f.Vars[key]); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				errs = append(errs, FieldError{"vars." + key, err.Error()})
				continue
			}
			*dst = d
		}
	}
	for _, a := range strings.Split(f.Vars["approvers"], ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			f.Approvers = append(f.Approvers, a)
		}
	}
	f.AllowSelfApproval = strings.EqualFold(strings.TrimSpace(f.Vars["allow_self_approval"]), "true")
	sortErrs(errs)
	return f, errs
}

// sortErrs orders errors by field, so that messages are stable.
func sortErrs(errs []FieldError) {
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
}

// DecodeEnvironment reads an environment body.
func DecodeEnvironment(id string, body map[string]any) *Environment {
	return &Environment{ID: id, Slug: bodyString(body, "slug"), RuntimeID: bodyString(body, "runtime_id"),
		ErrorLoggerID: bodyString(body, "error_logger_id"), LogDestinationIDs: bodyStringList(body["log_destination_ids"])}
}

// DecodeRuntime reads a runtime body.
func DecodeRuntime(id string, body map[string]any) *Runtime {
	return &Runtime{ID: id, Slug: bodyString(body, "slug"), ContextID: bodyString(body, "context_id")}
}

// DecodeIntegration reads an integration body and checks what an AWS
// permission context must carry.
func DecodeIntegration(id string, body map[string]any) (*Integration, []FieldError) {
	var errs []FieldError
	in := &Integration{ID: id, Type: bodyString(body, "type"), Slug: bodyString(body, "slug"), Label: bodyString(body, "label"),
		ExternalID: bodyString(body, "external_id"), Settings: bodyStringMap(body["settings"])}
	if in.Type == "permission_context" {
		s := in.Settings
		if cloud := s["cloud"]; cloud == "" || cloud == "aws" {
			in.AWS = &AWSContext{RoleARN: s["role_arn"], ExternalID: s["external_id"], Region: s["region"], Safelist: s["account_id_safelist"]}
			if s["role_arn"] == "" {
				errs = append(errs, FieldError{"settings.role_arn", "an AWS permission context needs the role ARN to assume"})
			} else if acct, _, _, err := ParseRoleARN(s["role_arn"]); err != nil {
				errs = append(errs, FieldError{"settings.role_arn", err.Error()})
			} else {
				in.AWS.Account = acct
			}
		}
	}
	return in, errs
}

// DecodeTarget reads a target body and checks its type's settings.
func DecodeTarget(id string, body map[string]any) (*Target, []FieldError) {
	var errs []FieldError
	t := &Target{ID: id, Type: bodyString(body, "type"), Slug: bodyString(body, "slug"), Label: bodyString(body, "label"),
		Settings: bodyStringMap(body["settings"]), FieldBindings: bodyStringList(body["field_bindings"])}
	errs = append(errs, TargetSettingsErrors(t.Type, t.Settings)...)
	return t, errs
}

// DecodeStrategy reads a strategy body.
func DecodeStrategy(id string, body map[string]any) *Strategy {
	return &Strategy{ID: id, Type: bodyString(body, "type"), Slug: bodyString(body, "slug"), Label: bodyString(body, "label"),
		IntegrationID: bodyString(body, "integration_id"), TargetIDs: bodyStringList(body["targets"]),
		Settings: bodyStringMap(body["settings"])}
}

// Catalog holds the typed entities the engine resolves flows through, by id.
// An entity whose body breaks its kind's rules is kept out and its problem
// remembered, so that only the flows using it fail, and say why.
type Catalog struct {
	Flows        map[string]*Flow
	Environments map[string]*Environment
	Runtimes     map[string]*Runtime
	Integrations map[string]*Integration
	Targets      map[string]*Target
	Strategies   map[string]*Strategy
	Invalid      map[string]error
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{Flows: map[string]*Flow{}, Environments: map[string]*Environment{}, Runtimes: map[string]*Runtime{},
		Integrations: map[string]*Integration{}, Targets: map[string]*Target{}, Strategies: map[string]*Strategy{},
		Invalid: map[string]error{}}
}

// Add decodes one stored entity into the catalog; kinds the engine does not
// resolve through are ignored.
func (c *Catalog) Add(kind, id string, body map[string]any) {
	var errs []FieldError
	switch kind {
	case "flows":
		var f *Flow
		if f, errs = DecodeFlow(id, body); len(errs) == 0 {
			c.Flows[id] = f
		}
	case "environments":
		c.Environments[id] = DecodeEnvironment(id, body)
	case "runtimes":
		c.Runtimes[id] = DecodeRuntime(id, body)
	case "integrations":
		var in *Integration
		if in, errs = DecodeIntegration(id, body); len(errs) == 0 {
			c.Integrations[id] = in
		}
	case "access-targets":
		var t *Target
		if t, errs = DecodeTarget(id, body); len(errs) == 0 {
			c.Targets[id] = t
		}
	case "access-strategies":
		c.Strategies[id] = DecodeStrategy(id, body)
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		c.Invalid[id] = fmt.Errorf("%s %s is invalid: %s", Singular(kind), id, strings.Join(msgs, "; "))
	}
}

// FlowByRef finds a flow by id or by name (case-insensitive).
func (c *Catalog) FlowByRef(ref string) (*Flow, error) {
	if f, ok := c.Flows[ref]; ok {
		return f, nil
	}
	if err, ok := c.Invalid[ref]; ok {
		return nil, err
	}
	var found []*Flow
	for _, f := range c.Flows {
		if strings.EqualFold(f.Slug, ref) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		var names []string
		for _, f := range c.Flows {
			names = append(names, f.Slug)
		}
		if len(names) == 0 {
			return nil, &FieldError{"flow", fmt.Sprintf("no flow named %q: there are no flows yet (they are declared in Terraform: sym_flow)", ref)}
		}
		slices.Sort(names)
		return nil, &FieldError{"flow", fmt.Sprintf("no flow named %q; the flows are: %s", ref, strings.Join(names, ", "))}
	case 1:
		return found[0], nil
	}
	return nil, &FieldError{"flow", fmt.Sprintf("%q names several flows; use the id", ref)}
}

// Why says why an id is not in the catalog: invalid, or absent.
func (c *Catalog) Why(kind, id string) error {
	if err, ok := c.Invalid[id]; ok {
		return err
	}
	return fmt.Errorf("%s %s does not exist", Singular(kind), id)
}
