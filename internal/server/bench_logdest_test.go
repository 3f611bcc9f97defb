package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/testenv"
	_ "modernc.org/sqlite"
)

// BenchmarkOutboxToKinesis measures the audit log's way to a Kinesis data
// stream on moto, against baselines taken in the same run on the same moto:
//
//   - throughput: a burst of events appended to the audit log, timed until
//     the last one is in the stream, against sequential PutRecord calls (one
//     record each, what a naive shipper does) and batched PutRecords calls
//     of 100 (the most a shipper can do);
//   - delivery lag under steady load (events appended at a fixed rate): p50
//     and p99 of append-to-delivered, against the p99 of a single PutRecord
//     call (the floor no shipper can beat).
//
// Run: make bench.
func BenchmarkOutboxToKinesis(b *testing.B) {
	const (
		burst      = 2000
		steadyRate = 100 // events per second
		steadyFor  = 10 * time.Second
		baselineN  = 500
	)
	m := testenv.StartMoto(b)
	srv := testenv.StartServerWith(b, testenv.ServerOptions{Moto: m})
	f := testenv.SetupIAMFlow(b, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	ctx := context.Background()
	kc := kinesis.NewFromConfig(m.AWSConfig(b))
	for _, s := range []string{"sym-bench", "baseline"} {
		if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(s), ShardCount: aws.Int32(1)}); err != nil {
			b.Fatal(err)
		}
	}
	var e struct{ ID string }
	var ctxs []struct{ ID string }
	if err := f.Admin.Do(ctx, "GET", "/entities/integrations?slug=prod-runtime-context", nil, &ctxs); err != nil {
		b.Fatal(err)
	}
	if err := f.Admin.Do(ctx, "POST", "/entities/log-destinations", map[string]any{"type": "kinesis_data_stream",
		"integration_id": ctxs[0].ID, "settings": map[string]string{"stream_name": "sym-bench"}}, &e); err != nil {
		b.Fatal(err)
	}
	dest := e.ID
	var envs []struct{ ID string }
	if err := f.Admin.Do(ctx, "GET", "/entities/environments?slug=prod", nil, &envs); err != nil {
		b.Fatal(err)
	}
	if err := f.Admin.Do(ctx, "PATCH", "/entities/environments/"+envs[0].ID, map[string]any{"log_destination_ids": []string{dest}}, nil); err != nil {
		b.Fatal(err)
	}
	event := func(i int) *model.AuditEvent {
		return &model.AuditEvent{RequestID: "", Type: "bench", Actor: "bench@example.com",
			Details: map[string]string{"n": fmt.Sprint(i), "target": "sym-prod-admins-0", "reason": "load test of the outbox"}}
	}
	// A record of the size sym sends, for the baselines.
	sample := []byte(`{"id":"6f1c0e1a-2b7d-4c55-9a1e-0d3b5f7a9c11","seq":123,"type":"bench","request_id":"","actor":"bench@example.com",` +
		`"at":"2026-11-23T15:00:00.123456789Z","details":{"n":"1","reason":"load test of the outbox","target":"sym-prod-admins-0"},"environment":"prod","org":"default"}`)

	b.ResetTimer()
	// Baselines.
	var putLat []time.Duration
	start := time.Now()
	for i := 0; i < baselineN; i++ {
		t0 := time.Now()
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("baseline"), Data: sample, PartitionKey: aws.String(fmt.Sprint(i))}); err != nil {
			b.Fatal(err)
		}
		putLat = append(putLat, time.Since(t0))
	}
	rawRate := float64(baselineN) / time.Since(start).Seconds()
	start = time.Now()
	for i := 0; i < baselineN*4; i += 100 {
		in := &kinesis.PutRecordsInput{StreamName: aws.String("baseline")}
		for j := 0; j < 100; j++ {
			in.Records = append(in.Records, kinesisEntry(sample, fmt.Sprint(i+j)))
		}
		if _, err := kc.PutRecords(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	batchRate := float64(baselineN*4) / time.Since(start).Seconds()
	slices.Sort(putLat)
	putP99 := putLat[len(putLat)*99/100]

	// Throughput: a burst through the outbox.
	start = time.Now()
	for i := 0; i < burst; i++ {
		if err := srv.Store.AppendEvent(ctx, event(i)); err != nil {
			b.Fatal(err)
		}
	}
	appended := time.Since(start)
	waitDelivered(b, srv.DB, dest, burst, 2*time.Minute)
	outboxRate := float64(burst) / time.Since(start).Seconds()

	// Lag under steady load.
	db := openDB(b, srv.DB)
	var first int64
	if err := db.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&first); err != nil {
		b.Fatal(err)
	}
	tick := time.NewTicker(time.Second / steadyRate)
	n := int(steadyFor.Seconds()) * steadyRate
	for i := 0; i < n; i++ {
		<-tick.C
		if err := srv.Store.AppendEvent(ctx, event(burst+i)); err != nil {
			b.Fatal(err)
		}
	}
	tick.Stop()
	waitDelivered(b, srv.DB, dest, burst+n, time.Minute)
	rows, err := db.Query(`SELECT delivered_at - created_at FROM outbox WHERE destination_id = ? AND id > ? ORDER BY 1`, dest, first)
	if err != nil {
		b.Fatal(err)
	}
	var lags []float64
	for rows.Next() {
		var ms float64
		if err := rows.Scan(&ms); err != nil {
			b.Fatal(err)
		}
		lags = append(lags, ms)
	}
	rows.Close()
	b.StopTimer()
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	in, _ := readKinesisCount(ctx, kc, "sym-bench")
	b.ReportMetric(outboxRate, "outbox-events/s")
	b.ReportMetric(outboxRate/rawRate, "x-putrecord-rate")
	b.ReportMetric(outboxRate/batchRate, "x-putrecords100-rate")
	b.ReportMetric(p99, "lag-p99-ms")
	b.ReportMetric(p99/ms(putP99), "x-putrecord-p99")
	fmt.Printf("outbox to Kinesis on moto: burst of %d events appended in %.0f ms and in the stream at %.0f events/s = %.2fx sequential PutRecord (%.0f/s), %.2fx PutRecords of 100 (%.0f/s); %d records in the stream at the end\n",
		burst, ms(appended), outboxRate, outboxRate/rawRate, rawRate, outboxRate/batchRate, batchRate, in)
	fmt.Printf("steady %d events/s for %s: delivery lag p50 %.0f ms, p99 %.0f ms = %.1fx the p99 of one PutRecord call (%.1f ms)\n",
		steadyRate, steadyFor, p50, p99, p99/ms(putP99), ms(putP99))
}

func openDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// waitDelivered waits until a destination has received want events.
func waitDelivered(tb testing.TB, path, dest string, want int, limit time.Duration) {
	tb.Helper()
	db := openDB(tb, path)
	deadline := time.Now().Add(limit)
	for {
		// Delivered at least want, and nothing left: the destination also
		// owes events besides the benchmark's (the environment change that
		// attached it), so a count alone can be reached one event early.
		var n, left int
		if err := db.QueryRow(`SELECT COUNT(delivered_at), COUNT(*) - COUNT(delivered_at) FROM outbox WHERE destination_id = ?`, dest).Scan(&n, &left); err != nil {
			tb.Fatal(err)
		}
		if n >= want && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d events delivered after %s", n, want, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func kinesisEntry(data []byte, key string) kintypes.PutRecordsRequestEntry {
	return kintypes.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key)}
}

// readKinesisCount counts the records of a stream, reading from the start.
func readKinesisCount(ctx context.Context, kc *kinesis.Client, stream string) (int, error) {
	desc, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sh := range desc.StreamDescription.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId,
			ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return 0, err
		}
		for iter := it.ShardIterator; iter != nil; {
			out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return 0, err
			}
			if len(out.Records) == 0 {
				break
			}
			n += len(out.Records)
			iter = out.NextShardIterator
		}
	}
	return n, nil
}
