package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/server"
	symslack "github.com/opensym/sym/internal/slack"
	"github.com/opensym/sym/internal/testenv"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

const (
	team          = "T0SYMTEST"
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	channel       = "C0REQUESTS"
)

// call is one Web API call the sym server made to Slack.
type call struct {
	Method string
	Form   url.Values     // form-encoded calls
	JSON   map[string]any // JSON calls (views.open)
}

// workspace is the Slack side of the test: slacktest's server with the
// methods sym uses answered from a small directory of people, recording
// every call.
type workspace struct {
	mu     sync.Mutex
	calls  []call
	people map[string]string // Slack user id -> email
	ts     int
	srv    *slacktest.Server
}

func startWorkspace(t *testing.T, people map[string]string) *workspace {
	ws := &workspace{people: people}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	record := func(method string, r *http.Request) call {
		c := call{Method: method}
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			_ = json.Unmarshal(body, &c.JSON)
		} else {
			c.Form, _ = url.ParseQuery(string(body))
		}
		ws.mu.Lock()
		ws.calls = append(ws.calls, c)
		ws.mu.Unlock()
		return c
	}
	ws.srv = slacktest.NewTestServer(func(s slacktest.Customize) {
		s.Handle("/views.open", func(w http.ResponseWriter, r *http.Request) {
			record("views.open", r)
			reply(w, map[string]any{"ok": true, "view": map[string]any{"id": "V1"}})
		})
		s.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			c := record("chat.postMessage", r)
			ws.mu.Lock()
			ws.ts++
			ts := fmt.Sprintf("1700000000.%06d", ws.ts)
			ws.mu.Unlock()
			reply(w, map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": ts})
		})
		s.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
			c := record("chat.update", r)
			reply(w, map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("ts")})
		})
		s.Handle("/chat.postEphemeral", func(w http.ResponseWriter, r *http.Request) {
			record("chat.postEphemeral", r)
			reply(w, map[string]any{"ok": true, "message_ts": "1700000000.999999"})
		})
		s.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			c := record("users.info", r)
			id := c.Form.Get("user")
			if email, ok := ws.people[id]; ok {
				reply(w, map[string]any{"ok": true, "user": map[string]any{"id": id, "profile": map[string]any{"email": email}}})
				return
			}
			reply(w, map[string]any{"ok": false, "error": "user_not_found"})
		})
		s.Handle("/users.lookupByEmail", func(w http.ResponseWriter, r *http.Request) {
			c := record("users.lookupByEmail", r)
			for id, email := range ws.people {
				if email == c.Form.Get("email") {
					reply(w, map[string]any{"ok": true, "user": map[string]any{"id": id}})
					return
				}
			}
			reply(w, map[string]any{"ok": false, "error": "users_not_found"})
		})
	})
	ws.srv.Start()
	t.Cleanup(ws.srv.Stop)
	return ws
}

// find lists the calls of a method that match.
func (ws *workspace) find(method string, match func(call) bool) []call {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var out []call
	for _, c := range ws.calls {
		if c.Method == method && (match == nil || match(c)) {
			out = append(out, c)
		}
	}
	return out
}

// wait waits until a call of the method matches.
func (ws *workspace) wait(t *testing.T, what, method string, match func(call) bool) call {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cs := ws.find(method, match); len(cs) > 0 {
			return cs[len(cs)-1]
		}
		if time.Now().After(deadline) {
			ws.mu.Lock()
			defer ws.mu.Unlock()
			t.Fatalf("no %s call for %s; calls made: %+v", method, what, ws.calls)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (ws *workspace) count(method string, match func(call) bool) int {
	return len(ws.find(method, match))
}

// dmTo matches a direct message to a Slack user that says something.
func dmTo(user, says string) func(call) bool {
	return func(c call) bool { return c.Form.Get("channel") == user && strings.Contains(c.Form.Get("text"), says) }
}

// post signs and sends a request as Slack does.
func post(t *testing.T, base, path string, form url.Values, at time.Time, secret string) (int, string) {
	t.Helper()
	body := form.Encode()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", symslack.Sign(secret, ts, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func slash(user, text, teamID string) url.Values {
	return url.Values{"command": {"/sym"}, "text": {text}, "team_id": {teamID}, "user_id": {user},
		"channel_id": {"C0GENERAL"}, "trigger_id": {"trigger-" + user}, "response_url": {"https://hooks.example/x"}}
}

func interaction(t *testing.T, v any) url.Values {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}
}

// waitState waits until a request is in a state (a click is answered
// before the engine is done with it).
func waitState(t *testing.T, srv *testenv.Server, id, state string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := srv.Engine.Get(context.Background(), id)
		if err == nil && string(r.State) == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %v (%v), want %s", id, r, err, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// blocksOf reads a message's blocks as JSON.
func blocksOf(c call) string { return c.Form.Get("blocks") }

// TestSlackApp runs the Slack app against slacktest: signatures, the slash
// command's modal, a submission that creates the request, the channel
// message with its buttons, a refused and an accepted click, messages
// updated in place and the requester's direct messages.
func TestSlackApp(t *testing.T) {
	ws := startWorkspace(t, map[string]string{"U0ALICE": "alice@example.com", "U0BOB": "bob@example.com",
		"U0CAROL": "carol@example.com", "U0ZED": "zed@example.com", "U0GHOST": "ghost@example.com"})
	m := testenv.StartMoto(t)
	aws := testenv.StartFaultProxy(t, m.URL) // for a slow grant
	opts := testenv.ServerOptions{Moto: m, AWSEndpoint: aws.URL, Slack: server.SlackOptions{
		BotToken: "xoxb-test-token", SigningSecret: signingSecret, APIURL: ws.srv.GetAPIURL(), Poll: 100 * time.Millisecond},
		Delivery: logdest.Options{Poll: 50 * time.Millisecond, BackoffBase: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond},
		Engine:   engine.Options{RetryBase: 20 * time.Millisecond}}
	srv := testenv.StartServerWith(t, opts)
	f := testenv.SetupIAMFlow(t, m, srv.URL, srv.AdminToken, testenv.IAMFlowOptions{
		Users: []string{"alice@example.com", "bob@example.com", "carol@example.com"},
		Vars:  map[string]string{"approvers": "bob@example.com", "request_channel": channel},
		Params: map[string]any{"prompt_fields": []any{
			map[string]any{"name": "duration", "type": "duration", "allowed_values": []any{"1h", "4h", "3s"}},
			map[string]any{"name": "ticket", "type": "string", "label": "Ticket", "required": false},
			map[string]any{"name": "hosts", "type": "str_list", "label": "Hosts", "required": false},
			map[string]any{"name": "urgent", "type": "bool", "label": "Urgent", "required": false, "default": true},
			map[string]any{"name": "env", "type": "string", "label": "Environment", "allowed_values": []any{"dev", "prod"}, "default": "prod"},
		}},
	})
	srv.NoLog("the Slack bot token", "xoxb-test-token")
	srv.NoLog("the Slack signing secret", signingSecret)
	srv.NoLog("a Slack request's body", "investigate incident 42")
	ctx := context.Background()
	var integ, logger struct{ ID string }
	if err := f.Admin.Do(ctx, "POST", "/entities/integrations", map[string]any{"type": "slack", "slug": "workspace", "external_id": team}, &integ); err != nil {
		t.Fatal(err)
	}
	if err := f.Admin.Do(ctx, "POST", "/entities/error-loggers", map[string]any{"integration_id": integ.ID, "destination": "#sym-errors"}, &logger); err != nil {
		t.Fatal(err)
	}
	var envs []struct{ ID string }
	if err := f.Admin.Do(ctx, "GET", "/entities/environments?slug=prod", nil, &envs); err != nil || len(envs) != 1 {
		t.Fatalf("find the environment: %v %v", envs, err)
	}
	if err := f.Admin.Do(ctx, "PATCH", "/entities/environments/"+envs[0].ID, map[string]any{"error_logger_id": logger.ID}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	t.Run("requests are verified before anything else", func(t *testing.T) {
		cases := []struct {
			name   string
			at     time.Time
			secret string
			want   string
		}{
			{"wrong secret", now, "not-the-signing-secret", "signature does not match"},
			{"stale timestamp", now.Add(-10 * time.Minute), signingSecret, "refused as a replay"},
			{"future timestamp", now.Add(10 * time.Minute), signingSecret, "refused as a replay"},
		}
		for _, c := range cases {
			status, body := post(t, srv.URL, "/slack/commands", slash("U0ALICE", "", team), c.at, c.secret)
			if status != 401 || !strings.Contains(body, c.want) {
				t.Fatalf("%s: %d %q, want 401 saying %q", c.name, status, body, c.want)
			}
		}
		req, _ := http.NewRequest("POST", srv.URL+"/slack/interactions", strings.NewReader("payload={}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("an unsigned interaction answered %d, want 401", resp.StatusCode)
		}
		if n := ws.count("views.open", nil) + ws.count("users.info", nil); n != 0 {
			t.Fatalf("refused requests still made %d Slack calls", n)
		}
		// Signed, but from a workspace no sym_integration declares.
		status, body := post(t, srv.URL, "/slack/commands", slash("U0ALICE", "", "T0OTHER"), now, signingSecret)
		if status != 200 || !strings.Contains(body, "workspace T0OTHER is not declared") {
			t.Fatalf("another workspace: %d %q", status, body)
		}
	})

	var id string
	var submitted url.Values // a signed submission, sent again after a restart
	t.Run("the slash command opens the flow's form and a submission creates the request", func(t *testing.T) {
		status, body := post(t, srv.URL, "/slack/commands", slash("U0ALICE", "", team), now, signingSecret)
		if status != 200 {
			t.Fatalf("/sym answered %d %q", status, body)
		}
		open := ws.wait(t, "the request form", "views.open", nil)
		if open.JSON["trigger_id"] != "trigger-U0ALICE" {
			t.Fatalf("views.open got trigger %v", open.JSON["trigger_id"])
		}
		view, _ := json.Marshal(open.JSON["view"])
		for _, want := range []string{`"callback_id":"sym_request"`, `"block_id":"target_id"`, `"block_id":"reason"`,
			`"block_id":"duration"`, `"block_id":"field:ticket"`, `"private_metadata":"` + f.FlowID + `"`, `"value":"4h"`} {
			if !strings.Contains(string(view), want) {
				t.Fatalf("the modal lacks %s:\n%s", want, view)
			}
		}
		submission := func(reason string) url.Values {
			return interaction(t, map[string]any{"type": "view_submission", "team": map[string]string{"id": team},
				"user": map[string]string{"id": "U0ALICE"}, "view": map[string]any{"callback_id": "sym_request", "private_metadata": f.FlowID,
					"state": map[string]any{"values": map[string]any{
						"target_id":    map[string]any{"value": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": f.Targets[0]}}},
						"reason":       map[string]any{"value": map[string]any{"type": "plain_text_input", "value": reason}},
						"duration":     map[string]any{"value": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "1h"}}},
						"field:ticket": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "INC-42"}},
						"field:hosts":  map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "web 1\n\n db 2 \n"}},
						"field:urgent": map[string]any{"value": map[string]any{"type": "checkboxes", "selected_options": []any{}}},
					}}}})
		}
		status, body = post(t, srv.URL, "/slack/interactions", submission(""), now, signingSecret)
		if status != 200 || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, `"reason":"That request is not complete: reason is required`) {
			t.Fatalf("a submission without a reason answered %d %s, want the error under the reason field", status, body)
		}
		submitted = submission("investigate incident 42\nfrom the pager")
		status, body = post(t, srv.URL, "/slack/interactions", submitted, now, signingSecret)
		if status != 200 || !strings.Contains(body, `"response_action":"clear"`) {
			t.Fatalf("the submission answered %d %s", status, body)
		}
		// The same signed submission again, within Slack's five minutes:
		// someone who captured it must not create a second request.
		status, body = post(t, srv.URL, "/slack/interactions", submission("investigate incident 42\nfrom the pager"), now, signingSecret)
		if status != 401 || !strings.Contains(body, "already received") {
			t.Fatalf("a replayed submission answered %d %s, want 401 saying it was already received", status, body)
		}
		mine, err := srv.Engine.ListFor(ctx, engine.Actor{Email: "alice@example.com", Role: "member"}, "", "", "", 10)
		if err != nil || len(mine) != 1 {
			t.Fatalf("alice has %d requests after a submission and its replay (%v), want 1", len(mine), err)
		}
		// A list is one item a line, as in the web form: "web 1" is one host.
		if got := mine[0].Fields["hosts"]; got != "web 1,db 2" {
			t.Fatalf("the hosts typed one a line were recorded as %q, want %q", got, "web 1,db 2")
		}
		// A checkbox whose default is yes starts ticked; alice unticked it,
		// and her no is recorded as no (the web form sends false too), not
		// replaced by the flow's default.
		if !regexp.MustCompile(`"block_id":"field:urgent".*"initial_options":\[\{[^]]*"value":"true"`).Match(view) {
			t.Fatalf("the modal's Urgent box, whose default is true, does not start ticked:\n%s", view)
		}
		// A choice starts at the flow's default, as the web form's does.
		if !regexp.MustCompile(`"block_id":"field:env","element":\{[^{]*"initial_option":\{[^}]*\},"value":"prod"`).Match(view) {
			t.Fatalf("the modal's Environment choice does not start at the default prod:\n%s", view)
		}
		if got := mine[0].Fields["urgent"]; got != "false" {
			t.Fatalf("an unticked Urgent box was recorded as %q, want false", got)
		}
		msg := ws.wait(t, "the request in its channel", "chat.postMessage", func(c call) bool { return c.Form.Get("channel") == channel })
		blocks := blocksOf(msg)
		for _, want := range []string{"alice@example.com", f.Targets[0], "investigate incident 42", "ticket: INC-42", `"action_id":"sym_approve"`, `"action_id":"sym_deny"`} {
			if !strings.Contains(blocks, want) {
				t.Fatalf("the channel message lacks %s:\n%s", want, blocks)
			}
		}
		var bs slackgo.Blocks
		if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
			t.Fatal(err)
		}
		for _, b := range bs.BlockSet {
			if a, ok := b.(*slackgo.ActionBlock); ok {
				for _, el := range a.Elements.ElementSet {
					if btn, ok := el.(*slackgo.ButtonBlockElement); ok && btn.ActionID == "sym_approve" {
						id = btn.Value
					}
				}
			}
		}
		r, err := srv.Engine.Get(ctx, id)
		if err != nil || r.State != "pending" || r.Requester != "alice@example.com" || r.Reason != "investigate incident 42\nfrom the pager" {
			t.Fatalf("the Approve button names request %q: %+v %v", id, r, err)
		}
		ws.wait(t, "alice told where her request went", "chat.postMessage", dmTo("U0ALICE", "posted to "+channel))
	})

	click := func(user, action string) (int, string) {
		return post(t, srv.URL, "/slack/interactions", interaction(t, map[string]any{"type": "block_actions",
			"team": map[string]string{"id": team}, "user": map[string]string{"id": user}, "channel": map[string]string{"id": channel},
			"actions": []map[string]any{{"action_id": action, "block_id": "decide", "type": "button", "value": id}}}), now, signingSecret)
	}

	t.Run("a click by someone who may not approve is refused in private", func(t *testing.T) {
		for _, who := range []string{"U0CAROL", "U0ALICE"} {
			if status, body := click(who, "sym_approve"); status != 200 {
				t.Fatalf("click answered %d %s", status, body)
			}
		}
		carol := ws.wait(t, "carol's refusal", "chat.postEphemeral", func(c call) bool { return c.Form.Get("user") == "U0CAROL" })
		if !strings.Contains(carol.Form.Get("text"), "You may not approve or deny this request") {
			t.Fatalf("carol was told %q", carol.Form.Get("text"))
		}
		alice := ws.wait(t, "alice's refusal", "chat.postEphemeral", func(c call) bool { return c.Form.Get("user") == "U0ALICE" })
		if !strings.Contains(alice.Form.Get("text"), "never their own") {
			t.Fatalf("alice was told %q", alice.Form.Get("text"))
		}
		// zed is in Slack but not in sym.
		click("U0ZED", "sym_deny")
		zed := ws.wait(t, "zed's refusal", "chat.postEphemeral", func(c call) bool { return c.Form.Get("user") == "U0ZED" })
		if !strings.Contains(zed.Form.Get("text"), "zed@example.com has no sym user") {
			t.Fatalf("zed was told %q", zed.Form.Get("text"))
		}
		if r, _ := srv.Engine.Get(ctx, id); r.State != "pending" {
			t.Fatalf("after refused clicks the request is %s, want pending", r.State)
		}
	})

	t.Run("an approver's click grants; the message updates in place; DMs follow", func(t *testing.T) {
		// Slack gives an app three seconds to answer a click, and shows the
		// clicker an error after that; a grant may take longer (Identity
		// Center is polled until it says SUCCEEDED). This one is held at
		// AWS: the click must be answered while it is still under way.
		slow := aws.Add(testenv.Fault{Action: "AddUserToGroup", Times: 1, Latency: 4 * time.Second})
		if status, body := click("U0BOB", "sym_approve"); status != 200 {
			t.Fatalf("bob's click answered %d %s", status, body)
		}
		if r, err := srv.Engine.Get(ctx, id); err != nil || r.State == "active" {
			t.Fatalf("bob's click was answered only after the grant was done (request %s, %v): Slack shows an error after three seconds", r.State, err)
		}
		waitState(t, srv, id, "active")
		if aws.Taken(slow) != 1 {
			t.Fatal("the grant did not go through the slow AddUserToGroup")
		}
		if got := testenv.GroupMembers(t, m, f.Groups[0]); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("IAM group holds %v, want [alice]", got)
		}
		posted := ws.find("chat.postMessage", func(c call) bool { return c.Form.Get("channel") == channel })
		if len(posted) != 1 {
			t.Fatalf("the request was posted %d times to its channel, want once (then updated)", len(posted))
		}
		upd := ws.wait(t, "the message updated", "chat.update", func(c call) bool {
			return c.Form.Get("ts") == "1700000000.000001" && strings.Contains(blocksOf(c), "access active")
		})
		if strings.Contains(blocksOf(upd), "sym_approve") {
			t.Fatalf("the updated message still has an Approve button:\n%s", blocksOf(upd))
		}
		ws.wait(t, "alice told of the approval", "chat.postMessage", dmTo("U0ALICE", "bob@example.com approved your request"))
		ws.wait(t, "alice told of the grant", "chat.postMessage", dmTo("U0ALICE", "You have access to *"+f.Targets[0]+"* until"))
		if status, _ := click("U0BOB", "sym_deny"); status != 200 {
			t.Fatal("second click failed")
		}
		late := ws.wait(t, "a late deny refused", "chat.postEphemeral", func(c call) bool { return c.Form.Get("user") == "U0BOB" })
		if !strings.Contains(late.Form.Get("text"), "This cannot be done now") {
			t.Fatalf("bob's late deny was answered %q", late.Form.Get("text"))
		}
	})

	t.Run("a revoke elsewhere updates the message and tells the requester", func(t *testing.T) {
		if err := f.Users["alice@example.com"].Do(ctx, "POST", "/requests/"+id+"/revoke", map[string]string{"message": "done"}, nil); err != nil {
			t.Fatal(err)
		}
		ws.wait(t, "alice told of the revoke", "chat.postMessage", dmTo("U0ALICE", "was revoked by alice@example.com"))
		ws.wait(t, "the message says revoked", "chat.update", func(c call) bool { return strings.Contains(blocksOf(c), "Access revoked") })
	})

	t.Run("a request made outside Slack is posted and can be denied from Slack", func(t *testing.T) {
		var r struct{ ID string }
		if err := f.Users["alice@example.com"].Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "from the API", "duration": "4h"}}, &r); err != nil {
			t.Fatal(err)
		}
		ws.wait(t, "the API's request in the channel", "chat.postMessage", func(c call) bool {
			return c.Form.Get("channel") == channel && strings.Contains(blocksOf(c), r.ID)
		})
		id = r.ID
		click("U0BOB", "sym_deny")
		ws.wait(t, "alice told of the denial", "chat.postMessage", dmTo("U0ALICE", "bob@example.com denied your request"))
		if got, _ := srv.Engine.Get(ctx, id); got.State != "denied" {
			t.Fatalf("after bob's deny the request is %s", got.State)
		}
	})

	t.Run("access that ends at its deadline is told to the requester", func(t *testing.T) {
		var r struct{ ID string }
		if err := f.Users["alice@example.com"].Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "a short look", "duration": "3s"}}, &r); err != nil {
			t.Fatal(err)
		}
		ws.wait(t, "the short request in the channel", "chat.postMessage", func(c call) bool {
			return c.Form.Get("channel") == channel && strings.Contains(blocksOf(c), r.ID)
		})
		id = r.ID
		if status, body := click("U0BOB", "sym_approve"); status != 200 {
			t.Fatalf("bob's click answered %d %s", status, body)
		}
		ws.wait(t, "alice told her access ended", "chat.postMessage", dmTo("U0ALICE", "Your access to *"+f.Targets[0]+"* ended at its deadline"))
		if got := testenv.GroupMembers(t, m, f.Groups[0]); len(got) != 0 {
			t.Fatalf("after the deadline the IAM group holds %v, want nobody", got)
		}
		if got, _ := srv.Engine.Get(ctx, id); got.State != "ended" {
			t.Fatalf("after the deadline the request is %s, want ended", got.State)
		}
	})

	t.Run("a failed grant reaches the error logger's channel and the requester", func(t *testing.T) {
		// ghost has a sym user whose IAM user does not exist: the grant fails.
		if err := f.Admin.Do(ctx, "POST", "/users", map[string]any{"email": "ghost@example.com", "role": "member",
			"identities": map[string]string{"aws_iam": "ghost"}}, nil); err != nil {
			t.Fatal(err)
		}
		var r struct{ ID string }
		if err := f.Admin.Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow, "user_email": "ghost@example.com",
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": "doomed", "duration": "1h"}}, &r); err != nil {
			t.Fatal(err)
		}
		id = r.ID
		ws.wait(t, "ghost's request in the channel", "chat.postMessage", func(c call) bool {
			return c.Form.Get("channel") == channel && strings.Contains(blocksOf(c), r.ID)
		})
		click("U0BOB", "sym_approve")
		waitState(t, srv, id, "errored")
		alert := ws.wait(t, "the error logger's post", "chat.postMessage", func(c call) bool { return c.Form.Get("channel") == "#sym-errors" })
		for _, want := range []string{"A grant failed for ghost@example.com", id} {
			if !strings.Contains(alert.Form.Get("text"), want) {
				t.Fatalf("the error channel was told %q, want it to say %q", alert.Form.Get("text"), want)
			}
		}
		ws.wait(t, "ghost told of the failure", "chat.postMessage", dmTo("U0GHOST", "could not be granted"))
		ws.wait(t, "the message says the grant failed", "chat.update", func(c call) bool { return strings.Contains(blocksOf(c), "The grant failed") })
	})

	t.Run("a request withdrawn or expired elsewhere loses its buttons; a late click says why", func(t *testing.T) {
		request := func(reason string) string {
			t.Helper()
			var r struct{ ID string }
			if err := f.Users["alice@example.com"].Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
				"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": reason, "duration": "1h"}}, &r); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		posted := func(rid string) {
			t.Helper()
			ws.wait(t, "the request in the channel", "chat.postMessage", func(c call) bool {
				return c.Form.Get("channel") == channel && strings.Contains(blocksOf(c), rid)
			})
		}
		updated := func(rid, says string) {
			t.Helper()
			upd := ws.wait(t, "the message says "+says, "chat.update", func(c call) bool {
				return strings.Contains(blocksOf(c), rid) && strings.Contains(blocksOf(c), says)
			})
			if strings.Contains(blocksOf(upd), "sym_approve") {
				t.Fatalf("the message that says %q still has an Approve button:\n%s", says, blocksOf(upd))
			}
		}
		refusedSaying := func(says string) {
			t.Helper()
			ws.wait(t, "bob's late click refused", "chat.postEphemeral", func(c call) bool {
				return c.Form.Get("user") == "U0BOB" && strings.Contains(c.Form.Get("text"), says)
			})
		}
		id = request("withdrawn soon")
		posted(id)
		if err := f.Users["alice@example.com"].Do(ctx, "POST", "/requests/"+id+"/withdraw", map[string]string{}, nil); err != nil {
			t.Fatal(err)
		}
		updated(id, "Withdrawn by the requester")
		click("U0BOB", "sym_approve")
		refusedSaying("request is withdrawn; it cannot be approved")

		vars := map[string]string{"approvers": "bob@example.com", "request_channel": channel, "request_timeout": "1s"}
		if err := f.Admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"vars": vars}, nil); err != nil {
			t.Fatal(err)
		}
		id = request("nobody answers")
		posted(id)
		waitState(t, srv, id, "expired")
		updated(id, "Expired")
		click("U0BOB", "sym_approve")
		refusedSaying("request is expired; it cannot be approved")
		delete(vars, "request_timeout")
		if err := f.Admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"vars": vars}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("what people typed is shown as text, never as Slack markup", func(t *testing.T) {
		// Slack reads <...> in a message as a mention or a link: a reason
		// could ping the whole channel, or put a link named "Open in sym"
		// anywhere. &, < and > must arrive escaped.
		reason := "<!channel> approve now <https://phish.example/login|Open in sym> & thanks"
		var r struct{ ID string }
		if err := f.Users["alice@example.com"].Do(ctx, "POST", "/events/request", map[string]any{"flow": f.Flow,
			"flow_inputs": map[string]any{"target_id": f.Targets[0], "reason": reason, "duration": "1h"}}, &r); err != nil {
			t.Fatal(err)
		}
		msg := ws.wait(t, "the request in the channel", "chat.postMessage", func(c call) bool {
			return c.Form.Get("channel") == channel && strings.Contains(blocksOf(c), r.ID)
		})
		var bs slackgo.Blocks
		if err := json.Unmarshal([]byte(blocksOf(msg)), &bs); err != nil {
			t.Fatal(err)
		}
		head := bs.BlockSet[0].(*slackgo.SectionBlock).Text.Text
		// The reason is quoted (a > that sym writes), and escaped.
		want := "\n> &lt;!channel&gt; approve now &lt;https://phish.example/login|Open in sym&gt; &amp; thanks"
		if !strings.Contains(head, want) || strings.Contains(head, "<!channel>") {
			t.Fatalf("the channel message shows the reason as %q, want it escaped: %q", head, want)
		}
		if err := f.Users["bob@example.com"].Do(ctx, "POST", "/requests/"+r.ID+"/deny", map[string]string{"message": "<!here> no <@U0CAROL>"}, nil); err != nil {
			t.Fatal(err)
		}
		dm := ws.wait(t, "alice told of the denial", "chat.postMessage", dmTo("U0ALICE", "U0CAROL"))
		if text := dm.Form.Get("text"); !strings.Contains(text, "&lt;!here&gt; no &lt;@U0CAROL&gt;") || strings.Contains(text, "<!here>") {
			t.Fatalf("the direct message shows the approver's message as %q, want it escaped", text)
		}
	})

	t.Run("a flow that allows only the API is not offered in Slack", func(t *testing.T) {
		var flow struct {
			Params map[string]any `json:"params"`
		}
		if err := f.Admin.Do(ctx, "GET", "/entities/flows/"+f.FlowID, nil, &flow); err != nil {
			t.Fatal(err)
		}
		flow.Params["allowed_sources"] = []string{"api"}
		if err := f.Admin.Do(ctx, "PATCH", "/entities/flows/"+f.FlowID, map[string]any{"params": flow.Params}, nil); err != nil {
			t.Fatal(err)
		}
		status, body := post(t, srv.URL, "/slack/commands", slash("U0ALICE", "aws-access", team), time.Now(), signingSecret)
		if status != 200 || !strings.Contains(body, "allowed_sources does not list slack") {
			t.Fatalf("/sym aws-access on an api-only flow answered %d %s", status, body)
		}
		// A submission of a form opened before the change is refused by the engine.
		status, body = post(t, srv.URL, "/slack/interactions", interaction(t, map[string]any{"type": "view_submission",
			"team": map[string]string{"id": team}, "user": map[string]string{"id": "U0ALICE"},
			"view": map[string]any{"callback_id": "sym_request", "private_metadata": f.FlowID, "state": map[string]any{"values": map[string]any{
				"reason": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "late"}}}}}}), time.Now(), signingSecret)
		if status != 200 || !strings.Contains(body, "takes requests only from api, not from slack") {
			t.Fatalf("a late submission answered %d %s", status, body)
		}
	})

	t.Run("a replay is refused after a restart too", func(t *testing.T) {
		if submitted == nil {
			t.Fatal("no submission to replay (an earlier subtest failed)")
		}
		shut, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			t.Fatal(err)
		}
		again := opts
		again.DB = srv.DB
		srv2 := testenv.StartServerWith(t, again)
		before, err := srv2.Engine.ListFor(ctx, engine.Actor{Email: "alice@example.com", Role: "member"}, "", "", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		status, body := post(t, srv2.URL, "/slack/interactions", submitted, now, signingSecret)
		if status != 401 || !strings.Contains(body, "already received") {
			t.Fatalf("the first submission replayed after a restart answered %d %s, want 401 saying it was already received", status, body)
		}
		after, err := srv2.Engine.ListFor(ctx, engine.Actor{Email: "alice@example.com", Role: "member"}, "", "", "", 100)
		if err != nil || len(after) != len(before) {
			t.Fatalf("alice has %d requests after the replay, %d before (%v)", len(after), len(before), err)
		}
	})
}
