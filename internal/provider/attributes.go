package provider

import (
	"context"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opensym/sym/internal/model"
)

// nameRE is what a name (slug) may look like: it appears in TYPE:NAME import
// IDs and in URLs, so no whitespace, ':' or '/'.
var nameRE = regexp.MustCompile(`^[^\s:/]+$`)

// nameAttribute is the `name` of an entity, sent as `slug`. Names compare
// case-insensitively: a change of case only is not a change.
func nameAttribute(title string) schema.StringAttribute {
	return schema.StringAttribute{
		Required:    true,
		Description: "A unique name for the " + title + " (unique per type, compared case-insensitively: changing only the case of a name is not a change).",
		Validators: []validator.String{
			stringvalidator.LengthBetween(1, 255),
			stringvalidator.RegexMatches(nameRE, "must contain no whitespace, ':' or '/'"),
		},
		PlanModifiers: []planmodifier.String{caseInsensitive{}},
	}
}

// typeAttribute is the `type` of a typed entity; changing it replaces the
// entity.
func typeAttribute(desc string, allowed ...string) schema.StringAttribute {
	v := []validator.String{stringvalidator.LengthAtLeast(1)}
	if len(allowed) > 0 {
		v = append(v, stringvalidator.OneOf(allowed...))
	}
	return schema.StringAttribute{
		Required:      true,
		Description:   desc,
		Validators:    v,
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// optionalString is an optional string whose absence and "" are the same
// (the server answers "" for an absent string).
func optionalString(desc string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:    true,
		Computed:    true,
		Default:     stringdefault.StaticString(""),
		Description: desc,
	}
}

// stringMap is an optional map of strings whose absence and {} are the same.
func stringMap(desc string) schema.MapAttribute {
	return schema.MapAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{})),
		Description: desc,
	}
}

// stringList is an optional list of strings whose absence and [] are the
// same.
func stringList(desc string) schema.ListAttribute {
	return schema.ListAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
		Description: desc,
	}
}

// caseInsensitive keeps the stored spelling of a name when the configured
// one differs from it only by case.
type caseInsensitive struct{}

func (caseInsensitive) Description(context.Context) string {
	return "A change of case only is not a change."
}

func (c caseInsensitive) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (caseInsensitive) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || req.StateValue.IsUnknown() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	if strings.EqualFold(req.PlanValue.ValueString(), req.StateValue.ValueString()) {
		resp.PlanValue = req.StateValue
	}
}

// sameName answers the server's spelling of a name, or the prior one when
// they differ only by case.
func sameName(prior types.String, got string) types.String {
	if !prior.IsNull() && !prior.IsUnknown() && strings.EqualFold(prior.ValueString(), got) {
		return prior
	}
	return types.StringValue(got)
}

func mapValue(ctx context.Context, m map[string]string, d *diag.Diagnostics) types.Map {
	v, dd := types.MapValueFrom(ctx, types.StringType, m)
	d.Append(dd...)
	return v
}

func listValue(ctx context.Context, l []string, d *diag.Diagnostics) types.List {
	if l == nil {
		l = []string{}
	}
	v, dd := types.ListValueFrom(ctx, types.StringType, l)
	d.Append(dd...)
	return v
}

// goMap converts a known map of strings; unknown or null gives {}.
func goMap(ctx context.Context, m types.Map, d *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	d.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func goList(ctx context.Context, l types.List, d *diag.Diagnostics) []string {
	out := []string{}
	if l.IsNull() || l.IsUnknown() {
		return out
	}
	d.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// knownMap answers the map's entries and true when the map and all its
// values are known (validation skips what is not known yet).
func knownMap(m types.Map) (map[string]string, bool) {
	if m.IsUnknown() {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out[k] = s.ValueString()
	}
	return out, true
}

// addModelErrors reports, at plan time, what the server's own rules
// (internal/model, which the API applies to every write) find wrong with a
// configuration, each at the attribute it names ("settings.role_arn" is
// settings["role_arn"]), so that nothing passes a plan only to be refused
// at apply.
func addModelErrors(d *diag.Diagnostics, summary string, errs []model.FieldError) {
	for _, e := range errs {
		p := path.Root(e.Field)
		if root, key, ok := strings.Cut(e.Field, "."); ok {
			p = path.Root(root).AtMapKey(key)
		}
		d.AddAttributeError(p, summary, e.Error())
	}
}
