package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// BenchmarkSSOGrant measures an aws_sso grant (approve until active) and
// the AWS calls it costs, against an aws_iam grant on the same server in
// the same run as the baseline. moto answers an assignment SUCCEEDED at
// once; Identity Center takes a while, so the grant is also measured with
// the creation answering IN_PROGRESS and the first status read too (one
// poll pending), at several poll intervals.
// Run: make bench.
func BenchmarkSSOGrant(b *testing.B) {
	o := setupOtherStrategies(b)
	ctx := context.Background()
	calls := o.srv.Chain.Calls()
	const n = 20

	grant := func(flow, target string) (time.Duration, map[string]int64) {
		var r struct{ ID, State, Error string }
		if err := o.alice.Do(ctx, "POST", "/events/request", map[string]any{"flow": flow,
			"flow_inputs": map[string]any{"target_id": target, "reason": "bench", "duration": "1h"}}, &r); err != nil {
			b.Fatal(err)
		}
		before := calls.Snapshot()
		start := time.Now()
		if err := o.bob.Do(ctx, "POST", "/requests/"+r.ID+"/approve", nil, &r); err != nil || r.State != "active" {
			b.Fatalf("approve: %v %s %s", err, r.State, r.Error)
		}
		took := time.Since(start)
		used := map[string]int64{}
		for k, v := range calls.Snapshot() {
			if d := v - before[k]; d > 0 {
				used[k] = d
			}
		}
		if err := o.alice.Do(ctx, "POST", "/requests/"+r.ID+"/revoke", nil, &r); err != nil || r.State != "ended" {
			b.Fatalf("revoke: %v %s", err, r.State)
		}
		return took, used
	}
	// run makes one cold grant, then n warm ones: the median latency and
	// the calls of the last warm grant.
	run := func(flow, target string) (time.Duration, map[string]int64) {
		grant(flow, target)
		var lat []time.Duration
		var used map[string]int64
		for i := 0; i < n; i++ {
			var d time.Duration
			d, used = grant(flow, target)
			lat = append(lat, d)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], used
	}
	total := func(m map[string]int64) (t int64) {
		for _, v := range m {
			t += v
		}
		return t
	}
	describe := func(m map[string]int64) string {
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(k, "SSO Admin."), v))
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}

	b.ResetTimer()
	iamP50, iamCalls := run(o.iam.Flow, o.iam.Targets[0])
	ssoP50, ssoCalls := run("sso-access", "readonly")

	// Identity Center's asynchrony: the creation and the first status read
	// of each operation answer IN_PROGRESS.
	var mu sync.Mutex
	reads := map[string]int{}
	pending := func(body []byte) []byte {
		var m map[string]map[string]any
		if json.Unmarshal(body, &m) != nil {
			return body
		}
		for _, st := range m {
			id, _ := st["RequestId"].(string)
			mu.Lock()
			reads[id]++
			if reads[id] <= 2 { // the create's answer and the first read
				st["Status"] = "IN_PROGRESS"
			}
			mu.Unlock()
		}
		out, _ := json.Marshal(m)
		return out
	}
	f1 := o.proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Rewrite: pending})
	f2 := o.proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: pending})
	type point struct {
		interval time.Duration
		p50      time.Duration
		calls    map[string]int64
	}
	var points []point
	for _, iv := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond} {
		o.srv.SSO.PollInterval = iv
		p50, used := run("sso-access", "readonly")
		points = append(points, point{iv, p50, used})
	}
	o.proxy.Remove(f1)
	o.proxy.Remove(f2)
	b.StopTimer()

	ratio := func(d time.Duration) float64 { return float64(d) / float64(iamP50) }
	b.ReportMetric(float64(total(ssoCalls)), "sso-aws-calls-warm")
	b.ReportMetric(ratio(ssoP50), "sso/iam-p50")
	fmt.Printf("baseline aws_iam grant: p50 %.1f ms, %d AWS calls warm (%s)\n", ms(iamP50), total(iamCalls), describe(iamCalls))
	fmt.Printf("aws_sso grant, SUCCEEDED at once: p50 %.1f ms = %.2fx baseline, %d AWS calls warm (%s)\n",
		ms(ssoP50), ratio(ssoP50), total(ssoCalls), describe(ssoCalls))
	for _, p := range points {
		fmt.Printf("aws_sso grant, one poll pending, poll interval %s: p50 %.1f ms = %.2fx baseline, %d AWS calls warm (%s)\n",
			p.interval, ms(p.p50), ratio(p.p50), total(p.calls), describe(p.calls))
		b.ReportMetric(ratio(p.p50), fmt.Sprintf("sso-poll-%s/iam-p50", p.interval))
	}
}
