package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/spf13/cobra"
)

// newTokensCmd is `sym tokens`: issue, list and revoke API tokens.
func newTokensCmd() *cobra.Command {
	tokens := &cobra.Command{
		Use:   "tokens",
		Short: "Issue, list and revoke API tokens",
		Long: `API tokens are bearer tokens (SYM_JWT) of one user. They expire (30 days
unless --ttl says otherwise, capped by the server's --max-token-ttl) and can
be revoked one by one; an expired or revoked token gets 401. The server keeps
only a token's SHA-256: a token is shown once, when issued. Issuing and
revoking are audited with the issuer.

Admins and the admin bot (SYM_ADMIN_TOKEN) issue tokens for anyone; an
automation user's token issues none (docs/authz.md); members list and revoke
their own.`,
	}
	var ttl string
	issue := &cobra.Command{
		Use:   "issue EMAIL",
		Short: "Issue a bearer token for a user; it is shown once",
		Example: "  sym tokens issue alice@example.com\n  sym tokens issue ci@example.com --ttl 24h\n" +
			"  SYM_JWT=$(sym tokens issue alice@example.com) sym requests",
		Args: exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl != "" {
				if err := durationFlag("--ttl", ttl); err != nil {
					return err
				}
			}
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				ID        string `json:"id"`
				Token     string `json:"token"`
				UserEmail string `json:"user_email"`
				ExpiresAt string `json:"expires_at"`
			}
			body := map[string]string{"user_email": args[0]}
			if ttl != "" {
				body["ttl"] = ttl
			}
			if err := c.Do(ctx(), "POST", "/tokens", body, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			// Only the token, so that SYM_JWT=$(sym tokens issue ...) works;
			// --json adds its id and expiry.
			fmt.Fprintln(cmd.OutOrStdout(), out.Token)
			return nil
		},
	}
	issue.Flags().StringVar(&ttl, "ttl", "", "how long the token lives, e.g. 30m, 24h, 720h (default 30 days)")
	tokens.AddCommand(clientFlags(issue, true))

	var user string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List tokens (id, user, issuer, created, expires, last used); never their secrets",
		Example: "  sym tokens list\n  sym tokens list --user alice@example.com",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var ts []struct {
				ID         string     `json:"id"`
				UserEmail  string     `json:"user_email"`
				Issuer     string     `json:"issuer"`
				CreatedAt  time.Time  `json:"created_at"`
				ExpiresAt  time.Time  `json:"expires_at"`
				LastUsedAt *time.Time `json:"last_used_at"`
				RevokedAt  *time.Time `json:"revoked_at"`
			}
			if err := c.Do(ctx(), "GET", api.Query("/tokens", "user_email", user), nil, &ts); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), ts)
			}
			when := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.Local().Format("2006-01-02 15:04")
			}
			t := newTable("no tokens", "ID", "USER", "ISSUER", "CREATED", "EXPIRES", "LAST USED", "STATE")
			for _, k := range ts {
				state := "live"
				switch {
				case k.RevokedAt != nil:
					state = "revoked " + when(k.RevokedAt)
				case !k.ExpiresAt.After(time.Now()):
					state = "expired"
				}
				issuer := k.Issuer
				if issuer == "" {
					issuer = "-"
				}
				t.row(k.ID, k.UserEmail, issuer, when(&k.CreatedAt), when(&k.ExpiresAt), when(k.LastUsedAt), state)
			}
			return t.flush(cmd.OutOrStdout())
		},
	}
	list.Flags().StringVar(&user, "user", "", "only this user's tokens")
	tokens.AddCommand(clientFlags(list, true))

	revoke := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token at once (its id from 'sym tokens list')",
		Example: "  sym tokens revoke tok_3f9a0c1d2e4b5a69",
		Args:    exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if api.LooksLikeToken(args[0]) {
				// Not echoed: it is a secret.
				return usageError{fmt.Errorf("that is a token itself, not its id: token ids begin with tok_ ('sym tokens list' shows them)")}
			}
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.Do(ctx(), "DELETE", "/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	tokens.AddCommand(clientFlags(revoke, false))
	return tokens
}
