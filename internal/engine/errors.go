package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Kind classifies an engine error for the API's status codes.
type Kind int

// Error kinds.
const (
	Invalid   Kind = iota // 400
	Forbidden             // 403
	NotFound              // 404
	Conflict              // 409
	Upstream              // 502: AWS failed
)

// Error is an error a caller can act on.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func invalid(field, format string, a ...any) error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

func forbidden(format string, a ...any) error {
	return &Error{Kind: Forbidden, Message: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &Error{Kind: NotFound, Message: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) error {
	return &Error{Kind: Conflict, Message: fmt.Sprintf(format, a...)}
}

// KindOf is the kind of err, or -1 for an unexpected error.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

// Words says an engine error for a person, as the web app and Slack show
// it: what kind of problem, the field it concerns, and the engine's own
// message. ok is false for an error the engine did not classify.
func Words(err error) (text string, ok bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	prefix := map[Kind]string{Invalid: "That request is not complete: ", Forbidden: "You may not do this: ",
		NotFound: "Not found: ", Conflict: "This cannot be done now: ", Upstream: "AWS did not do what was asked: "}[e.Kind]
	field := strings.TrimPrefix(e.Field, "flow_inputs.")
	if field == "target_id" {
		field = "target"
	}
	if field != "" {
		field = strings.ReplaceAll(field, "_", " ") + " "
	}
	return prefix + field + e.Message + ".", true
}

// withoutRequestID is err's text with the AWS SDK's part (operation,
// status, request id: different at every call) replaced by AWS's error
// code and message, so that two answers alike read alike: a dry run's
// reason is the real pass's.
func withoutRequestID(err error) string {
	msg := err.Error()
	var op *smithy.OperationError
	var api smithy.APIError
	if !errors.As(err, &op) || !errors.As(err, &api) {
		return msg
	}
	head, found := strings.CutSuffix(msg, op.Error())
	if !found {
		return msg
	}
	return head + api.ErrorCode() + ": " + api.ErrorMessage()
}
