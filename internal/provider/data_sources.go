package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// lookupDataSource finds one entity by name (and type, for typed kinds)
// and exposes it with the same attributes as the resource.
type lookupDataSource[M any] struct {
	kind   *entityKind[M]
	schema schema.Schema
	key    func(m *M) (name, typ string)
	client *client
}

var _ datasource.DataSourceWithConfigure = (*lookupDataSource[struct{}])(nil)

func (s *lookupDataSource[M]) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + s.kind.typeName
}

func (s *lookupDataSource[M]) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = s.schema
}

func (s *lookupDataSource[M]) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	c, ok := req.ProviderData.(*client)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("got %T", req.ProviderData))
		return
	}
	s.client = c
}

func (s *lookupDataSource[M]) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if s.client == nil {
		resp.Diagnostics.AddError("Provider not configured", "The sym provider has no server to talk to; check the provider block (org, api_url) and SYM_JWT.")
		return
	}
	var m M
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name, typ := s.key(&m)
	found, err := s.client.lookup(ctx, s.kind.apiKind, name, typ)
	if err != nil {
		resp.Diagnostics.AddError("Looking up sym "+s.kind.title, err.Error())
		return
	}
	what := fmt.Sprintf("%q", name)
	if typ != "" {
		what = fmt.Sprintf("%q of type %s", name, typ)
	}
	switch len(found) {
	case 0:
		resp.Diagnostics.AddError("No such sym "+s.kind.title, fmt.Sprintf("The server has no %s named %s.", s.kind.title, what))
		return
	case 1:
	default:
		resp.Diagnostics.AddError("Ambiguous sym "+s.kind.title, fmt.Sprintf("The server has %d %ss named %s; give the type too.", len(found), s.kind.title, what))
		return
	}
	resp.Diagnostics.Append(s.kind.flatten(ctx, found[0], &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func dsName(title string) schema.StringAttribute {
	return schema.StringAttribute{Required: true, Description: "The name of the " + title + " (compared case-insensitively)."}
}

func dsID(title string) schema.StringAttribute {
	return schema.StringAttribute{Computed: true, Description: "The id of the " + title + "."}
}

func dsString(desc string) schema.StringAttribute {
	return schema.StringAttribute{Computed: true, Description: desc}
}

func dsMap(desc string) schema.MapAttribute {
	return schema.MapAttribute{Computed: true, ElementType: types.StringType, Description: desc}
}

func newEnvironmentDataSource() datasource.DataSource {
	return &lookupDataSource[environmentModel]{
		kind: environmentKind,
		key:  func(m *environmentModel) (string, string) { return m.Name.ValueString(), "" },
		schema: schema.Schema{
			Description: "Looks up a `sym_environment` by name.",
			Attributes: map[string]schema.Attribute{
				"id":                  dsID("environment"),
				"name":                dsName("environment"),
				"label":               dsString("The display name."),
				"runtime_id":          dsString("The id of the environment's runtime."),
				"integrations":        dsMap("The environment's integrations by role."),
				"error_logger_id":     dsString("The id of the environment's error logger."),
				"log_destination_ids": schema.ListAttribute{Computed: true, ElementType: types.StringType, Description: "The ids of the environment's log destinations."},
			},
		},
	}
}

func newIntegrationDataSource() datasource.DataSource {
	return &lookupDataSource[integrationModel]{
		kind: integrationKind,
		key:  func(m *integrationModel) (string, string) { return m.Name.ValueString(), m.Type.ValueString() },
		schema: schema.Schema{
			Description: "Looks up a `sym_integration` by type and name.",
			Attributes: map[string]schema.Attribute{
				"id":          dsID("integration"),
				"type":        schema.StringAttribute{Required: true, Description: "The integration's type, like `permission_context` or `slack`."},
				"name":        dsName("integration"),
				"label":       dsString("The display name."),
				"external_id": dsString("The integration's id in the other system."),
				"settings":    dsMap("The integration's settings."),
			},
		},
	}
}

func newRuntimeDataSource() datasource.DataSource {
	return &lookupDataSource[runtimeModel]{
		kind: runtimeKind,
		key:  func(m *runtimeModel) (string, string) { return m.Name.ValueString(), "" },
		schema: schema.Schema{
			Description: "Looks up a `sym_runtime` by name.",
			Attributes: map[string]schema.Attribute{
				"id":         dsID("runtime"),
				"name":       dsName("runtime"),
				"label":      dsString("The display name."),
				"context_id": dsString("The id of the runtime's permission context."),
			},
		},
	}
}

func newSecretsDataSource() datasource.DataSource {
	return &lookupDataSource[secretsModel]{
		kind: secretsKind,
		key:  func(m *secretsModel) (string, string) { return m.Name.ValueString(), m.Type.ValueString() },
		schema: schema.Schema{
			Description: "Looks up a `sym_secrets` source by type and name.",
			Attributes: map[string]schema.Attribute{
				"id":       dsID("secret source"),
				"type":     schema.StringAttribute{Required: true, Description: "The source's type: `aws_secrets_manager`."},
				"name":     dsName("secret source"),
				"label":    dsString("The display name."),
				"settings": dsMap("The source's settings."),
			},
		},
	}
}
