package testenv

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Every in-process server's log is captured and scanned when its test ends:
// no line may hold an API token (the sym_ format), the admin token, or a
// value a test registered with Server.NoLog (External IDs, secret values).
// A failure names the secret's kind, never the secret.

var tokenPattern = regexp.MustCompile(`sym_[A-Za-z0-9_-]{43}`)

// logCapture is a goroutine-safe buffer of one server's log.
type logCapture struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets map[string]string // value -> what it is
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCapture) noLog(what, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if value != "" {
		l.secrets[value] = what
	}
}

// scan reports every log line that leaks a secret.
func (l *logCapture) scan(tb testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, line := range strings.Split(l.buf.String(), "\n") {
		if tokenPattern.MatchString(line) {
			tb.Errorf("server log line %d holds an API token", i+1)
		}
		for v, what := range l.secrets {
			if strings.Contains(line, v) {
				tb.Errorf("server log line %d holds %s", i+1, what)
			}
		}
	}
}

// NoLog registers a value that must never appear in the server's log
// (checked when the test ends).
func (s *Server) NoLog(what, value string) { s.logs.noLog(what, value) }

// Logs is the server's log so far.
func (s *Server) Logs() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.buf.String()
}
