package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opensym/sym/internal/model"
)

// nullID is how the original client says "no integration".
const nullID = "<null>"

type strategyModel struct {
	ID            types.String `tfsdk:"id"`
	Type          types.String `tfsdk:"type"`
	Name          types.String `tfsdk:"name"`
	Label         types.String `tfsdk:"label"`
	IntegrationID types.String `tfsdk:"integration_id"`
	Targets       types.List   `tfsdk:"targets"`
	Settings      types.Map    `tfsdk:"settings"`
}

var strategyKind = &entityKind[strategyModel]{
	typeName:  "strategy",
	title:     "access strategy",
	apiKind:   "access-strategies",
	named:     true,
	typed:     true,
	importDoc: "the strategy's name, TYPE:NAME (like aws_iam:main-aws-iam) or id",
	schema: schema.Schema{
		Description: "An access strategy grants and revokes access to its targets: `aws_iam` adds users to IAM groups, `aws_sso` assigns permission sets, `aws_lambda` calls a function.",
		Attributes: map[string]schema.Attribute{
			"id":             idAttribute("access strategy"),
			"type":           typeAttribute("One of `aws_iam`, `aws_sso`, `aws_lambda`, `custom`, `http`. Changing it replaces the strategy.", "aws_iam", "aws_sso", "aws_lambda", "custom", "http"),
			"name":           nameAttribute("access strategy"),
			"label":          optionalString("A display name."),
			"integration_id": optionalString("The id of the `permission_context` `sym_integration` whose role the strategy assumes. Absent for strategies that need none."),
			"targets":        stringList("The ids of the `sym_target`s users may request through this strategy; their type must suit the strategy (`aws_iam_group` for `aws_iam`, ...)."),
			"settings":       stringMap("Settings of the strategy: `aws_sso` needs `instance_arn` (the IAM Identity Center instance, as the sso-connector module's `settings.instance_arn` gives it). Checked at plan time."),
		},
	},
	id: func(m *strategyModel) types.String { return m.ID },
	validate: func(_ context.Context, m *strategyModel, d *diag.Diagnostics) {
		if m.Type.IsUnknown() {
			return
		}
		settings, ok := knownMap(m.Settings)
		if !ok {
			return
		}
		for _, e := range model.StrategySettingsErrors(m.Type.ValueString(), settings) {
			d.AddAttributeError(path.Root("settings"), "Invalid strategy setting", e.Message)
		}
	},
	expand: func(ctx context.Context, m *strategyModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		integration := m.IntegrationID.ValueString()
		if integration == "" {
			integration = nullID
		}
		return entity{
			"type":           m.Type.ValueString(),
			"slug":           m.Name.ValueString(),
			"label":          m.Label.ValueString(),
			"integration_id": integration,
			"targets":        goList(ctx, m.Targets, &d),
			"settings":       goMap(ctx, m.Settings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *strategyModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Type = types.StringValue(e.str("type"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		integration := e.str("integration_id")
		if integration == nullID || integration == "" {
			if m.IntegrationID.ValueString() == nullID {
				integration = nullID // what the configuration says, verbatim
			} else {
				integration = ""
			}
		}
		m.IntegrationID = types.StringValue(integration)
		m.Targets = listValue(ctx, e.strList("targets"), &d)
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		return d
	},
}

func newStrategyResource() resource.Resource {
	return &entityResource[strategyModel]{kind: strategyKind}
}
