package provider

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestMoveFromTheOriginalProvider: a `moved` block from a root's
// sym_runtime or sym_integration (state of the original symopsio/sym) into
// a module that declares them with opensym/sym (our runtime-connector, as
// docs/migrating.md step 5 tells a runtime-connector v1 team) is a move
// between providers, which Terraform hands to the target provider. The
// state is taken over as it is, the SDKv2 empty strings included; another
// resource type, another provider or another schema version is refused with
// a message that says what to do.
func TestMoveFromTheOriginalProvider(t *testing.T) {
	ctx := context.Background()
	srv := ProtocolServer("test")()
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	move := func(provider, from string, version int64, to, state string) *tfprotov6.MoveResourceStateResponse {
		t.Helper()
		resp, err := srv.MoveResourceState(ctx, &tfprotov6.MoveResourceStateRequest{
			SourceProviderAddress: provider, SourceTypeName: from, SourceSchemaVersion: version,
			SourceState: &tfprotov6.RawState{JSON: []byte(state)}, TargetTypeName: to,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	const original = "registry.terraform.io/symopsio/sym"
	runtime := `{"id": "8f0c7d5e-4b1a-4c55-9a57-3d2f9e0b6a11", "name": "legacy", "label": "", "context_id": "5d3f0a2c-6e1b-4f7d-8c9a-0b1e2d3c4f5a"}`
	integration := `{"id": "5d3f0a2c-6e1b-4f7d-8c9a-0b1e2d3c4f5a", "type": "permission_context", "name": "legacy-runtime-context",
		"label": "", "external_id": "123456789012", "settings": {"cloud": "aws", "role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeLegacy"}}`

	for _, c := range []struct{ typ, state string }{{"sym_runtime", runtime}, {"sym_integration", integration}} {
		for _, provider := range []string{original, "registry.terraform.io/opensym/sym"} {
			resp := move(provider, c.typ, 0, c.typ, c.state)
			if len(resp.Diagnostics) > 0 || resp.TargetState == nil {
				t.Errorf("move %s from %s: %v", c.typ, provider, diagText(resp.Diagnostics))
				continue
			}
			got, err := resp.TargetState.Unmarshal(schemas.ResourceSchemas[c.typ].ValueType())
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(c.state), &want); err != nil {
				t.Fatal(err)
			}
			attrs, _ := plain(t, got).(map[string]any)
			for k, v := range want {
				if !reflect.DeepEqual(attrs[k], v) {
					t.Errorf("move %s from %s: %s = %#v, want %#v", c.typ, provider, k, attrs[k], v)
				}
			}
		}
	}

	for _, c := range []struct {
		name             string
		provider, from   string
		version          int64
		to, state, wants string
	}{
		{"another resource type", original, "sym_integration", 0, "sym_runtime", integration, "only the state of a sym_runtime"},
		{"another provider", "registry.terraform.io/acme/sym", "sym_runtime", 0, "sym_runtime", runtime, "not of a sym_runtime of registry.terraform.io/acme/sym"},
		{"another schema version", original, "sym_runtime", 3, "sym_runtime", runtime, "schema version 3"},
	} {
		resp := move(c.provider, c.from, c.version, c.to, c.state)
		if resp.TargetState != nil || !strings.Contains(diagText(resp.Diagnostics), c.wants) {
			t.Errorf("%s: want no state and an error naming %q; got state %v, %s", c.name, c.wants, resp.TargetState != nil, diagText(resp.Diagnostics))
		}
	}
}

// plain answers a state value as JSON would decode it: objects and maps
// as map[string]any, strings, nil for null.
func plain(t *testing.T, v tftypes.Value) any {
	t.Helper()
	if v.IsNull() {
		return nil
	}
	switch {
	case v.Type().Is(tftypes.String):
		var s string
		if err := v.As(&s); err != nil {
			t.Fatal(err)
		}
		return s
	case v.Type().Is(tftypes.Object{}), v.Type().Is(tftypes.Map{}):
		var m map[string]tftypes.Value
		if err := v.As(&m); err != nil {
			t.Fatal(err)
		}
		out := map[string]any{}
		for k, e := range m {
			out[k] = plain(t, e)
		}
		return out
	}
	t.Fatalf("no plain form for %s", v.Type())
	return nil
}

func diagText(ds []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}
