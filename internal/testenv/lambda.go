package testenv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// CreateLambda creates a Python function in moto (which, without Docker,
// answers an invocation with its payload) and returns its ARN.
func CreateLambda(tb testing.TB, m *Moto, name string) string {
	tb.Helper()
	ctx := context.Background()
	cfg := m.AWSConfig(tb)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		tb.Fatalf("create the function's role: %v", err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("lambda_function.py")
	_, _ = io.WriteString(w, "def handler(event, context):\n    return {\"body\": {\"ok\": True}, \"errors\": []}\n")
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	out, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name),
		Runtime: types.RuntimePython312, Role: role.Role.Arn, Handler: aws.String("lambda_function.handler"),
		Code: &types.FunctionCode{ZipFile: zipped.Bytes()}})
	if err != nil {
		tb.Fatalf("create Lambda function %s: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

// QueueLambdaResults makes moto's next invocations (of any function) answer
// these payloads, in order, instead of echoing the event.
func (m *Moto) QueueLambdaResults(tb testing.TB, results ...string) {
	tb.Helper()
	b, _ := json.Marshal(map[string]any{"region": "us-east-1", "results": results})
	if err := m.post("/moto-api/static/lambda-simple/response", string(b)); err != nil {
		tb.Fatal(err)
	}
}

// FakeLambda is an AWS endpoint for tests: Lambda invocations are answered
// by Answer, every other call goes to moto. It records each invocation's
// payload.
type FakeLambda struct {
	URL string
	// Answer decides the reply to an invocation (the n-th, from 1): write
	// nothing to hang until the caller gives up.
	Answer func(n int, payload []byte, w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	payloads [][]byte
}

// StartFakeLambda starts the endpoint in front of target (moto's URL, or a
// fault proxy's).
func StartFakeLambda(tb testing.TB, target string) *FakeLambda {
	tb.Helper()
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	f := &FakeLambda{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/invocations") {
			proxy.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.payloads = append(f.payloads, body)
		n, answer := len(f.payloads), f.Answer
		f.mu.Unlock()
		if answer == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"body":{},"errors":[]}`))
			return
		}
		answer(n, body, w, r)
	}))
	f.URL = srv.URL
	tb.Cleanup(srv.Close)
	return f
}

// Payloads copies the invocation payloads received so far.
func (f *FakeLambda) Payloads() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.payloads...)
}
