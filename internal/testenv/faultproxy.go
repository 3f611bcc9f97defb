package testenv

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy sits between sym and moto in the test process and breaks AWS
// calls on purpose, by the AWS action they carry: the `Action` form field of
// the query APIs (IAM, STS), or the X-Amz-Target header of the JSON APIs
// (SSO Admin, Identity Store, Kinesis, Firehose), or else "METHOD /path" for
// REST APIs (Lambda). Point a server at it with ServerOptions.AWSEndpoint.
//
// Rules are tried in the order they were added; the first that matches a
// call and still has uses left decides what happens to it. A call no rule
// takes is forwarded untouched.
type FaultProxy struct {
	URL    string
	target *url.URL
	proxy  *httputil.ReverseProxy
	srv    *httptest.Server

	mu        sync.Mutex
	rules     []*Fault
	seen      map[string]int // calls that reached the proxy, by action
	forwarded map[string]int // calls that reached moto, by action
}

// Fault is one rule of a FaultProxy. Set exactly one of Reset, DropReply,
// Status or Rewrite (Latency may go with any, or alone).
type Fault struct {
	// Action is the AWS action the rule applies to: "AddUserToGroup",
	// "SWBExternalService.CreateAccountAssignment" or its part after the dot,
	// "POST /2015-03-31/functions/f/invocations"; "*" matches every call.
	Action string
	// Times is how many calls the rule takes before it stops applying;
	// 0 means every call until the rule is removed.
	Times int
	// Latency delays the call before anything else happens to it.
	Latency time.Duration
	// Reset closes the connection without forwarding the call: it never
	// reaches AWS.
	Reset bool
	// DropReply forwards the call, so that it takes effect at AWS, and then
	// closes the connection instead of answering: the caller cannot know.
	DropReply bool
	// Status answers with an AWS error of this HTTP status without
	// forwarding: 500 or 503 for a server error, 400 with Code "Throttling"
	// for throttling, 403 with Code "AccessDenied" for a refusal.
	Status int
	// Code and Message are the error's code and text; Code defaults to
	// "InternalFailure" for a 5xx and "Throttling" otherwise.
	Code    string
	Message string
	// Rewrite forwards the call, so that it takes effect at AWS, and answers
	// with the reply's body changed by this function (an asynchronous
	// operation still IN_PROGRESS, or FAILED with a reason, say).
	Rewrite func(body []byte) []byte
	// Probability, when set (0 < p < 1), makes the rule take only that
	// share of the calls it matches, at random: one call in ten fails.
	Probability float64
	// OverRate, when set, makes the rule take only the calls beyond this
	// many a second (a bucket of one second's worth): a quota, as IAM
	// throttles an account that calls it too fast.
	OverRate float64

	used   int
	taken  int // calls the rule took
	tokens float64
	last   time.Time
}

// takes decides, under the proxy's lock, whether a matching rule takes
// this call.
func (f *Fault) takes(now time.Time) bool {
	if f.Probability > 0 && f.Probability < 1 && rand.Float64() >= f.Probability {
		return false
	}
	if f.OverRate > 0 {
		if f.last.IsZero() {
			f.tokens, f.last = f.OverRate, now
		}
		f.tokens = min(f.OverRate, f.tokens+now.Sub(f.last).Seconds()*f.OverRate)
		f.last = now
		if f.tokens >= 1 {
			f.tokens--
			return false // within the quota
		}
	}
	return true
}

// StartFaultProxy starts a proxy in front of the AWS endpoint target (moto's
// URL) and stops it when the test ends.
func StartFaultProxy(tb testing.TB, target string) *FaultProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("fault proxy target %q: %v", target, err)
	}
	p := &FaultProxy{target: u, proxy: httputil.NewSingleHostReverseProxy(u),
		seen: map[string]int{}, forwarded: map[string]int{}}
	p.srv = httptest.NewServer(p)
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// Add appends a rule and returns it, so that it can be removed alone.
func (p *FaultProxy) Add(f Fault) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := f
	p.rules = append(p.rules, &r)
	return &r
}

// Taken is how many calls a rule took so far.
func (p *FaultProxy) Taken(f *Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f.taken
}

// Remove takes one rule out.
func (p *FaultProxy) Remove(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.rules {
		if r == f {
			p.rules = append(p.rules[:i], p.rules[i+1:]...)
			return
		}
	}
}

// Clear removes every rule: AWS is healthy again.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// Seen is how many calls of an action reached the proxy ("*": all calls).
func (p *FaultProxy) Seen(action string) int { return p.count(p.seen, action) }

// Forwarded is how many calls of an action reached moto ("*": all calls).
func (p *FaultProxy) Forwarded(action string) int { return p.count(p.forwarded, action) }

func (p *FaultProxy) count(m map[string]int, action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if action == "*" {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	n := 0
	for k, v := range m {
		if matches(action, k) {
			n += v
		}
	}
	return n
}

// Counts copies the calls that reached the proxy, by action.
func (p *FaultProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.seen))
	for k, v := range p.seen {
		out[k] = v
	}
	return out
}

// matches reports whether a rule's action names the call's action: equal,
// or the part after the last dot of an X-Amz-Target.
func matches(rule, action string) bool {
	if rule == "*" || strings.EqualFold(rule, action) {
		return true
	}
	if i := strings.LastIndexByte(action, '.'); i >= 0 && !strings.Contains(action, " ") {
		return strings.EqualFold(rule, action[i+1:])
	}
	return false
}

// actionOf names the AWS action of a call; the body is restored for
// forwarding.
func actionOf(r *http.Request) (string, bool) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t, true
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return form.Get("Action"), false
		}
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a, false
	}
	return r.Method + " " + r.URL.Path, false
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, jsonAPI := actionOf(r)
	p.mu.Lock()
	p.seen[action]++
	var rule Fault
	for _, f := range p.rules {
		if matches(f.Action, action) && (f.Times == 0 || f.used < f.Times) {
			if !f.takes(time.Now()) {
				continue // not this call: a later rule may take it
			}
			f.used++
			f.taken++
			rule = *f
			break
		}
	}
	p.mu.Unlock()

	if rule.Latency > 0 {
		select {
		case <-time.After(rule.Latency):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case rule.Reset:
		resetConn(w)
	case rule.DropReply:
		p.markForwarded(action)
		rec := httptest.NewRecorder()
		p.proxy.ServeHTTP(rec, r)
		resetConn(w)
	case rule.Status != 0:
		writeAWSError(w, rule, jsonAPI)
	case rule.Rewrite != nil:
		p.markForwarded(action)
		rec := httptest.NewRecorder()
		p.proxy.ServeHTTP(rec, r)
		body := rule.Rewrite(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Header().Del("X-Amz-Crc32")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	default:
		p.markForwarded(action)
		p.proxy.ServeHTTP(w, r)
	}
}

func (p *FaultProxy) markForwarded(action string) {
	p.mu.Lock()
	p.forwarded[action]++
	p.mu.Unlock()
}

// resetConn closes the client's connection with a TCP reset, without a
// reply.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fault proxy: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func writeAWSError(w http.ResponseWriter, f Fault, jsonAPI bool) {
	code := f.Code
	if code == "" {
		code = "Throttling"
		if f.Status >= 500 {
			code = "InternalFailure"
		}
	}
	msg := f.Message
	if msg == "" {
		msg = "injected by the test's fault proxy"
	}
	if jsonAPI {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
		return
	}
	kind := "Sender"
	if f.Status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
		kind, code, msg)
}
