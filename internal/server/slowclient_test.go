package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/server"
)

// TestSlowClientsAreCutOff: a client that holds a connection without
// finishing its request, one that keeps an idle connection alive, and one
// that never reads a large answer are each cut off by the server's
// timeouts (set short here, as --read-header-timeout, --read-timeout,
// --write-timeout and --idle-timeout would), no token needed for the
// first two; none of them keeps the server from answering others or from
// shutting down.
func TestSlowClientsAreCutOff(t *testing.T) {
	timeouts := server.HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 700 * time.Millisecond,
		Write: 700 * time.Millisecond, Idle: 500 * time.Millisecond}
	const admin = "slow-client-admin-token-0123456789"
	start := func(timeouts server.HTTPTimeouts) (inst *server.Instance, addr string, shutDown *bool) {
		cfg := aws.Config{Region: "us-east-1"}
		inst, err := server.Start(context.Background(), server.Options{DB: filepath.Join(t.TempDir(), "sym.db"), Listen: "127.0.0.1:0",
			AWS: &cfg, AdminToken: admin, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), HTTP: timeouts})
		if err != nil {
			t.Fatal(err)
		}
		shutDown = new(bool)
		t.Cleanup(func() {
			if !*shutDown {
				inst.Shutdown(context.Background())
			}
		})
		return inst, strings.TrimPrefix(inst.URL, "http://"), shutDown
	}
	_, addr, _ := start(timeouts)

	// closedAfter writes raw, then reads until the server closes the
	// connection, and says how long that took; the test fails if the
	// connection is still open after limit.
	closedAfter := func(t *testing.T, raw string, limit time.Duration) (time.Duration, string) {
		t.Helper()
		// Timed from before the connection exists, so that the server's
		// clock (which starts when it accepts) cannot start earlier.
		start := time.Now()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(start.Add(limit))
		got, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server still holds the connection after %s (timeouts %+v); it sent %q", limit, timeouts, got)
		}
		return time.Since(start), string(got)
	}
	const limit = 15 * time.Second

	t.Run("request not finished", func(t *testing.T) {
		for _, c := range []struct {
			name, raw string
			timeout   time.Duration
		}{
			{"headers never finished", "GET /healthz HTTP/1.1\r\nHost: sym\r\nX-Slow: ", timeouts.ReadHeader},
			{"body never sent, no token", "POST /api/v1/events/request HTTP/1.1\r\nHost: sym\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{", timeouts.Read},
			{"body never sent, admin token", "POST /api/v1/tokens HTTP/1.1\r\nHost: sym\r\nAuthorization: Bearer " + admin +
				"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"user", timeouts.Read},
		} {
			took, got := closedAfter(t, c.raw, limit)
			if took < c.timeout {
				t.Errorf("%s: closed after %s, before its timeout %s (answer %q)", c.name, took, c.timeout, got)
			}
			if strings.HasPrefix(got, "HTTP/1.1 2") {
				t.Errorf("%s: answered %q", c.name, got)
			}
			t.Logf("%s: closed by the server after %s (timeout %s)", c.name, took.Round(time.Millisecond), c.timeout)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: sym\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("healthz: %d, close %v", resp.StatusCode, resp.Close)
		}
		idleFrom := time.Now()
		_ = c.SetReadDeadline(idleFrom.Add(limit))
		rest, err := io.ReadAll(br)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("an idle kept-alive connection is still open after %s (idle timeout %s)", limit, timeouts.Idle)
		}
		took := time.Since(idleFrom)
		if took < timeouts.Idle || len(rest) != 0 {
			t.Errorf("idle connection closed after %s (idle timeout %s), sent %q", took, timeouts.Idle, rest)
		}
		t.Logf("idle keep-alive: closed by the server after %s (timeout %s)", took.Round(time.Millisecond), timeouts.Idle)
	})

	t.Run("answer never read", func(t *testing.T) {
		// Its own server: a long read timeout, so that the large bodies
		// below are taken in whole however busy the machine is, and a
		// write timeout long enough to echo each of them to a client that
		// reads.
		timeouts := server.HTTPTimeouts{Read: 10 * time.Second, Write: 2 * time.Second}
		inst, addr, shutDown := start(timeouts)
		// A listing of about 12 MB: more than the client's receive buffer
		// and the server's send buffer together.
		filler := strings.Repeat("x", 900<<10)
		for i := range 14 {
			body := fmt.Sprintf(`{"type":"custom","slug":"big-%d","settings":{"notes":%q}}`, i, filler)
			if code, _, out := rawCall(t, inst.URL, admin, "POST", "/api/v1/entities/integrations", body); code != 201 && code != 200 {
				t.Fatalf("create a large integration: %d %.300s", code, out)
			}
		}
		req := "GET /api/v1/entities/integrations HTTP/1.1\r\nHost: sym\r\nAuthorization: Bearer " + admin + "\r\n\r\n"
		// The whole answer holds every filler at least (reading it here
		// could itself outlast the short write timeout on a busy machine).
		full := 14 * len(filler)
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return errors.Join(err, serr)
		}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		// While the answer is stuck, others are served.
		if code, _, _ := rawCall(t, inst.URL, "", "GET", "/healthz", ""); code != 200 {
			t.Fatalf("healthz while a client does not read: %d", code)
		}
		time.Sleep(timeouts.Write + time.Second)
		_ = c.SetReadDeadline(time.Now().Add(limit))
		got, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server still writes to a client that did not read for %s (write timeout %s)", timeouts.Write+time.Second+limit, timeouts.Write)
		}
		if int(got) >= full {
			t.Fatalf("the client that did not read got the whole answer (%d of at least %d bytes): the write was not cut off", got, full)
		}
		t.Logf("answer never read: the server gave up after sending %d of at least %d bytes", got, full)
		// No handler is left writing: a graceful shutdown finishes at once.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		*shutDown = true
		if err := inst.Shutdown(sctx); err != nil {
			t.Fatalf("shutdown after a client that did not read: %v", err)
		}
	})
}
