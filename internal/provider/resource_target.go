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

type targetModel struct {
	ID            types.String `tfsdk:"id"`
	Type          types.String `tfsdk:"type"`
	Name          types.String `tfsdk:"name"`
	Label         types.String `tfsdk:"label"`
	Settings      types.Map    `tfsdk:"settings"`
	FieldBindings types.List   `tfsdk:"field_bindings"`
}

var targetKind = &entityKind[targetModel]{
	typeName:  "target",
	title:     "access target",
	apiKind:   "access-targets",
	named:     true,
	typed:     true,
	importDoc: "the target's name, TYPE:NAME (like aws_iam_group:cloudwatch-readonly) or id",
	schema: schema.Schema{
		Description: "An access target is one thing users may request: an IAM group, an SSO permission set in an account, a Lambda-run custom target.",
		Attributes: map[string]schema.Attribute{
			"id":    idAttribute("access target"),
			"type":  typeAttribute("One of `aws_iam_group`, `aws_sso_permission_set`, `aws_sso_group`, `aws_lambda_function`, `custom`. Changing it replaces the target.", "aws_iam_group", "aws_sso_permission_set", "aws_sso_group", "aws_lambda_function", "custom"),
			"name":  nameAttribute("access target"),
			"label": optionalString("What requesters see."),
			"settings": stringMap("Settings of the target: `iam_group` (the IAM group name) for `aws_iam_group`; " +
				"`permission_set_arn` and `account_id` (12 digits) for `aws_sso_permission_set`; `group_id` (an identity-store group id) for `aws_sso_group`; " +
				"`arn` (a Lambda function ARN) for `aws_lambda_function`. Checked at plan time."),
			"field_bindings": stringList("Names of prompt fields whose values the requester supplies for this target."),
		},
	},
	id: func(m *targetModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *targetModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"type":           m.Type.ValueString(),
			"slug":           m.Name.ValueString(),
			"label":          m.Label.ValueString(),
			"settings":       goMap(ctx, m.Settings, &d),
			"field_bindings": goList(ctx, m.FieldBindings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *targetModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Type = types.StringValue(e.str("type"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		m.FieldBindings = listValue(ctx, e.strList("field_bindings"), &d)
		return d
	},
	validate: func(_ context.Context, m *targetModel, d *diag.Diagnostics) {
		if m.Type.IsUnknown() {
			return
		}
		settings, ok := knownMap(m.Settings)
		if !ok {
			return
		}
		for _, e := range model.TargetSettingsErrors(m.Type.ValueString(), settings) {
			d.AddAttributeError(path.Root("settings"), "Invalid target setting", e.Message)
		}
	},
}

func newTargetResource() resource.Resource {
	return &entityResource[targetModel]{kind: targetKind}
}
