package logdest_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/testenv"
)

// TestStreamsNamedByARN: a log destination names its Kinesis stream or
// Firehose delivery stream by ARN, in a region other than the runtime
// context's (a central logging region). The records must reach the stream
// the ARN names, not a stream of that name in the runtime's region; and a
// delivery stream in another account, which the runtime role cannot write
// (Firehose takes only a name, in the caller's own account), must not be
// written to a same-named stream of the runtime's account: delivery is
// refused, naming why.
func TestStreamsNamedByARN(t *testing.T) {
	ctx := context.Background()
	moto := testenv.StartMoto(t)
	west := moto.AWSConfig(t)
	west.Region = "us-west-2"
	east := moto.AWSConfig(t)

	kc := kinesis.NewFromConfig(west)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("audit"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// Delivery streams of one name in both regions, each into its own bucket.
	for _, c := range []struct {
		cfg    aws.Config
		bucket string
	}{{west, "audit-west"}, {east, "audit-east"}} {
		in := &s3.CreateBucketInput{Bucket: aws.String(c.bucket)}
		if c.cfg.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.cfg.Region)}
		}
		if _, err := s3.NewFromConfig(c.cfg).CreateBucket(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := firehose.NewFromConfig(c.cfg).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
			DeliveryStreamName: aws.String("audit-fh"),
			ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
				BucketARN: aws.String("arn:aws:s3:::" + c.bucket), RoleARN: aws.String("arn:aws:iam::123456789012:role/firehose"),
			},
		}); err != nil {
			t.Fatal(err)
		}
	}

	st := openStore(t)
	rtCtx := logdest.MustCreate(t, st, "integrations", map[string]any{"type": "permission_context", "slug": "prod-runtime-context", "settings": map[string]any{
		"cloud": "aws", "region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeProd",
		"external_id": "ext-1", "account_id": "123456789012", "account_id_safelist": "111122223333"}})
	kin := logdest.MustCreate(t, st, "log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
		"settings": map[string]any{"stream_name": "arn:aws:kinesis:us-west-2:123456789012:stream/audit"}})
	fh := logdest.MustCreate(t, st, "log-destinations", map[string]any{"type": "kinesis_firehose", "integration_id": rtCtx,
		"settings": map[string]any{"stream_name": "arn:aws:firehose:us-west-2:123456789012:deliverystream/audit-fh"}})
	foreign := logdest.MustCreate(t, st, "log-destinations", map[string]any{"type": "kinesis_firehose", "integration_id": rtCtx,
		"settings": map[string]any{"stream_name": "arn:aws:firehose:us-east-1:111122223333:deliverystream/audit-fh"}})
	// settings.region that contradicts the ARN: which one was meant?
	contradicts := logdest.MustCreate(t, st, "log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
		"settings": map[string]any{"stream_name": "arn:aws:kinesis:us-west-2:123456789012:stream/audit", "region": "eu-west-1"}})
	logdest.MustCreate(t, st, "environments", map[string]any{"slug": "prod", "log_destination_ids": []any{kin, fh, foreign, contradicts}})

	d := logdest.New(st, awsauth.NewChain(moto.AWSConfig(t), nil), nil, logdest.Options{Org: "acme",
		Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	d.Start()
	defer d.Stop()
	if err := st.AppendEvent(ctx, &model.AuditEvent{Type: "login", Actor: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}

	status := func(id string) logdest.Status {
		t.Helper()
		sts, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sts {
			if s.ID == id {
				return s
			}
		}
		t.Fatalf("no status for %s", id)
		return logdest.Status{}
	}
	logdest.WaitUntil(t, "the delivery to each destination to settle", func() bool {
		return status(kin).State == "ok" && status(fh).State == "ok" && status(foreign).Attempts > 0 && status(contradicts).Attempts > 0 ||
			status(kin).Attempts > 1 || status(fh).Attempts > 1
	})
	for _, id := range []string{kin, fh} {
		if s := status(id); s.State != "ok" || s.DeliveredTotal != 1 {
			t.Errorf("the us-west-2 destination %s (%s): state %s, delivered %d, last error %q", s.Target, s.Type, s.State, s.DeliveredTotal, s.LastError)
		}
	}
	if n := kinesisRecords(t, kc, "audit"); n != 1 {
		t.Errorf("the us-west-2 Kinesis stream holds %d records, want 1", n)
	}
	if n := objects(t, s3.NewFromConfig(west), "audit-west"); n != 1 {
		t.Errorf("the us-west-2 delivery stream's bucket holds %d objects, want 1", n)
	}
	// Nothing may land in the runtime region's stream of the same name.
	if n := objects(t, s3.NewFromConfig(east), "audit-east"); n != 0 {
		t.Errorf("the us-east-1 delivery stream audit-fh, which no destination names, got %d objects", n)
	}
	if s := status(foreign); s.State != "retrying" || s.DeliveredTotal != 0 || !strings.Contains(s.LastError, "111122223333") ||
		!strings.Contains(s.LastError, "account") {
		t.Errorf("the delivery stream in account 111122223333: state %s, delivered %d, last error %q; want it refused naming the account",
			s.State, s.DeliveredTotal, s.LastError)
	}
	if s := status(contradicts); s.State != "retrying" || s.DeliveredTotal != 0 || !strings.Contains(s.LastError, "settings.region eu-west-1 is not the region of its stream") {
		t.Errorf("a destination whose settings.region contradicts its ARN: state %s, delivered %d, last error %q", s.State, s.DeliveredTotal, s.LastError)
	}
}

func kinesisRecords(t *testing.T, kc *kinesis.Client, stream string) int {
	t.Helper()
	recs := kinesisData(t, kc, stream)
	for _, data := range recs {
		var rec struct{ Type, Org string }
		if err := json.Unmarshal(data, &rec); err != nil || rec.Type != "login" || rec.Org != "acme" {
			t.Errorf("record %s: %v", data, err)
		}
	}
	return len(recs)
}

func objects(t *testing.T, c *s3.Client, bucket string) int {
	t.Helper()
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Contents)
}

// TestOversizedEventsDoNotStallTheStream: Kinesis refuses a PutRecords
// call over 5 MiB and a record over 1 MiB, whole. A requester's reason is
// free text up to the API's 1 MiB body (and JSON escapes each '<' as six
// bytes), so one request could otherwise hold its environment's audit
// stream for good: every later event, grants included, queued behind a
// batch that never goes through. Each event must arrive, in order; one too
// large for a record arrives without its details, saying so.
func TestOversizedEventsDoNotStallTheStream(t *testing.T) {
	ctx := context.Background()
	moto := testenv.StartMoto(t)
	kc := kinesis.NewFromConfig(moto.AWSConfig(t))
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("audit"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	rtCtx := logdest.MustCreate(t, st, "integrations", map[string]any{"type": "permission_context", "slug": "prod-runtime-context", "settings": map[string]any{
		"cloud": "aws", "region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", "external_id": "ext-1"}})
	kin := logdest.MustCreate(t, st, "log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
		"settings": map[string]any{"stream_name": "audit"}})
	logdest.MustCreate(t, st, "environments", map[string]any{"slug": "prod", "log_destination_ids": []any{kin}})

	// Appended before delivery starts, so that they meet in one batch:
	// 40 events of 150 kB (6 MB together) and one whose reason encodes to
	// 1.2 MB.
	var want []string
	for i := range 40 {
		ev := &model.AuditEvent{Type: "request", Actor: "alice@example.com", Details: map[string]string{"reason": strings.Repeat("a", 150_000)}}
		if i == 20 {
			ev.Details["reason"] = strings.Repeat("<", 200_000)
		}
		if err := st.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, ev.ID)
	}
	last := &model.AuditEvent{Type: "login", Actor: "carol@example.com"}
	if err := st.AppendEvent(ctx, last); err != nil {
		t.Fatal(err)
	}
	want = append(want, last.ID)

	d := logdest.New(st, awsauth.NewChain(moto.AWSConfig(t), nil), nil, logdest.Options{Org: "acme",
		Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	d.Start()
	defer d.Stop()
	var s logdest.Status
	logdest.WaitUntil(t, "the stream to take every event, or to fail twice", func() bool {
		sts, err := d.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s = sts[0]
		return s.State == "ok" || s.Attempts > 1
	})
	if s.State != "ok" || s.DeliveredTotal != int64(len(want)) {
		t.Fatalf("status: %s, %d of %d delivered, last error %q", s.State, s.DeliveredTotal, len(want), s.LastError)
	}
	recs := kinesisData(t, kc, "audit")
	var got []string
	for i, data := range recs {
		var rec struct {
			ID, Type string
			Details  map[string]string
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(got) == 0 || got[len(got)-1] != rec.ID { // a resend after a partial batch repeats the tail
			got = append(got, rec.ID)
		}
		switch {
		case rec.ID == want[20]:
			if rec.Type != "request" || rec.Details["reason"] != "" || !strings.Contains(rec.Details["truncated"], "sym's audit log") {
				t.Errorf("the oversized event arrived as %s %v", rec.Type, rec.Details)
			}
		case rec.Type == "request" && len(rec.Details["reason"]) != 150_000:
			t.Errorf("event %s lost its reason (%d bytes)", rec.ID, len(rec.Details["reason"]))
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the stream holds %d events (in this order: %v), want the %d appended, in order", len(got), got, len(want))
	}
}

// kinesisData reads every record of a one-shard stream, oldest first.
func kinesisData(t *testing.T, kc *kinesis.Client, stream string) [][]byte {
	t.Helper()
	ctx := context.Background()
	desc, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: desc.StreamDescription.Shards[0].ShardId,
		ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for iter := it.ShardIterator; iter != nil; {
		page, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			out = append(out, r.Data)
		}
		if len(page.Records) == 0 {
			break
		}
		iter = page.NextShardIterator
	}
	return out
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sym.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
