package server_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/strategy/awslambda"
	"github.com/opensym/sym/internal/testenv"
)

// ssoAccount is the account the permission set is assigned in.
const ssoAccount = "111122223333"

// otherStrategies is one server in front of moto (through a Lambda endpoint
// of the test's own and a fault proxy) with the IAM flow of SetupIAMFlow,
// an aws_sso flow and an aws_lambda flow in the same environment.
type otherStrategies struct {
	moto   *testenv.Moto
	proxy  *testenv.FaultProxy
	fake   *testenv.FakeLambda
	srv    *testenv.Server
	iam    *testenv.IAMFlow
	sso    *testenv.SSO
	alice  *api.Client
	bob    *api.Client
	fnARN  string
	aliceU string // alice's identity-store user id
}

func setupOtherStrategies(t testing.TB) *otherStrategies {
	return setupOtherStrategiesWith(t, engine.Options{})
}

// setupOtherStrategiesWith is setupOtherStrategies with the engine's
// options (enforce mode, say).
func setupOtherStrategiesWith(t testing.TB, eo engine.Options) *otherStrategies {
	t.Helper()
	return setupOtherStrategiesOn(t, testenv.ServerOptions{Engine: eo})
}

// setupOtherStrategiesOn is setupOtherStrategies with the server's options
// (its AWS endpoint, moto and the SSO and Lambda timings are the set-up's).
func setupOtherStrategiesOn(t testing.TB, so testenv.ServerOptions) *otherStrategies {
	t.Helper()
	o := &otherStrategies{moto: testenv.StartMoto(t)}
	o.proxy = testenv.StartFaultProxy(t, o.moto.URL)
	o.fake = testenv.StartFakeLambda(t, o.proxy.URL)
	so.Moto, so.AWSEndpoint = o.moto, o.fake.URL
	so.SSOPollInterval, so.LambdaTimeout = 20*time.Millisecond, 500*time.Millisecond
	o.srv = testenv.StartServerWith(t, so)
	o.iam = testenv.SetupIAMFlow(t, o.moto, o.srv.URL, o.srv.AdminToken, testenv.IAMFlowOptions{
		Vars: map[string]string{"approvers": "bob@example.com"}})
	o.alice, o.bob = o.iam.Users["alice@example.com"], o.iam.Users["bob@example.com"]
	o.sso = testenv.SetupSSO(t, o.moto, "ReadOnly", "oncall", testenv.SSOUser{UserName: "alice@example.com", Email: "alice@example.com"})
	o.aliceU = o.sso.Users["alice@example.com"]
	o.fnARN = "arn:aws:lambda:us-east-1:123456789012:function:sym-grant"

	ctx := context.Background()
	admin := o.iam.Admin
	var envs []struct{ ID string }
	if err := admin.Do(ctx, "GET", "/entities/environments?slug=prod", nil, &envs); err != nil || len(envs) != 1 {
		t.Fatalf("find the environment: %v %v", envs, err)
	}
	post := func(kind string, body map[string]any) string {
		t.Helper()
		var e struct{ ID string }
		if err := admin.Do(ctx, "POST", "/entities/"+kind, body, &e); err != nil {
			t.Fatalf("create %s: %v", kind, err)
		}
		return e.ID
	}
	flow := func(name, strategy string, fields ...map[string]any) {
		params := map[string]any{"strategy_id": strategy, "allow_revoke": true, "schedule_deescalation": true}
		if len(fields) > 0 {
			params["prompt_fields"] = fields
		}
		post("flows", map[string]any{"slug": name, "environment_id": envs[0].ID, "vars": map[string]string{"approvers": "bob@example.com"},
			"params": params})
	}
	ssoCtx := post("integrations", map[string]any{"type": "permission_context", "slug": "prod-sso", "external_id": testenv.MotoAccount,
		"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/sym/SymSSOProd",
			"account_id": testenv.MotoAccount, "instance_arn": o.sso.InstanceARN}})
	ps := post("access-targets", map[string]any{"type": "aws_sso_permission_set", "slug": "readonly", "label": "Read-only",
		"settings": map[string]string{"permission_set_arn": o.sso.PermissionSetARN, "account_id": ssoAccount}})
	grp := post("access-targets", map[string]any{"type": "aws_sso_group", "slug": "oncall",
		"settings": map[string]string{"group_id": o.sso.GroupID}})
	// The strategy names no instance_arn: the SSO context's is used.
	flow("sso-access", post("access-strategies", map[string]any{"type": "aws_sso", "slug": "prod-sso", "integration_id": ssoCtx,
		"targets": []string{ps, grp}, "settings": map[string]string{"instance_arn": o.sso.InstanceARN}}))
	lambdaCtx := post("integrations", map[string]any{"type": "permission_context", "slug": "prod-lambda", "external_id": testenv.MotoAccount,
		"settings": map[string]string{"cloud": "aws", "region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/sym/SymLambdaProd",
			"account_id": testenv.MotoAccount}})
	fn := post("access-targets", map[string]any{"type": "aws_lambda_function", "slug": "db-access", "label": "Database access",
		"settings": map[string]string{"arn": o.fnARN}})
	// The Lambda flow asks for more than a reason and a duration, as
	// flows written for the original do; the function gets those fields.
	flow("lambda-access", post("access-strategies", map[string]any{"type": "aws_lambda", "slug": "prod-lambda", "integration_id": lambdaCtx,
		"targets": []string{fn}}),
		map[string]any{"name": "reason", "type": "string", "required": true},
		map[string]any{"name": "duration", "type": "duration", "required": true},
		map[string]any{"name": "ticket", "type": "string", "required": false},
		map[string]any{"name": "rows", "type": "int", "required": false},
		map[string]any{"name": "read_only", "type": "bool", "required": false},
		map[string]any{"name": "schemas", "type": "str_list", "required": false})
	return o
}

// detailKeys are an audit event's detail keys, target settings folded into
// "target.*" and the flow's own prompt fields ("field.*") left out: the
// shape of the event, whatever the strategy.
func detailKeys(t *testing.T, c *api.Client, requestID string) [][]string {
	t.Helper()
	var evs []event
	if err := c.Do(context.Background(), "GET", "/requests/"+requestID+"/events", nil, &evs); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, e := range evs {
		keys := map[string]bool{}
		for k := range e.Details {
			if strings.HasPrefix(k, "field.") {
				continue
			}
			if strings.HasPrefix(k, "target.") {
				k = "target.*"
			}
			keys[k] = true
		}
		out = append(out, slices.Sorted(maps.Keys(keys)))
	}
	return out
}

// TestOtherStrategiesEndToEnd runs aws_sso and aws_lambda requests through
// the same API as aws_iam, against moto: assignments and memberships made
// on approve and gone after expiry and revoke, FAILED creations, grants not
// active before Identity Center says SUCCEEDED, the Lambda payload on the
// wire, errors answers, function errors and timeouts retried.
func TestOtherStrategiesEndToEnd(t *testing.T) {
	o := setupOtherStrategies(t)
	alice, bob := o.alice, o.bob

	// The IAM flow's shape, for comparison.
	iamReq := ask(t, alice, o.iam.Flow, o.iam.Targets[0], "2s")
	do(t, bob, "POST", "/requests/"+iamReq.ID+"/approve", nil, 200)
	waitState(t, alice, iamReq.ID, "ended", 15*time.Second)
	iamTypes, iamShape := eventTypes(t, alice, iamReq.ID), detailKeys(t, alice, iamReq.ID)

	t.Run("sso: assigned on approve, gone after expiry, same contract as IAM", func(t *testing.T) {
		r := ask(t, alice, "sso-access", "readonly", "2s")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "active" {
			t.Fatalf("approved request is %s (%s)", a.State, a.Error)
		}
		if got := o.sso.Assigned(t, ssoAccount); !slices.Equal(got, []string{o.aliceU}) {
			t.Fatalf("assignments during the grant: %v, want [%s]", got, o.aliceU)
		}
		ended := waitState(t, alice, r.ID, "ended", 15*time.Second)
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after expiry: %v", got)
		}
		if ended.DeescalateType != "scheduled" {
			t.Fatalf("deescalate_type %q", ended.DeescalateType)
		}
		if got := eventTypes(t, alice, r.ID); !slices.Equal(got, iamTypes) {
			t.Fatalf("audit events %v, the IAM flow's are %v", got, iamTypes)
		}
		if got := detailKeys(t, alice, r.ID); !slices.EqualFunc(got, iamShape, slices.Equal) {
			t.Fatalf("audit details %v, the IAM flow's are %v", got, iamShape)
		}
		// alice has no aws_sso identity: sym found her by email, and the
		// escalate and deescalate events say whom they acted on.
		var evs []event
		if err := alice.Do(context.Background(), "GET", "/requests/"+r.ID+"/events", nil, &evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if (e.Type == "escalate" || e.Type == "deescalate") && e.Details["identity"] != "alice@example.com" {
				t.Fatalf("%s event names identity %q, want alice@example.com", e.Type, e.Details["identity"])
			}
		}
	})

	t.Run("sso: revoke", func(t *testing.T) {
		r := ask(t, alice, "sso-access", "readonly", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if got := o.sso.Assigned(t, ssoAccount); !slices.Equal(got, []string{o.aliceU}) {
			t.Fatalf("assignments during the grant: %v", got)
		}
		if v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" || v.DeescalateType != "revoke" {
			t.Fatalf("after revoke: %s %s", v.State, v.DeescalateType)
		}
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after revoke: %v", got)
		}
	})

	t.Run("sso: group membership", func(t *testing.T) {
		r := ask(t, alice, "sso-access", "oncall", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if got := o.sso.Members(t); !slices.Equal(got, []string{o.aliceU}) {
			t.Fatalf("group members during the grant: %v", got)
		}
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		if got := o.sso.Members(t); len(got) != 0 {
			t.Fatalf("group members after revoke: %v", got)
		}
	})

	t.Run("sso: a failed user lookup is retried before anything is recorded", func(t *testing.T) {
		// dave is new to the strategy (no cached lookup); his first
		// GetUserId is refused as IAM refuses a role whose policy is still
		// propagating.
		ctx := context.Background()
		var tok struct{ Token string }
		if err := o.iam.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "dave@example.com"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := o.iam.Admin.Do(ctx, "POST", "/tokens", map[string]string{"user_email": "dave@example.com"}, &tok); err != nil {
			t.Fatal(err)
		}
		dave := api.NewClient(o.srv.URL, tok.Token)
		daveU := o.sso.AddUser(t, testenv.SSOUser{UserName: "dave@example.com", Email: "dave@example.com"})
		deny := o.proxy.Add(testenv.Fault{Action: "GetUserId", Status: 403, Code: "AccessDeniedException", Message: "not yet", Times: 1})
		defer o.proxy.Remove(deny)
		before := o.proxy.Seen("GetUserId")
		r := ask(t, dave, "sso-access", "readonly", "1h")
		if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
			t.Fatalf("after one refused lookup the grant must be retried: %s %q", a.State, a.Error)
		}
		if n := o.proxy.Seen("GetUserId") - before; n < 2 {
			t.Fatalf("%d GetUserId calls, want the refused one and its retry", n)
		}
		if got := o.sso.Assigned(t, ssoAccount); !slices.Equal(got, []string{daveU}) {
			t.Fatalf("assignments: %v, want dave's", got)
		}
		do(t, dave, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	})

	t.Run("sso: FAILED errors the request with AWS's reason and leaves nothing", func(t *testing.T) {
		const reason = "Received a 404 status error: Not supported policy arn:aws:iam::aws:policy/Nope"
		f1 := o.proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := o.proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: testenv.AssignmentStatus("FAILED", reason)})
		r := ask(t, alice, "sso-access", "readonly", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		o.proxy.Remove(f1)
		o.proxy.Remove(f2)
		if a.State != "errored" || !strings.Contains(a.Error, reason) {
			t.Fatalf("request after a FAILED creation: %s %q", a.State, a.Error)
		}
		// moto made the assignment behind the rewritten answers: the
		// clean-up removed it.
		if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
			t.Fatalf("assignments after a FAILED creation: %v", got)
		}
	})

	t.Run("sso: not active before SUCCEEDED (TEAM #522)", func(t *testing.T) {
		f1 := o.proxy.Add(testenv.Fault{Action: "CreateAccountAssignment", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		f2 := o.proxy.Add(testenv.Fault{Action: "DescribeAccountAssignmentCreationStatus", Rewrite: testenv.AssignmentStatus("IN_PROGRESS", "")})
		r := ask(t, alice, "sso-access", "readonly", "1h")
		before := o.proxy.Seen("DescribeAccountAssignmentCreationStatus")
		done := make(chan *req, 1)
		go func() {
			var out req
			_ = bob.Do(context.Background(), "POST", "/requests/"+r.ID+"/approve", nil, &out)
			done <- &out
		}()
		deadline := time.Now().Add(15 * time.Second)
		for o.proxy.Seen("DescribeAccountAssignmentCreationStatus")-before < 3 {
			if time.Now().After(deadline) {
				t.Fatal("the grant never read the assignment's status")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := do(t, alice, "GET", "/requests/"+r.ID, nil, 200); got.State != "approved" {
			t.Fatalf("while Identity Center says IN_PROGRESS the request is %s, want approved (not yet active)", got.State)
		}
		o.proxy.Remove(f2)
		o.proxy.Remove(f1)
		if a := <-done; a.State != "active" {
			t.Fatalf("after SUCCEEDED the request is %s (%s)", a.State, a.Error)
		}
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
	})

	t.Run("sso: overlapping grants keep access until the last ends (TEAM #279)", func(t *testing.T) {
		for _, c := range []struct {
			target string
			held   func(*testing.T) []string
		}{
			{"readonly", func(t *testing.T) []string { return o.sso.Assigned(t, ssoAccount) }},
			{"oncall", func(t *testing.T) []string { return o.sso.Members(t) }},
		} {
			r1 := ask(t, alice, "sso-access", c.target, "1h")
			do(t, bob, "POST", "/requests/"+r1.ID+"/approve", nil, 200)
			r2 := ask(t, alice, "sso-access", c.target, "1h")
			if a := do(t, bob, "POST", "/requests/"+r2.ID+"/approve", nil, 200); a.State != "active" {
				t.Fatalf("%s: second grant %s %s", c.target, a.State, a.Error)
			}
			if got := c.held(t); !slices.Equal(got, []string{o.aliceU}) {
				t.Fatalf("%s: with two grants open: %v, want alice once", c.target, got)
			}
			do(t, alice, "POST", "/requests/"+r1.ID+"/revoke", nil, 200)
			if got := c.held(t); !slices.Equal(got, []string{o.aliceU}) {
				t.Fatalf("%s: the first grant's end took away access the second still covers: %v", c.target, got)
			}
			do(t, alice, "POST", "/requests/"+r2.ID+"/revoke", nil, 200)
			if got := c.held(t); len(got) != 0 {
				t.Fatalf("%s: after the last grant ended: %v", c.target, got)
			}
		}
	})

	t.Run("sso: a standing assignment is left alone", func(t *testing.T) {
		ctx := context.Background()
		admin := ssoadmin.NewFromConfig(o.moto.AWSConfig(t))
		in := &ssoadmin.CreateAccountAssignmentInput{InstanceArn: aws.String(o.sso.InstanceARN), PermissionSetArn: aws.String(o.sso.PermissionSetARN),
			PrincipalId: aws.String(o.aliceU), PrincipalType: ssotypes.PrincipalTypeUser, TargetId: aws.String(ssoAccount), TargetType: ssotypes.TargetTypeAwsAccount}
		if _, err := admin.CreateAccountAssignment(ctx, in); err != nil {
			t.Fatal(err)
		}
		r := ask(t, alice, "sso-access", "readonly", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		if got := o.sso.Assigned(t, ssoAccount); !slices.Equal(got, []string{o.aliceU}) {
			t.Fatalf("the assignment alice held before sym granted is gone: %v", got)
		}
		if _, err := admin.DeleteAccountAssignment(ctx, &ssoadmin.DeleteAccountAssignmentInput{InstanceArn: in.InstanceArn,
			PermissionSetArn: in.PermissionSetArn, PrincipalId: in.PrincipalId, PrincipalType: in.PrincipalType,
			TargetId: in.TargetId, TargetType: in.TargetType}); err != nil {
			t.Fatal(err)
		}
	})

	// ---- aws_lambda ----

	var lambdaMode atomic.Int32 // what the function answers next
	const (
		answerOK = iota
		answerErrors
		hangThenFailThenOK
		failDeescalateTwice
	)
	var calls atomic.Int32
	o.fake.Answer = func(n int, payload []byte, w http.ResponseWriter, r *http.Request) {
		c := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		deescalate := strings.Contains(string(payload), `"type":"deescalate"`)
		switch lambdaMode.Load() {
		case answerErrors:
			_, _ = w.Write([]byte(`{"body": null, "errors": ["database user alice is locked"]}`))
			return
		case hangThenFailThenOK:
			switch c {
			case 1:
				<-r.Context().Done()
				return
			case 2:
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				_, _ = w.Write([]byte(`{"errorMessage":"connection refused","errorType":"OSError"}`))
				return
			}
		case failDeescalateTwice:
			if deescalate && c <= 2 {
				_, _ = w.Write([]byte(`{"errors": ["try again"]}`))
				return
			}
		}
		_, _ = w.Write([]byte(`{"body": {"granted": true}, "errors": []}`))
	}
	payloadsOf := func(t *testing.T, requestID string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, b := range o.fake.Payloads() {
			var p map[string]any
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("payload is not JSON: %s", b)
			}
			if at(p, "run.srn") == "srn:default:flow_run:"+requestID {
				out = append(out, p)
			}
		}
		return out
	}

	t.Run("lambda: the payload on the wire, escalate then scheduled de-escalation", func(t *testing.T) {
		lambdaMode.Store(answerOK)
		r := do(t, alice, "POST", "/events/request", map[string]any{"flow": "lambda-access", "flow_inputs": map[string]any{
			"target_id": "db-access", "reason": "investigate incident 42", "duration": "2s",
			"ticket": "INC-42", "rows": 500, "read_only": "true", "schemas": "billing,audit"}}, 201)
		if a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200); a.State != "active" {
			t.Fatalf("approved request is %s (%s)", a.State, a.Error)
		}
		ended := waitState(t, alice, r.ID, "ended", 15*time.Second)
		ps := payloadsOf(t, r.ID)
		if len(ps) != 2 {
			t.Fatalf("the function got %d events for the request, want escalate and deescalate", len(ps))
		}
		sym := func(email string) map[string]any {
			return map[string]any{"username": email, "name": email, "user": awslambda.UserSRN("default", email),
				"identity": map[string]any{"service": "sym", "external_id": "default", "user_id": email}}
		}
		targetID, _ := at(ps[0], "fields.target_id").(string)
		for path, want := range map[string]any{
			"meta.schema_version": float64(6), "type": "event", "state.status": "approved", "state.errors": []any{},
			"run.flow": "srn:default:flow:lambda-access:latest", "run.actors.request": sym("alice@example.com"),
			"run.actors.approve": sym("bob@example.com"), "actor": sym("bob@example.com"),
			"event.type": "escalate", "event.channel": "api",
			"event.srn": "sym:event-spec:approval:1.0.0:escalate", "event.template": "sym:template:approval:1.0.0",
			"fields.reason": "investigate incident 42", "fields.duration": float64(2),
			// The flow's other fields, typed as the flow declares them.
			"fields.ticket": "INC-42", "fields.rows": float64(500), "fields.read_only": true,
			"fields.schemas": []any{"billing", "audit"},
			"fields.target": map[string]any{"name": "db-access", "type": "aws_lambda_function", "label": "Database access",
				"srn": "default:access_target:db-access:latest:" + targetID, "settings": map[string]any{"arn": o.fnARN}},
		} {
			if got := at(ps[0], path); !equalJSON(got, want) {
				t.Errorf("escalate %s = %#v, want %#v", path, got, want)
			}
		}
		if targetID == "" {
			t.Error("escalate fields.target_id is empty")
		}
		for path, want := range map[string]any{
			"event.type": "deescalate", "event.channel": "internal", "fields.deescalate_type": "scheduled",
			"run.actors.deescalate.username": "sym", "actor.username": "sym", "actor.user": "default:user:sym:latest",
			"event.srn": "sym:event-spec:approval:1.0.0:deescalate",
		} {
			if got := at(ps[1], path); !equalJSON(got, want) {
				t.Errorf("scheduled deescalate %s = %#v, want %#v", path, got, want)
			}
		}
		if f := at(ps[1], "fields").(map[string]any); f["reason"] != nil || f["duration"] != nil || f["ticket"] != nil {
			t.Errorf("a scheduled de-escalation carries no reason, duration or prompt fields: %v", f)
		}
		if ended.DeescalateType != "scheduled" {
			t.Fatalf("deescalate_type %q", ended.DeescalateType)
		}
		if got := eventTypes(t, alice, r.ID); !slices.Equal(got, iamTypes) {
			t.Fatalf("audit events %v, the IAM flow's are %v", got, iamTypes)
		}
		if got := detailKeys(t, alice, r.ID); !slices.EqualFunc(got, iamShape, slices.Equal) {
			t.Fatalf("audit details %v, the IAM flow's are %v", got, iamShape)
		}
	})

	t.Run("lambda: a requester's aws_lambda identity is theirs in the payload", func(t *testing.T) {
		lambdaMode.Store(answerOK)
		ctx := context.Background()
		if err := o.iam.Admin.Do(ctx, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{"aws_lambda": "alice-db"}}, nil); err != nil {
			t.Fatalf("set alice's aws_lambda identity: %v", err)
		}
		defer func() {
			if err := o.iam.Admin.Do(ctx, "PATCH", "/users/alice@example.com", map[string]any{"identities": map[string]string{"aws_lambda": ""}}, nil); err != nil {
				t.Fatal(err)
			}
		}()
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200)
		ps := payloadsOf(t, r.ID)
		if len(ps) != 2 {
			t.Fatalf("the function got %d events, want escalate and deescalate", len(ps))
		}
		want := map[string]any{"username": "alice@example.com", "name": "alice@example.com", "user": awslambda.UserSRN("default", "alice@example.com"),
			"identity": map[string]any{"service": "aws_lambda", "external_id": "default", "user_id": "alice-db"}}
		for i, p := range ps {
			if got := at(p, "run.actors.request"); !equalJSON(got, want) {
				t.Errorf("event %d run.actors.request = %#v, want %#v", i, got, want)
			}
		}
	})

	t.Run("lambda: an errors answer errors the request with the function's messages", func(t *testing.T) {
		lambdaMode.Store(answerErrors)
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "errored" || !strings.Contains(a.Error, "database user alice is locked") {
			t.Fatalf("request after an errors answer: %s %q", a.State, a.Error)
		}
		if n := len(payloadsOf(t, r.ID)); n < 1 {
			t.Fatal("the function was not invoked")
		}
	})

	t.Run("lambda: a timeout and a function error are retried", func(t *testing.T) {
		lambdaMode.Store(hangThenFailThenOK)
		calls.Store(0)
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		a := do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		if a.State != "active" {
			t.Fatalf("after a timeout and a function error the third attempt must grant: %s %q", a.State, a.Error)
		}
		if n := len(payloadsOf(t, r.ID)); n != 3 {
			t.Fatalf("the function got %d escalate events, want 3", n)
		}
		lambdaMode.Store(answerOK)
		if v := do(t, alice, "POST", "/requests/"+r.ID+"/revoke", nil, 200); v.State != "ended" {
			t.Fatalf("revoke: %s", v.State)
		}
		ps := payloadsOf(t, r.ID)
		last := ps[len(ps)-1]
		if at(last, "actor.username") != "alice@example.com" || at(last, "fields.deescalate_type") != "revoke" {
			t.Fatalf("revoke payload: %v", last)
		}
	})

	t.Run("the reconciler reads SSO targets and leaves Lambda targets alone", func(t *testing.T) {
		rep, err := o.srv.Engine.Reconcile(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Errors) != 0 || len(rep.Actions) != 0 {
			t.Fatalf("with every grant ended, the reconciler reports errors %v and actions %v", rep.Errors, rep.Actions)
		}
	})

	t.Run("lambda: de-escalation is retried until it succeeds", func(t *testing.T) {
		lambdaMode.Store(answerOK)
		r := ask(t, alice, "lambda-access", "db-access", "1h")
		do(t, bob, "POST", "/requests/"+r.ID+"/approve", nil, 200)
		calls.Store(0)
		lambdaMode.Store(failDeescalateTwice)
		// The revoke answers at once that removal failed and will be retried.
		_ = alice.Do(context.Background(), "POST", "/requests/"+r.ID+"/revoke", nil, nil)
		waitState(t, alice, r.ID, "ended", 20*time.Second)
		types := eventTypes(t, alice, r.ID)
		if types[len(types)-1] != "deescalate" || !slices.Contains(types, "deescalate_failed") {
			t.Fatalf("audit events %v: want failed de-escalations, then the de-escalation", types)
		}
	})
}

// TestSSOCrashAfterCreate: the server dies after CreateAccountAssignment
// landed and before the grant was recorded (the ledger entry intended, the
// request approved). Started again after the deadline passed, it removes
// the assignment from the ledger; started before, it finishes the grant
// without a second assignment.
func TestSSOCrashAfterCreate(t *testing.T) {
	o := setupOtherStrategies(t)
	alice, bob := o.alice, o.bob
	late := ask(t, alice, "sso-access", "readonly", "2s")
	do(t, bob, "POST", "/requests/"+late.ID+"/approve", nil, 200)
	early := ask(t, alice, "sso-access", "oncall", "1h")
	do(t, bob, "POST", "/requests/"+early.ID+"/approve", nil, 200)
	if err := o.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashBeforeRecorded(t, o.srv.DB, late.ID)
	crashBeforeRecorded(t, o.srv.DB, early.ID)
	if got := o.sso.Assigned(t, ssoAccount); !slices.Equal(got, []string{o.aliceU}) {
		t.Fatalf("before the restart the assignment is there: %v", got)
	}
	time.Sleep(2 * time.Second) // the first grant's deadline passes while the server is down
	again := testenv.StartServerWith(t, testenv.ServerOptions{Moto: o.moto, AWSEndpoint: o.fake.URL, DB: o.srv.DB, SSOPollInterval: 20 * time.Millisecond})
	admin := api.NewClient(again.URL, again.AdminToken)
	waitState(t, admin, late.ID, "ended", 15*time.Second)
	if got := o.sso.Assigned(t, ssoAccount); len(got) != 0 {
		t.Fatalf("after the restart, past the deadline: assignments %v", got)
	}
	waitState(t, admin, early.ID, "active", 15*time.Second)
	if got := o.sso.Members(t); !slices.Equal(got, []string{o.aliceU}) {
		t.Fatalf("the finished grant's group members: %v, want alice once", got)
	}
	do(t, admin, "POST", "/requests/"+early.ID+"/revoke", nil, 200)
	if got := o.sso.Members(t); len(got) != 0 {
		t.Fatalf("after revoke: %v", got)
	}
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

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
