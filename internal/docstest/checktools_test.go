package docstest

import (
	"bytes"
	"cmp"
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

// TestReadmeAndMakeHelpNameWhatCheckToolsNeeds: README.md's "Start here"
// and `make help`'s line for check-tools name every tool
// scripts/check-tools.sh refuses to go on without (a newcomer reads them
// before running it; Chromium was missing from both).
func TestReadmeAndMakeHelpNameWhatCheckToolsNeeds(t *testing.T) {
	root := moduleRoot(t)
	script, err := os.ReadFile(filepath.Join(root, "scripts", "check-tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var tools []string
	for _, line := range strings.Split(string(script), "\n") {
		if rest, ok := strings.CutPrefix(line, "need "); ok {
			tools = append(tools, strings.Fields(rest)[0])
		}
	}
	if !strings.Contains(string(script), "missing: chromium") {
		t.Fatal("check-tools no longer checks for chromium: update this test")
	}
	tools = append(tools, "chromium", "hashicorp/aws")
	if len(tools) < 9 {
		t.Fatalf("check-tools needs only %v?", tools)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, start, _ := strings.Cut(string(readme), "## Start here")
	start, _, _ = strings.Cut(start, "\n## ")
	help := exec.Command("make", "-s", "help")
	help.Dir = root
	out, err := help.Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "check-tools ") {
			line = l
		}
	}
	// How each document names a tool, where it is not by its command.
	inReadme := map[string]string{"aws": "aws cli"}
	inHelp := map[string]string{"aws": "aws cli", "hashicorp/aws": "aws provider"}
	for _, tool := range tools {
		if name := cmp.Or(inReadme[tool], tool); !strings.Contains(strings.ToLower(start), name) {
			t.Errorf("README.md's \"Start here\" does not say check-tools needs %s", name)
		}
		if name := cmp.Or(inHelp[tool], tool); !strings.Contains(strings.ToLower(line), name) {
			t.Errorf("make help's check-tools line does not name %s: %q", name, line)
		}
	}
}

// TestInstallProviderWarnsOfAMissingAWSMirror: README's first step for an
// AWS account is `make install-provider`, whose CLI configuration takes
// hashicorp/* from a filesystem mirror only. Without hashicorp/aws there,
// every `terraform init` of step 4 would fail; install-provider says so at
// once, naming the mirror and what fills it, and says nothing when the
// mirror has it.
func TestInstallProviderWarnsOfAMissingAWSMirror(t *testing.T) {
	root := moduleRoot(t)
	install := func(plugins string) string {
		t.Helper()
		dir := t.TempDir()
		cmd := exec.Command("sh", filepath.Join(root, "scripts", "install-provider.sh"))
		cmd.Env = append(os.Environ(), "SYM_PROVIDER_MIRROR="+filepath.Join(dir, "mirror"),
			"SYM_TF_CLI_CONFIG="+filepath.Join(dir, "sym.tfrc"), "SYM_TF_PLUGIN_MIRROR="+plugins)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("install-provider with SYM_TF_PLUGIN_MIRROR=%s: %v\n%s", plugins, err, stderr.String())
		}
		return stderr.String()
	}
	empty := t.TempDir()
	said := install(empty)
	for _, want := range []string{empty, "hashicorp/aws", "terraform init", "make check-tools"} {
		if !strings.Contains(said, want) {
			t.Errorf("install-provider with no hashicorp/aws in %s does not say %q:\n%s", empty, want, said)
		}
	}
	if said := install(testenv.HashicorpMirror()); strings.Contains(said, "hashicorp/aws") {
		t.Errorf("install-provider warns although %s has hashicorp/aws:\n%s", testenv.HashicorpMirror(), said)
	}
}
