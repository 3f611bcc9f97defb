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

type runtimeModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	Label     types.String `tfsdk:"label"`
	ContextID types.String `tfsdk:"context_id"`
}

var runtimeKind = &entityKind[runtimeModel]{
	typeName:  "runtime",
	title:     "runtime",
	apiKind:   "runtimes",
	named:     true,
	importDoc: "the runtime's name or id",
	schema: schema.Schema{
		Description: "A runtime executes flows with the AWS identity of its permission context (the runtime connector role).",
		Attributes: map[string]schema.Attribute{
			"id":    idAttribute("runtime"),
			"name":  nameAttribute("runtime"),
			"label": optionalString("A display name."),
			"context_id": schema.StringAttribute{
				Required:    true,
				Description: "The id of the `permission_context` `sym_integration` of the runtime connector role (its settings must carry `external_id`).",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1),
					stringvalidator.RegexMatches(nameRE, "must be the id of a permission_context sym_integration")},
			},
		},
	},
	id: func(m *runtimeModel) types.String { return m.ID },
	expand: func(_ context.Context, m *runtimeModel) (entity, diag.Diagnostics) {
		return entity{
			"slug":       m.Name.ValueString(),
			"label":      m.Label.ValueString(),
			"context_id": m.ContextID.ValueString(),
		}, nil
	},
	flatten: func(_ context.Context, e entity, m *runtimeModel) diag.Diagnostics {
		m.ID = types.StringValue(e.str("id"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		m.ContextID = types.StringValue(e.str("context_id"))
		return nil
	},
}

func newRuntimeResource() resource.Resource {
	return &entityResource[runtimeModel]{kind: runtimeKind}
}
