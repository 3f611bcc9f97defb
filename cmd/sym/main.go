// Command sym is the sym server and its command-line client.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opensym/sym/internal/api"
	"github.com/spf13/cobra"
)

// global flags of the client commands
var (
	asJSON bool
	apiURL string
)

var root = &cobra.Command{
	Use:   "sym",
	Short: "Temporary AWS access through an approval flow",
	Long: `sym runs the access platform (sym server) and talks to it.

The client commands reach the server at $SYM_API_URL (or --api-url) with the
token in $SYM_JWT, the same variables as the Terraform provider.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	root.PersistentFlags().StringVar(&apiURL, "api-url", "", "sym server URL (default $SYM_API_URL, else http://127.0.0.1:8420)")
	root.AddCommand(newConnectorCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func client() (*api.Client, error) {
	base := apiURL
	if base == "" {
		base = os.Getenv("SYM_API_URL")
	}
	if base == "" {
		base = "http://127.0.0.1:8420"
	}
	token := os.Getenv("SYM_JWT")
	if token == "" {
		return nil, usageError{fmt.Errorf("SYM_JWT is not set: export SYM_JWT=<token> (an admin issues one with 'sym tokens issue EMAIL')")}
	}
	return api.NewClient(base, token), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// splitKV reads key=value.
func splitKV(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return "", "", usageError{fmt.Errorf("%q is not key=value", s)}
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), nil
}

func ctx() context.Context { return context.Background() }
