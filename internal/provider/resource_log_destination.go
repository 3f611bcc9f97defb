package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opensym/sym/internal/model"
)

type logDestinationModel struct {
	ID            types.String `tfsdk:"id"`
	Type          types.String `tfsdk:"type"`
	IntegrationID types.String `tfsdk:"integration_id"`
	Settings      types.Map    `tfsdk:"settings"`
}

var logDestinationKind = &entityKind[logDestinationModel]{
	typeName:  "log_destination",
	title:     "log destination",
	apiKind:   "log-destinations",
	typed:     true,
	importDoc: "the destination's id, or TYPE:VALUE where VALUE is one of its settings (like kinesis_firehose:my-stream)",
	schema: schema.Schema{
		Description: "A log destination receives a copy of the audit log: a Kinesis Firehose or Data Stream, an HTTP endpoint.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("log destination"),
			"type": schema.StringAttribute{
				Required:      true,
				Description:   "The kind of destination: `kinesis_firehose`, `kinesis_data_stream` or `http` (what the server delivers to). Changing it replaces the destination.",
				Validators:    []validator.String{stringvalidator.OneOf(model.LogDestinationTypes...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"integration_id": optionalString("The id of the `permission_context` `sym_integration` whose role writes to the destination."),
			"settings":       stringMap("Settings of the destination: `stream_name` for the Kinesis types, `url` (an `http://` or `https://` URL) for `http`. Checked at plan time."),
		},
	},
	id: func(m *logDestinationModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *logDestinationModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"type":           m.Type.ValueString(),
			"integration_id": m.IntegrationID.ValueString(),
			"settings":       goMap(ctx, m.Settings, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *logDestinationModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Type = types.StringValue(e.str("type"))
		m.IntegrationID = types.StringValue(e.str("integration_id"))
		m.Settings = mapValue(ctx, e.strMap("settings"), &d)
		return d
	},
	validate: func(_ context.Context, m *logDestinationModel, d *diag.Diagnostics) {
		if m.Type.IsUnknown() {
			return
		}
		settings, ok := knownMap(m.Settings)
		if !ok {
			return
		}
		_, errs := model.DecodeLogDestination("", map[string]any{"type": m.Type.ValueString(), "settings": settings})
		addModelErrors(d, "Invalid log destination setting", errs)
	},
	importKey: func(e entity, key string) bool {
		for _, v := range e.strMap("settings") {
			if v == key {
				return true
			}
		}
		return false
	},
}

func newLogDestinationResource() resource.Resource {
	return &entityResource[logDestinationModel]{kind: logDestinationKind}
}
