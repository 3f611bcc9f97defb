package policy

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Statement
	}{
		{
			name: "single statement object, string action and resource",
			doc:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/sym/*"}}`,
			want: Statement{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: []string{"arn:aws:iam::123456789012:role/sym/*"}},
		},
		{
			name: "list of statements, lists everywhere",
			doc:  `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":["s3:GetObject","s3:PutObject"],"NotResource":["arn:aws:s3:::b/*"]}]}`,
			want: Statement{Sid: "A", Effect: "Deny", Action: []string{"s3:GetObject", "s3:PutObject"}, NotResource: []string{"arn:aws:s3:::b/*"}},
		},
		{
			name: "principal star",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`,
			want: Statement{Effect: "Allow", Principal: Principal{"*": {"*"}}, Action: []string{"sts:AssumeRole"}},
		},
		{
			name: "principal map of string and list, condition with bool",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root","Service":["lambda.amazonaws.com"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"},"Bool":{"aws:SecureTransport":true}}}]}`,
			want: Statement{Effect: "Allow", Principal: Principal{"AWS": {"arn:aws:iam::1:root"}, "Service": {"lambda.amazonaws.com"}},
				Action:    []string{"sts:AssumeRole"},
				Condition: map[string]map[string][]string{"StringEquals": {"sts:ExternalId": {"x"}}, "Bool": {"aws:SecureTransport": {"true"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range []string{tt.doc, url.QueryEscape(tt.doc)} {
				d, err := Parse(form)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(d.Statements) != 1 {
					t.Fatalf("got %d statements, want 1", len(d.Statements))
				}
				if got := d.Statements[0]; got.Key() != tt.want.Key() || got.Sid != tt.want.Sid {
					t.Errorf("parsed %s\nwant %s", got.Key(), tt.want.Key())
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":           `Statement: allow everything`,
		"bad effect":         `{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`,
		"principal not star": `{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"*"}]}`,
		"action number":      `{"Statement":[{"Effect":"Allow","Action":[{"x":1}],"Resource":"*"}]}`,
	} {
		if _, err := Parse(doc); err == nil {
			t.Errorf("%s: Parse accepted %s", name, doc)
		}
	}
}

const runtimeTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole"],
 "Principal":{"AWS":["arn:aws:iam::123456789012:root"]},
 "Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}}]}`

const assumeRoles = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole"],
 "Resource":["arn:aws:iam::123456789012:role/sym/*","arn:aws:iam::111122223333:role/sym/*"]}]}`

const secrets = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],
 "Resource":["arn:aws:secretsmanager:*:123456789012:secret:*"],
 "Condition":{"StringEquals":{"aws:ResourceTag/SymEnv":"prod"}}},
 {"Effect":"Deny","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:123456789012:secret:root-*"}]}`

func TestEvaluate(t *testing.T) {
	tag := func(v string) map[string][]string { return map[string][]string{"aws:resourcetag/symenv": {v}} }
	tests := []struct {
		name string
		doc  string
		req  Request
		want Decision
	}{
		{"sym role in own account", assumeRoles, Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/sym/SymIamProd"}, Allowed},
		{"nested sym path", assumeRoles, Request{Action: "STS:assumerole", Resource: "arn:aws:iam::111122223333:role/sym/team/SymIamProd"}, Allowed},
		{"role outside /sym/", assumeRoles, Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/Admin"}, ImplicitDeny},
		{"role path that only starts with sym", assumeRoles, Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/symbolic/Admin"}, ImplicitDeny},
		{"account not in safelist", assumeRoles, Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::999999999999:role/sym/SymIamProd"}, ImplicitDeny},
		{"other action", assumeRoles, Request{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sym/SymIamProd"}, ImplicitDeny},
		{"trust with external id", runtimeTrust, Request{Action: "sts:AssumeRole", Principal: "arn:aws:iam::123456789012:role/sym-server", Context: map[string][]string{"sts:ExternalId": {"ext-1"}}}, Allowed},
		{"trust without external id", runtimeTrust, Request{Action: "sts:AssumeRole", Principal: "arn:aws:iam::123456789012:role/sym-server"}, ImplicitDeny},
		{"trust wrong external id", runtimeTrust, Request{Action: "sts:AssumeRole", Principal: "arn:aws:iam::123456789012:role/sym-server", Context: map[string][]string{"sts:ExternalId": {"ext-2"}}}, ImplicitDeny},
		{"trust other account", runtimeTrust, Request{Action: "sts:AssumeRole", Principal: "arn:aws:iam::999999999999:role/sym-server", Context: map[string][]string{"sts:ExternalId": {"ext-1"}}}, ImplicitDeny},
		{"secret tagged for env", secrets, Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-AbCd", Context: tag("prod")}, Allowed},
		{"secret tagged for other env", secrets, Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-AbCd", Context: tag("staging")}, ImplicitDeny},
		{"secret untagged", secrets, Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-AbCd"}, ImplicitDeny},
		{"explicit deny wins", secrets, Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:root-AbCd", Context: tag("prod")}, ExplicitDeny},
		{"unknown operator never allows", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`,
			Request{Action: "s3:GetObject", Resource: "x", Context: map[string][]string{"aws:CurrentTime": {"2030-01-01T00:00:00Z"}}}, ImplicitDeny},
		{"question mark", `{"Statement":{"Effect":"Allow","Action":"iam:AddUserToGroup","Resource":"arn:aws:iam::1:group/sym/db-?"}}`,
			Request{Action: "iam:AddUserToGroup", Resource: "arn:aws:iam::1:group/sym/db-1"}, Allowed},
		{"NotAction", `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`, Request{Action: "iam:CreateUser", Resource: "*"}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustParse(tt.doc).Evaluate(tt.req); got != tt.want {
				t.Errorf("Evaluate(%+v) = %s, want %s", tt.req, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	want := MustParse(assumeRoles)
	tests := []struct {
		name           string
		got            string
		missing, extra int
	}{
		{"same meaning, other order, string forms, Sid, bare account id",
			`{"Statement":{"Sid":"X","Effect":"Allow","Action":"STS:AssumeRole","Resource":["arn:aws:iam::111122223333:role/sym/*","arn:aws:iam::123456789012:role/sym/*"]}}`, 0, 0},
		{"statement added", strings.Replace(assumeRoles, `]}]}`, `]},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, 1), 0, 1},
		{"resource widened", `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(want, MustParse(tt.got))
			if len(d.Missing) != tt.missing || len(d.Unexpected) != tt.extra {
				t.Errorf("missing %d unexpected %d, want %d and %d", len(d.Missing), len(d.Unexpected), tt.missing, tt.extra)
			}
		})
	}
	// Account ids in principals compare equal to their root ARNs.
	a := MustParse(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"123456789012"}}}`)
	b := MustParse(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::123456789012:root"]}}}`)
	if !Compare(a, b).Empty() {
		t.Error("an account id and its root ARN must compare equal")
	}
}

func TestDescribe(t *testing.T) {
	got := MustParse(secrets).Statements[0].Describe()
	want := "allows secretsmanager:GetSecretValue, secretsmanager:DescribeSecret on arn:aws:secretsmanager:*:123456789012:secret:* when aws:ResourceTag/SymEnv equals prod"
	if got != want {
		t.Errorf("Describe:\n got %s\nwant %s", got, want)
	}
	got = MustParse(runtimeTrust).Statements[0].Describe()
	if !strings.Contains(got, "to arn:aws:iam::123456789012:root when sts:ExternalId equals ext-1") {
		t.Errorf("trust statement described as %q", got)
	}
}
