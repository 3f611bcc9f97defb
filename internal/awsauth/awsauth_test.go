package awsauth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

func TestGuardRails(t *testing.T) {
	rt := Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext-1", Safelist: []string{"210987654321"}}
	cases := []struct {
		name    string
		rt      Runtime
		role    string
		refusal string // empty: allowed
	}{
		{"same account under /sym/", rt, "arn:aws:iam::123456789012:role/sym/SymIamProd", ""},
		{"safelisted account", rt, "arn:aws:iam::210987654321:role/sym/SymIamProd", ""},
		{"nested /sym/ path", rt, "arn:aws:iam::123456789012:role/sym/team/SymIamProd", ""},
		{"outside /sym/", rt, "arn:aws:iam::123456789012:role/Admin", "not under the path /sym/"},
		{"path that only starts like sym", rt, "arn:aws:iam::123456789012:role/symbolic/Admin", "not under the path /sym/"},
		{"other path containing sym", rt, "arn:aws:iam::123456789012:role/admin/sym/Admin", "not under the path /sym/"},
		{"account outside the safelist", rt, "arn:aws:iam::999999999999:role/sym/SymIamProd", "neither the runtime's account"},
		{"not a role", rt, "arn:aws:iam::123456789012:user/sym/x", "not an IAM role ARN"},
		{"empty role", rt, "", "not an IAM role ARN"},
		{"runtime without External ID", Runtime{RoleARN: rt.RoleARN}, "arn:aws:iam::123456789012:role/sym/SymIamProd", "no external_id"},
		{"runtime with blank External ID", Runtime{RoleARN: rt.RoleARN, ExternalID: "  "}, "arn:aws:iam::123456789012:role/sym/SymIamProd", "no external_id"},
		{"runtime outside /sym/", Runtime{RoleARN: "arn:aws:iam::123456789012:role/Runtime", ExternalID: "x"}, "arn:aws:iam::123456789012:role/sym/SymIamProd", "runtime role"},
		{"malformed safelist", Runtime{RoleARN: rt.RoleARN, ExternalID: "x", Safelist: []string{"12"}}, "arn:aws:iam::123456789012:role/sym/SymIamProd", "12-digit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckConnector(c.rt, c.role)
			if c.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !IsGuard(err) || !strings.Contains(err.Error(), c.refusal) {
				t.Fatalf("got %v, want a guard refusal mentioning %q", err, c.refusal)
			}
		})
	}
}

func TestParseSafelist(t *testing.T) {
	got := ParseSafelist(" 111111111111, 222222222222 ,")
	if len(got) != 2 || got[0] != "111111111111" || got[1] != "222222222222" {
		t.Fatalf("%v", got)
	}
}

func TestPrincipalOf(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/sym-server/i-0abc": "arn:aws:iam::123456789012:role/sym-server",
		"arn:aws:iam::123456789012:user/sym-server":                "arn:aws:iam::123456789012:user/sym-server",
		"arn:aws:sts::123456789012:user/moto":                      "arn:aws:iam::123456789012:user/moto",
		"arn:aws-us-gov:sts::123456789012:assumed-role/r/s":        "arn:aws-us-gov:iam::123456789012:role/r",
		"arn:aws:iam::123456789012:root":                           "arn:aws:iam::123456789012:root",
	} {
		if got := PrincipalOf(in); got != want {
			t.Errorf("PrincipalOf(%s) = %s, want %s", in, got, want)
		}
	}
}

// The SDK's own log lines go into the server's slog handler: a JSON log
// stays JSON.
func TestSDKLoggerWritesIntoTheServerLog(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	SDKLogger(log).Logf(logging.Warn, "Response has no supported checksum. Not validating response payload. %d", 1)
	var line map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if line["level"] != "WARN" || line["msg"] != "aws sdk: Response has no supported checksum. Not validating response payload. 1" {
		t.Fatalf("logged %v", line)
	}
	if !IsCredentialsError(&CredentialsError{Err: errors.New("x")}) ||
		!IsCredentialsError(errors.New("operation error STS: GetCallerIdentity, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found")) ||
		IsCredentialsError(errors.New("AccessDenied: not authorized to perform iam:GetRole")) {
		t.Fatalf("IsCredentialsError tells credentials from refusals wrongly")
	}
}
