package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type environmentModel struct {
	ID                types.String `tfsdk:"id"`
	Name              types.String `tfsdk:"name"`
	Label             types.String `tfsdk:"label"`
	RuntimeID         types.String `tfsdk:"runtime_id"`
	Integrations      types.Map    `tfsdk:"integrations"`
	ErrorLoggerID     types.String `tfsdk:"error_logger_id"`
	LogDestinationIDs types.List   `tfsdk:"log_destination_ids"`
}

var environmentKind = &entityKind[environmentModel]{
	typeName:  "environment",
	title:     "environment",
	apiKind:   "environments",
	named:     true,
	importDoc: "the environment's name or id",
	schema: schema.Schema{
		Description: "An environment groups the flows that run on one runtime, with the integrations (Slack, ...), error logger and log destinations they use.",
		Attributes: map[string]schema.Attribute{
			"id":                  idAttribute("environment"),
			"name":                nameAttribute("environment"),
			"label":               optionalString("A display name."),
			"runtime_id":          optionalString("The id of the `sym_runtime` that runs this environment's flows."),
			"integrations":        stringMap("Integrations by role, like `slack_id = sym_integration.slack.id`."),
			"error_logger_id":     optionalString("The id of the `sym_error_logger` that receives this environment's errors."),
			"log_destination_ids": stringList("The ids of the `sym_log_destination`s that receive this environment's audit log."),
		},
	},
	id: func(m *environmentModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *environmentModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		e := entity{
			"slug":                m.Name.ValueString(),
			"label":               m.Label.ValueString(),
			"runtime_id":          m.RuntimeID.ValueString(),
			"integrations":        goMap(ctx, m.Integrations, &d),
			"error_logger_id":     m.ErrorLoggerID.ValueString(),
			"log_destination_ids": goList(ctx, m.LogDestinationIDs, &d),
		}
		return e, d
	},
	flatten: func(ctx context.Context, e entity, m *environmentModel) diag.Diagnostics {
		var d diag.Diagnostics
		m.ID = types.StringValue(e.str("id"))
		m.Name = sameName(m.Name, e.str("slug"))
		m.Label = types.StringValue(e.str("label"))
		m.RuntimeID = types.StringValue(e.str("runtime_id"))
		m.Integrations = mapValue(ctx, e.strMap("integrations"), &d)
		m.ErrorLoggerID = types.StringValue(e.str("error_logger_id"))
		m.LogDestinationIDs = listValue(ctx, e.strList("log_destination_ids"), &d)
		return d
	},
}

func newEnvironmentResource() resource.Resource {
	return &entityResource[environmentModel]{kind: environmentKind}
}
