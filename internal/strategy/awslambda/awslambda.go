// Package awslambda is the aws_lambda access strategy: escalation and
// de-escalation invoke the target's Lambda function (synchronously, through
// the chained Lambda connector role) with the event payload the original
// platform sends (schema version 6, REFERENCE.md section 10), so that
// functions written for it run unchanged. The function answers
// {"body": ..., "errors": [...]}: non-empty errors fail the step with those
// messages. A function error (an exception, a crash) or a timeout is an
// ordinary error, retried by the engine like an AWS error; a de-escalation
// is retried until it succeeds.
//
// It must never put a secret (External ID, token) in the payload: the
// function's owner sees all of it.
package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/uuid"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
)

// SchemaVersion is the payload's meta.schema_version.
const SchemaVersion = 6

// DefaultTimeout bounds one invocation (Lambda's own limit is 15 minutes;
// a grant should not wait that long).
const DefaultTimeout = time.Minute

// Strategy is the aws_lambda strategy.
type Strategy struct {
	Chain *awsauth.Chain
	// Timeout bounds one invocation; zero means DefaultTimeout.
	Timeout time.Duration
	// Now stamps the events; nil means time.Now.
	Now func() time.Time
	// Check, when set, verifies the Lambda connector role before grants.
	Check *strategy.ConnectorCheck
}

// IdentityKey: an aws_lambda identity is optional; when set it travels as
// the requester's identity in the payload.
func (s *Strategy) IdentityKey() string { return "aws_lambda" }

// IdentityOptional: the function gets the requester's email either way.
func (s *Strategy) IdentityOptional() bool { return true }

// Key: the requester (by email) and the run (the request) on one side, the
// function on the other. What a function grants is its own business, and it
// may key it by the run (run.srn), as functions written for the original
// do: every escalated run is de-escalated, and two runs of one requester are
// never counted as one access (sym would skip the first one's
// de-escalation).
func (s *Strategy) Key(g strategy.Grant) (strategy.Key, error) {
	arn, err := functionARN(g)
	if err != nil {
		return strategy.Key{}, err
	}
	return strategy.Key{Identity: "aws_lambda:" + strings.ToLower(g.Requester) + ":run/" + g.RequestID, Target: "aws_lambda:" + arn}, nil
}

// HasAccess: what a function grants is its own business; sym never treats
// access through it as standing.
func (s *Strategy) HasAccess(context.Context, strategy.Grant) (bool, error) { return false, nil }

// Holders: a function cannot be asked who holds access.
func (s *Strategy) Holders(context.Context, strategy.Grant) ([]string, error) {
	return nil, strategy.ErrCannotList
}

func functionARN(g strategy.Grant) (string, error) {
	arn := g.TargetSettings["arn"]
	if arn == "" {
		return "", fmt.Errorf("an aws_lambda_function target needs the function's arn")
	}
	return arn, nil
}

// Escalate invokes the function with an escalate event, once the guard
// rails admit it (awsauth's CheckTarget: a guard error, nothing invoked).
// An answer with errors is a NotGrantedError carrying them, and so is a
// function that does not exist (Lambda's ResourceNotFoundException):
// nothing ran.
func (s *Strategy) Escalate(ctx context.Context, g strategy.Grant) error {
	arn, err := functionARN(g)
	if err != nil {
		return err
	}
	// The guard rails before anything is invoked (never on removal: a run
	// escalated before the flags changed is still taken back).
	if err := s.Chain.CheckTarget(g.Runtime, "Lambda function", arn); err != nil {
		return err
	}
	if err := s.Check.Before(ctx, "aws_lambda", g); err != nil {
		return err
	}
	_, err = s.Invoke(ctx, g, "escalate")
	var fe *FunctionErrors
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &fe):
		return &strategy.NotGrantedError{Err: err}
	case errors.As(err, &nf):
		return &strategy.NotGrantedError{Err: fmt.Errorf("Lambda function %s does not exist: %w", arn, err)}
	}
	return err
}

// Deescalate invokes the function with a deescalate event. Every error is
// retried by the engine, a function that no longer exists included: it may
// have granted before it was deleted.
func (s *Strategy) Deescalate(ctx context.Context, g strategy.Grant) error {
	_, err := s.Invoke(ctx, g, "deescalate")
	return err
}

// FunctionErrors is a function's answer with non-empty errors.
type FunctionErrors struct {
	Function string
	Event    string
	Messages []string
}

func (e *FunctionErrors) Error() string {
	return fmt.Sprintf("Lambda function %s answered the %s event with errors: %s", e.Function, e.Event, strings.Join(e.Messages, "; "))
}

// Invoke sends the event and returns the function's raw answer.
func (s *Strategy) Invoke(ctx context.Context, g strategy.Grant, eventType string) ([]byte, error) {
	arn, err := functionARN(g)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(s.Payload(g, eventType))
	if err != nil {
		return nil, err
	}
	cfg, err := s.Chain.ConnectorConfig(g.Runtime, g.ConnectorRoleARN, regionOf(arn, g.Region))
	if err != nil {
		return nil, err
	}
	// The role chain first, so that the timeout measures the function.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("reach the Lambda connector role %s: %w", g.ConnectorRoleARN, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := lambda.NewFromConfig(cfg).Invoke(ictx, &lambda.InvokeInput{FunctionName: aws.String(arn),
		InvocationType: types.InvocationTypeRequestResponse, Payload: payload})
	switch {
	case ictx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
		return nil, fmt.Errorf("invoke Lambda function %s (%s): no answer within %s", arn, eventType, timeout)
	case err != nil:
		return nil, fmt.Errorf("invoke Lambda function %s (%s): %w", arn, eventType, err)
	case out.FunctionError != nil:
		return out.Payload, fmt.Errorf("Lambda function %s failed on the %s event (%s): %s", arn, eventType, aws.ToString(out.FunctionError), errorMessage(out.Payload))
	}
	var answer struct {
		Errors any `json:"errors"`
	}
	if err := json.Unmarshal(out.Payload, &answer); err == nil {
		if msgs := errorMessages(answer.Errors); len(msgs) > 0 {
			return out.Payload, &FunctionErrors{Function: arn, Event: eventType, Messages: msgs}
		}
	}
	return out.Payload, nil
}

// errorMessages reads an answer's errors: a list of messages, as the
// contract says, or (from a function that says it failed in another
// shape) one message or one object, which fail the step all the same.
// Absent, null, "", [] and false are no errors.
func errorMessages(errs any) []string {
	var msgs []string
	add := func(e any) {
		switch e := e.(type) {
		case nil:
		case string:
			if e != "" {
				msgs = append(msgs, e)
			}
		default:
			b, _ := json.Marshal(e)
			msgs = append(msgs, string(b))
		}
	}
	switch e := errs.(type) {
	case []any:
		// Every entry of a list is a failure, as it always was.
		for _, item := range e {
			if m, ok := item.(string); ok {
				msgs = append(msgs, m)
			} else {
				b, _ := json.Marshal(item)
				msgs = append(msgs, string(b))
			}
		}
	case bool:
		if e {
			add("errors: true")
		}
	default:
		add(e)
	}
	return msgs
}

// errorMessage reads the errorMessage of a function error's payload.
func errorMessage(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(payload, &e) == nil && e.ErrorMessage != "" {
		if e.ErrorType != "" {
			return e.ErrorType + ": " + e.ErrorMessage
		}
		return e.ErrorMessage
	}
	const limit = 512
	if len(payload) > limit {
		return string(payload[:limit]) + "..."
	}
	return string(payload)
}

// regionOf is the function's region, from its ARN.
func regionOf(arn, fallback string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 4 && parts[3] != "" {
		return parts[3]
	}
	return fallback
}

// Actor is a person in the payload. User and Name are what the original's
// published schema requires of an actor: sym knows people by email, so the
// name is the email and the user SRN is derived from it (UserSRN).
type Actor struct {
	User     string   `json:"user"`
	Name     string   `json:"name"`
	Username string   `json:"username"`
	Identity Identity `json:"identity"`
}

// UserSRN names a sym user in the original's SRN shape
// ORG:user:SLUG:latest, the slug a UUID derived from the email (stable
// across runs, with none of an email's dots or @), or "sym" for the
// platform itself.
func UserSRN(org, email string) string {
	slug := "sym"
	if email != "sym" {
		slug = uuid.NewSHA1(uuid.NameSpaceURL, []byte("sym:user:"+strings.ToLower(email))).String()
	}
	return org + ":user:" + slug + ":latest"
}

// The original's approval template and its event specs, as its payloads
// name them in event.template and event.srn.
const (
	approvalTemplate  = "sym:template:approval:1.0.0"
	approvalEventSpec = "sym:event-spec:approval:1.0.0:"
)

// Identity says where an actor is known: the requester's identity for this
// strategy when one is set, else their sym user (the email).
type Identity struct {
	Service    string `json:"service"`
	ExternalID string `json:"external_id"`
	UserID     string `json:"user_id"`
}

// Event is the payload the function receives.
type Event struct {
	ID    string `json:"id"`
	Meta  Meta   `json:"meta"`
	State State  `json:"state"`
	Run   Run    `json:"run"`
	Event Info   `json:"event"`
	Actor Actor  `json:"actor"`
	// Fields are the request's fields: reason, duration (seconds), target,
	// target_id, and the flow's other prompt fields; a scheduled
	// de-escalation has deescalate_type instead of reason, duration and the
	// flow's fields.
	Fields map[string]any `json:"fields"`
	Type   string         `json:"type"`
}

// Meta carries the schema version.
type Meta struct {
	SchemaVersion int `json:"schema_version"`
}

// State is the run's state when the event fires.
type State struct {
	Status string   `json:"status"`
	Errors []string `json:"errors"`
}

// Run names the flow run (the request) and its actors by step.
type Run struct {
	SRN    string           `json:"srn"`
	Flow   string           `json:"flow"`
	Actors map[string]Actor `json:"actors"`
}

// Info is the event itself.
type Info struct {
	SRN       string `json:"srn"`
	Template  string `json:"template"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Channel   string `json:"channel"`
}

// Target is the target as the payload shows it; SRN is
// ORG:access_target:NAME:latest:ID, as the original names a target.
type Target struct {
	Name     string            `json:"name"`
	SRN      string            `json:"srn"`
	Type     string            `json:"type"`
	Label    string            `json:"label"`
	Settings map[string]string `json:"settings"`
}

func (s *Strategy) actor(g strategy.Grant, email string) Actor {
	a := Actor{User: UserSRN(orgOf(g), email), Name: email, Username: email, Identity: Identity{Service: "sym", ExternalID: g.Request.Org, UserID: email}}
	if email == g.Requester && g.Identity != "" {
		a.Identity = Identity{Service: "aws_lambda", ExternalID: g.Request.Org, UserID: g.Identity}
	}
	return a
}

// eventID names one event of a request: its escalation, or its
// de-escalation of a kind (scheduled, revoke, cleanup). A retry of the
// same step (after an error or a lost answer) sends the same id, as the
// original keeps an event's id across duplicate deliveries, so that a
// function can tell a duplicate from a new event.
func eventID(g strategy.Grant, eventType string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("sym:event:"+g.RequestID+":"+eventType+":"+g.Step.DeescalateType)).String()
}

// orgOf is the org's slug as the payload's SRNs carry it.
func orgOf(g strategy.Grant) string {
	if g.Request.Org == "" {
		return "default"
	}
	return g.Request.Org
}

// Payload builds the event for a step of the grant: eventType is escalate or
// deescalate; g.Step says who takes it and, for a de-escalation, why.
func (s *Strategy) Payload(g strategy.Grant, eventType string) Event {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := g.Step.At
	if at.IsZero() {
		at = now()
	}
	org := orgOf(g)
	ev := Event{ID: eventID(g, eventType), Meta: Meta{SchemaVersion: SchemaVersion}, Type: "event",
		State: State{Status: "approved", Errors: []string{}},
		Run: Run{SRN: fmt.Sprintf("srn:%s:flow_run:%s", org, g.RequestID), Flow: fmt.Sprintf("srn:%s:flow:%s:latest", org, g.Request.Flow),
			Actors: map[string]Actor{"request": s.actor(g, g.Requester)}},
		Event: Info{SRN: approvalEventSpec + eventType, Template: approvalTemplate, Type: eventType, Timestamp: at.UTC().Format(time.RFC3339Nano), Channel: "api"}}
	if g.Request.Approver != "" {
		ev.Run.Actors["approve"] = s.actor(g, g.Request.Approver)
	}
	target := Target{Name: g.Request.TargetName, SRN: org + ":access_target:" + g.Request.TargetName + ":latest:" + g.Request.TargetID, Type: g.TargetType, Label: g.Request.TargetLabel, Settings: g.TargetSettings}
	if target.Settings == nil {
		target.Settings = map[string]string{}
	}
	ev.Fields = map[string]any{"target": target, "target_id": g.Request.TargetID}
	actor := g.Step.Actor
	if eventType == "escalate" {
		if actor == "" {
			actor = g.Request.Approver
		}
	} else {
		ev.State.Status = "escalated"
	}
	if eventType == "deescalate" && g.Step.DeescalateType == "scheduled" {
		ev.Event.Channel = "internal"
		ev.Fields["deescalate_type"] = "scheduled"
		ev.Run.Actors["deescalate"] = Actor{User: UserSRN(org, "sym"), Name: "sym", Username: "sym", Identity: Identity{Service: "sym", ExternalID: org, UserID: "sym"}}
		ev.Actor = ev.Run.Actors["deescalate"]
		return ev
	}
	// The flow's other fields, as the original passes them; never in
	// place of the fields above.
	for name, v := range g.Request.Fields {
		if _, taken := ev.Fields[name]; !taken && name != "reason" && name != "duration" && name != "deescalate_type" {
			ev.Fields[name] = v
		}
	}
	ev.Fields["reason"] = g.Request.Reason
	ev.Fields["duration"] = int64(g.Request.Duration / time.Second)
	if eventType == "deescalate" {
		if actor == "" {
			actor = "sym" // the platform undoing a failed grant
		}
		ev.Fields["deescalate_type"] = g.Step.DeescalateType
		ev.Run.Actors["deescalate"] = s.actor(g, actor)
	}
	if actor == "" {
		actor = "sym"
	}
	ev.Actor = s.actor(g, actor)
	return ev
}
