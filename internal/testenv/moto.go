// Package testenv starts the real servers that tests need (moto_server, sym
// server, Terraform's CLI configuration) on free loopback ports, and stops
// exactly the processes it started. Every test that needs one of them goes
// through this package, so there is one way to start each.
//
// It must never skip a test: when a tool is missing it fails with a message
// that says what to install.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MotoAccount is the AWS account id moto answers for.
const MotoAccount = "123456789012"

// Moto is a running moto_server.
type Moto struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// MotoCommand returns the interpreter and script that run moto_server, so
// that the PID we keep is the server's own and not a pyenv shim's.
func MotoCommand() (python, script string, err error) {
	if p := os.Getenv("SYM_MOTO_PYTHON"); p != "" {
		s := os.Getenv("SYM_MOTO_SERVER")
		if s == "" {
			return "", "", fmt.Errorf("SYM_MOTO_PYTHON is set but SYM_MOTO_SERVER (the moto_server script) is not")
		}
		return p, s, nil
	}
	script, err = exec.LookPath("moto_server")
	if err != nil {
		return "", "", fmt.Errorf("moto_server not found on PATH: install moto[server] 5.x (see README)")
	}
	// A pyenv shim is a bash script; ask pyenv for the real file.
	if strings.Contains(script, "/shims/") {
		out, perr := exec.Command("pyenv", "which", "moto_server").Output()
		if perr != nil {
			return "", "", fmt.Errorf("moto_server is a pyenv shim and 'pyenv which moto_server' failed: %v", perr)
		}
		script = strings.TrimSpace(string(out))
	}
	f, err := os.Open(script)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "#!") {
		return "", "", fmt.Errorf("%s has no interpreter line", script)
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return "", "", fmt.Errorf("%s has an empty interpreter line", script)
	}
	python = fields[0]
	if filepath.Base(python) == "env" && len(fields) > 1 {
		python, err = exec.LookPath(fields[1])
		if err != nil {
			return "", "", err
		}
	}
	return python, script, nil
}

// StartMoto starts moto_server on a free loopback port and stops it when the
// test ends. Lambda runs without Docker.
func StartMoto(tb testing.TB) *Moto {
	tb.Helper()
	m, err := LaunchMoto()
	if err != nil {
		tb.Fatalf("start moto_server: %v", err)
	}
	tb.Cleanup(m.Stop)
	return m
}

// LaunchMoto starts moto_server outside a test (the demo and benchmarks use
// it). The caller must call Stop.
func LaunchMoto() (*Moto, error) {
	python, script, err := MotoCommand()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		m := &Moto{Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: &bytes.Buffer{}}
		m.cmd = exec.Command(python, script, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		m.cmd.Stdout = m.log
		m.cmd.Stderr = m.log
		m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := m.cmd.Start(); err != nil {
			return nil, fmt.Errorf("run %s %s: %w", python, script, err)
		}
		if err := m.waitReady(30 * time.Second); err != nil {
			m.Stop()
			lastErr = fmt.Errorf("%w; moto said: %s", err, m.log.String())
			continue
		}
		if err := m.post("/moto-api/config", `{"lambda":{"use_docker":false}}`); err != nil {
			m.Stop()
			return nil, err
		}
		return m, nil
	}
	return nil, lastErr
}

func (m *Moto) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if m.cmd.ProcessState != nil {
			return fmt.Errorf("moto_server exited")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server did not answer on %s within %s", m.URL, limit)
}

func (m *Moto) post(path, body string) error {
	resp, err := http.Post(m.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("moto %s: %w", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("moto %s: status %d", path, resp.StatusCode)
	}
	return nil
}

// Reset forgets every resource moto holds.
func (m *Moto) Reset() error { return m.post("/moto-api/reset", "") }

// PID is the process id of the server itself.
func (m *Moto) PID() int { return m.cmd.Process.Pid }

// Stop ends the server this helper started, and only it.
func (m *Moto) Stop() {
	if m.cmd == nil || m.cmd.Process == nil || m.cmd.ProcessState != nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
}

// Env returns the environment variables that point the AWS SDK and CLI at
// this server with moto's test credentials.
func (m *Moto) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + m.URL,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// AWSConfig is an SDK configuration for this server: static test
// credentials, us-east-1, and the server as base endpoint.
func (m *Moto) AWSConfig(tb testing.TB) aws.Config {
	tb.Helper()
	return AWSConfigAt(tb, m.URL)
}

// AWSConfigAt is an SDK configuration with moto's test credentials for any
// endpoint (a proxy in front of moto, say). The endpoint must be set when the
// configuration is loaded: the SDK's service clients read it from there.
func AWSConfigAt(tb testing.TB, endpoint string) aws.Config {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		tb.Fatalf("aws config: %v", err)
	}
	return cfg
}
