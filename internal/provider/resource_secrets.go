package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type secretsModel struct {
	ID       types.String `tfsdk:"id"`
	Type     types.String `tfsdk:"type"`
	Name     types.String `tfsdk:"name"`
	Label    types.String `tfsdk:"label"`
	Settings types.Map    `tfsdk:"settings"`
}

var secretsKind = &entityKind[secretsModel]{
	typeName:  "secrets",
	title:     "secret source",
	apiKind:   "secret-sources",
	named:     true,
	typed:     true,
	importDoc: "the source's name, TYPE:NAME (like aws_secrets_manager:main) or id",
	schema: schema.Schema{
		Description: "A secret source is where flows read secrets from: AWS Secrets Manager, through a permission context.",
		Attributes: map[string]schema.Attribute{
			"id":       idAttribute("secret source"),
			"type":     typeAttribute("The kind of source: `aws_secrets_manager`. Changing it replaces the source.", "aws_secrets_manager"),
			"name":     nameAttribute("secret source"),
			"label":    optionalString("A display name."),
			"settings": stringMap("Settings of the source: `context_id`, the id of the `permission_context` `sym_integration` whose role reads the secrets."),
		},
	},
	id: func(m *secretsModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *secretsModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"type":     m.Type.ValueString(),
			"slug":     m.Name.ValueString(),
			"label":    m.Label.ValueString(),
			"settings": goMap(ctx, m.Settings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *secretsModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Type = types.StringValue(e.str("type"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		return d
	},
	validate: func(_ context.Context, m *secretsModel, d *diag.Diagnostics) {
		if m.Type.ValueString() != "aws_secrets_manager" {
			return
		}
		if settings, ok := knownMap(m.Settings); ok && settings["context_id"] == "" {
			d.AddAttributeError(path.Root("settings"), "Missing secret source setting",
				fmt.Sprintf("A secret source of type %s needs settings.context_id, the id of a permission_context sym_integration.", m.Type.ValueString()))
		}
	},
}

func newSecretsResource() resource.Resource {
	return &entityResource[secretsModel]{kind: secretsKind}
}
