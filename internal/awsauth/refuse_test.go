package awsauth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
	"github.com/opensym/sym/internal/strategy/awsiam"
	"github.com/opensym/sym/internal/testenv"
)

// refusedRoleMakesNoCall: a grant through a role the guard rails
// refuse reaches no AWS endpoint, while the same grant through an allowed
// role does (moto assumes any role, so only our guard stands in the way).
// It fails if the guard ran after the first call, or not at all.
func refusedRoleMakesNoCall(t *testing.T, m *testenv.Moto) {
	ctx := context.Background()
	c := iam.NewFromConfig(m.AWSConfig(t))
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Admins"), Path: aws.String("/sym/")}); err != nil {
		t.Fatal(err)
	}
	chain := awsauth.NewChain(m.AWSConfig(t), nil)
	s := &awsiam.Strategy{Chain: chain}
	rt := awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext", Region: "us-east-1"}
	grant := func(connector string) error {
		return s.Escalate(ctx, strategy.Grant{RequestID: "r", Requester: "alice@example.com", Identity: "alice", Runtime: rt,
			ConnectorRoleARN: connector, TargetType: "aws_iam_group", TargetSettings: map[string]string{"iam_group": "Admins"}})
	}
	inGroup := func() bool { return slices.Contains(testenv.GroupMembers(t, m, "Admins"), "alice") }

	for _, refused := range []string{
		"arn:aws:iam::123456789012:role/Admin",               // outside /sym/
		"arn:aws:iam::999999999999:role/sym/SymIamProd",      // another account, not safelisted
		"arn:aws:iam::123456789012:role/symbolic/SymIamProd", // a path that only starts like /sym
	} {
		if err := grant(refused); !awsauth.IsGuard(err) {
			t.Fatalf("%s: want a guard refusal, got %v", refused, err)
		}
	}
	if n := chain.Calls().Total(); n != 0 || inGroup() {
		t.Fatalf("refused roles: %d AWS calls made (%v), alice in the group: %v", n, chain.Calls().Snapshot(), inGroup())
	}
	// The control: the same call through an allowed role reaches AWS.
	if err := grant("arn:aws:iam::123456789012:role/sym/SymIamProd"); err != nil {
		t.Fatal(err)
	}
	got := chain.Calls().Snapshot()
	if got["STS.AssumeRole"] != 2 || got["IAM.AddUserToGroup"] != 1 || !inGroup() {
		t.Fatalf("allowed role: calls %v, alice in the group: %v", got, inGroup())
	}
}

// TestConnectorCalls: what reaches AWS as a connector role, on one moto.
func TestConnectorCalls(t *testing.T) {
	m := testenv.StartMoto(t)
	t.Run("refused role makes no call", func(t *testing.T) { refusedRoleMakesNoCall(t, m) })
	t.Run("paced per account", func(t *testing.T) { connectorCallsArePaced(t, m) })
}
