package provider

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// A strategy without an integration travels as integration_id "<null>", as
// the original client sent it, and reads back as no integration.
func TestStrategyWithoutIntegrationSendsNull(t *testing.T) {
	ctx := context.Background()
	m := strategyModel{
		Type: types.StringValue("http"), Name: types.StringValue("webhook"), Label: types.StringValue(""),
		IntegrationID: types.StringValue(""),
		Targets:       types.ListNull(types.StringType), Settings: types.MapNull(types.StringType),
	}
	body, d := strategyKind.expand(ctx, &m)
	if d.HasError() {
		t.Fatal(d)
	}
	if body["integration_id"] != "<null>" || body["slug"] != "webhook" || body["name"] != nil {
		t.Errorf("body = %v, want integration_id <null> and the name as slug", body)
	}
	got := entity{"id": "x", "type": "http", "slug": "WEBHOOK", "integration_id": "", "targets": []any{}, "settings": map[string]any{}}
	if d := strategyKind.flatten(ctx, got, &m); d.HasError() {
		t.Fatal(d)
	}
	if m.IntegrationID.ValueString() != "" || m.Name.ValueString() != "webhook" {
		t.Errorf("after read: integration_id %q name %q, want \"\" and the prior spelling webhook", m.IntegrationID.ValueString(), m.Name.ValueString())
	}
}

// A flow's code travels base64-encoded and its params keep absent and empty
// allowed_sources apart.
func TestFlowWire(t *testing.T) {
	ctx := context.Background()
	m := flowModel{
		Name: types.StringValue("f"), Label: types.StringValue(""), EnvironmentID: types.StringValue("env"),
		Implementation: types.StringValue("def x():\n  pass\n"), Vars: types.MapNull(types.StringType),
		Params: []flowParamsModel{{
			StrategyID: types.StringNull(), AllowRevoke: types.BoolValue(true), ScheduleDeescalation: types.BoolValue(false),
			IncludeDecisionMessage: types.BoolValue(true), AllowGuestInteraction: types.BoolValue(false),
			AdditionalHeaderText: types.StringNull(), AllowedSources: types.ListValueMust(types.StringType, nil),
		}},
	}
	body, d := expandFlow(ctx, &m)
	if d.HasError() {
		t.Fatal(d)
	}
	if body["implementation"] != base64.StdEncoding.EncodeToString([]byte("def x():\n  pass\n")) {
		t.Errorf("implementation = %v, want base64 of the code", body["implementation"])
	}
	params := body["params"].(map[string]any)
	if _, ok := params["strategy_id"]; ok {
		t.Errorf("an approval-only flow sent strategy_id: %v", params)
	}
	if l, ok := params["allowed_sources"].([]string); !ok || len(l) != 0 {
		t.Errorf("allowed_sources = %#v, want an explicit empty list", params["allowed_sources"])
	}
	if params["schedule_deescalation"] != false || params["allow_revoke"] != true {
		t.Errorf("params = %v", params)
	}
}
