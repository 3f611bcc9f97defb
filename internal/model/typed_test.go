package model

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// decodeJSON reads a body as the store hands it back (decoded JSON).
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeFlowDefaultsAndTypes(t *testing.T) {
	body := decodeJSON(t, `{"slug":"Prod-Access","environment_id":"env-1",
		"vars":{"approvers":" Bob@Example.com, carol@example.com ,","max_duration":"4h","request_timeout":"30",
		        "allow_self_approval":"TRUE","team":"infra"},
		"params":{"strategy_id":"st-1","allow_revoke":false,"future_param":{"x":1},
		  "prompt_fields":[{"name":"reason","type":"string","required":false},
		                   {"name":"duration","type":"duration","default":90,"allowed_values":["1h",90]},
		                   {"type":"string"}]}}`)
	f, errs := DecodeFlow("f-1", body)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if f.Slug != "Prod-Access" || f.EnvironmentID != "env-1" || f.Params.StrategyID != "st-1" {
		t.Fatalf("names: %+v", f)
	}
	if f.Params.AllowRevoke || !f.Params.ScheduleDeescalation {
		t.Fatalf("allow_revoke false as sent, schedule_deescalation defaults to true: %+v", f.Params)
	}
	if f.MaxDuration != 4*time.Hour || f.RequestTimeout != 30*time.Minute {
		t.Fatalf("durations: max %s timeout %s", f.MaxDuration, f.RequestTimeout)
	}
	if !f.AllowSelfApproval || !f.IsApprover("CAROL@example.com") || !f.IsApprover("bob@example.com") || f.IsApprover("eve@example.com") || len(f.Approvers) != 2 {
		t.Fatalf("approvers: %v self %v", f.Approvers, f.AllowSelfApproval)
	}
	reason, _ := f.Params.Field("reason")
	dur, _ := f.Params.Field("duration")
	if reason.Required || !dur.Required || !dur.HasDefault || dur.Default != "90" || strings.Join(dur.AllowedValues, ",") != "1h,90" {
		t.Fatalf("prompt fields: %+v %+v", reason, dur)
	}
	if len(f.Params.PromptFields) != 2 {
		t.Fatalf("a nameless prompt field asks nothing: %+v", f.Params.PromptFields)
	}
	// What the typed view does not know stays as sent.
	if _, ok := f.Params.Raw["future_param"]; !ok || f.Vars["team"] != "infra" {
		t.Fatalf("unknown params or vars lost: %v %v", f.Params.Raw, f.Vars)
	}

	bare, errs := DecodeFlow("f-2", decodeJSON(t, `{"slug":"x","params":{"strategy_id":"<null>"}}`))
	if len(errs) > 0 || bare.Params.StrategyID != "" || !bare.Params.AllowRevoke || bare.MaxDuration != DefaultMaxDuration ||
		bare.RequestTimeout != DefaultRequestTimeout || len(bare.Approvers) != 0 || bare.AllowSelfApproval {
		t.Fatalf("defaults: %+v %v", bare, errs)
	}
}

func TestDecodeRefusesBadBodies(t *testing.T) {
	cases := []struct {
		kind, body, field string
	}{
		{"flows", `{"params":{"allow_revoke":"no"}}`, "params.allow_revoke"},
		{"flows", `{"params":{"allow_revoke":false,"schedule_deescalation":false}}`, "params"},
		{"flows", `{"params":{"strategy_id":7}}`, "params.strategy_id"},
		{"flows", `{"vars":{"max_duration":"forever"}}`, "vars.max_duration"},
		{"flows", `{"vars":{"request_timeout":"-1h"}}`, "vars.request_timeout"},
		{"flows", `{"params":{"prompt_fields":["reason"]}}`, "params.prompt_fields[0]"},
		{"integrations", `{"type":"permission_context","settings":{}}`, "settings.role_arn"},
		{"integrations", `{"type":"permission_context","settings":{"role_arn":"arn:aws:iam::1:role/x"}}`, "settings.role_arn"},
		{"access-targets", `{"type":"aws_iam_group","settings":{"iam_group":" "}}`, "settings.iam_group"},
		{"access-targets", `{"type":"aws_sso_permission_set","settings":{"permission_set_arn":"a"}}`, "settings.account_id"},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.field, func(t *testing.T) {
			body := decodeJSON(t, c.body)
			errs := Kinds[c.kind].ValidateTyped(body)
			found := false
			for _, e := range errs {
				found = found || e.Field == c.field
			}
			if !found {
				t.Fatalf("want an error on %s, got %v", c.field, errs)
			}
			cat := NewCatalog()
			cat.Add(c.kind, "id-1", body)
			if err := cat.Why(c.kind, "id-1"); err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("the catalog keeps it out and says why: %v", err)
			}
		})
	}
}

func TestDecodeIntegrationAccount(t *testing.T) {
	in, errs := DecodeIntegration("i-1", map[string]any{"type": "permission_context", "slug": "iam",
		"settings": map[string]string{"role_arn": "arn:aws:iam::222222222222:role/sym/SymIamProd", "external_id": "e", "region": "eu-west-1",
			"account_id_safelist": "333333333333"}})
	if len(errs) > 0 || in.AWS == nil {
		t.Fatalf("%v %+v", errs, in)
	}
	if in.AWS.Account != "222222222222" || in.AWS.ExternalID != "e" || in.AWS.Region != "eu-west-1" || in.AWS.Safelist != "333333333333" {
		t.Fatalf("%+v", in.AWS)
	}
	slack, errs := DecodeIntegration("i-2", map[string]any{"type": "slack", "slug": "s"})
	if len(errs) > 0 || slack.AWS != nil {
		t.Fatalf("a slack integration is no AWS context: %+v %v", slack, errs)
	}
}

func TestCatalogFlowByRef(t *testing.T) {
	cat := NewCatalog()
	cat.Add("flows", "f-1", map[string]any{"slug": "Prod"})
	cat.Add("flows", "f-2", map[string]any{"slug": "bad", "params": map[string]any{"allow_revoke": 1}})
	if f, err := cat.FlowByRef("prod"); err != nil || f.ID != "f-1" {
		t.Fatalf("by name: %v %v", f, err)
	}
	if f, err := cat.FlowByRef("f-1"); err != nil || f.Slug != "Prod" {
		t.Fatalf("by id: %v %v", f, err)
	}
	if _, err := cat.FlowByRef("staging"); err == nil || !strings.Contains(err.Error(), `no flow named "staging"`) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := cat.FlowByRef("f-2"); err == nil || !strings.Contains(err.Error(), "params.allow_revoke") {
		t.Fatalf("invalid: %v", err)
	}
}

// TestListFromText: the web form and Slack read a list typed one item a
// line the same way, and an item keeps its inner spaces.
func TestListFromText(t *testing.T) {
	for in, want := range map[string]string{
		"web 1\n\n db 2 \n": "web 1,db 2",
		"a\r\nb":            "a,b",
		"  ":                "",
		"one":               "one",
	} {
		if got := ListFromText(in); got != want {
			t.Errorf("ListFromText(%q) = %q, want %q", in, got, want)
		}
	}
	if !IsListType("slack_user_list") || IsListType("string") {
		t.Error("IsListType")
	}
}
