package logdest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/opensym/sym/internal/model"
)

// kinesisSender writes to a Kinesis data stream with PutRecords. The
// partition key is the request id, so one request's events land on one
// shard in order; an event of no request is keyed by its own id.
type kinesisSender struct {
	client *kinesis.Client
	stream string // a name or an ARN
}

func newKinesisSender(cfg aws.Config, stream string) *kinesisSender {
	return &kinesisSender{client: kinesis.NewFromConfig(cfg), stream: stream}
}

// maxKinesisBatch is PutRecords' limit.
const maxKinesisBatch = 500

// PutRecords takes at most 1 MiB a record (data and partition key) and
// 5 MiB a call.
func (s *kinesisSender) limits() (record, call int) { return 1 << 20, 5 << 20 }

func (s *kinesisSender) Send(ctx context.Context, recs []Record) (int, error) {
	if len(recs) > maxKinesisBatch {
		recs = recs[:maxKinesisBatch]
	}
	in := &kinesis.PutRecordsInput{}
	if strings.HasPrefix(s.stream, "arn:") {
		in.StreamARN = aws.String(s.stream)
	} else {
		in.StreamName = aws.String(s.stream)
	}
	for _, r := range recs {
		key := r.Event.RequestID
		if key == "" {
			key = r.Event.ID
		}
		in.Records = append(in.Records, kintypes.PutRecordsRequestEntry{Data: r.Data, PartitionKey: aws.String(key)})
	}
	out, err := s.client.PutRecords(ctx, in)
	if err != nil {
		return 0, fmt.Errorf("kinesis PutRecords to %s: %w", s.stream, err)
	}
	if aws.ToInt32(out.FailedRecordCount) == 0 {
		return len(recs), nil
	}
	// Only the records before the first failure count as delivered: the
	// rest are sent again, so that order holds (at the price of duplicates,
	// which carry the same id).
	for i, e := range out.Records {
		if e.ErrorCode != nil {
			return i, fmt.Errorf("kinesis PutRecords to %s: record %d failed: %s: %s", s.stream, i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	return len(recs), nil
}

// firehoseSender writes to a Firehose delivery stream with PutRecordBatch;
// each record ends with a newline, so the objects Firehose writes are JSON
// lines.
type firehoseSender struct {
	client *firehose.Client
	stream string
}

func newFirehoseSender(cfg aws.Config, stream string) *firehoseSender {
	// A delivery stream is named; an ARN is reduced to its name.
	if i := strings.LastIndex(stream, "deliverystream/"); strings.HasPrefix(stream, "arn:") && i >= 0 {
		stream = stream[i+len("deliverystream/"):]
	}
	return &firehoseSender{client: firehose.NewFromConfig(cfg), stream: stream}
}

const maxFirehoseBatch = 500

// PutRecordBatch takes at most 1,000 KiB a record and 4 MiB a call.
func (s *firehoseSender) limits() (record, call int) { return 1000 << 10, 4 << 20 }

func (s *firehoseSender) Send(ctx context.Context, recs []Record) (int, error) {
	if len(recs) > maxFirehoseBatch {
		recs = recs[:maxFirehoseBatch]
	}
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(s.stream)}
	for _, r := range recs {
		in.Records = append(in.Records, fhtypes.Record{Data: append(append([]byte{}, r.Data...), '\n')})
	}
	out, err := s.client.PutRecordBatch(ctx, in)
	if err != nil {
		return 0, fmt.Errorf("firehose PutRecordBatch to %s: %w", s.stream, err)
	}
	if aws.ToInt32(out.FailedPutCount) == 0 {
		return len(recs), nil
	}
	for i, e := range out.RequestResponses {
		if e.ErrorCode != nil {
			return i, fmt.Errorf("firehose PutRecordBatch to %s: record %d failed: %s: %s", s.stream, i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	return len(recs), nil
}

// httpSender POSTs each record, one JSON object per request, in order. The
// Authorization header, when configured, is the value of a sym_secret; the
// X-Sym-Event-ID header repeats the event id so that a receiver can drop
// duplicates.
type httpSender struct {
	client *http.Client
	url    string
	auth   string
}

// httpSender builds the sender of an http destination: settings.secret_id
// (a sym_secret) gives the Authorization header.
func (d *Deliverer) httpSender(ctx context.Context, rawURL string, settings map[string]string) (Sender, error) {
	if err := model.ValidWebhookURL(rawURL); err != nil {
		return nil, err
	}
	s := &httpSender{client: d.opt.HTTPClient, url: rawURL}
	if d.secrets != nil {
		v, _, err := d.secrets.Setting(ctx, settings, "secret_id")
		if err != nil {
			return nil, fmt.Errorf("the Authorization secret of %s: %w", redactURL(rawURL), err)
		}
		s.auth = v
	} else if settings["secret_id"] != "" {
		return nil, fmt.Errorf("%s names a secret but this server reads no secrets", redactURL(rawURL))
	}
	return s, nil
}

// webhookSender is an error logger of an http (or webhook) integration: the
// destination is the URL, or a path under the integration's settings.url.
func (d *Deliverer) webhookSender(ctx context.Context, integ *model.Integration, destination string) (Sender, error) {
	settings := integ.Settings
	target := destination
	if !strings.Contains(destination, "://") {
		target = strings.TrimSuffix(settings["url"], "/") + "/" + strings.TrimPrefix(destination, "/")
	}
	return d.httpSender(ctx, target, settings)
}

func (s *httpSender) Send(ctx context.Context, recs []Record) (int, error) {
	for i, r := range recs {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(r.Data))
		if err != nil {
			return i, fmt.Errorf("POST %s: %v", redactURL(s.url), err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "sym-server")
		req.Header.Set("X-Sym-Event-ID", r.Event.ID)
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			// The error names the URL as sent; say it again without its query.
			return i, fmt.Errorf("POST %s: %s", redactURL(s.url), transportError(err))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return i, fmt.Errorf("POST %s: the receiver answered %s", redactURL(s.url), resp.Status)
		}
	}
	return len(recs), nil
}

// transportError describes a failed HTTP call without the URL (whose query
// may carry a token).
func transportError(err error) string {
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
		return ue.Err.Error()
	}
	return err.Error()
}

// redactURL drops a URL's query, fragment and user info: they may carry
// credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}
