package server_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/server"
)

// linesWith are the lines of a log that hold substr.
func linesWith(log, substr string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// TestTLSProbesAreNotWarnings: behind a load balancer that checks the HTTPS
// port by opening a TCP connection and closing it (every few seconds, from
// each of its nodes), the server wrote a WARN line for every check ("http:
// TLS handshake error from ...: EOF"), which --log-level warn could not
// silence. A handshake a client abandons is a debug line; one that fails
// for a reason (here plain HTTP sent to the HTTPS port) is an info line
// that says the reason; neither is a warning.
func TestTLSProbesAreNotWarnings(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	logs := &syncBuffer{}
	cfg := aws.Config{Region: "us-east-1"}
	inst, err := server.Start(context.Background(), server.Options{DB: filepath.Join(t.TempDir(), "sym.db"), Listen: "127.0.0.1:0",
		AWS: &cfg, TLSCert: certFile, TLSKey: keyFile,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	addr := strings.TrimPrefix(inst.URL, "https://")
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		resp.Body.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); len(linesWith(logs.String(), "TLS handshake error")) < 4 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	got := linesWith(logs.String(), "TLS handshake error")
	if len(got) != 4 {
		t.Fatalf("want 4 TLS handshake lines (3 probes, 1 plain HTTP request), got %d:\n%s", len(got), strings.Join(got, "\n"))
	}
	probes, plain := 0, 0
	for _, l := range got {
		switch {
		case strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR"):
			t.Errorf("a TLS handshake a client failed is a warning: %s", l)
		case strings.Contains(l, "level=DEBUG") && strings.HasSuffix(strings.TrimSuffix(l, `"`), "EOF"):
			probes++
		case strings.Contains(l, "level=INFO") && strings.Contains(l, "client sent an HTTP request to an HTTPS server"):
			plain++
		}
	}
	if probes != 3 || plain != 1 {
		t.Errorf("want 3 probes at debug and the plain HTTP request at info, got %d and %d:\n%s", probes, plain, strings.Join(got, "\n"))
	}
}
