package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// flowStateUpgraders read sym_flow state written by the original provider
// before 2.0 (schema version 0): `params` was a flat map of strings, with
// the lists as JSON in `allowed_sources_json` and `prompt_fields_json`, and
// a `template` attribute that no longer exists. Version 1 (the original
// 2.x and 3.x, and ours) holds `params` as a list block of one element.
// The upgraded state only has to decode: the refresh that follows reads
// every value from the server.
func flowStateUpgraders() map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {StateUpgrader: upgradeFlowStateV0},
	}
}

func upgradeFlowStateV0(_ context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	if req.RawState == nil || len(req.RawState.JSON) == 0 {
		resp.Diagnostics.AddError("Upgrading sym_flow state", "the version 0 state of this sym_flow is empty")
		return
	}
	out, err := flowStateV0ToV1(req.RawState.JSON)
	if err != nil {
		resp.Diagnostics.AddError("Upgrading sym_flow state from the original provider's version 0",
			fmt.Sprintf("%v. Remove the flow from the state (terraform state rm) and import it by name (terraform import ADDRESS FLOW_NAME).", err))
		return
	}
	resp.DynamicValue = &tfprotov6.DynamicValue{JSON: out}
}

// flowStateV0ToV1 rewrites the JSON of a version 0 sym_flow state into the
// current schema's shape.
func flowStateV0ToV1(raw []byte) ([]byte, error) {
	var old map[string]any
	if err := json.Unmarshal(raw, &old); err != nil {
		return nil, fmt.Errorf("the state is not a JSON object: %w", err)
	}
	str := func(m map[string]any, key string) any {
		if s, ok := m[key].(string); ok {
			return s
		}
		return nil
	}
	out := map[string]any{
		"id":             str(old, "id"),
		"name":           str(old, "name"),
		"label":          str(old, "label"),
		"environment_id": str(old, "environment_id"),
		"implementation": str(old, "implementation"),
		"vars":           stringsOnly(old["vars"]),
		"params":         []any{},
	}
	params, ok := old["params"].(map[string]any)
	if !ok {
		b, err := json.Marshal(out)
		return b, err
	}
	// In version 0 every parameter is a string ("true", "false", ...).
	flag := func(key string, def bool) bool {
		switch v := params[key].(type) {
		case bool:
			return v
		case string:
			if v == "" {
				return def
			}
			return v == "true"
		}
		return def
	}
	strategy := str(params, "strategy_id")
	if strategy == "" {
		strategy = nil
	}
	p := map[string]any{
		"strategy_id":              strategy,
		"allow_revoke":             flag("allow_revoke", true),
		"schedule_deescalation":    flag("schedule_deescalation", true),
		"include_decision_message": flag("include_decision_message", true),
		"allow_guest_interaction":  flag("allow_guest_interaction", false),
		"additional_header_text":   str(params, "additional_header_text"),
		"allowed_sources":          nil,
		"prompt_field":             []any{},
	}
	if s, ok := params["allowed_sources_json"].(string); ok && s != "" {
		var sources []string
		if err := json.Unmarshal([]byte(s), &sources); err != nil {
			return nil, fmt.Errorf("params.allowed_sources_json is not a JSON list of strings: %w", err)
		}
		p["allowed_sources"] = sources
	}
	if s, ok := params["prompt_fields_json"].(string); ok && s != "" {
		var fields []map[string]any
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return nil, fmt.Errorf("params.prompt_fields_json is not a JSON list of objects: %w", err)
		}
		var list []any
		for _, f := range fields {
			fb := func(key string, def bool) bool {
				if b, ok := f[key].(bool); ok {
					return b
				}
				return def
			}
			var allowed any
			if vs, ok := f["allowed_values"].([]any); ok {
				l := []string{}
				for _, v := range vs {
					l = append(l, anyString(v))
				}
				allowed = l
			}
			var def any
			if v, ok := f["default"]; ok && v != nil {
				def = anyString(v)
			}
			list = append(list, map[string]any{
				"name":           str(f, "name"),
				"type":           str(f, "type"),
				"required":       fb("required", true),
				"label":          str(f, "label"),
				"default":        def,
				"visible":        fb("visible", true),
				"allowed_values": allowed,
				"prefetch":       fb("prefetch", false),
			})
		}
		if list != nil {
			p["prompt_field"] = list
		}
	}
	out["params"] = []any{p}
	return json.Marshal(out)
}

// stringsOnly keeps the string values of a JSON object (a map of strings in
// the schema); anything else gives null.
func stringsOnly(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, x := range m {
		out[k] = anyString(x)
	}
	return out
}
