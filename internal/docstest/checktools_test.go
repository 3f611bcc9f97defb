package docstest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensym/sym/internal/testenv"
)

// TestCheckToolsNamesACommandThatFillsTheMirror: without the hashicorp/aws
// provider in its filesystem mirror, scripts/check-tools.sh names a command
// to run; run as printed, on a machine whose Terraform reaches a registry
// (here: a CLI configuration whose only source is the machine's own mirror,
// standing in for registry.terraform.io), it fills the mirror so that
// check-tools then passes. (It used to advise 'terraform providers
// mirror DIR': run so, in no configuration, that mirrors nothing, and its
// .zip layout was one check-tools did not accept.)
func TestCheckToolsNamesACommandThatFillsTheMirror(t *testing.T) {
	root := moduleRoot(t)
	mirror := filepath.Join(t.TempDir(), "tf plugins")
	checkTools := func() (string, string, error) {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "check-tools.sh"))
		cmd.Env = append(os.Environ(), "SYM_TF_PLUGIN_MIRROR="+mirror)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	_, stderr, err := checkTools()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("check-tools with an empty mirror: %v, want exit 1\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "missing: the hashicorp/aws Terraform provider in a filesystem mirror at "+mirror) {
		t.Fatalf("check-tools does not name the missing mirror:\n%s", stderr)
	}
	var command string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "    ") {
			command = strings.TrimSpace(line)
		}
	}
	if command == "" {
		t.Fatalf("check-tools names no command to run (an indented line) for the missing mirror:\n%s", stderr)
	}

	registry := filepath.Join(t.TempDir(), "registry.tfrc")
	rc := "provider_installation {\n  filesystem_mirror {\n    path    = \"" + testenv.HashicorpMirror() +
		"\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }\n}\n"
	if err := os.WriteFile(registry, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command("bash", "-c", command)
	run.Dir = t.TempDir()
	run.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+registry, "TF_PLUGIN_CACHE_DIR=", "CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1", "TMPDIR="+t.TempDir())
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("the command check-tools names failed: %v\n$ %s\n%s", err, command, out)
	}

	stdout, stderr, err := checkTools()
	if err != nil || !strings.Contains(stdout, "aws provider mirror: ok") {
		t.Fatalf("check-tools after its own command: %v\n%s%s", err, stdout, stderr)
	}
}
