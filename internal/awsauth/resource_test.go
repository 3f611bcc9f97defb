package awsauth

import (
	"strings"
	"testing"
)

// TestResourceGuardRail: a stream or secret the runtime role acts on
// directly is in the runtime's account or a safelisted one; a bare name is
// in the runtime's account by construction.
func TestResourceGuardRail(t *testing.T) {
	rt := Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext-1", Safelist: []string{"210987654321"}}
	for _, c := range []struct {
		resource, refusal string
	}{
		{"sym-audit", ""},
		{"sym/prod/webhook", ""},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/sym-audit", ""},
		{"arn:aws:secretsmanager:eu-west-1:210987654321:secret:sym/prod/x-AbCdEf", ""},
		{"arn:aws:kinesis:us-east-1:999999999999:stream/elsewhere", "neither the runtime's account"},
		{"arn:aws:kinesis:us-east-1::stream/no-account", "not an ARN with an account id"},
	} {
		err := CheckResource(rt, c.resource)
		if c.refusal == "" && err != nil {
			t.Errorf("%s refused: %v", c.resource, err)
		}
		if c.refusal != "" && (err == nil || !IsGuard(err) || !strings.Contains(err.Error(), c.refusal)) {
			t.Errorf("%s: got %v, want a guard refusal mentioning %q", c.resource, err, c.refusal)
		}
	}
	if err := CheckResource(Runtime{RoleARN: rt.RoleARN}, "sym-audit"); err == nil || !IsGuard(err) {
		t.Errorf("a runtime without External ID must be refused, got %v", err)
	}
}
