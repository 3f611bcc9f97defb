package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/testenv"
)

// BenchmarkApproveToActive measures the approve call (which returns once
// the grant is made) and the AWS calls each grant costs, cold and warm.
// Run: make bench (go test -bench . -benchtime 1x ./internal/server).
func BenchmarkApproveToActive(b *testing.B) {
	m := testenv.StartMoto(b)
	srv := testenv.StartServerWith(b, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(b, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice, bob := f.Users["alice@example.com"], f.Users["bob@example.com"]
	ctx := context.Background()
	calls := srv.Chain.Calls()
	var cold, warm int64
	var lat []time.Duration
	n := max(b.N, 200)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		var r struct{ ID, State string }
		if err := alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "bench", "duration": "1h"}}, &r); err != nil {
			b.Fatal(err)
		}
		before := calls.Total()
		start := time.Now()
		if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil || r.State != "active" {
			b.Fatalf("approve: %v %s", err, r.State)
		}
		lat = append(lat, time.Since(start))
		used := calls.Total() - before
		if i == 0 {
			cold = used
		} else {
			warm = max(warm, used)
		}
		if err := alice.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r); err != nil || r.State != "ended" {
			b.Fatalf("revoke: %v %s", err, r.State)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(cold), "aws-calls-cold")
	b.ReportMetric(float64(warm), "aws-calls-warm-max")
	b.ReportMetric(ms(lat[len(lat)/2]), "approve-p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "approve-p99-ms")
	fmt.Printf("approve-to-active over %d grants: p50 %.1f ms, p99 %.1f ms; AWS calls per grant: cold %d, warm (max) %d\n",
		n, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), cold, warm)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkDeescalationLateness grants 1,000 users access that ends in the
// same second and measures how late each removal lands after its deadline.
func BenchmarkDeescalationLateness(b *testing.B) {
	const grants = 1000
	m := testenv.StartMoto(b)
	srv := testenv.StartServerWith(b, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(b, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(b))
	clients := make([]*api.Client, grants)
	for i := range grants {
		name := fmt.Sprintf("eng%d", i)
		email := name + "@example.com"
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			b.Fatal(err)
		}
		if err := f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": email, "identities": map[string]string{"aws_iam": name}}, nil); err != nil {
			b.Fatal(err)
		}
		var tok struct{ Token string }
		if err := f.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": email}, &tok); err != nil {
			b.Fatal(err)
		}
		clients[i] = api.NewClient(srv.URL, tok.Token)
	}
	bob := f.Users["bob@example.com"]
	target := time.Now().Add(90 * time.Second).Truncate(time.Second)
	ids := make([]string, grants)
	var wg sync.WaitGroup
	errs := make(chan error, grants)
	next := make(chan int)
	b.ResetTimer()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var r struct{ ID, State string }
				// The duration is chosen so that the deadline (approval time +
				// duration) lands at target; the approve follows at once.
				d := time.Until(target) - 20*time.Millisecond
				if err := clients[i].Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
					"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "bench", "duration": d.String()}}, &r); err != nil {
					errs <- err
					continue
				}
				if err := bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil || r.State != "active" {
					errs <- fmt.Errorf("approve %s: %v %s", r.ID, err, r.State)
					continue
				}
				ids[i] = r.ID
			}
		}()
	}
	for i := range grants {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if time.Now().After(target) {
		b.Fatalf("granting took past the shared deadline %s; raise the lead time", target)
	}
	if got := len(testenv.GroupMembers(b, m, f.Groups[0])); got != grants {
		b.Fatalf("%d users in the group before the deadline, want %d", got, grants)
	}
	// Wait for every request to end.
	type ended struct {
		ID       string     `json:"id"`
		State    string     `json:"state"`
		Deadline *time.Time `json:"deadline"`
		EndedAt  *time.Time `json:"ended_at"`
	}
	var all []ended
	for {
		time.Sleep(500 * time.Millisecond)
		all = nil
		if err := f.Admin.Do(ctx, "GET", "/requests?limit=5000", nil, &all); err != nil {
			b.Fatal(err)
		}
		done := 0
		for _, r := range all {
			if r.State == "ended" {
				done++
			}
		}
		if done == grants {
			break
		}
		if time.Since(target) > 2*time.Minute {
			b.Fatalf("only %d of %d grants ended 2 minutes after the deadline", done, grants)
		}
	}
	b.StopTimer()
	var late []time.Duration
	var first, last time.Time
	for _, r := range all {
		late = append(late, r.EndedAt.Sub(*r.Deadline))
		if first.IsZero() || r.Deadline.Before(first) {
			first = *r.Deadline
		}
		if r.Deadline.After(last) {
			last = *r.Deadline
		}
	}
	slices.Sort(late)
	if got := len(testenv.GroupMembers(b, m, f.Groups[0])); got != 0 {
		b.Fatalf("%d users still in the group", got)
	}
	p50, p99, worst := late[len(late)/2], late[len(late)*99/100], late[len(late)-1]
	b.ReportMetric(ms(p50), "late-p50-ms")
	b.ReportMetric(ms(p99), "late-p99-ms")
	b.ReportMetric(ms(worst), "late-max-ms")
	calls := srv.Chain.Calls().Snapshot()
	fmt.Printf("de-escalation of %d grants with deadlines within %s: lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms (RemoveUserFromGroup calls: %d)\n",
		grants, last.Sub(first).Round(time.Millisecond), ms(p50), ms(p99), ms(worst), calls["IAM.RemoveUserFromGroup"])
}

// BenchmarkEmulatorFloor measures moto alone: 1,000 RemoveUserFromGroup
// calls from 32 workers, no sym in between. It is the floor under
// BenchmarkDeescalationLateness's figures on this machine.
func BenchmarkEmulatorFloor(b *testing.B) {
	const n = 1000
	m := testenv.StartMoto(b)
	ctx := context.Background()
	ic := iam.NewFromConfig(m.AWSConfig(b))
	if _, err := ic.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := aws.String(fmt.Sprint("u", i))
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: name}); err != nil {
			b.Fatal(err)
		}
		if _, err := ic.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("g"), UserName: name}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := ic.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("g"), UserName: aws.String(fmt.Sprint("u", i))}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	took := time.Since(start)
	b.ReportMetric(ms(took), "remove-1000-ms")
	fmt.Printf("moto alone: %d RemoveUserFromGroup calls from 32 workers took %.0f ms\n", n, ms(took))
}
