package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type secretModel struct {
	ID       types.String `tfsdk:"id"`
	Path     types.String `tfsdk:"path"`
	SourceID types.String `tfsdk:"source_id"`
	Label    types.String `tfsdk:"label"`
	Settings types.Map    `tfsdk:"settings"`
}

var secretKind = &entityKind[secretModel]{
	typeName:  "secret",
	title:     "secret",
	apiKind:   "secrets",
	importDoc: "the secret's path or id",
	schema: schema.Schema{
		Description: "A secret that flows may read, at a path of a `sym_secrets` source.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("secret"),
			"path": schema.StringAttribute{
				Required:    true,
				Description: "Where the secret is in its source (the Secrets Manager secret name or ARN).",
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"source_id": schema.StringAttribute{
				Required:    true,
				Description: "The id of the `sym_secrets` source the secret is in.",
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"label":    optionalString("A display name."),
			"settings": stringMap("Settings of the secret, like `json_key` to pick one key of a JSON secret."),
		},
	},
	id: func(m *secretModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *secretModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"path":      m.Path.ValueString(),
			"source_id": m.SourceID.ValueString(),
			"label":     m.Label.ValueString(),
			"settings":  goMap(ctx, m.Settings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *secretModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Path = types.StringValue(e.str("path"))
		m.SourceID = types.StringValue(e.str("source_id"))
		m.Label = types.StringValue(e.str("label"))
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		return d
	},
	importKey: func(e entity, key string) bool { return e.str("path") == key },
}

func newSecretResource() resource.Resource {
	return &entityResource[secretModel]{kind: secretKind}
}
