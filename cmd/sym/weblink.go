package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// `sym users login-link`: a one-time web sign-in link, for teams without an
// identity provider (users.go's init runs first: files init in name order).
func init() {
	link := &cobra.Command{
		Use:   "login-link EMAIL",
		Short: "Print a one-time link that signs EMAIL in to the web app (admin)",
		Long: `Print a one-time link that signs a user in to the web app.

The link works once, for 15 minutes, and opens a page with a Continue
button (so that a chat app's link preview does not spend it). Send it to
the user over a channel you trust: whoever opens it first is signed in.`,
		Example: "  sym users login-link alice@example.com",
		Args:    exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				URL       string    `json:"url"`
				UserEmail string    `json:"user_email"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			if err := c.Do(ctx(), "POST", "/login-links", map[string]string{"user_email": args[0]}, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n(one use, for %s, until %s)\n", out.URL, out.UserEmail, out.ExpiresAt.Local().Format("15:04:05"))
			return nil
		},
	}
	clientFlags(link, true)
	for _, c := range root.Commands() {
		if c.Name() == "users" {
			c.AddCommand(link)
			return
		}
	}
	panic("sym users command missing")
}
