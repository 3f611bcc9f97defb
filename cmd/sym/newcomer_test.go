package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensym/sym/internal/testenv"
)

// readmeBlock is a shell block of README.md's "Use it with your AWS
// account" section, with the kind its marker comment gives it:
// run (run it), background (run it, its last command in the background) or
// emulator (run it only against the emulator, which this test is).
type readmeBlock struct {
	kind, body string
	line       int
}

var blockMarker = regexp.MustCompile(`^\s*<!-- newcomer-test: (run|background|emulator) -->\s*$`)

// readmeSection reads the marked shell blocks of a section of README.md and
// refuses a shell block without a marker, so that no command of the section
// escapes the test.
func readmeSection(t *testing.T, readme, heading string) []readmeBlock {
	t.Helper()
	lines := strings.Split(readme, "\n")
	var out []readmeBlock
	in, kind := false, ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			in = l == "## "+heading
			continue
		}
		if !in {
			continue
		}
		if m := blockMarker.FindStringSubmatch(l); m != nil {
			kind = m[1]
			continue
		}
		trimmed := strings.TrimSpace(l)
		if !strings.HasPrefix(trimmed, "```") {
			if trimmed != "" {
				kind = ""
			}
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		lang := strings.TrimPrefix(trimmed, "```")
		start := i + 1
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if lang != "sh" {
			kind = ""
			continue
		}
		if kind == "" {
			t.Fatalf("README.md line %d: a shell block of %q without a <!-- newcomer-test: run|background|emulator --> marker", start, heading)
		}
		out = append(out, readmeBlock{kind: kind, body: strings.Join(body, "\n"), line: start})
		kind = ""
	}
	return out
}

// TestNewcomer follows README.md's "Use it with your AWS account" section
// step by step, with the commands read from the README itself, against
// moto: install, sym server, doctor, generate, terraform apply, connector
// verify, users, request, approve (the user in the IAM group), revoke,
// audit, terraform destroy. The reader's shell is a fresh HOME with
// AWS_ENDPOINT_URL and test keys set, as the section tells; the one change
// made to the commands is the server's port (a free one instead of 8420).
func TestNewcomer(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeSection(t, string(readme), "Use it with your AWS account")
	if len(blocks) < 8 {
		t.Fatalf("README.md: %d marked shell blocks in \"Use it with your AWS account\", want the whole walk-through", len(blocks))
	}
	m := testenv.StartMoto(t)
	port := testenv.FreePort(t)
	home := t.TempDir()

	// The reader's environment: their own HOME, the emulator, nothing of
	// sym's set yet. Go's caches stay where they are (no downloads).
	env := []string{"HOME=" + home, "GOBIN=" + filepath.Join(home, "bin"),
		"PATH=" + filepath.Join(home, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"SYM_TF_PLUGIN_MIRROR=" + testenv.HashicorpMirror(), "CHECKPOINT_DISABLE=1"}
	for _, k := range []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	env = append(env, m.Env()...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SYM_") || strings.HasPrefix(k, "TF_") || strings.HasPrefix(k, "AWS_") ||
			slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
			continue
		}
		env = append(env, kv)
	}

	pidFile := filepath.Join(home, "server.pid")
	t.Cleanup(func() { // the sym server the README started, by its PID
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
				for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
					time.Sleep(50 * time.Millisecond)
				}
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	// One marker before each command, so that each command's output can be
	// read on its own.
	var script strings.Builder
	var cmds []string
	fmt.Fprintf(&script, "set -euo pipefail\ncd %q\n", root)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, b := range blocks {
		body := strings.ReplaceAll(b.body, "127.0.0.1:8420", addr)
		list := commands(body)
		for i, c := range list {
			// A newline first: a prompt (terraform's "Enter a value:") may
			// have left the line open.
			fmt.Fprintf(&script, "printf '\\n::step %d (README.md line %d)::\\n'\n", len(cmds), b.line)
			cmds = append(cmds, c)
			if b.kind != "background" || i != len(list)-1 {
				script.WriteString(c + "\n")
				continue
			}
			if cut, _, ok := strings.Cut(c, " #"); ok {
				c = cut
			}
			logFile := filepath.Join(home, "server.log")
			fmt.Fprintf(&script, "%s >%q 2>&1 &\necho $! >%q\n", c, logFile, pidFile)
			fmt.Fprintf(&script, "for i in $(seq 1 200); do curl -sf http://%s/healthz >/dev/null && break; sleep 0.1; done\n", addr)
			fmt.Fprintf(&script, "curl -sf http://%s/healthz >/dev/null || { echo 'the server did not start:'; cat %q; exit 1; }\n", addr, logFile)
		}
	}
	script.WriteString("printf '\\n::done::\\n'\n")

	cmd := exec.Command("bash", "-c", script.String())
	cmd.Env = env
	cmd.Dir = root
	// terraform apply and destroy ask for "yes", as they ask the reader.
	cmd.Stdin = yesReader{}
	out, err := cmd.CombinedOutput()
	steps := splitSteps(string(out))
	logText, _ := os.ReadFile(filepath.Join(home, "server.log"))
	if err != nil || !strings.Contains(string(out), "::done::") || len(steps) != len(cmds) {
		t.Fatalf("following the README failed at the last step shown (%d of %d commands): %v\n%s\n--- sym server's log\n%s",
			len(steps), len(cmds), err, tail(string(out), 120), tail(string(logText), 40))
	}
	if !strings.Contains(string(logText), "AWS identity: arn:aws:") || !strings.Contains(string(logText), "org my-org") {
		t.Errorf("sym server did not say its org and AWS identity at start:\n%s", tail(string(logText), 20))
	}
	// output answers what the n-th command that contains sub printed.
	output := func(sub string, n int) string {
		t.Helper()
		for i, c := range cmds {
			if strings.Contains(c, sub) {
				if n--; n == 0 {
					return steps[i]
				}
			}
		}
		t.Fatalf("the README runs no command %q (occurrence %d)", sub, n)
		return ""
	}
	expect := func(sub string, n int, wants ...string) {
		t.Helper()
		got := output(sub, n)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s did not say %q:\n%s", sub, w, got)
			}
		}
	}
	expect("make install ", 1, "installed "+filepath.Join(home, "bin", "sym"))
	expect("sym doctor", 1, "ok    the server reaches AWS as", "all checks passed")
	expect("terraform apply", 1, "Apply complete!")
	expect("sym connector verify", 1, "verified: every connector role is exactly as narrow as its module promises")
	expect("sym requests", 1, ": pending", "waiting for an approver: bob@example.com", "sym withdraw ")
	expect("sym approve", 1, ": active", "approved by bob@example.com", "access ends at")
	if got := strings.Fields(output("aws iam get-group", 1)); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("members of prod-s3-readonly after approval (aws iam get-group): %v, want [alice]", got)
	}
	expect("sym revoke", 1, ": ended", "revoked by alice@example.com: done")
	if got := output("aws iam get-group", 2); strings.Contains(got, "alice") {
		t.Errorf("members of prod-s3-readonly after revoke (aws iam get-group): %s", got)
	}
	var audit []string
	for _, l := range strings.Split(output("sym audit", 1), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 3 {
			audit = append(audit, f[2])
		}
	}
	if want := []string{"request", "approve", "escalate", "revoke", "deescalate"}; !slices.Equal(audit, want) {
		t.Errorf("sym audit --request: events %v, want %v", audit, want)
	}
	expect("terraform destroy", 1, "Destroy complete!")
}

// commands splits a shell block into its commands: lines continued with a
// backslash are one command; blank lines and comment lines are none.
func commands(body string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(body, "\n") {
		if cur.Len() == 0 && (strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#")) {
			continue
		}
		cur.WriteString(l)
		if strings.HasSuffix(l, "\\") {
			cur.WriteString("\n")
			continue
		}
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// splitSteps cuts the script's output at its ::step N:: markers.
func splitSteps(out string) []string {
	var steps []string
	var cur *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "::step ") || l == "::done::" {
			if cur != nil {
				steps = append(steps, cur.String())
			}
			cur = &strings.Builder{}
			continue
		}
		if cur != nil {
			cur.WriteString(l + "\n")
		}
	}
	return steps
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func tail(s string, n int) string { return lastLines(s, n) }

// yesReader answers "yes" to every question, like yes(1).
type yesReader struct{}

func (yesReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "yes\n"[i%4]
	}
	return len(p) - len(p)%4, nil
}
