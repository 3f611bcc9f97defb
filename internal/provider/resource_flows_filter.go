package provider

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type flowsFilterModel struct {
	ID             types.String `tfsdk:"id"`
	Implementation types.String `tfsdk:"implementation"`
	Vars           types.Map    `tfsdk:"vars"`
	Integrations   types.Map    `tfsdk:"integrations"`
}

// flowsFilterKind is the original's eleventh resource: one per
// organisation, at /entities/flows-filter without an id.
var flowsFilterKind = &entityKind[flowsFilterModel]{
	typeName:  "flows_filter",
	title:     "flows filter",
	apiKind:   "flows-filter",
	singleton: true,
	importDoc: "the organisation's slug (an organisation has one flows filter)",
	schema: schema.Schema{
		Description: "The original's flows filter: the code of a `get_flows` reducer, which chose the flows each user may see and request. sym server keeps it as sent and does not run it (who may request what is docs/authz.md's). An organisation has at most one.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("flows filter"),
			"implementation": schema.StringAttribute{
				Required:    true,
				Description: "The code of the `get_flows` reducer itself (not a path to it): use `file(\"flows_filter.py\")`. Sent base64-encoded.",
				Validators:  []validator.String{stringvalidator.LengthAtLeast(1), implementationValidator{}},
			},
			"vars":         stringMap("Values the filter's code reads."),
			"integrations": stringMap("Integrations the filter's code may use, by name: `slack = sym_integration.slack.id`."),
		},
	},
	id: func(m *flowsFilterModel) types.String { return m.ID },
	expand: func(ctx context.Context, m *flowsFilterModel) (entity, diag.Diagnostics) {
		var d diag.Diagnostics
		return entity{
			"implementation": base64.StdEncoding.EncodeToString([]byte(m.Implementation.ValueString())),
			"vars":           goMap(ctx, m.Vars, &d),
			"integrations":   goMap(ctx, m.Integrations, &d),
		}, d
	},
	flatten: func(ctx context.Context, e entity, m *flowsFilterModel) diag.Diagnostics {
		var d diag.Diagnostics
		code, err := base64.StdEncoding.DecodeString(e.str("implementation"))
		if err != nil {
			d.AddAttributeError(path.Root("implementation"), "Undecodable flows filter implementation",
				fmt.Sprintf("The server answered an implementation that is not base64: %v", err))
			return d
		}
		m.ID = types.StringValue(e.str("id"))
		m.Implementation = types.StringValue(string(code))
		m.Vars = mapValue(ctx, e.strMap("vars"), &d)
		m.Integrations = mapValue(ctx, e.strMap("integrations"), &d)
		return d
	},
}

func newFlowsFilterResource() resource.Resource {
	return &entityResource[flowsFilterModel]{kind: flowsFilterKind}
}
