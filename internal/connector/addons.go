package connector

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/policy"
)

// Destination is a log destination the runtime connector role must be
// able to write to through its addons.
type Destination struct {
	// Type is kinesis_data_stream or kinesis_firehose.
	Type string `json:"type"`
	// Stream is the stream's name or ARN.
	Stream string `json:"stream"`
}

// ParseDestination reads TYPE:STREAM, e.g. kinesis_data_stream:sym-audit.
func ParseDestination(s string) (Destination, error) {
	typ, stream, ok := strings.Cut(s, ":")
	d := Destination{Type: typ, Stream: stream}
	if !ok || stream == "" || (typ != "kinesis_data_stream" && typ != "kinesis_firehose") {
		return Destination{}, fmt.Errorf("log destination %q: want kinesis_data_stream:<stream name or ARN> or kinesis_firehose:<delivery stream name or ARN>", s)
	}
	return d, nil
}

// streamARN is the ARN a destination's writes are authorized against.
func (d Destination) streamARN(partition, region, account string) string {
	if strings.HasPrefix(d.Stream, "arn:") {
		return d.Stream
	}
	if d.Type == "kinesis_firehose" {
		return fmt.Sprintf("arn:%s:firehose:%s:%s:deliverystream/%s", partition, region, account, d.Stream)
	}
	return fmt.Sprintf("arn:%s:kinesis:%s:%s:stream/%s", partition, region, account, d.Stream)
}

// checkCoverage evaluates the runtime role's managed policies against what
// the server will do with them: write each configured log destination, read
// each configured secret tagged for the environment, and no secret tagged
// for another one. docs are the attached policies' documents.
func (v verifier) checkCoverage(r roleARN, docs []*policy.Document) []Finding {
	var out []Finding
	allowed := func(req policy.Request) bool {
		ok := false
		for _, d := range docs {
			switch d.Evaluate(req) {
			case policy.ExplicitDeny:
				return false
			case policy.Allowed:
				ok = true
			}
		}
		return ok
	}
	region := v.e.Region
	if region == "" {
		region = "us-east-1"
	}
	tagName := v.e.SecretsTagName
	if tagName == "" {
		tagName = "SymEnv"
	}
	for _, d := range v.e.Destinations {
		arn := d.streamARN(r.Partition, region, r.Account)
		subject := "log destination " + d.Type + " " + d.Stream
		switch d.Type {
		case "kinesis_data_stream":
			var missing []string
			for _, action := range []string{"kinesis:PutRecord", "kinesis:PutRecords"} {
				if !allowed(policy.Request{Action: action, Resource: arn}) {
					missing = append(missing, action)
				}
			}
			if len(missing) == 0 {
				out = append(out, Finding{OK: true, Subject: subject, Detail: fmt.Sprintf("the role may write records to %s", arn)})
			} else {
				out = append(out, Finding{OK: false, Subject: subject, Detail: fmt.Sprintf("the role may not %s on %s: add the stream ARN to the %s addon's stream_arns",
					strings.Join(missing, ", "), arn, AddonKinesisDataStream)})
			}
		case "kinesis_firehose":
			ctx := map[string][]string{"aws:ResourceTag/SymEnv": {v.env}}
			if allowed(policy.Request{Action: "firehose:PutRecordBatch", Resource: arn, Context: ctx}) &&
				allowed(policy.Request{Action: "firehose:PutRecord", Resource: arn, Context: ctx}) {
				out = append(out, Finding{OK: true, Subject: subject, Detail: fmt.Sprintf("the role may write records to %s once it is tagged SymEnv=%s", arn, v.env)})
			} else {
				out = append(out, Finding{OK: false, Subject: subject, Detail: fmt.Sprintf("the role may not firehose:PutRecordBatch on %s even tagged SymEnv=%s: attach the %s addon",
					arn, v.env, AddonKinesisFirehose)})
			}
		}
	}
	for _, path := range v.e.Secrets {
		arn := path
		if !strings.HasPrefix(path, "arn:") {
			// Secrets Manager appends six random characters to a secret's ARN.
			arn = fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-AbCdEf", r.Partition, region, r.Account, path)
		}
		subject := "secret " + path
		tagged := func(value string) policy.Request {
			return policy.Request{Action: "secretsmanager:GetSecretValue", Resource: arn, Context: map[string][]string{
				"aws:ResourceTag/" + tagName: {value}, "secretsmanager:ResourceTag/" + tagName: {value}}}
		}
		if allowed(tagged(v.env)) {
			out = append(out, Finding{OK: true, Subject: subject, Detail: fmt.Sprintf("the role may read it when it is tagged %s=%s", tagName, v.env)})
		} else {
			out = append(out, Finding{OK: false, Subject: subject, Detail: fmt.Sprintf("the role may not read it even tagged %s=%s: attach the %s addon", tagName, v.env, AddonSecretsManager)})
		}
	}
	// Whatever is configured, the tag must scope what the role can read.
	if len(v.e.Secrets) > 0 || slices.Contains(v.e.Addons, AddonSecretsManager) {
		probe := fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:any-AbCdEf", r.Partition, region, r.Account)
		other := v.env + "-other"
		for _, ctx := range []map[string][]string{
			{"aws:ResourceTag/" + tagName: {other}, "secretsmanager:ResourceTag/" + tagName: {other}},
			{},
		} {
			if allowed(policy.Request{Action: "secretsmanager:GetSecretValue", Resource: probe, Context: ctx}) {
				what := "untagged secrets"
				if len(ctx) > 0 {
					what = "secrets tagged for another environment"
				}
				out = append(out, Finding{OK: false, Subject: "secrets scope", Detail: fmt.Sprintf("the role may read %s: only %s=%s should be readable", what, tagName, v.env)})
			}
		}
	}
	return out
}

// attachedDocuments reads every managed policy attached to the role.
func (v verifier) attachedDocuments(ctx context.Context, facts roleFacts) ([]*policy.Document, error) {
	var docs []*policy.Document
	for arn := range facts.attached {
		d, err := v.managedDocument(ctx, arn)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	for _, d := range facts.inline {
		docs = append(docs, d)
	}
	return docs, nil
}
