package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	symOnce sync.Once
	symPath string
	symErr  error
)

// SymBinary builds cmd/sym once per test binary and returns its path.
func SymBinary(tb testing.TB) string {
	tb.Helper()
	symOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			symErr = err
			return
		}
		dir, err := os.MkdirTemp("", "sym-bin-")
		if err != nil {
			symErr = err
			return
		}
		symPath = filepath.Join(dir, "sym")
		cmd := exec.Command(runtime.GOROOT()+"/bin/go", "build", "-o", symPath, "./cmd/sym")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			symErr = fmt.Errorf("go build ./cmd/sym: %v\n%s", err, out)
		}
	})
	if symErr != nil {
		tb.Fatal(symErr)
	}
	return symPath
}

// Process is a sym server running as its own process.
type Process struct {
	URL        string
	AdminToken string
	cmd        *exec.Cmd
	Log        *bytes.Buffer
}

// StartSymProcess runs `sym server` on db with the environment env (moto's,
// say) and waits for /healthz. Kill or Stop it; the test's end stops it too.
func StartSymProcess(tb testing.TB, db string, port int, env []string, extraArgs ...string) *Process {
	tb.Helper()
	bin := SymBinary(tb)
	p := &Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), AdminToken: "test-admin-token-0123456789", Log: &bytes.Buffer{}}
	args := append([]string{"server", "--db", db, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-format", "text"}, extraArgs...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(append(os.Environ(), env...), "SYM_ADMIN_TOKEN="+p.AdminToken)
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start sym server: %v", err)
	}
	tb.Cleanup(func() { p.Kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sym server did not become healthy: %v\n%s", err, p.Log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL, as a crash would.
func (p *Process) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// Stop ends the process with SIGTERM (graceful shutdown) and returns its
// exit error.
func (p *Process) Stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

// Signal sends sig to the server process (SIGHUP, say).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// LogContains reports whether the server's log has s.
func (p *Process) LogContains(s string) bool { return strings.Contains(p.Log.String(), s) }
