package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// adminToken reads the admin bot's token: the file SYM_ADMIN_TOKEN_FILE
// names (re-read on SIGHUP, so it rotates without a restart), else
// SYM_ADMIN_TOKEN. Empty means no admin bot.
func adminToken(file string) (string, error) {
	token := os.Getenv("SYM_ADMIN_TOKEN")
	what := "SYM_ADMIN_TOKEN"
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("SYM_ADMIN_TOKEN_FILE: %w", err)
		}
		token, what = strings.TrimSpace(string(b)), "the token in SYM_ADMIN_TOKEN_FILE"
		if token == "" {
			return "", fmt.Errorf("SYM_ADMIN_TOKEN_FILE %s is empty", file)
		}
	}
	if token != "" && len(token) < 16 {
		return "", fmt.Errorf("%s is shorter than 16 characters; use a long random value", what)
	}
	return token, nil
}

// applyConfigFile sets the flags a JSON config file names, unless the
// command line set them already. Values are strings, numbers, booleans or
// lists (joined with commas, as list flags take them).
func applyConfigFile(cmd *cobra.Command, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("--config %s: not a JSON object: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := cmd.Flags().Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("--config %s: unknown key %q (keys are the flag names of 'sym server --help')", path, k)
		}
		if f.Changed {
			continue
		}
		var v string
		switch t := m[k].(type) {
		case string:
			v = t
		case bool, float64:
			v = fmt.Sprint(t)
		case []any:
			var parts []string
			for _, e := range t {
				parts = append(parts, fmt.Sprint(e))
			}
			v = strings.Join(parts, ",")
		default:
			return fmt.Errorf("--config %s: key %q: want a string, number, boolean or list", path, k)
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("--config %s: key %q: %w", path, k, err)
		}
	}
	return nil
}

// secretKeys are the --config keys whose values are secrets.
var secretKeys = []string{"metrics-token", "oidc-client-secret", "slack-bot-token", "slack-signing-secret"}

// configHoldsSecret reports whether the --config file sets a secret.
func configHoldsSecret(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for _, k := range secretKeys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}
