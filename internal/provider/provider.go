// Package provider is the Terraform provider `sym`: it declares the
// platform entities of `sym server` (environments, integrations, runtimes,
// targets, strategies, flows, secrets, log destinations, error loggers)
// through the server's entities API (docs/api.md).
//
// It keeps the attribute names, defaults and validations of the original
// Sym provider so that existing configurations run unchanged, and it never
// talks to anything but the server named by api_url / SYM_API_URL.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// DefaultTokenEnvVar is the environment variable the token is read from when
// jwt_env_var is not set.
const DefaultTokenEnvVar = "SYM_JWT"

// APIURLEnvVar names the server when api_url is not set.
const APIURLEnvVar = "SYM_API_URL"

// exampleAPIURL is the address `sym server` listens on by default, as the
// api_url description and the error without one show it.
const exampleAPIURL = "http://127.0.0.1:8420"

// OrgEnvVar names the organisation when org is not set; when neither is,
// the provider takes the organisation the server reports.
const OrgEnvVar = "SYM_ORG"

type symProvider struct {
	version string
}

type providerModel struct {
	Org       types.String `tfsdk:"org"`
	APIURL    types.String `tfsdk:"api_url"`
	JWTEnvVar types.String `tfsdk:"jwt_env_var"`
}

// New returns a constructor of the provider, for providerserver and tests.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &symProvider{version: version} }
}

// ProtocolServer returns the provider's protocol 6 server, as the binary
// serves it and as acceptance tests run it in-process.
func ProtocolServer(version string) func() tfprotov6.ProviderServer {
	return providerserver.NewProtocol6(New(version)())
}

func (p *symProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "sym"
	resp.Version = p.version
}

func (p *symProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Declares the platform entities of a self-hosted sym server.",
		Attributes: map[string]schema.Attribute{
			"org": schema.StringAttribute{
				Optional:    true,
				Description: "The organisation the server runs (`sym server --org`); the provider refuses to work against a server of another organisation. Defaults to the environment variable `SYM_ORG`, then to the organisation the server reports (so a module's unconfigured provider instance works too).",
			},
			"api_url": schema.StringAttribute{
				Optional:    true,
				Description: "Base URL of the sym server, like `" + exampleAPIURL + "` (a trailing `/api/v1` is accepted). Defaults to the environment variable `SYM_API_URL`.",
			},
			"jwt_env_var": schema.StringAttribute{
				Optional:    true,
				Description: "Name of the environment variable that holds the API token. Defaults to `SYM_JWT`.",
			},
		},
	}
}

func (p *symProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Org.IsUnknown() || cfg.APIURL.IsUnknown() || cfg.JWTEnvVar.IsUnknown() {
		// Known only after other resources are applied; Terraform calls
		// Configure again then.
		return
	}
	apiURL := cfg.APIURL.ValueString()
	if apiURL == "" {
		apiURL = os.Getenv(APIURLEnvVar)
	}
	if apiURL == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_url"), "No sym server URL",
			"Set api_url in the provider block or the environment variable "+APIURLEnvVar+" to the base URL of your sym server (like "+exampleAPIURL+").")
		return
	}
	apiURL = strings.TrimSuffix(strings.TrimRight(apiURL, "/"), "/api/v1")
	tokenVar := DefaultTokenEnvVar
	if v := cfg.JWTEnvVar.ValueString(); v != "" {
		tokenVar = v
	}
	token := os.Getenv(tokenVar)
	if token == "" {
		resp.Diagnostics.AddError("No sym API token",
			fmt.Sprintf("The environment variable %s is empty. Put a token of the sym server in it (an admin's, to create entities): the one `sym tokens issue EMAIL` prints (an admin runs it), or the server's SYM_ADMIN_TOKEN.", tokenVar))
		return
	}
	c := newClient(apiURL, token)
	org, err := c.org(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot check the organisation of the sym server", err.Error())
		return
	}
	want, from := cfg.Org.ValueString(), "org in the provider block"
	if want == "" {
		want, from = os.Getenv(OrgEnvVar), "the environment variable "+OrgEnvVar
	}
	if want != "" && !strings.EqualFold(org, want) {
		resp.Diagnostics.AddAttributeError(path.Root("org"), "Wrong organisation",
			fmt.Sprintf("The provider is configured for org %q but the sym server at %s runs org %q. Fix %s, or point api_url / %s at the right server.",
				want, apiURL, org, from, APIURLEnvVar))
		return
	}
	resp.ResourceData = c
	resp.DataSourceData = c
}

func (p *symProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newEnvironmentResource,
		newIntegrationResource,
		newRuntimeResource,
		newTargetResource,
		newStrategyResource,
		newFlowResource,
		newSecretsResource,
		newSecretResource,
		newLogDestinationResource,
		newErrorLoggerResource,
		newFlowsFilterResource,
	}
}

func (p *symProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newEnvironmentDataSource,
		newIntegrationDataSource,
		newRuntimeDataSource,
		newSecretsDataSource,
	}
}
