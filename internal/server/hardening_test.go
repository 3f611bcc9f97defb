package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/testenv"
)

func rawCall(t *testing.T, base, token, method, path, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestTokensExpireAndRevoke: issued tokens carry an id and an expiry, are
// listed without their secret, and stop working at once when revoked or
// expired; the ttl is capped by the server's --max-token-ttl; the admin
// token rotates without a restart.
func TestTokensExpireAndRevoke(t *testing.T) {
	srv := testenv.StartServerWith(t, testenv.ServerOptions{MaxTokenTTL: 2 * time.Hour, MetricsToken: "metrics-token-0123456789",
		Rates: api.Rates{RequestsPerMinute: 3, TokensPerMinute: 20}})
	admin := srv.AdminToken
	base := srv.URL + "/api/v1"
	if s, _, b := rawCall(t, base, admin, "POST", "/users", `{"email":"alice@example.com"}`); s != 201 {
		t.Fatalf("create user: %d %s", s, b)
	}
	issue := func(ttl string) (int, map[string]string) {
		s, _, b := rawCall(t, base, admin, "POST", "/tokens", `{"user_email":"alice@example.com","ttl":"`+ttl+`"}`)
		var out map[string]string
		_ = jsonUnmarshal(b, &out)
		return s, out
	}
	s, long := issue("1h")
	if s != 201 || long["id"] == "" || long["expires_at"] == "" || !strings.HasPrefix(long["token"], "sym_") {
		t.Fatalf("issue: %d %v", s, long)
	}
	srv.NoLog("an issued token", long["token"])
	if exp, err := time.Parse(time.RFC3339, long["expires_at"]); err != nil || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("expires_at %q for a 1h token", long["expires_at"])
	}
	if s, _, b := rawCall(t, base, admin, "POST", "/tokens", `{"user_email":"alice@example.com","ttl":"3h"}`); s != 400 || !strings.Contains(b, "--max-token-ttl") {
		t.Fatalf("ttl over the cap: %d %s", s, b)
	}
	if s, _, b := rawCall(t, base, admin, "POST", "/tokens", `{"user_email":"alice@example.com","ttl":"soon"}`); s != 400 || !strings.Contains(b, "ttl") {
		t.Fatalf("bad ttl: %d %s", s, b)
	}
	if s, _, _ := rawCall(t, base, long["token"], "GET", "/users/me", ""); s != 200 {
		t.Fatalf("a fresh token: %d", s)
	}
	// Listed with issuer and last use, never the secret.
	s, _, list := rawCall(t, base, long["token"], "GET", "/tokens", "")
	if s != 200 || strings.Contains(list, long["token"]) || !strings.Contains(list, long["id"]) || !strings.Contains(list, `"issuer": "admin-bot"`) || !strings.Contains(list, "last_used_at") {
		t.Fatalf("alice's token list: %d %s", s, list)
	}
	// Revoked: 401 at once.
	if s, _, b := rawCall(t, base, admin, "DELETE", "/tokens/"+long["id"], ""); s != 204 {
		t.Fatalf("revoke: %d %s", s, b)
	}
	// The holder of a dead token is told why it stopped working, and
	// what to do.
	if s, _, b := rawCall(t, base, long["token"], "GET", "/users/me", ""); s != 401 || !strings.Contains(b, "invalid token: it was revoked at ") ||
		!strings.Contains(b, "sym tokens issue") {
		t.Fatalf("a revoked token answered %d, want 401 saying it was revoked: %s", s, b)
	}
	if s, _, _ := rawCall(t, base, admin, "DELETE", "/tokens/tok_nosuchtoken", ""); s != 404 {
		t.Fatalf("revoking an unknown token: %d", s)
	}
	// Expired: 401.
	_, short := issue("1s")
	srv.NoLog("an issued token", short["token"])
	time.Sleep(1100 * time.Millisecond)
	if s, _, b := rawCall(t, base, short["token"], "GET", "/users/me", ""); s != 401 || !strings.Contains(b, "invalid token: it expired at ") {
		t.Fatalf("an expired token answered %d, want 401 saying it expired: %s", s, b)
	}
	if s, h, b := rawCall(t, base, "sym_"+strings.Repeat("x", 43), "GET", "/users/me", ""); s != 401 || !strings.Contains(b, "invalid token: the server does not know it") ||
		h.Get("WWW-Authenticate") == "" {
		t.Fatalf("an unknown token answered %d (WWW-Authenticate %q), want 401 saying it is unknown: %s", s, h.Get("WWW-Authenticate"), b)
	}
	// The admin token rotates (SIGHUP re-reads SYM_ADMIN_TOKEN_FILE into this).
	rotated := api.NewToken()
	srv.NoLog("the rotated admin token", rotated)
	srv.SetAdminToken(rotated)
	if s, _, _ := rawCall(t, base, admin, "GET", "/users", ""); s != 401 {
		t.Fatalf("the old admin token after rotation: %d", s)
	}
	if s, _, _ := rawCall(t, base, rotated, "GET", "/users", ""); s != 200 {
		t.Fatalf("the new admin token: %d", s)
	}
	admin = rotated

	t.Run("rate limits answer 429 with Retry-After", func(t *testing.T) {
		var last int
		var hdr http.Header
		for i := 0; i < 4; i++ {
			last, hdr, _ = rawCall(t, base, admin, "POST", "/events/request", `{"flow":"nope","user_email":"alice@example.com"}`)
		}
		if last != 429 || hdr.Get("Retry-After") == "" {
			t.Fatalf("4th request in a minute with a limit of 3: %d, Retry-After %q", last, hdr.Get("Retry-After"))
		}
	})

	t.Run("metrics, health, request ids, limits", func(t *testing.T) {
		if s, _, _ := rawCall(t, srv.URL, "", "GET", "/metrics", ""); s != 401 {
			t.Errorf("/metrics without its token: %d", s)
		}
		if s, _, b := rawCall(t, srv.URL, "metrics-token-0123456789", "GET", "/metrics", ""); s != 200 || !strings.Contains(b, "sym_http_requests_total") {
			t.Errorf("/metrics with its token: %d", s)
		}
		if s, _, b := rawCall(t, srv.URL, "", "GET", "/healthz", ""); s != 200 || !strings.Contains(b, `"database": "ok"`) {
			t.Errorf("/healthz: %d %s", s, b)
		}
		_, h, _ := rawCall(t, base, admin, "GET", "/org", "", "X-Sym-Request-ID", "ci-run-42.step_7")
		if h.Get("X-Sym-Request-ID") != "ci-run-42.step_7" {
			t.Errorf("a well-formed client request id was not kept: %q", h.Get("X-Sym-Request-ID"))
		}
		for _, bad := range []string{"<script>", strings.Repeat("a", 65), "two words"} {
			_, h, _ := rawCall(t, base, admin, "GET", "/org", "", "X-Sym-Request-ID", bad)
			if got := h.Get("X-Sym-Request-ID"); got == bad || len(got) != 36 {
				t.Errorf("client request id %q came back as %q, want a server-made UUID", bad, got)
			}
		}
		if s, _, b := rawCall(t, base, admin, "GET", "/requests?limit=lots", ""); s != 400 || !strings.Contains(b, "limit") {
			t.Errorf("limit=lots: %d %s", s, b)
		}
		if s, _, _ := rawCall(t, base, admin, "GET", "/requests?limit=100000", ""); s != 200 {
			t.Errorf("a limit over 500 is capped, not refused: %d", s)
		}
		long := "/requests/" + strings.Repeat("x", 5000)
		if s, _, _ := rawCall(t, base, admin, "GET", long, ""); s != 404 {
			t.Errorf("a long unknown id: %d", s)
		}
		if strings.Contains(srv.Logs(), strings.Repeat("x", 300)) {
			t.Errorf("a 5000-byte path reached the log uncapped")
		}
	})

	// A sign-in link is a credential like a token (whoever holds it signs in
	// as its user): a runaway loop or a stolen admin token mints them no
	// faster than tokens, from the same allowance.
	t.Run("sign-in links share the token issuing limit", func(t *testing.T) {
		var last int
		var hdr http.Header
		var body string
		for i := 0; i < 25 && last != 429; i++ {
			last, hdr, body = rawCall(t, base, admin, "POST", "/login-links", `{"user_email":"alice@example.com"}`)
			if last != 201 && last != 429 {
				t.Fatalf("sign-in link %d: %d %s", i+1, last, body)
			}
		}
		if last != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(body, "sign-in links") {
			t.Fatalf("25 sign-in links in a minute with a limit of 20 tokens: last %d, Retry-After %q: %s", last, hdr.Get("Retry-After"), body)
		}
		if s, _, b := rawCall(t, base, admin, "POST", "/tokens", `{"user_email":"alice@example.com","ttl":"1h"}`); s != 429 {
			t.Fatalf("a token right after the links spent the allowance: %d %s", s, b)
		}
	})
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestListenerRefusesPlainHTTPOnTheNetwork: a non-loopback address needs
// TLS or --insecure-http; with a certificate the server speaks HTTPS.
func TestListenerRefusesPlainHTTPOnTheNetwork(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	opt := func(listen string) server.Options {
		return server.Options{DB: filepath.Join(t.TempDir(), "sym.db"), Listen: listen, AWS: &cfg,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	_, err := server.Start(context.Background(), opt("0.0.0.0:0"))
	if err == nil || !strings.Contains(err.Error(), "--insecure-http") || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("plain HTTP on 0.0.0.0: %v", err)
	}
	certFile, keyFile := selfSigned(t)
	o := opt("127.0.0.1:0")
	o.TLSCert, o.TLSKey = certFile, keyFile
	inst, err := server.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	if !strings.HasPrefix(inst.URL, "https://") {
		t.Fatalf("URL %s with TLS", inst.URL)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(inst.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("healthz over TLS: %v %v", err, resp)
	}
	resp.Body.Close()
	o = opt("0.0.0.0:0")
	o.InsecureHTTP = true
	inst2, err := server.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("--insecure-http on 0.0.0.0: %v", err)
	}
	inst2.Shutdown(context.Background())
}

func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	cert, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyPath
}
