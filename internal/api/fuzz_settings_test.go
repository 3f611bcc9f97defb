package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensym/sym/internal/awsauth"
)

// settingsKinds are the entity kinds whose bodies carry a settings-like map
// (settings, vars, params, integrations), with the references each needs.
var settingsKinds = []string{"integrations", "access-targets", "access-strategies", "secret-sources", "secrets",
	"log-destinations", "flows", "environments", "runtimes"}

// parseSettings reads "key=value" lines into a settings map; a line
// without "=" is a key with an empty value, and the value @context is the
// id of the runtime's permission context (so that references can hold).
func parseSettings(s, contextID string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		if v == "@context" {
			v = contextID
		}
		out[k] = v
	}
	return out
}

// FuzzEntitySettings writes an entity of one of the kinds that carry
// settings, with an arbitrary type and settings map, through the API's
// entity write path (the validation and guard rails the server applies,
// here with --allowed-accounts, --allowed-runtime-roles and
// --allowed-group-paths set), then updates it with other arbitrary
// settings, reads it back and deletes it: no panic, no 500, nothing left
// running.
func FuzzEntitySettings(f *testing.F) {
	for _, s := range []struct {
		kind           uint8
		typ, set, next string
	}{
		{0, "permission_context", "cloud=aws\nregion=us-east-1\nrole_arn=arn:aws:iam::123456789012:role/sym/SymRuntimeProd\nexternal_id=e\naccount_id_safelist=111122223333",
			"role_arn=arn:aws-cn:iam::123456789012:role/sym/X\npolicy_arns=arn:aws:iam::aws:policy/AdministratorAccess"},
		{0, "permission_context", "role_arn=arn:awsevil:iam::1:role/../x", "role_arn="},
		{0, "permission_context", "cloud=gcp\nrole_arn=nope", "account_id=999999999999"},
		{0, "slack", "", "x=\x00"},
		{1, "aws_iam_group", "iam_group=sym-admins", "iam_group="},
		{1, "aws_sso_permission_set", "permission_set_arn=arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef\naccount_id=123456789012", "account_id=12"},
		{1, "aws_lambda_function", "arn=arn:aws:lambda:us-east-1:123456789012:function:f", "arn=arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"},
		{2, "aws_sso", "instance_arn=arn:aws:sso:::instance/ssoins-1234567890abcdef", "instance_arn=x"},
		{2, "aws_iam", "", "integration_id=nope"},
		{3, "aws_secrets_manager", "context_id=@context", "context_id=nope"},
		{3, "aws_secrets_manager", "context_id=", "context_id=@context"},
		{4, "", "x=y", ""},
		{5, "kinesis_data_stream", "stream_name=arn:aws:kinesis:us-east-1:999999999999:stream/s", "stream_name=s"},
		{5, "http", "url=http://127.0.0.1:1/", "url=::"},
		{6, "", "approvers=alice@example.com\nallow_self_approval=true", "strategy_id=nope\nallow_revoke=false\nrequest_timeout=-1h\nschedule_deescalation=1"},
		{6, "", "approvers=alice@example.com", "allow_revoke=false\nrequest_timeout=\"30m\"\nallowed_durations=[\"1h\",\"x\"]"},
		{7, "", "slack=nope", "aws=x"},
		{8, "", "context_id=nope", ""},
		{255, "\xff", "=\n==\n\n", "\u2028=\u0000"},
	} {
		f.Add(s.kind, s.typ, s.set, s.next)
	}
	guards := awsauth.Guards{Accounts: []string{"123456789012", "111122223333"},
		RuntimeRoles: []string{"arn:aws:iam::123456789012:role/sym/*"}, GroupPaths: []string{"/sym/", "/teams/"}}
	h := fuzzAPIWith(f, guards)
	call := func(t *testing.T, method, path string, body any) (int, map[string]any) {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(method, path, strings.NewReader(string(b)))
		if body == nil {
			req = httptest.NewRequest(method, path, nil)
		}
		req.Header.Set("Authorization", "Bearer "+fuzzAdmin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %s: %d %s", method, path, b, rec.Code, rec.Body.String())
		}
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	// What the entities refer to: a runtime context, a runtime, an
	// environment, a strategy and a secrets source inside the rails.
	refs := map[string]string{}
	made := func(kind string, body map[string]any) string {
		rec := httptest.NewRecorder()
		b, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", "/api/v1/entities/"+kind, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+fuzzAdmin)
		h.ServeHTTP(rec, req)
		var out struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 201 || err != nil || out.ID == "" {
			f.Fatalf("create the %s the fuzzed entities refer to: %d %s", kind, rec.Code, rec.Body.String())
		}
		return out.ID
	}
	refs["context_id"] = made("integrations", map[string]any{"type": "permission_context", "slug": "fz-runtime-context",
		"settings": map[string]string{"role_arn": "arn:aws:iam::123456789012:role/sym/SymRuntimeProd", "external_id": "e", "region": "us-east-1"}})
	refs["runtime_id"] = made("runtimes", map[string]any{"slug": "fz-runtime", "context_id": refs["context_id"]})
	refs["environment_id"] = made("environments", map[string]any{"slug": "fz-env", "runtime_id": refs["runtime_id"]})
	refs["strategy_id"] = made("access-strategies", map[string]any{"type": "aws_iam", "slug": "fz-strategy", "integration_id": refs["context_id"]})
	refs["source_id"] = made("secret-sources", map[string]any{"type": "aws_secrets_manager", "slug": "fz-source",
		"settings": map[string]string{"context_id": refs["context_id"]}})
	var n atomic.Int64

	f.Fuzz(func(t *testing.T, kind uint8, typ, set, next string) {
		before := runtime.NumGoroutine()
		k := settingsKinds[int(kind)%len(settingsKinds)]
		slug := fmt.Sprintf("fz-%d", n.Add(1))
		settings, patch := parseSettings(set, refs["context_id"]), parseSettings(next, refs["context_id"])
		body := map[string]any{"slug": slug}
		update := map[string]any{}
		switch k {
		case "flows":
			params := map[string]any{"strategy_id": refs["strategy_id"]}
			for key, v := range patch {
				var x any
				if json.Unmarshal([]byte(v), &x) == nil {
					params[key] = x
				} else {
					params[key] = v
				}
			}
			body["environment_id"], body["vars"], body["params"] = refs["environment_id"], settings, params
			update["vars"], update["params"] = patch, params
		case "environments":
			body["runtime_id"], body["integrations"] = refs["runtime_id"], settings
			update["integrations"] = patch
		case "runtimes":
			body["context_id"] = refs["context_id"]
			if id, ok := settings["context_id"]; ok {
				body["context_id"] = id
			}
			update["label"] = next
		case "secrets":
			delete(body, "slug")
			body["path"], body["source_id"], body["settings"] = "/fz/"+slug, refs["source_id"], settings
			update["settings"] = patch
		default:
			body["type"], body["settings"] = typ, settings
			if k == "access-strategies" || k == "log-destinations" {
				body["integration_id"] = refs["context_id"]
			}
			if k == "log-destinations" {
				delete(body, "slug")
			}
			update["settings"] = patch
		}
		code, out := call(t, "POST", "/api/v1/entities/"+k, body)
		if code == 201 {
			id, _ := out["id"].(string)
			if id == "" {
				t.Fatalf("POST %s answered 201 without an id: %v", k, out)
			}
			path := "/api/v1/entities/" + k + "/" + id
			call(t, "PATCH", path, update)
			if code, _ := call(t, "GET", path, nil); code != http.StatusOK {
				t.Fatalf("GET %s after its creation: %d", path, code)
			}
			call(t, "DELETE", path, nil)
		}
		deadline := time.Now().Add(time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if now := runtime.NumGoroutine(); now > before {
			t.Fatalf("%d goroutines after the calls, %d before", now, before)
		}
	})
}
