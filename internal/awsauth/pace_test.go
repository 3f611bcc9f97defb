package awsauth_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/testenv"
)

// TestCallTimeout: an endpoint that accepts the connection and never
// answers costs a bounded time, not a worker forever.
func TestCallTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg := awsauth.WithCallTimeout(testenv.AWSConfigAt(t, "http://"+ln.Addr().String()), 200*time.Millisecond)
	cfg.RetryMaxAttempts = 2
	done := make(chan error, 1)
	go func() {
		_, err := iam.NewFromConfig(cfg).ListGroups(context.Background(), &iam.ListGroupsInput{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !(strings.Contains(err.Error(), "deadline exceeded") || strings.Contains(err.Error(), "Timeout")) {
			t.Fatalf("want a timeout, got %v", err)
		}
	case <-time.After(30 * time.Second): // a liveness bound; the call gives up after ~0.4 s
		t.Fatal("an AWS call to a silent endpoint was still waiting after 30 s")
	}
}

// connectorCallsArePaced: calls made as a connector role go through
// the pacer of the role's account (moto is far faster than the pace, so a
// burst must queue), and the server's own calls do not.
func connectorCallsArePaced(t *testing.T, m *testenv.Moto) {
	chain := awsauth.NewChain(m.AWSConfig(t), nil)
	chain.Pacer = awsauth.NewPacer(50, 1)
	rt := awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext", Region: "us-east-1"}
	cfg, err := chain.ConnectorConfig(rt, "arn:aws:iam::123456789012:role/sym/SymIamProd", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	own := iam.NewFromConfig(chain.Base())
	for range 10 {
		if _, err := own.ListGroups(ctx, &iam.ListGroupsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if w := chain.Pacer.Waited(); w != 0 {
		t.Fatalf("the server's own calls waited %s", w)
	}
	c := iam.NewFromConfig(cfg)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("nope")}); err == nil || !strings.Contains(err.Error(), "NoSuchEntity") {
				t.Errorf("GetGroup: %v", err)
			}
		}()
	}
	wg.Wait()
	// 20 calls at 50/s with a burst of 1 queue for 19 turns: 20 ms, 40 ms,
	// ... 380 ms, 3.8 s of waiting in all (less what the calls themselves
	// took). Unpaced, nothing waits.
	if w := chain.Pacer.Waited(); w < time.Second {
		t.Fatalf("20 connector calls at once waited %s in all; the pacer is not in their path", w)
	}
	if n := chain.Calls().Snapshot()["IAM.GetGroup"]; n != 20 {
		t.Fatalf("%d GetGroup calls", n)
	}
}

// TestConnectionsAreReused: sym's AWS client keeps an idle connection for
// each of the engine's workers, so that a drain of removals reuses its
// connections instead of opening (and, against AWS, handshaking TLS for)
// a new one for most calls. 64 callers make 4 rounds of calls that are all
// in flight together (the server holds each round until all 64 arrive):
// 64 connections serve them all. The SDK's default keeps 10 idle per host,
// so each round after the first opened 54 new ones.
func TestConnectionsAreReused(t *testing.T) {
	const callers, rounds = 64, 4
	var mu sync.Mutex
	arrived, opened := 0, 0
	all := sync.NewCond(&mu)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		round := (arrived + callers - 1) / callers
		all.Broadcast()
		give := time.Now().Add(10 * time.Second) // a liveness bound: the count then tells
		for arrived < round*callers && time.Now().Before(give) {
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<ListGroupsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListGroupsResult>` +
			`<IsTruncated>false</IsTruncated><Groups/></ListGroupsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListGroupsResponse>`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	client := iam.NewFromConfig(awsauth.WithCallTimeout(testenv.AWSConfigAt(t, srv.URL), 30*time.Second))
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if _, err := client.ListGroups(context.Background(), &iam.ListGroupsInput{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if arrived != callers*rounds || opened > callers {
		t.Fatalf("%d calls from %d callers opened %d connections, want at most %d (one per caller)", arrived, callers, opened, callers)
	}
}
