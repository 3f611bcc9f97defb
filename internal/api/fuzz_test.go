package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
)

const fuzzAdmin = "fuzz-admin-token-0123456789"

// fuzzAPI is the API over a real SQLite store, without a listener: the
// fuzzers call its handler directly.
func fuzzAPI(f *testing.F) http.Handler { return fuzzAPIWith(f, awsauth.Guards{}) }

// fuzzAPIWith is fuzzAPI with the server's guard rails set.
func fuzzAPIWith(f *testing.F, guards awsauth.Guards) http.Handler {
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "sym.db"))
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(st, map[string]strategy.AccessStrategy{}, engine.Options{Log: log})
	f.Cleanup(func() { eng.Stop(); st.Close() })
	h := api.New(api.Config{Store: st, Engine: eng, AdminToken: fuzzAdmin, Log: log, Rates: api.Rates{RequestsPerMinute: -1, TokensPerMinute: -1},
		Guards: guards})
	for _, body := range []string{`{"email":"alice@example.com"}`} {
		req := httptest.NewRequest("POST", "/api/v1/users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzAdmin)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	return h
}

// endpoints that take a JSON body.
var fuzzEndpoints = []struct{ method, path string }{
	{"POST", "/api/v1/events/request"},
	{"POST", "/api/v1/tokens"},
	{"POST", "/api/v1/users"},
	{"PATCH", "/api/v1/users/alice@example.com"},
	{"POST", "/api/v1/entities/integrations"},
	{"POST", "/api/v1/entities/flows"},
	{"POST", "/api/v1/entities/access-targets"},
	{"POST", "/api/v1/entities/access-strategies"},
	{"POST", "/api/v1/entities/runtimes"},
	{"POST", "/api/v1/entities/log-destinations"},
	{"POST", "/api/v1/requests/nope/approve"},
}

// FuzzEndpointBodies sends each input as the body of every endpoint that
// takes one: no panic, no 500, and no goroutine left behind.
func FuzzEndpointBodies(f *testing.F) {
	for _, s := range []string{
		`{"flow":"x","flow_inputs":{"reason":"r","duration":"1h"},"user_email":"alice@example.com"}`,
		`{"user_email":"alice@example.com","ttl":"720h"}`, `{"user_email":"alice@example.com","ttl":"-1s"}`,
		`{"email":"b@example.com","role":"auditor","identities":{"aws_iam":"b"}}`, `{"role":"admin"}`,
		`{"type":"permission_context","slug":"c","settings":{"role_arn":"arn:aws:iam::123456789012:role/sym/X","external_id":"e"}}`,
		`{"type":"permission_context","slug":"d","settings":{"role_arn":"arn:awsevil:iam::1:role/../x"}}`,
		`{"slug":"f","environment_id":"nope","params":{"allow_revoke":false,"schedule_deescalation":false}}`,
		`{"type":"aws_iam_group","slug":"t","settings":{"iam_group":"g"}}`, `{"message":"ok"}`,
		`[]`, `null`, `{"a":`, `{"flow_inputs":{"duration":99999999999999}}`, `{"settings":{"x":{"y":1}}}`, "\x00", ``,
	} {
		f.Add(s)
	}
	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body string) {
		before := runtime.NumGoroutine()
		for _, e := range fuzzEndpoints {
			req := httptest.NewRequest(e.method, e.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+fuzzAdmin)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with body %q: %d %s", e.method, e.path, body, rec.Code, rec.Body.String())
			}
		}
		// Whatever the handler started must be gone.
		deadline := time.Now().Add(time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Fatalf("%d goroutines after the calls, %d before", n, before)
		}
	})
}
