package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// serverCommand finds `sym server` among the root's commands.
func serverCommand(t *testing.T) *cobra.Command {
	t.Helper()
	for _, c := range root.Commands() {
		if c.Name() == "server" {
			return c
		}
	}
	t.Fatal("sym has no server command")
	return nil
}

// TestConfigFileSetsServerFlags: every key of --config is a flag of `sym
// server` (the OIDC and guard-rail keys among them), the command line wins,
// and a key that is no flag is refused by name.
func TestConfigFileSetsServerFlags(t *testing.T) {
	cmd := serverCommand(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sym.json")
	if err := os.WriteFile(cfg, []byte(`{
		"oidc-issuer": "https://idp.example.com",
		"oidc-client-id": "sym-web",
		"oidc-auto-create": true,
		"public-url": "https://sym.example.com",
		"listen": "127.0.0.1:9999",
		"org": "from-file",
		"allowed-group-paths": ["/sym/", "/ops/"],
		"allow-broad-runtime-policies": true,
		"allowed-accounts": ["123456789012", "210987654321"],
		"allowed-runtime-roles": "arn:aws:iam::123456789012:role/sym/*"
	}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Flags().Set("org", "from-command-line"); err != nil {
		t.Fatal(err)
	}
	if err := applyConfigFile(cmd, cfg); err != nil {
		t.Fatalf("apply %s: %v", cfg, err)
	}
	want := map[string]string{
		"oidc-issuer":                  "https://idp.example.com",
		"oidc-client-id":               "sym-web",
		"oidc-auto-create":             "true",
		"public-url":                   "https://sym.example.com",
		"listen":                       "127.0.0.1:9999",
		"org":                          "from-command-line",
		"allowed-group-paths":          "/sym/,/ops/",
		"allow-broad-runtime-policies": "true",
		"allowed-accounts":             "123456789012,210987654321",
		"allowed-runtime-roles":        "arn:aws:iam::123456789012:role/sym/*",
	}
	for name, v := range want {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Fatalf("sym server has no --%s flag", name)
		}
		if got := f.Value.String(); got != v {
			t.Errorf("--%s = %q after the config file, want %q", name, got, v)
		}
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"oidc-isuer": "https://idp.example.com"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := applyConfigFile(cmd, bad)
	if err == nil || !strings.Contains(err.Error(), `unknown key "oidc-isuer"`) {
		t.Fatalf("a misspelt key: got %v, want an error naming the key", err)
	}
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("oidc-issuer: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := applyConfigFile(cmd, notJSON); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Fatalf("a YAML file: got %v, want 'not a JSON object'", err)
	}
}
