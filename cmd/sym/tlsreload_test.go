package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// lockedBuffer is a process's output, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeCert writes a self-signed certificate for 127.0.0.1 with serial and
// its key to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLSCertificateRereadOnSIGHUP: a certificate renewed on disk (by
// certbot or cert-manager, every few weeks) is served after a SIGHUP, in
// the same process; a renewal that left a key that does not match is
// refused with a log line, and the certificate in use stays. Before, the
// files were read once at start: the server served the old certificate
// until it expired unless restarted.
func TestTLSCertificateRereadOnSIGHUP(t *testing.T) {
	bin := testenv.SymBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin, "server", "--db", filepath.Join(dir, "sym.db"), "--listen", addr, "--log-format", "text",
		"--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = append(append(os.Environ(), noAWS(dir)...), "SYM_ADMIN_TOKEN=test-admin-token-0123456789")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return 0
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if !waitFor(func() bool { return out.String() != "" && serial() == 1 }) {
		t.Fatalf("the server does not serve its certificate:\n%s", out.String())
	}

	writeCert(t, certFile, keyFile, 2)
	if serial() != 1 {
		t.Fatal("the certificate was read again before any SIGHUP")
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return serial() == 2 }) {
		t.Fatalf("the renewed certificate is not served after SIGHUP:\n%s", out.String())
	}
	if !waitFor(func() bool { return strings.Contains(out.String(), "SIGHUP: TLS certificate re-read") }) {
		t.Errorf("the log does not say the certificate was re-read:\n%s", out.String())
	}

	// A renewal that went wrong: certificate 3 with the key of another.
	other := filepath.Join(dir, "other-key.pem")
	writeCert(t, certFile, other, 3)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return strings.Contains(out.String(), "TLS certificate not re-read") }) {
		t.Fatalf("a certificate that does not match its key was not refused:\n%s", out.String())
	}
	if got := serial(); got != 2 {
		t.Fatalf("after a SIGHUP with a broken pair the server serves certificate %d, want 2 (the one in use)", got)
	}
	if strings.Count(out.String(), "listening on") != 1 {
		t.Errorf("the server restarted:\n%s", out.String())
	}
}
