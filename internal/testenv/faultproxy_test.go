package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultProxyRules drives each kind of fault through the proxy to a
// plain HTTP backend that counts what reaches it, with requests shaped as
// the AWS SDK sends them (a query API form, a JSON API target header).
func TestFaultProxyRules(t *testing.T) {
	var reached atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "<ok/>")
	}))
	defer backend.Close()
	p := StartFaultProxy(t, backend.URL)
	query := func(action string) (*http.Response, error) {
		return http.Post(p.URL, "application/x-www-form-urlencoded; charset=utf-8",
			strings.NewReader(url.Values{"Action": {action}, "Version": {"2010-05-08"}}.Encode()))
	}
	jsonCall := func(target string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", p.URL, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		return http.DefaultClient.Do(req)
	}
	body := func(resp *http.Response) string {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	// Throttling twice, then through.
	p.Add(Fault{Action: "AddUserToGroup", Status: 400, Code: "Throttling", Times: 2})
	for i, want := range []int{400, 400, 200} {
		resp, err := query("AddUserToGroup")
		if err != nil || resp.StatusCode != want {
			t.Fatalf("call %d: %v %v, want %d", i+1, resp, err, want)
		}
		if b := body(resp); want == 400 && !strings.Contains(b, "<Code>Throttling</Code>") {
			t.Fatalf("throttling answer %q", b)
		}
	}
	if p.Seen("AddUserToGroup") != 3 || p.Forwarded("AddUserToGroup") != 1 || reached.Load() != 1 {
		t.Fatalf("seen %d forwarded %d reached %d", p.Seen("AddUserToGroup"), p.Forwarded("AddUserToGroup"), reached.Load())
	}

	// A JSON API's 5xx, matched by the part of X-Amz-Target after the dot.
	p.Add(Fault{Action: "CreateAccountAssignment", Status: 503})
	resp, err := jsonCall("SWBExternalService.CreateAccountAssignment")
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("X-Amzn-ErrorType") != "InternalFailure" || !strings.Contains(body(resp), `"__type":"InternalFailure"`) {
		t.Fatalf("JSON 5xx: %v %v", resp, err)
	}

	// A reset never reaches the backend; a dropped reply does.
	p.Clear()
	p.Add(Fault{Action: "RemoveUserFromGroup", Reset: true, Times: 1})
	p.Add(Fault{Action: "RemoveUserFromGroup", DropReply: true, Times: 1})
	before := reached.Load()
	if _, err := query("RemoveUserFromGroup"); err == nil {
		t.Fatal("a reset call got an answer")
	}
	if reached.Load() != before {
		t.Fatal("a reset call reached the backend")
	}
	if _, err := query("RemoveUserFromGroup"); err == nil {
		t.Fatal("a call whose reply was dropped got an answer")
	}
	if reached.Load() != before+1 {
		t.Fatal("a call whose reply was dropped did not reach the backend")
	}
	if resp, err := query("RemoveUserFromGroup"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the rules ran out: %v %v", resp, err)
	}

	// Latency delays the call, then forwards it.
	p.Add(Fault{Action: "*", Latency: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	if resp, err := query("GetGroup"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("delayed call: %v %v", resp, err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("the latency rule did not delay the call (%s)", waited)
	}
	if c := p.Counts(); c["GetGroup"] != 1 || c["SWBExternalService.CreateAccountAssignment"] != 1 {
		t.Fatalf("counts %v", c)
	}
}
