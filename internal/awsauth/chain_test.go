package awsauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/testenv"
)

// TestChainCachesAndRefreshes: the chained credentials are reused while
// fresh (no AWS call), and assumed again once they enter the refresh window.
func TestChainCachesAndRefreshes(t *testing.T) {
	m := testenv.StartMoto(t)
	chain := awsauth.NewChain(m.AWSConfig(t), nil)
	rt := awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext", Region: "us-east-1"}
	conn := "arn:aws:iam::123456789012:role/sym/SymIamProd"
	ctx := context.Background()
	retrieve := func() {
		t.Helper()
		cfg, err := chain.ConnectorConfig(rt, conn, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	retrieve()
	if got := chain.Calls().Snapshot()["STS.AssumeRole"]; got != 2 {
		t.Fatalf("cold: %d AssumeRole calls, want 2 (runtime, then connector)", got)
	}
	retrieve()
	if got := chain.Calls().Snapshot()["STS.AssumeRole"]; got != 2 {
		t.Fatalf("warm: %d AssumeRole calls, want still 2", got)
	}

	// 15-minute sessions renewed once less than 15m-1s remain, that is
	// after about a second: both hops are assumed again.
	short := awsauth.NewChain(m.AWSConfig(t), nil)
	short.Duration = 15 * time.Minute
	short.Refresh = 15*time.Minute - time.Second
	chain = short
	retrieve()
	time.Sleep(1500 * time.Millisecond)
	retrieve()
	if got := chain.Calls().Snapshot()["STS.AssumeRole"]; got != 4 {
		t.Fatalf("after the refresh window: %d AssumeRole calls, want 4", got)
	}
}
