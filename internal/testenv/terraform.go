package testenv

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ProviderVersion is the version the sym provider is installed under in a
// filesystem mirror as opensym/sym.
const ProviderVersion = "0.1.0"

// OriginalProviderVersion is the version the same build is installed under
// as symopsio/sym: a 3.x that satisfies the original's usual constraints
// (">= 1.0.0", ">= 2.0", "~> 3.0"), 3.<our minor>.<our patch>, kept in step
// with ProviderVersion and scripts/install-provider.sh
// (docs/decisions/013-provider-versions-and-module-provider.md).
const OriginalProviderVersion = "3.1.0"

// ProviderNamespaces are the registry namespaces the provider is installed
// under: ours, and the original's, so that configurations that say
// `source = "symopsio/sym"` run unchanged.
var ProviderNamespaces = []string{"opensym", "symopsio"}

// ProviderVersionOf answers the version the provider is installed under in
// a namespace.
func ProviderVersionOf(namespace string) string {
	if namespace == "symopsio" {
		return OriginalProviderVersion
	}
	return ProviderVersion
}

// HashicorpMirror is the filesystem mirror of hashicorp/* providers:
// $SYM_TF_PLUGIN_MIRROR, else /opt/tf-plugins (as scripts/check-tools.sh
// and scripts/demo.sh read it).
func HashicorpMirror() string {
	if d := os.Getenv("SYM_TF_PLUGIN_MIRROR"); d != "" {
		return d
	}
	return "/opt/tf-plugins"
}

// ModuleRoot answers the directory of this repository's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the sym module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

// ProviderBinaryPath answers where, under a mirror directory, Terraform looks
// for the provider of the given namespace.
func ProviderBinaryPath(mirror, namespace string) string {
	v := ProviderVersionOf(namespace)
	return filepath.Join(mirror, "registry.terraform.io", namespace, "sym", v,
		runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-sym_v"+v)
}

// BuildProviderMirror builds cmd/terraform-provider-sym into the filesystem
// mirror dir, under registry.terraform.io/opensym/sym and
// registry.terraform.io/symopsio/sym. Each file is replaced atomically, so a
// Terraform already running the previous build is not disturbed.
func BuildProviderMirror(dir string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	built := filepath.Join(dir, fmt.Sprintf(".build-%d", os.Getpid()))
	cmd := exec.Command("go", "build", "-o", built,
		"-ldflags", "-X main.version="+ProviderVersion, "./cmd/terraform-provider-sym")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the sym provider: %v\n%s", err, out)
	}
	defer os.Remove(built)
	for _, ns := range ProviderNamespaces {
		dst := ProviderBinaryPath(dir, ns)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp := dst + fmt.Sprintf(".tmp-%d", os.Getpid())
		if err := copyFile(built, tmp, 0o755); err != nil {
			return err
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("install %s: %w", dst, err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CLIConfig is the text of a Terraform CLI configuration that installs
// hashicorp/* providers from HashicorpMirror() and sym from mirror, and never
// from the network.
func CLIConfig(mirror string) string {
	var inc []string
	for _, ns := range ProviderNamespaces {
		inc = append(inc, fmt.Sprintf("%q", "registry.terraform.io/"+ns+"/*"))
	}
	return fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hashicorp/*"]
  }
  filesystem_mirror {
    path    = %q
    include = [%s]
  }
}
`, HashicorpMirror(), mirror, strings.Join(inc, ", "))
}

// WriteCLIConfig writes CLIConfig(mirror) to path.
func WriteCLIConfig(path, mirror string) error {
	return os.WriteFile(path, []byte(CLIConfig(mirror)), 0o644)
}

var (
	mirrorOnce sync.Once
	mirrorDir  string
	mirrorErr  error
)

// ProviderMirror builds the provider into a mirror once per test binary and
// answers the mirror's directory. The mirror lives in a directory under the
// system's temporary directory named for this checkout, so test binaries of
// one checkout share it and two checkouts (git worktrees, a CI clone beside a
// work tree) never overwrite each other's build.
func ProviderMirror(tb testing.TB) string {
	tb.Helper()
	mirrorOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			mirrorErr = err
			return
		}
		sum := sha256.Sum256([]byte(root))
		mirrorDir = filepath.Join(os.TempDir(), fmt.Sprintf("sym-provider-mirror-%d-%x", os.Getuid(), sum[:6]))
		mirrorErr = BuildProviderMirror(mirrorDir)
	})
	if mirrorErr != nil {
		tb.Fatalf("sym provider mirror: %v", mirrorErr)
	}
	return mirrorDir
}

// TerraformEnv prepares Terraform to run offline with the sym provider from
// a freshly built mirror, and answers the environment variables to add to
// os.Environ() for a terraform command: TF_CLI_CONFIG_FILE (a file in a
// temporary directory of tb), an empty TF_PLUGIN_CACHE_DIR, and
// CHECKPOINT_DISABLE. It fails tb when terraform is not on PATH.
func TerraformEnv(tb testing.TB) []string {
	tb.Helper()
	if _, err := exec.LookPath("terraform"); err != nil {
		tb.Fatalf("terraform is not on PATH: install Terraform >= 1.5 (%v)", err)
	}
	mirror := ProviderMirror(tb)
	cfg := filepath.Join(tb.TempDir(), "terraform.rc")
	if err := WriteCLIConfig(cfg, mirror); err != nil {
		tb.Fatalf("write the Terraform CLI configuration: %v", err)
	}
	return []string{
		"TF_CLI_CONFIG_FILE=" + cfg,
		"TF_PLUGIN_CACHE_DIR=",
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	}
}

// Terraform runs one terraform command (with -no-color) in dir with env
// added to this process's environment, logs how long it took, and fails the
// test with Terraform's output when it fails.
func Terraform(tb testing.TB, dir string, env []string, args ...string) string {
	tb.Helper()
	if !slices.Contains(args, "-no-color") {
		args = append(args, "-no-color")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "terraform", args...)
	// Terraform in a process group of its own, ended as a whole at the
	// timeout: killing terraform alone left its provider plugins running,
	// orphaned, after a test that ran out of time.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	tb.Logf("terraform %s in %s: %s", strings.Join(args, " "), filepath.Base(dir), time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		tb.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}
