package awslambda_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
	"github.com/opensym/sym/internal/strategy/awslambda"
	"github.com/opensym/sym/internal/testenv"
)

func grant(arn string) strategy.Grant {
	return strategy.Grant{RequestID: "3b0c6a55-0c1e-4c55-9d7e-6f3f2a1b9c01", Requester: "alice@example.com", StrategyType: "aws_lambda",
		Runtime:          awsauth.Runtime{RoleARN: "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", ExternalID: "ext-secret-1", Region: "us-east-1"},
		ConnectorRoleARN: "arn:aws:iam::123456789012:role/sym/SymLambdaProd", Region: "us-east-1",
		TargetType: "aws_lambda_function", TargetSettings: map[string]string{"arn": arn},
		Request: strategy.RequestInfo{Org: "acme", Flow: "lambda-access", Reason: "incident 42", Duration: 90 * time.Minute,
			Approver: "bob@example.com", TargetID: "t-1", TargetName: "prod-db", TargetLabel: "Production DB"},
		Step: strategy.Step{Actor: "bob@example.com", At: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)}}
}

// TestKeyIsPerRun: two runs of one requester through one function are two
// grants, so that each is de-escalated.
func TestKeyIsPerRun(t *testing.T) {
	s := &awslambda.Strategy{}
	a, b := grant("arn:aws:lambda:us-east-1:123456789012:function:f"), grant("arn:aws:lambda:us-east-1:123456789012:function:f")
	b.RequestID = "5d2e8c77-1f3a-4b6c-8d9e-0a1b2c3d4e5f"
	ka, err := s.Key(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := s.Key(b)
	if err != nil {
		t.Fatal(err)
	}
	if ka.Identity == kb.Identity || ka.Target != kb.Target {
		t.Fatalf("keys of two runs: %+v and %+v; want one target, two identities", ka, kb)
	}
}

// decode reads a payload as generic JSON, the way a Python function sees it.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload is not a JSON object: %v: %s", err, b)
	}
	return m
}

func at(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// originalSchema lists what the original's published payload schema
// (schema_version 4 and later; its Lambda templates parse the payload with
// it) requires; a function built on it refuses a payload without one.
var originalSchema = []string{"id", "meta", "state.status", "state.errors", "run.srn", "run.flow", "event.srn", "event.type",
	"event.template", "event.timestamp", "actor.user", "actor.name", "actor.identity.service", "actor.identity.external_id",
	"fields.target.name", "fields.target.srn", "fields.target.type", "fields.target.label", "fields.target.settings", "type"}

// checkOriginalSchema reports each key of originalSchema the payload lacks
// (or leaves empty), and each SRN it adds that is not in the original's
// shape ORG:MODEL:SLUG:VERSION[:IDENTIFIER].
func checkOriginalSchema(t *testing.T, p map[string]any) {
	t.Helper()
	for _, k := range originalSchema {
		if v := at(p, k); v == nil || v == "" {
			t.Errorf("the payload lacks %s, which the original's schema requires", k)
		}
	}
	for _, k := range []string{"event.srn", "event.template", "actor.user", "fields.target.srn"} {
		s, _ := at(p, k).(string)
		parts := strings.Split(s, ":")
		if len(parts) < 4 || len(parts) > 5 || slices.Contains(parts, "") {
			t.Errorf("%s = %q is not an SRN of the original's shape ORG:MODEL:SLUG:VERSION[:IDENTIFIER]", k, s)
		}
	}
}

// TestInvokeAgainstMoto invokes a function in moto through the connector
// chain; moto without Docker answers with the event it received, which is
// checked field by field against REFERENCE.md section 10.
func TestInvokeAgainstMoto(t *testing.T) {
	m := testenv.StartMoto(t)
	arn := testenv.CreateLambda(t, m, "sym-grant")
	s := &awslambda.Strategy{Chain: awsauth.NewChain(m.AWSConfig(t), nil)}
	ctx := context.Background()
	g := grant(arn)

	t.Run("escalate", func(t *testing.T) {
		out, err := s.Invoke(ctx, g, "escalate")
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, out)
		checkOriginalSchema(t, p)
		actor := func(email string) map[string]any {
			return map[string]any{"username": email, "name": email, "user": awslambda.UserSRN("acme", email),
				"identity": map[string]any{"service": "sym", "external_id": "acme", "user_id": email}}
		}
		for path, want := range map[string]any{
			"meta.schema_version": float64(6),
			"type":                "event",
			"state.status":        "approved",
			"state.errors":        []any{},
			"run.srn":             "srn:acme:flow_run:" + g.RequestID,
			"run.flow":            "srn:acme:flow:lambda-access:latest",
			"run.actors.request":  actor("alice@example.com"),
			"run.actors.approve":  actor("bob@example.com"),
			"event.type":          "escalate",
			"event.srn":           "sym:event-spec:approval:1.0.0:escalate",
			"event.template":      "sym:template:approval:1.0.0",
			"event.timestamp":     "2026-11-23T15:00:00Z",
			"event.channel":       "api",
			"actor":               actor("bob@example.com"),
			"fields.reason":       "incident 42",
			"fields.duration":     float64(5400),
			"fields.target_id":    "t-1",
			"fields.target": map[string]any{"name": "prod-db", "type": "aws_lambda_function", "label": "Production DB",
				"srn": "acme:access_target:prod-db:latest:t-1", "settings": map[string]any{"arn": arn}},
		} {
			if got := at(p, path); !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %#v, want %#v", path, got, want)
			}
		}
		if id, _ := p["id"].(string); len(id) != 36 {
			t.Errorf("id = %q, want a UUID", id)
		}
		// The same event sent again (a retry after a lost answer) has the
		// same id, so that a function can tell a duplicate; another event,
		// or the same event of another request, has another.
		again, err := s.Invoke(ctx, g, "escalate")
		if err != nil {
			t.Fatal(err)
		}
		other := g
		other.RequestID = "5d2e8c77-1f3a-4b6c-8d9e-0a1b2c3d4e5f"
		elsewhere, err := s.Invoke(ctx, other, "escalate")
		if err != nil {
			t.Fatal(err)
		}
		revoke := g
		revoke.Step = strategy.Step{DeescalateType: "revoke", Actor: "carol@example.com"}
		undo, err := s.Invoke(ctx, revoke, "deescalate")
		if err != nil {
			t.Fatal(err)
		}
		if id, id2 := p["id"], decode(t, again)["id"]; id != id2 {
			t.Errorf("the escalation sent twice has ids %v and %v, want one", id, id2)
		}
		if id, id3, id4 := p["id"], decode(t, elsewhere)["id"], decode(t, undo)["id"]; id == id3 || id == id4 {
			t.Errorf("ids %v (escalate), %v (another request's), %v (the revoke): want three", id, id3, id4)
		}
		if strings.Contains(string(out), "ext-secret-1") {
			t.Error("the External ID leaked into the payload")
		}
		if _, ok := at(p, "fields").(map[string]any)["deescalate_type"]; ok {
			t.Error("an escalation has no deescalate_type")
		}
	})

	t.Run("scheduled de-escalation says so", func(t *testing.T) {
		g := g
		g.Step = strategy.Step{DeescalateType: "scheduled", At: time.Date(2026, 11, 23, 16, 30, 0, 0, time.UTC)}
		out, err := s.Invoke(ctx, g, "deescalate")
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, out)
		checkOriginalSchema(t, p)
		sym := map[string]any{"username": "sym", "name": "sym", "user": "acme:user:sym:latest",
			"identity": map[string]any{"service": "sym", "external_id": "acme", "user_id": "sym"}}
		for path, want := range map[string]any{
			"event.type":             "deescalate",
			"event.srn":              "sym:event-spec:approval:1.0.0:deescalate",
			"event.template":         "sym:template:approval:1.0.0",
			"event.channel":          "internal",
			"state.status":           "escalated",
			"fields.deescalate_type": "scheduled",
			"run.actors.deescalate":  sym,
			"actor":                  sym,
			"fields.target_id":       "t-1",
		} {
			if got := at(p, path); !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %#v, want %#v", path, got, want)
			}
		}
		fields := at(p, "fields").(map[string]any)
		for _, absent := range []string{"reason", "duration"} {
			if _, ok := fields[absent]; ok {
				t.Errorf("a scheduled de-escalation carries no %s", absent)
			}
		}
	})

	t.Run("revoke names the revoker", func(t *testing.T) {
		g := g
		g.Step = strategy.Step{DeescalateType: "revoke", Actor: "carol@example.com"}
		out, err := s.Invoke(ctx, g, "deescalate")
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, out)
		checkOriginalSchema(t, p)
		if at(p, "actor.username") != "carol@example.com" || at(p, "event.channel") != "api" || at(p, "fields.deescalate_type") != "revoke" || at(p, "fields.reason") != "incident 42" {
			t.Errorf("revoke payload: %s", out)
		}
	})

	t.Run("an errors answer fails the step with its messages", func(t *testing.T) {
		m.QueueLambdaResults(t, `{"body": null, "errors": ["no such database user", "quota reached"]}`, `{"errors": ["still failing"]}`)
		err := s.Escalate(ctx, g)
		if !strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "errors: no such database user; quota reached") {
			t.Fatalf("Escalate: %v", err)
		}
		err = s.Deescalate(ctx, g)
		if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "still failing") {
			t.Fatalf("a failed de-escalation is an ordinary (retried) error: %v", err)
		}
		if err := s.Deescalate(ctx, g); err != nil {
			t.Fatalf("the next de-escalation succeeds: %v", err)
		}
	})
}

// TestFunctionErrorAndTimeout answers through an in-test Lambda endpoint: a
// function error and a function that never answers are ordinary errors
// (the engine retries them), with what the function said. A function that
// does not exist grants nothing: NotGrantedError;
// its removal cannot tell it from one deleted since it granted, and is an
// ordinary error.
func TestFunctionErrorAndTimeout(t *testing.T) {
	m := testenv.StartMoto(t)
	fake := testenv.StartFakeLambda(t, m.URL)
	s := &awslambda.Strategy{Chain: awsauth.NewChain(testenv.AWSConfigAt(t, fake.URL), nil), Timeout: 300 * time.Millisecond}
	g := grant("arn:aws:lambda:us-east-1:123456789012:function:sym-grant")
	fake.Answer = func(n int, payload []byte, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"errorMessage":"division by zero","errorType":"ZeroDivisionError"}`))
		case 2:
			<-r.Context().Done() // never answers
		case 4, 5:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:sym-grant"}`))
		default:
			_, _ = w.Write([]byte(`{"body":{"granted":true},"errors":[]}`))
		}
	}
	err := s.Escalate(context.Background(), g)
	if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "ZeroDivisionError: division by zero") {
		t.Fatalf("function error: %v", err)
	}
	err = s.Escalate(context.Background(), g)
	if err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("timeout: %v", err)
	}
	if err := s.Escalate(context.Background(), g); err != nil {
		t.Fatalf("third invocation: %v", err)
	}
	err = s.Escalate(context.Background(), g)
	if !strategy.IsNotGranted(err) || !strings.Contains(err.Error(), "function:sym-grant does not exist") {
		t.Fatalf("a function that does not exist: %v, want a NotGrantedError naming it", err)
	}
	if err := s.Deescalate(context.Background(), g); err == nil || strategy.IsNotGranted(err) {
		t.Fatalf("removal through a function that does not exist: %v, want an ordinary error", err)
	}
	if n := len(fake.Payloads()); n != 5 {
		t.Fatalf("the fake received %d invocations, want 5", n)
	}
}

// TestGuardRailsAtGrant: a function the server's guard rails no longer
// admit (--allowed-accounts narrowed after the target was written), or one
// in another partition than the runtime role (no role of the chain can
// invoke it), is refused before anything is invoked, as a guard error the
// engine does not retry. A de-escalation is never refused: a run escalated
// before the flags changed is still taken back through the function.
func TestGuardRailsAtGrant(t *testing.T) {
	m := testenv.StartMoto(t)
	fake := testenv.StartFakeLambda(t, m.URL)
	chain := awsauth.NewChain(testenv.AWSConfigAt(t, fake.URL), nil)
	chain.Guards = awsauth.Guards{Accounts: []string{"123456789012"}}
	s := &awslambda.Strategy{Chain: chain}
	ctx := context.Background()
	for _, c := range []struct{ arn, want string }{
		{"arn:aws:lambda:us-east-1:999999999999:function:sym-grant", "--allowed-accounts"},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:sym-grant", "partition"},
	} {
		err := s.Escalate(ctx, grant(c.arn))
		if !awsauth.IsGuard(err) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.arn) {
			t.Errorf("escalation through %s: %v, want a guard error naming the function and %s", c.arn, err, c.want)
		}
	}
	if n := len(fake.Payloads()); n != 0 {
		t.Fatalf("the function was invoked %d times through targets the guard rails refuse", n)
	}
	if err := s.Deescalate(ctx, grant("arn:aws:lambda:us-east-1:999999999999:function:sym-grant")); err != nil {
		t.Fatalf("de-escalation of a run granted before the flags changed: %v", err)
	}
	if n := len(fake.Payloads()); n != 1 {
		t.Fatalf("the de-escalation invoked the function %d times, want 1", n)
	}
}

// TestErrorsOfAnotherShape: a function that says it failed with errors as
// one message, or as an object, rather than a list of messages, has failed
// all the same: the step is not done (an escalation is refused, a
// de-escalation retried), and the message is kept. Empty errors, in any
// of these shapes, are success.
func TestErrorsOfAnotherShape(t *testing.T) {
	m := testenv.StartMoto(t)
	fake := testenv.StartFakeLambda(t, m.URL)
	s := &awslambda.Strategy{Chain: awsauth.NewChain(testenv.AWSConfigAt(t, fake.URL), nil)}
	g := grant("arn:aws:lambda:us-east-1:123456789012:function:sym-grant")
	var answer string
	fake.Answer = func(_ int, _ []byte, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	}
	ctx := context.Background()
	for _, c := range []struct{ answer, want string }{
		{`{"body": {}, "errors": "could not revoke: database unreachable"}`, "could not revoke: database unreachable"},
		{`{"body": {}, "errors": {"message": "quota reached", "code": "429"}}`, "quota reached"},
	} {
		answer = c.answer
		if err := s.Escalate(ctx, g); !strategy.IsNotGranted(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("escalation answered %s: %v, want a refusal with the function's message", c.answer, err)
		}
		if err := s.Deescalate(ctx, g); err == nil || strategy.IsNotGranted(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("de-escalation answered %s: %v, want an ordinary (retried) error with the function's message", c.answer, err)
		}
	}
	for _, ok := range []string{`{"body": {}, "errors": []}`, `{"body": {}, "errors": ""}`, `{"body": {}, "errors": null}`, `{"body": {}}`, `null`} {
		answer = ok
		if err := s.Escalate(ctx, g); err != nil {
			t.Errorf("escalation answered %s: %v, want success", ok, err)
		}
		if err := s.Deescalate(ctx, g); err != nil {
			t.Errorf("de-escalation answered %s: %v, want success", ok, err)
		}
	}
}
