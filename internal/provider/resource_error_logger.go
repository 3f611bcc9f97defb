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

type errorLoggerModel struct {
	ID            types.String `tfsdk:"id"`
	IntegrationID types.String `tfsdk:"integration_id"`
	Destination   types.String `tfsdk:"destination"`
}

var errorLoggerKind = &entityKind[errorLoggerModel]{
	typeName:  "error_logger",
	title:     "error logger",
	apiKind:   "error-loggers",
	importDoc: "the error logger's destination (like #sym-errors) or id",
	schema: schema.Schema{
		Description: "An error logger is where sym reports the errors of an environment's flows, like a Slack channel.",
		Attributes: map[string]schema.Attribute{
			"id":             idAttribute("error logger"),
			"integration_id": optionalString("The id of the `sym_integration` (usually `slack`) that delivers the errors."),
			"destination": schema.StringAttribute{
				Required:    true,
				Description: "Where errors go, like the Slack channel `#sym-errors`.",
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
	},
	id: func(m *errorLoggerModel) types.String { return m.ID },
	expand: func(_ context.Context, m *errorLoggerModel) (entity, diag.Diagnostics) {
		return entity{
			"integration_id": m.IntegrationID.ValueString(),
			"destination":    m.Destination.ValueString(),
		}, nil
	},
	flatten: func(_ context.Context, e entity, m *errorLoggerModel) diag.Diagnostics {
		m.ID = types.StringValue(e.str("id"))
		m.IntegrationID = types.StringValue(e.str("integration_id"))
		m.Destination = types.StringValue(e.str("destination"))
		return nil
	},
	importKey: func(e entity, key string) bool { return e.str("destination") == key },
}

func newErrorLoggerResource() resource.Resource {
	return &entityResource[errorLoggerModel]{kind: errorLoggerKind}
}
