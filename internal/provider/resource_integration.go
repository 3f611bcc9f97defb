package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opensym/sym/internal/model"
)

type integrationModel struct {
	ID         types.String `tfsdk:"id"`
	Type       types.String `tfsdk:"type"`
	Name       types.String `tfsdk:"name"`
	Label      types.String `tfsdk:"label"`
	ExternalID types.String `tfsdk:"external_id"`
	Settings   types.Map    `tfsdk:"settings"`
}

var integrationKind = &entityKind[integrationModel]{
	typeName:  "integration",
	title:     "integration",
	apiKind:   "integrations",
	named:     true,
	typed:     true,
	importDoc: "the integration's name, TYPE:NAME (like permission_context:main-iam) or id",
	schema: schema.Schema{
		Description: "An integration connects sym to another system: a `permission_context` names an AWS role sym assumes, `slack` a workspace, and so on.",
		Attributes: map[string]schema.Attribute{
			"id":          idAttribute("integration"),
			"type":        typeAttribute("The kind of system: `permission_context`, `slack`, `okta`, ... Changing it replaces the integration."),
			"name":        nameAttribute("integration"),
			"label":       optionalString("A display name."),
			"external_id": optionalString("The integration's id in the other system: the AWS account id for a `permission_context`, the workspace id for `slack`."),
			"settings":    stringMap("Settings of the integration. A `permission_context` with `cloud = \"aws\"` (or no `cloud`) needs `role_arn`; a runtime's context also needs `external_id`."),
		},
	},
	id: func(m *integrationModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *integrationModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"type":        m.Type.ValueString(),
			"slug":        m.Name.ValueString(),
			"label":       m.Label.ValueString(),
			"external_id": m.ExternalID.ValueString(),
			"settings":    goMap(ctx, m.Settings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *integrationModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Type = types.StringValue(e.str("type"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		m.ExternalID = types.StringValue(e.str("external_id"))
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		return d
	},
	validate: func(_ context.Context, m *integrationModel, d *diag.Diagnostics) {
		if m.Type.IsUnknown() || m.Type.ValueString() != "permission_context" {
			return
		}
		settings, ok := knownMap(m.Settings)
		if !ok {
			return
		}
		_, errs := model.DecodeIntegration("", map[string]any{"type": m.Type.ValueString(), "settings": settings})
		addModelErrors(d, "Invalid permission context", errs)
	},
}

func newIntegrationResource() resource.Resource {
	return &entityResource[integrationModel]{kind: integrationKind}
}
