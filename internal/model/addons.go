package model

import (
	"fmt"
	"net/url"
	"strings"
)

// Typed views of the runtime connector's addons: where secrets are read
// from, where the audit log is shipped, who hears about failures.

// LogDestinationTypes are the log destinations the server delivers to.
var LogDestinationTypes = []string{"kinesis_data_stream", "kinesis_firehose", "http"}

// LogDestinationSetting is the setting each log destination type needs.
var LogDestinationSetting = map[string]string{
	"kinesis_data_stream": "stream_name",
	"kinesis_firehose":    "stream_name",
	"http":                "url",
}

// DefaultSecretTag is the tag the secretsmgr addon conditions on.
const DefaultSecretTag = "SymEnv"

// LogDestination is a typed log destination.
type LogDestination struct {
	ID, Type string
	// IntegrationID is the runtime permission context an AWS destination
	// writes through; empty means the environment's runtime.
	IntegrationID string
	// StreamName is a Kinesis stream or Firehose delivery stream, by name
	// or ARN.
	StreamName string
	// URL and SecretID are an http destination's: SecretID names the
	// sym_secret sent as the Authorization header.
	URL, SecretID string
	// Region overrides the runtime context's region for AWS destinations.
	Region   string
	Settings map[string]string
}

// DecodeLogDestination reads a log destination and checks its type's
// settings.
func DecodeLogDestination(id string, body map[string]any) (*LogDestination, []FieldError) {
	var errs []FieldError
	s := bodyStringMap(body["settings"])
	d := &LogDestination{ID: id, Type: bodyString(body, "type"), IntegrationID: bodyString(body, "integration_id"),
		StreamName: s["stream_name"], URL: s["url"], SecretID: s["secret_id"], Region: s["region"], Settings: s}
	if d.IntegrationID == NullRef {
		d.IntegrationID = ""
	}
	if key := LogDestinationSetting[d.Type]; key != "" && strings.TrimSpace(s[key]) == "" {
		errs = append(errs, FieldError{"settings." + key, fmt.Sprintf("a log destination of type %s needs %s", d.Type, key)})
	}
	if d.Type == "http" && d.URL != "" {
		if err := ValidWebhookURL(d.URL); err != nil {
			errs = append(errs, FieldError{"settings.url", err.Error()})
		}
	}
	return d, errs
}

// ValidWebhookURL checks an http destination's URL: absolute http or https
// with a host.
func ValidWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", raw)
	}
	return nil
}

// SecretSource is a typed secrets source (sym_secrets).
type SecretSource struct {
	ID, Type, Slug string
	// ContextID is the runtime permission context secrets are read through.
	ContextID string
	// TagName is the tag a secret must carry with the environment's name
	// (settings.tag_name, default SymEnv, as the addon's tag_name).
	TagName string
}

// DecodeSecretSource reads a secrets source and checks its context.
func DecodeSecretSource(id string, body map[string]any) (*SecretSource, []FieldError) {
	s := bodyStringMap(body["settings"])
	src := &SecretSource{ID: id, Type: bodyString(body, "type"), Slug: bodyString(body, "slug"),
		ContextID: s["context_id"], TagName: s["tag_name"]}
	if src.TagName == "" {
		src.TagName = DefaultSecretTag
	}
	if strings.TrimSpace(src.ContextID) == "" {
		return src, []FieldError{{"settings.context_id", "a secrets source needs the runtime permission context to read secrets through"}}
	}
	return src, nil
}

// Secret is a typed sym_secret: where its value lives, and which key of a
// JSON secret it is.
type Secret struct {
	ID, Path, SourceID, Label string
	JSONKey                   string
}

// DecodeSecret reads a secret.
func DecodeSecret(id string, body map[string]any) *Secret {
	return &Secret{ID: id, Path: bodyString(body, "path"), SourceID: bodyString(body, "source_id"),
		Label: bodyString(body, "label"), JSONKey: bodyStringMap(body["settings"])["json_key"]}
}

// ErrorLogger is a typed error logger: an integration (a webhook or Slack)
// and where in it failures go (a URL or path; a channel).
type ErrorLogger struct {
	ID, IntegrationID, Destination string
}

// DecodeErrorLogger reads an error logger.
func DecodeErrorLogger(id string, body map[string]any) *ErrorLogger {
	return &ErrorLogger{ID: id, IntegrationID: bodyString(body, "integration_id"), Destination: bodyString(body, "destination")}
}
