package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opensym/sym/internal/model"
)

type flowModel struct {
	ID             types.String `tfsdk:"id"`
	Name           types.String `tfsdk:"name"`
	Label          types.String `tfsdk:"label"`
	EnvironmentID  types.String `tfsdk:"environment_id"`
	Implementation types.String `tfsdk:"implementation"`
	Vars           types.Map    `tfsdk:"vars"`
	// Params is a list block of exactly one element, as in the original
	// provider (schema version 1), so that its state reads unchanged.
	Params []flowParamsModel `tfsdk:"params"`
}

// params answers the one params block, or nil.
func (m *flowModel) params() *flowParamsModel {
	if len(m.Params) == 0 {
		return nil
	}
	return &m.Params[0]
}

type flowParamsModel struct {
	StrategyID             types.String       `tfsdk:"strategy_id"`
	AllowRevoke            types.Bool         `tfsdk:"allow_revoke"`
	ScheduleDeescalation   types.Bool         `tfsdk:"schedule_deescalation"`
	IncludeDecisionMessage types.Bool         `tfsdk:"include_decision_message"`
	AllowGuestInteraction  types.Bool         `tfsdk:"allow_guest_interaction"`
	AdditionalHeaderText   types.String       `tfsdk:"additional_header_text"`
	AllowedSources         types.List         `tfsdk:"allowed_sources"`
	PromptFields           []promptFieldModel `tfsdk:"prompt_field"`
}

type promptFieldModel struct {
	Name          types.String `tfsdk:"name"`
	Type          types.String `tfsdk:"type"`
	Required      types.Bool   `tfsdk:"required"`
	Label         types.String `tfsdk:"label"`
	Default       types.String `tfsdk:"default"`
	Visible       types.Bool   `tfsdk:"visible"`
	AllowedValues types.List   `tfsdk:"allowed_values"`
	Prefetch      types.Bool   `tfsdk:"prefetch"`
}

var promptFieldTypes = []string{"string", "int", "bool", "duration", "slack_user", "slack_user_list", "str_list", "int_list"}

func boolWithDefault(desc string, def bool) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(def), Description: fmt.Sprintf("%s Defaults to `%t`.", desc, def)}
}

var flowKind = &entityKind[flowModel]{
	typeName:  "flow",
	title:     "flow",
	apiKind:   "flows",
	named:     true,
	importDoc: "the flow's name or id",
	upgraders: flowStateUpgraders,
	schema: schema.Schema{
		// Version 1 as the original provider 2.x and 3.x; version 0 state
		// (provider < 2.0) is upgraded by flowStateUpgraders.
		Version:     1,
		Description: "A flow is an access workflow: a requester fills its prompt fields, approvers approve or deny, and its strategy grants and later revokes the access.",
		Attributes: map[string]schema.Attribute{
			"id":             idAttribute("flow"),
			"name":           nameAttribute("flow"),
			"label":          optionalString("What requesters see."),
			"environment_id": schema.StringAttribute{Required: true, Description: "The id of the `sym_environment` the flow runs in.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"implementation": schema.StringAttribute{
				Required:    true,
				Description: "The flow's code itself (not a path to it): use `file(\"impl.py\")`. Sent base64-encoded. sym server keeps it as sent and does not run it: who may approve, self-approval and the longest duration come from `vars` (docs/requests.md).",
				Validators:  []validator.String{implementationValidator{}},
			},
			"vars": stringMap("What sym server decides the flow's requests with: `approvers` (comma-separated emails; absent, only admins decide), `allow_self_approval`, `max_duration`, `request_timeout` (docs/requests.md); and `request_channel`, the Slack channel its requests are posted to (docs/web.md). Other keys are kept as given."),
		},
		Blocks: map[string]schema.Block{
			"params": schema.ListNestedBlock{
				Description: "How the flow behaves (required, exactly one block).",
				Validators:  []validator.List{listvalidator.IsRequired(), listvalidator.SizeBetween(1, 1)},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"strategy_id":              schema.StringAttribute{Optional: true, Description: "The id of the `sym_strategy` that grants access. Absent: an approval-only flow."},
					"allow_revoke":             boolWithDefault("Whether access may be revoked before it expires. At least one of `allow_revoke` and `schedule_deescalation` must be true.", true),
					"schedule_deescalation":    boolWithDefault("Whether access ends by itself after the requested duration.", true),
					"include_decision_message": boolWithDefault("Whether approvers are asked for a message with their decision.", true),
					"allow_guest_interaction":  boolWithDefault("Whether users outside the organisation's Slack workspace may act on requests.", false),
					"additional_header_text":   schema.StringAttribute{Optional: true, Description: "Text shown at the top of the request form."},
					"allowed_sources": schema.ListAttribute{
						ElementType: types.StringType,
						Optional:    true,
						Description: "Where the flow may be invoked from: `slack`, `api`. Absent: everywhere; an empty list: nowhere.",
						Validators:  []validator.List{listvalidator.ValueStringsAre(stringvalidator.OneOf("slack", "api"))},
					},
				},
					Blocks: map[string]schema.Block{
						"prompt_field": schema.ListNestedBlock{
							Description: "A field of the request form; one block per field, in order.",
							NestedObject: schema.NestedBlockObject{
								Attributes: map[string]schema.Attribute{
									"name": schema.StringAttribute{Required: true, Description: "The field's name, as flow code reads it.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
									"type": schema.StringAttribute{
										Required:    true,
										Description: "One of `" + strings.Join(promptFieldTypes, "`, `") + "`.",
										Validators:  []validator.String{stringvalidator.OneOf(promptFieldTypes...)},
									},
									"required": boolWithDefault("Whether the requester must fill it.", true),
									"label":    schema.StringAttribute{Optional: true, Description: "What requesters see."},
									"default":  schema.StringAttribute{Optional: true, Description: "The value the form starts with."},
									"visible":  boolWithDefault("Whether the field shows on the form.", true),
									"allowed_values": schema.ListAttribute{
										ElementType: types.StringType,
										Optional:    true,
										Description: "The only values the requester may choose from.",
									},
									"prefetch": boolWithDefault("Whether a prefetch reducer fills the field's choices (the original's attribute; kept and sent as given).", false),
								},
							},
						},
					}},
			},
		},
	},
	id:       func(m *flowModel) types.String { return m.ID },
	expand:   expandFlow,
	flatten:  flattenFlow,
	validate: validateFlow,
}

func expandFlow(ctx context.Context, m *flowModel) (entity, diag.Diagnostics) {
	var d diag.Diagnostics
	params := map[string]any{"prompt_fields": []any{}}
	if p := m.params(); p != nil {
		if !p.StrategyID.IsNull() {
			params["strategy_id"] = p.StrategyID.ValueString()
		}
		params["allow_revoke"] = p.AllowRevoke.ValueBool()
		params["schedule_deescalation"] = p.ScheduleDeescalation.ValueBool()
		params["include_decision_message"] = p.IncludeDecisionMessage.ValueBool()
		params["allow_guest_interaction"] = p.AllowGuestInteraction.ValueBool()
		if !p.AdditionalHeaderText.IsNull() {
			params["additional_header_text"] = p.AdditionalHeaderText.ValueString()
		}
		if !p.AllowedSources.IsNull() {
			params["allowed_sources"] = goList(ctx, p.AllowedSources, &d)
		}
		fields := []any{}
		for _, f := range p.PromptFields {
			pf := map[string]any{
				"name":     f.Name.ValueString(),
				"type":     f.Type.ValueString(),
				"required": f.Required.ValueBool(),
				"visible":  f.Visible.ValueBool(),
				"prefetch": f.Prefetch.ValueBool(),
			}
			if !f.Label.IsNull() {
				pf["label"] = f.Label.ValueString()
			}
			if !f.Default.IsNull() {
				pf["default"] = f.Default.ValueString()
			}
			if !f.AllowedValues.IsNull() {
				pf["allowed_values"] = goList(ctx, f.AllowedValues, &d)
			}
			fields = append(fields, pf)
		}
		params["prompt_fields"] = fields
	}
	return entity{
		"slug":           m.Name.ValueString(),
		"label":          m.Label.ValueString(),
		"environment_id": m.EnvironmentID.ValueString(),
		"implementation": base64.StdEncoding.EncodeToString([]byte(m.Implementation.ValueString())),
		"vars":           goMap(ctx, m.Vars, &d),
		"params":         params,
	}, d
}

func flattenFlow(ctx context.Context, e entity, m *flowModel) diag.Diagnostics {
	var d diag.Diagnostics
	m.ID = types.StringValue(e.str("id"))
	m.Name = sameName(m.Name, e.str("slug"))
	m.Label = types.StringValue(e.str("label"))
	m.EnvironmentID = types.StringValue(e.str("environment_id"))
	code, err := base64.StdEncoding.DecodeString(e.str("implementation"))
	if err != nil {
		d.AddAttributeError(path.Root("implementation"), "Undecodable flow implementation",
			fmt.Sprintf("The server answered an implementation that is not base64: %v", err))
		return d
	}
	m.Implementation = types.StringValue(string(code))
	m.Vars = mapValue(ctx, e.strMap("vars"), &d)

	raw, _ := e["params"].(map[string]any)
	p := &flowParamsModel{
		StrategyID:             optionalWireString(raw, "strategy_id"),
		AllowRevoke:            wireBool(raw, "allow_revoke", true),
		ScheduleDeescalation:   wireBool(raw, "schedule_deescalation", true),
		IncludeDecisionMessage: wireBool(raw, "include_decision_message", true),
		AllowGuestInteraction:  wireBool(raw, "allow_guest_interaction", false),
		AdditionalHeaderText:   optionalWireString(raw, "additional_header_text"),
		AllowedSources:         optionalWireList(ctx, raw, "allowed_sources", &d),
		PromptFields:           []promptFieldModel{},
	}
	fields, _ := raw["prompt_fields"].([]any)
	for _, f := range fields {
		pf, _ := f.(map[string]any)
		p.PromptFields = append(p.PromptFields, promptFieldModel{
			Name:          types.StringValue(anyString(pf["name"])),
			Type:          types.StringValue(anyString(pf["type"])),
			Required:      wireBool(pf, "required", true),
			Label:         optionalWireString(pf, "label"),
			Default:       optionalWireString(pf, "default"),
			Visible:       wireBool(pf, "visible", true),
			AllowedValues: optionalWireList(ctx, pf, "allowed_values", &d),
			Prefetch:      wireBool(pf, "prefetch", false),
		})
	}
	// "<null>" (how the original client said "no strategy") reads back as
	// no strategy; keep that spelling where the configuration has it.
	if prior := m.params(); p.StrategyID.IsNull() && prior != nil && prior.StrategyID.Equal(types.StringValue(nullID)) {
		p.StrategyID = prior.StrategyID
	}
	m.Params = []flowParamsModel{*p}
	return d
}

// optionalWireString is null when the key is absent (or, for strategy_id,
// "<null>"), the string otherwise: "" stays "", as the configuration said
// (a flow's strategy_id = "" is an approval-only flow, like no strategy_id).
func optionalWireString(raw map[string]any, key string) types.String {
	v, ok := raw[key]
	if !ok || v == nil {
		return types.StringNull()
	}
	s := anyString(v)
	if key == "strategy_id" && s == nullID {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func wireBool(raw map[string]any, key string, def bool) types.Bool {
	if b, ok := raw[key].(bool); ok {
		return types.BoolValue(b)
	}
	if s, ok := raw[key].(string); ok {
		return types.BoolValue(s == "true")
	}
	return types.BoolValue(def)
}

// optionalWireList keeps the difference between an absent list (null) and
// an empty one.
func optionalWireList(ctx context.Context, raw map[string]any, key string, d *diag.Diagnostics) types.List {
	v, ok := raw[key]
	if !ok || v == nil {
		return types.ListNull(types.StringType)
	}
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		out = append(out, anyString(x))
	}
	return listValue(ctx, out, d)
}

func validateFlow(_ context.Context, m *flowModel, d *diag.Diagnostics) {
	// The variables the server reads itself (max_duration, request_timeout),
	// by the server's own rule; its params rules are checked below.
	if vars, ok := knownMap(m.Vars); ok {
		_, errs := model.DecodeFlow("", map[string]any{"vars": vars})
		errs = slices.DeleteFunc(errs, func(e model.FieldError) bool { return !strings.HasPrefix(e.Field, "vars.") })
		addModelErrors(d, "Invalid flow variable", errs)
	}
	p := m.params()
	if p == nil {
		return
	}
	if !p.AllowRevoke.IsUnknown() && !p.ScheduleDeescalation.IsUnknown() &&
		!p.AllowRevoke.IsNull() && !p.ScheduleDeescalation.IsNull() &&
		!p.AllowRevoke.ValueBool() && !p.ScheduleDeescalation.ValueBool() {
		d.AddAttributeError(path.Root("params").AtListIndex(0).AtName("allow_revoke"), "Access that never ends",
			"At least one of params.allow_revoke and params.schedule_deescalation must be true: with both false, granted access could neither be revoked nor expire.")
	}
	seen := map[string]bool{}
	for i, f := range p.PromptFields {
		if f.Name.IsUnknown() || f.Name.IsNull() {
			continue
		}
		n := f.Name.ValueString()
		if seen[n] {
			d.AddAttributeError(path.Root("params").AtListIndex(0).AtName("prompt_field").AtListIndex(i).AtName("name"), "Duplicate prompt field",
				fmt.Sprintf("Two prompt_field blocks are named %q; each field needs its own name.", n))
		}
		seen[n] = true
	}
}

// implementationValidator rejects a path where the code itself is expected:
// the original provider once took a path, and such configurations would
// otherwise upload the path as the code.
type implementationValidator struct{}

func (implementationValidator) Description(context.Context) string {
	return "must be the flow's code, not a path to a .py file"
}

func (v implementationValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (implementationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := strings.TrimSpace(req.ConfigValue.ValueString())
	if strings.HasSuffix(s, ".py") && !strings.ContainsAny(s, "\n\t ") {
		resp.Diagnostics.AddAttributeError(req.Path, "implementation is a path, not code",
			fmt.Sprintf("implementation takes the flow's code itself, but %q looks like a path to a file. Write implementation = file(%q) to send the file's contents.", s, s))
	}
}

func newFlowResource() resource.Resource {
	return &entityResource[flowModel]{kind: flowKind}
}
