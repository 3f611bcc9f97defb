package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/secrets"
	"github.com/opensym/sym/internal/testenv"
)

// record is what a destination receives for one audit event.
type record struct {
	ID          string            `json:"id"`
	Seq         int64             `json:"seq"`
	Type        string            `json:"type"`
	RequestID   string            `json:"request_id"`
	Actor       string            `json:"actor"`
	At          time.Time         `json:"at"`
	Details     map[string]string `json:"details"`
	Environment string            `json:"environment"`
}

// receiver is an HTTP log destination: it keeps what it was sent, checks
// the Authorization header, and answers 503 while down.
type receiver struct {
	*httptest.Server
	auth     string
	down     atomic.Bool
	mu       sync.Mutex
	got      map[string][]record // path -> records, in arrival order
	badAuth  int
	refusals atomic.Int64
}

func newReceiver(t *testing.T, auth string) *receiver {
	r := &receiver{auth: auth, got: map[string][]record{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			r.refusals.Add(1)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var rec record
		body, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(body, &rec); err != nil || req.Header.Get("X-Sym-Event-ID") != rec.ID {
			http.Error(w, "bad record", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Header.Get("Authorization") != r.auth {
			r.badAuth++
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.got[req.URL.Path] = append(r.got[req.URL.Path], rec)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) records(path string) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[path])
}

// syncBuffer collects a server's log from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func post(t *testing.T, c *api.Client, kind string, body map[string]any) string {
	t.Helper()
	var e struct{ ID string }
	if err := c.Do(context.Background(), "POST", "/entities/"+kind, body, &e); err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	return e.ID
}

func lookup(t *testing.T, c *api.Client, kind, slug string) string {
	t.Helper()
	var rows []struct{ ID string }
	if err := c.Do(context.Background(), "GET", "/entities/"+kind+"?slug="+slug, nil, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("look up %s %s: %v %v", kind, slug, rows, err)
	}
	return rows[0].ID
}

func createSecret(t *testing.T, sm *secretsmanager.Client, name, value string, tags map[string]string) {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := sm.CreateSecret(context.Background(), in); err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
}

// readKinesis reads every record of a one-shard stream from the start.
func readKinesis(t *testing.T, kc *kinesis.Client, stream string) (recs []record, keys []string) {
	t.Helper()
	ctx := context.Background()
	desc, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range desc.StreamDescription.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: sh.ShardId, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Records {
				var rec record
				if err := json.Unmarshal(r.Data, &rec); err != nil {
					t.Fatalf("kinesis record is not JSON: %q", r.Data)
				}
				recs, keys = append(recs, rec), append(keys, aws.ToString(r.PartitionKey))
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return recs, keys
}

// readFirehoseBucket reads the JSON lines Firehose wrote to S3. Firehose
// promises no order between objects (their keys end in a random suffix), so
// the records come back sorted by seq, after a check that each object holds
// them in the order they were sent.
func readFirehoseBucket(t *testing.T, sc *s3.Client, bucket string) []record {
	t.Helper()
	ctx := context.Background()
	list, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for _, o := range list.Contents {
		first := len(recs)
		obj, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(obj.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			// Firehose may concatenate records without our newline; split
			// objects by decoding a stream.
			dec := json.NewDecoder(bytes.NewReader(line))
			for dec.More() {
				var rec record
				if err := dec.Decode(&rec); err != nil {
					t.Fatalf("firehose object %s holds a line that is not JSON: %q", *o.Key, line)
				}
				recs = append(recs, rec)
			}
		}
		obj.Body.Close()
		for i := first + 1; i < len(recs); i++ {
			if recs[i].Seq < recs[i-1].Seq {
				t.Fatalf("firehose object %s holds event %d after event %d", *o.Key, recs[i].Seq, recs[i-1].Seq)
			}
		}
	}
	slices.SortStableFunc(recs, func(a, b record) int { return int(a.Seq - b.Seq) })
	return recs
}

// firstSeen keeps the first occurrence of each event id (at-least-once
// delivery may repeat an event, always with its id), for one request.
func firstSeen(recs []record, requestID string) []record {
	seen := map[string]bool{}
	var out []record
	for _, r := range recs {
		if r.RequestID == requestID && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

type auditEvent struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	RequestID string            `json:"request_id"`
	Actor     string            `json:"actor"`
	At        time.Time         `json:"at"`
	Details   map[string]string `json:"details"`
}

func auditOf(t *testing.T, c *api.Client, requestID string) []auditEvent {
	t.Helper()
	var evs []auditEvent
	if err := c.Do(context.Background(), "GET", "/requests/"+requestID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// sameEvents checks that a destination got exactly the audit API's events,
// in the same order, with the same fields.
func sameEvents(t *testing.T, where string, got []record, want []auditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d events of the request, want %d: %+v", where, len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Type != w.Type || g.Actor != w.Actor || !g.At.Equal(w.At) || g.RequestID != w.RequestID ||
			len(g.Details) != len(w.Details) || g.Environment != "prod" {
			t.Fatalf("%s event %d is %+v, the audit API shows %+v", where, i, g, w)
		}
		for k, v := range w.Details {
			if g.Details[k] != v {
				t.Fatalf("%s event %d details[%s] = %q, want %q", where, i, k, g.Details[k], v)
			}
		}
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deliveryStatus(t *testing.T, c *api.Client) map[string]logdest.Status {
	t.Helper()
	var sts []logdest.Status
	if err := c.Do(context.Background(), "GET", "/log-destinations/status", nil, &sts); err != nil {
		t.Fatal(err)
	}
	out := map[string]logdest.Status{}
	for _, s := range sts {
		out[s.ID] = s
	}
	return out
}

// TestSecretsAndLogDestinations proves the runtime connector's addons
// against moto with one server: secrets read through the runtime role and
// refused unless tagged for the environment; a whole request shipped to a
// Kinesis stream, a Firehose stream (into S3) and an HTTP receiver that
// checks the Authorization header from a secret, the receiver down for a
// while without loss or reordering; the error logger's webhook; and no
// secret value in logs, audit or API answers.
func TestSecretsAndLogDestinations(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMoto(t)
	logs := &syncBuffer{}
	srv := testenv.StartServerWith(t, testenv.ServerOptions{Moto: m, LogTo: logs,
		Engine:   engine.Options{GrantAttempts: 1, RetryBase: 50 * time.Millisecond},
		Delivery: logdest.Options{Poll: 50 * time.Millisecond, BackoffBase: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond}})
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{})
	alice, bob, admin := f.Users["alice@example.com"], f.Users["bob@example.com"], f.Admin
	cfg := m.AWSConfig(t)

	// The AWS side: secrets with and without the environment's tag, a
	// stream, a Firehose stream into a bucket.
	const token = "Bearer wh-7d1c0a55e3b94f0c9a7e"
	sm := secretsmanager.NewFromConfig(cfg)
	createSecret(t, sm, "sym/prod/webhook", `{"token":"`+token+`","other":"x"}`, map[string]string{"SymEnv": "prod"})
	createSecret(t, sm, "sym/prod/plain", "plain-value-41f8", map[string]string{"SymEnv": "prod", "team": "sec"})
	createSecret(t, sm, "sym/staging/db", "staging-value-9a2b", map[string]string{"SymEnv": "staging"})
	createSecret(t, sm, "sym/untagged", "untagged-value-5c3d", nil)
	createSecret(t, sm, "sym/prod/config", `{"token":"cfg-value-77e1","other":"x"}`, map[string]string{"SymEnv": "prod"})
	kc := kinesis.NewFromConfig(cfg)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("sym-audit"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	sc := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.DisableLogOutputChecksumValidationSkipped = true })
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sym-audit-archive")}); err != nil {
		t.Fatal(err)
	}
	if _, err := firehose.NewFromConfig(cfg).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("sym-audit-fh"),
		Tags:               []fhtypes.Tag{{Key: aws.String("SymEnv"), Value: aws.String("prod")}},
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::sym-audit-archive"),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/firehose"),
			Prefix:    aws.String("audit/"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	hook := newReceiver(t, token)

	// The sym side, as Terraform would declare it.
	rtCtx := lookup(t, admin, "integrations", "prod-runtime-context")
	env := lookup(t, admin, "environments", "prod")
	source := post(t, admin, "secret-sources", map[string]any{"type": "aws_secrets_manager", "slug": "prod-secrets",
		"settings": map[string]string{"context_id": rtCtx}})
	webhookSecret := post(t, admin, "secrets", map[string]any{"path": "sym/prod/webhook", "source_id": source,
		"settings": map[string]string{"json_key": "token"}})
	plainSecret := post(t, admin, "secrets", map[string]any{"path": "sym/prod/plain", "source_id": source})
	stagingSecret := post(t, admin, "secrets", map[string]any{"path": "sym/staging/db", "source_id": source})
	untaggedSecret := post(t, admin, "secrets", map[string]any{"path": "sym/untagged", "source_id": source})
	missingKey := post(t, admin, "secrets", map[string]any{"path": "sym/prod/config", "source_id": source,
		"settings": map[string]string{"json_key": "nope"}})
	kinesisDest := post(t, admin, "log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
		"settings": map[string]string{"stream_name": "sym-audit"}})
	firehoseDest := post(t, admin, "log-destinations", map[string]any{"type": "kinesis_firehose", "integration_id": rtCtx,
		"settings": map[string]string{"stream_name": "sym-audit-fh"}})
	httpDest := post(t, admin, "log-destinations", map[string]any{"type": "http",
		"settings": map[string]string{"url": hook.URL + "/audit", "secret_id": webhookSecret}})
	// A stream in an account that is neither the runtime's nor safelisted:
	// the guard rail refuses it before any AWS call.
	foreignDest := post(t, admin, "log-destinations", map[string]any{"type": "kinesis_data_stream", "integration_id": rtCtx,
		"settings": map[string]string{"stream_name": "arn:aws:kinesis:us-east-1:999999999999:stream/elsewhere"}})
	hookInteg := post(t, admin, "integrations", map[string]any{"type": "webhook", "slug": "errors-webhook",
		"settings": map[string]string{"url": hook.URL, "secret_id": webhookSecret}})
	errLogger := post(t, admin, "error-loggers", map[string]any{"integration_id": hookInteg, "destination": "/errors"})
	if err := admin.Do(ctx, "PATCH", "/entities/environments/"+env, map[string]any{
		"log_destination_ids": []string{kinesisDest, firehoseDest, httpDest, foreignDest}, "error_logger_id": errLogger}, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("secrets are read only when tagged for the environment", func(t *testing.T) {
		for _, c := range []struct{ id, want, refused string }{
			{webhookSecret, token, ""},
			{plainSecret, "plain-value-41f8", ""},
			{stagingSecret, "", "it is tagged SymEnv=staging; sym reads only secrets tagged SymEnv=prod"},
			{untaggedSecret, "", "it has no SymEnv tag; sym reads only secrets tagged SymEnv=prod"},
			{missingKey, "", `has no key "nope" (its keys: other, token)`},
		} {
			got, err := srv.Secrets.Value(ctx, c.id)
			if c.refused == "" {
				if err != nil || got != c.want {
					t.Fatalf("secret %s: got an error %v (value matches: %v)", c.id, err, got == c.want)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), c.refused) {
				t.Fatalf("secret %s: want an error with %q, got %v", c.id, c.refused, err)
			}
			if strings.Contains(err.Error(), "value-") || strings.Contains(err.Error(), token) {
				t.Fatalf("the refusal quotes the secret's value: %v", err)
			}
			if strings.Contains(c.refused, "tag") && !secrets.IsRefused(err) {
				t.Fatalf("a wrongly tagged secret is not a refusal: %v", err)
			}
		}
	})

	// With the receiver down, a whole request happens.
	hook.down.Store(true)
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	want := auditOf(t, alice, r.ID)
	if got := len(want); got != 5 {
		t.Fatalf("audit has %d events for the request, want request, approve, escalate, revoke, deescalate", got)
	}

	// A request whose grant fails reaches the error logger.
	missing := post(t, admin, "access-targets", map[string]any{"type": "aws_iam_group", "slug": "no-such-group",
		"settings": map[string]string{"iam_group": "sym-no-such-group"}})
	strat := lookup(t, admin, "access-strategies", "prod-iam")
	var st struct{ Targets []string }
	if err := admin.Do(ctx, "GET", "/entities/access-strategies/"+strat, nil, &st); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "PATCH", "/entities/access-strategies/"+strat, map[string]any{"targets": append(st.Targets, missing)}, nil); err != nil {
		t.Fatal(err)
	}
	bad := ask(t, alice, f.Flow, "no-such-group", "1h")
	if a := do(t, bob, "POST", "/requests/"+bad.ID+"/approve", nil, 200); a.State != "errored" {
		t.Fatalf("a grant to a missing group is %s, want errored", a.State)
	}

	t.Run("kinesis and firehose get every event in order while the receiver is down", func(t *testing.T) {
		waitFor(t, "the Kinesis stream to hold the request", 15*time.Second, func() bool {
			recs, _ := readKinesis(t, kc, "sym-audit")
			return len(firstSeen(recs, r.ID)) == len(want)
		})
		recs, keys := readKinesis(t, kc, "sym-audit")
		sameEvents(t, "Kinesis", firstSeen(recs, r.ID), want)
		for i, rec := range recs {
			if rec.RequestID != "" && keys[i] != rec.RequestID {
				t.Fatalf("record %s has partition key %q, want the request id %s", rec.ID, keys[i], rec.RequestID)
			}
		}
		waitFor(t, "Firehose's bucket to hold the request", 15*time.Second, func() bool {
			return len(firstSeen(readFirehoseBucket(t, sc, "sym-audit-archive"), r.ID)) == len(want)
		})
		sameEvents(t, "Firehose (S3)", firstSeen(readFirehoseBucket(t, sc, "sym-audit-archive"), r.ID), want)
	})

	t.Run("the failing receiver is retried with back-off and shows in status", func(t *testing.T) {
		waitFor(t, "three refused attempts", 15*time.Second, func() bool { return hook.refusals.Load() >= 3 })
		s := deliveryStatus(t, admin)[httpDest]
		if s.State != "retrying" || s.Pending < int64(len(want)) || !strings.Contains(s.LastError, "503") || s.LagSeconds <= 0 {
			t.Fatalf("status of the failing receiver: %+v", s)
		}
		if s.Target != hook.URL+"/audit" || !slices.Equal(s.Environments, []string{"prod"}) {
			t.Fatalf("status names %q for %v", s.Target, s.Environments)
		}
		if f := deliveryStatus(t, admin)[foreignDest]; f.State != "retrying" || f.DeliveredTotal != 0 ||
			!strings.Contains(f.LastError, "guard rail") || !strings.Contains(f.LastError, "999999999999") {
			t.Fatalf("status of the destination in a foreign account: %+v", f)
		}
		body := metricsText(t, srv.URL)
		if !strings.Contains(body, `sym_log_destination_lag_seconds{destination="`+httpDest+`",kind="log_destination",type="http"}`) {
			t.Fatalf("/metrics has no lag for the http destination")
		}
	})

	hook.down.Store(false)
	t.Run("after recovery the receiver has everything, in order, with the secret header", func(t *testing.T) {
		waitFor(t, "the receiver to catch up", 15*time.Second, func() bool {
			return len(firstSeen(hook.records("/audit"), r.ID)) == len(want)
		})
		sameEvents(t, "the HTTP receiver", firstSeen(hook.records("/audit"), r.ID), want)
		// Every event in arrival order: no event of the request overtook an
		// earlier one.
		var order []string
		for _, rec := range hook.records("/audit") {
			if rec.RequestID == r.ID && (len(order) == 0 || order[len(order)-1] != rec.ID) && !slices.Contains(order, rec.ID) {
				order = append(order, rec.ID)
			}
		}
		for i, ev := range want {
			if order[i] != ev.ID {
				t.Fatalf("arrival order %v differs from the audit log's at %d", order, i)
			}
		}
		if hook.badAuth != 0 {
			t.Fatalf("%d deliveries came without the secret's Authorization header", hook.badAuth)
		}
		waitFor(t, "the error logger's webhook", 15*time.Second, func() bool {
			for _, rec := range hook.records("/errors") {
				if rec.RequestID == bad.ID && rec.Type == "error" {
					return true
				}
			}
			return false
		})
		for _, rec := range hook.records("/errors") {
			if rec.Type != "error" && rec.Type != "deescalate_failed" {
				t.Fatalf("the error logger received a %s event", rec.Type)
			}
		}
		waitFor(t, "every destination to be caught up", 15*time.Second, func() bool {
			sts := deliveryStatus(t, admin)
			for _, id := range []string{kinesisDest, firehoseDest, httpDest, errLogger} {
				if sts[id].Pending != 0 || sts[id].State != "ok" || sts[id].DeliveredTotal == 0 {
					return false
				}
			}
			return true
		})
	})

	t.Run("no secret value in logs, audit or API answers", func(t *testing.T) {
		var dump strings.Builder
		for _, path := range []string{"/events?limit=10000", "/log-destinations/status", "/entities/secrets",
			"/entities/integrations", "/entities/log-destinations", "/entities/error-loggers", "/requests"} {
			var v any
			c := admin
			if strings.HasPrefix(path, "/events") {
				c = f.Auditor // the whole log is for admins and auditors
			}
			if err := c.Do(ctx, "GET", path, nil, &v); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(v)
			dump.Write(b)
		}
		dump.WriteString(logs.String())
		if !strings.Contains(logs.String(), "log destination delivery failed") {
			t.Fatalf("the server log does not mention the failing destination")
		}
		// Metric scrapes that succeed are not info lines (a scraper comes
		// every few seconds); the one refused for want of its token is.
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "/metrics") && strings.Contains(line, "status=200") {
				t.Errorf("a successful metrics scrape was logged at info: %s", line)
			}
		}
		// An operator follows a request through the log by its id: the
		// grant and the removal each have their line.
		for _, step := range []string{"access granted", "access removed"} {
			found := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, step) && strings.Contains(line, r.ID) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %q line names request %s in the server log", step, r.ID)
			}
		}
		for i, secret := range []string{token, "wh-7d1c0a55e3b94f0c9a7e", "plain-value-41f8", "staging-value-9a2b", "untagged-value-5c3d", "cfg-value-77e1"} {
			if strings.Contains(dump.String(), secret) {
				t.Fatalf("secret value %d appears in the logs, audit or API answers", i)
			}
		}
		// The External ID is part of the runtime context's settings (the API
		// shows it to admins) but never of a log line.
		if strings.Contains(logs.String(), f.ExternalID) || strings.Contains(logs.String(), srv.AdminToken) {
			t.Fatalf("the server log holds the External ID or the admin token")
		}
	})

	// The destination in a foreign account never took an event. Deleted,
	// it can never take one (entity ids are not reused): what it owed is
	// given up once, in the audit log, instead of retried for ever.
	t.Run("a deleted destination's undelivered events are given up, once, in the audit log", func(t *testing.T) {
		owed := deliveryStatus(t, admin)[foreignDest].Pending
		if owed == 0 {
			t.Fatal("the foreign destination owes nothing; the test needs it to owe events")
		}
		if err := admin.Do(ctx, "PATCH", "/entities/environments/"+env, map[string]any{
			"log_destination_ids": []string{kinesisDest, firehoseDest, httpDest}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := admin.Do(ctx, "DELETE", "/entities/log-destinations/"+foreignDest, nil, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the deleted destination to leave the status", 15*time.Second, func() bool {
			_, listed := deliveryStatus(t, admin)[foreignDest]
			return !listed
		})
		var evs []model.AuditEvent
		if err := f.Auditor.Do(ctx, "GET", "/events?last=500", nil, &evs); err != nil {
			t.Fatal(err)
		}
		var given []model.AuditEvent
		for _, ev := range evs {
			if ev.Type == "log_destination.abandoned" && ev.Details["destination"] == foreignDest {
				given = append(given, ev)
			}
		}
		if len(given) != 1 {
			t.Fatalf("%d log_destination.abandoned events name the deleted destination, want 1", len(given))
		}
		if n, _ := strconv.ParseInt(given[0].Details["events"], 10, 64); n < owed {
			t.Fatalf("the event says %s events were given up, the destination owed at least %d", given[0].Details["events"], owed)
		}
		if !strings.Contains(logs.String(), "gave up the undelivered events") {
			t.Fatal("the server log does not say the deleted destination's events were given up")
		}
		// The event reaches the destinations that remain.
		waitFor(t, "the receiver to get the give-up event", 15*time.Second, func() bool {
			for _, rec := range hook.records("/audit") {
				if rec.ID == given[0].ID {
					return true
				}
			}
			return false
		})
	})
}

// symCLI runs the sym binary against a server.
func symCLI(t *testing.T, url, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.SymBinary(t), args...)
	cmd.Env = append(os.Environ(), "SYM_API_URL="+url, "SYM_JWT="+token)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestDeliverySurvivesACrash kills the server (SIGKILL) while a
// destination still owes a request's events, and expects all of them, in
// order, after the restart.
func TestDeliverySurvivesACrash(t *testing.T) {
	m := testenv.StartMoto(t)
	db := filepath.Join(t.TempDir(), "sym.db")
	port := testenv.FreePort(t)
	p := testenv.StartSymProcess(t, db, port, m.Env(), "--verify-connectors=false")
	f := testenv.SetupIAMFlow(t, m, p.URL, p.AdminToken, testenv.IAMFlowOptions{})
	alice, bob, admin := f.Users["alice@example.com"], f.Users["bob@example.com"], f.Admin
	hook := newReceiver(t, "")
	dest := post(t, admin, "log-destinations", map[string]any{"type": "http", "settings": map[string]string{"url": hook.URL + "/audit"}})
	env := lookup(t, admin, "environments", "prod")
	if err := admin.Do(context.Background(), "PATCH", "/entities/environments/"+env, map[string]any{"log_destination_ids": []string{dest}}, nil); err != nil {
		t.Fatal(err)
	}
	hook.down.Store(true)
	r := ask(t, alice, f.Flow, f.Targets[0], "1h")
	do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
	do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	want := auditOf(t, alice, r.ID)
	waitFor(t, "a refused attempt", 10*time.Second, func() bool { return hook.refusals.Load() >= 1 })
	// The CLI shows the backlog, and fails a monitoring check on it.
	out, err := symCLI(t, p.URL, p.AdminToken, "log-destinations", "status", "--max-lag", "1ms")
	if err == nil || !strings.Contains(out, "retrying") || !strings.Contains(out, "the receiver answered 503") ||
		!strings.Contains(out, "log destination "+dest+" is") {
		t.Fatalf("sym log-destinations status --max-lag 1ms on a failing destination (err %v):\n%s", err, out)
	}
	p.Kill()
	if n := len(hook.records("/audit")); n != 0 {
		t.Fatalf("the receiver got %d events while down", n)
	}

	hook.down.Store(false)
	p2 := testenv.StartSymProcess(t, db, port, m.Env(), "--verify-connectors=false")
	waitFor(t, "the restarted server to deliver the backlog", 15*time.Second, func() bool {
		return len(firstSeen(hook.records("/audit"), r.ID)) == len(want)
	})
	sameEvents(t, "the HTTP receiver after the crash", firstSeen(hook.records("/audit"), r.ID), want)
	waitFor(t, "the status to show the destination caught up", 10*time.Second, func() bool {
		out, err := symCLI(t, p2.URL, p2.AdminToken, "log-destinations", "status", "--json", "--max-lag", "1m")
		var sts []logdest.Status
		if err != nil || json.Unmarshal([]byte(out), &sts) != nil || len(sts) != 1 {
			t.Logf("status: %v\n%s", err, out)
			return false
		}
		return sts[0].State == "ok" && sts[0].Pending == 0 && sts[0].DeliveredTotal >= int64(len(want))
	})
}
