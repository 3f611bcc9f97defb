package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// entityKind describes one resource: its schema, the API kind behind it, and
// how its Terraform model M converts to and from the wire. All resources
// share one implementation of create, read, update, delete and import.
type entityKind[M any] struct {
	typeName string // resource type without the provider prefix: "target"
	title    string // for messages: "access target"
	apiKind  string // path under /entities/: "access-targets"
	typed    bool   // has a type: import accepts TYPE:NAME
	named    bool   // has a name (slug): import accepts NAME
	schema   schema.Schema

	id func(m *M) types.String
	// expand builds the body of a create or update.
	expand func(ctx context.Context, m *M) (entity, diag.Diagnostics)
	// flatten sets m from an entity the server answered; m holds the prior
	// values (plan or state), so that flatten can keep a prior spelling
	// that means the same thing.
	flatten func(ctx context.Context, e entity, m *M) diag.Diagnostics
	// validate checks a configuration at plan time (values may be unknown).
	validate func(ctx context.Context, m *M, d *diag.Diagnostics)
	// importKey says whether e is the entity an import ID that is neither an
	// id nor a name designates (kinds without names).
	importKey func(e entity, key string) bool
	importDoc string
	// singleton kinds have one entity per organisation, addressed without
	// an id (/entities/<apiKind>); import takes any key (the org's slug).
	singleton bool
	// upgraders read state of earlier schema versions (schema.Version is
	// the current one), keyed by the version they upgrade from.
	upgraders func() map[int64]resource.StateUpgrader
}

// path answers the API id of an entity: none for a singleton.
func (k *entityKind[M]) path(id string) string {
	if k.singleton {
		return ""
	}
	return id
}

type entityResource[M any] struct {
	kind   *entityKind[M]
	client *client
}

var (
	_ resource.ResourceWithConfigure      = (*entityResource[struct{}])(nil)
	_ resource.ResourceWithImportState    = (*entityResource[struct{}])(nil)
	_ resource.ResourceWithValidateConfig = (*entityResource[struct{}])(nil)
	_ resource.ResourceWithUpgradeState   = (*entityResource[struct{}])(nil)
	_ resource.ResourceWithMoveState      = (*entityResource[struct{}])(nil)
)

// movableFrom are the providers whose state of a resource of the same type
// this one takes over in a `moved` block: the original's and ours. A root's
// resource of the original provider moved into one of our modules (which
// declare opensym/sym) is such a move (docs/migrating.md step 5).
var movableFrom = []string{"symopsio/sym", "opensym/sym"}

// MoveState takes over the state of the same resource type written by the
// original provider or by this one under either name, at the current
// schema version: the attributes are the same, and the refresh that follows
// reads every value from the server.
func (r *entityResource[M]) MoveState(context.Context) []resource.StateMover {
	source := r.kind.schema
	return []resource.StateMover{{SourceSchema: &source, StateMover: r.moveState}}
}

func (r *entityResource[M]) moveState(_ context.Context, req resource.MoveStateRequest, resp *resource.MoveStateResponse) {
	typeName := "sym_" + r.kind.typeName
	title := "Moving state to " + typeName
	provider := req.SourceProviderAddress
	if i := strings.Index(provider, "/"); i >= 0 {
		provider = provider[i+1:] // without the registry host
	}
	switch {
	case req.SourceTypeName != typeName || !slices.Contains(movableFrom, provider):
		resp.Diagnostics.AddError(title, fmt.Sprintf("A %s takes over only the state of a %s of the provider symopsio/sym or opensym/sym, not of a %s of %s. "+
			"Remove the moved block, and import the entity at its new address instead (terraform import ADDRESS NAME).",
			typeName, typeName, req.SourceTypeName, req.SourceProviderAddress))
	case req.SourceSchemaVersion != r.kind.schema.Version:
		resp.Diagnostics.AddError(title, fmt.Sprintf("The %s state is at schema version %d and this provider's at %d. "+
			"Apply once at the old address (the plan upgrades the state), then move it; or move it with terraform state mv instead of a moved block.",
			typeName, req.SourceSchemaVersion, r.kind.schema.Version))
	case req.SourceState == nil:
		resp.Diagnostics.AddError(title, fmt.Sprintf("The state of the %s at the old address does not read as a %s of this provider. "+
			"Move it with terraform state mv instead of a moved block.", typeName, typeName))
	default:
		resp.TargetState.Raw = req.SourceState.Raw
	}
}

// UpgradeState reads state written at an earlier schema version (the
// original provider's, for sym_flow).
func (r *entityResource[M]) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	if r.kind.upgraders == nil {
		return map[int64]resource.StateUpgrader{}
	}
	return r.kind.upgraders()
}

func (r *entityResource[M]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.typeName
}

func (r *entityResource[M]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.kind.schema
}

func (r *entityResource[M]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	c, ok := req.ProviderData.(*client)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("got %T", req.ProviderData))
		return
	}
	r.client = c
}

func (r *entityResource[M]) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if r.kind.validate == nil {
		return
	}
	var m M
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.kind.validate(ctx, &m, &resp.Diagnostics)
}

func (r *entityResource[M]) configured(d *diag.Diagnostics) bool {
	if r.client == nil {
		d.AddError("Provider not configured", "The sym provider has no server to talk to; check the provider block (org, api_url) and SYM_JWT.")
		return false
	}
	return true
}

func (r *entityResource[M]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !r.configured(&resp.Diagnostics) {
		return
	}
	var m M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body, d := r.kind.expand(ctx, &m)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := r.client.create(ctx, r.kind.apiKind, body)
	if err != nil {
		resp.Diagnostics.AddError("Creating sym "+r.kind.title, err.Error())
		return
	}
	resp.Diagnostics.Append(r.kind.flatten(ctx, got, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *entityResource[M]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !r.configured(&resp.Diagnostics) {
		return
	}
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := r.kind.id(&m).ValueString()
	got, err := r.client.read(ctx, r.kind.apiKind, r.kind.path(id))
	if isNotFound(err) {
		// Deleted outside Terraform: the next plan creates it again.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Reading sym %s (%s)", r.kind.title, id), err.Error())
		return
	}
	resp.Diagnostics.Append(r.kind.flatten(ctx, got, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *entityResource[M]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !r.configured(&resp.Diagnostics) {
		return
	}
	var m, prior M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := r.kind.id(&prior).ValueString()
	body, d := r.kind.expand(ctx, &m)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := r.client.update(ctx, r.kind.apiKind, r.kind.path(id), body)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Updating sym %s (%s)", r.kind.title, id), err.Error())
		return
	}
	resp.Diagnostics.Append(r.kind.flatten(ctx, got, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *entityResource[M]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !r.configured(&resp.Diagnostics) {
		return
	}
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := r.kind.id(&m).ValueString()
	err := r.client.delete(ctx, r.kind.apiKind, r.kind.path(id))
	if err == nil || isNotFound(err) {
		return
	}
	msg := err.Error()
	if isStillReferenced(err) {
		msg += "\n\n" + stillReferencedHint
	}
	resp.Diagnostics.AddError(fmt.Sprintf("Deleting sym %s (%s)", r.kind.title, id), msg)
}

// stillReferencedHint says what to do when the server refuses to delete an
// entity that another still refers to: Terraform deletes a resource that
// left the configuration, or that it replaces, before it updates the
// resources whose references to it were removed in the same change.
const stillReferencedHint = "Terraform deletes this resource before it updates the resources that referred to it. " +
	"Apply in two steps: first the configuration without the references (keeping this resource), then without this resource. " +
	"Or give this resource lifecycle { create_before_destroy = true } and apply once before you remove it or replace it: " +
	"Terraform then updates the referrers first."

// ImportState accepts an id, a name, or TYPE:NAME for kinds with a type.
func (r *entityResource[M]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.configured(&resp.Diagnostics) {
		return
	}
	id, err := r.resolveImportID(ctx, strings.TrimSpace(req.ID))
	if err != nil {
		resp.Diagnostics.AddError("Importing sym "+r.kind.title, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func (r *entityResource[M]) resolveImportID(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("empty import ID; use %s", r.kind.importDoc)
	}
	if r.kind.singleton {
		e, err := r.client.read(ctx, r.kind.apiKind, "")
		if isNotFound(err) {
			return "", fmt.Errorf("the organisation has no %s to import", r.kind.title)
		} else if err != nil {
			return "", err
		}
		return e.str("id"), nil
	}
	if _, err := uuid.Parse(key); err == nil {
		if _, err := r.client.read(ctx, r.kind.apiKind, key); err != nil {
			if isNotFound(err) {
				return "", fmt.Errorf("no %s with id %s", r.kind.title, key)
			}
			return "", err
		}
		return key, nil
	}
	var typ, name string
	if r.kind.typed {
		if t, rest, ok := strings.Cut(key, ":"); ok {
			typ, name = t, rest
		}
	}
	if name == "" {
		name = key
	}
	if !r.kind.named {
		all, err := r.client.lookup(ctx, r.kind.apiKind, "", typ)
		if err != nil {
			return "", err
		}
		var ids []string
		for _, e := range all {
			if typ != "" && e.str("type") != typ {
				continue
			}
			if r.kind.importKey != nil && r.kind.importKey(e, name) {
				ids = append(ids, e.str("id"))
			}
		}
		return oneID(ids, r.kind.title, key, r.kind.importDoc)
	}
	found, err := r.client.lookup(ctx, r.kind.apiKind, name, typ)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, e := range found {
		ids = append(ids, e.str("id"))
	}
	return oneID(ids, r.kind.title, key, r.kind.importDoc)
}

func oneID(ids []string, title, key, doc string) (string, error) {
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no %s matches %q; use %s", title, key, doc)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("%d %ss match %q (%s); use %s", len(ids), title, key, strings.Join(ids, ", "), doc)
	}
}

// idAttribute is the computed id every resource has.
func idAttribute(title string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed:      true,
		Description:   "The id the server assigned to the " + title + ".",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}
