package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type user struct {
	Email      string            `json:"email"`
	Role       string            `json:"role"`
	Identities map[string]string `json:"identities"`
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func identityString(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func init() {
	users := &cobra.Command{Use: "users", Short: "Manage users and their identities (admin)"}
	var role string
	var identities []string
	create := &cobra.Command{
		Use:     "create EMAIL",
		Short:   "Create a user",
		Example: "  sym users create alice@example.com --role member --identity aws_iam=alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := map[string]string{}
			for _, kv := range identities {
				k, v, err := splitKV(kv)
				if err != nil {
					return err
				}
				ids[k] = v
			}
			c, err := client()
			if err != nil {
				return err
			}
			var u user
			if err := c.Do(ctx(), "POST", "/users", map[string]any{"email": args[0], "role": role, "identities": ids}, &u); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), u)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s) %s\n", u.Email, u.Role, identityString(u.Identities))
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "member", "admin or member")
	create.Flags().StringArrayVar(&identities, "identity", nil, "an identity, NAME=VALUE (aws_iam=<IAM user name>); repeatable")
	users.AddCommand(create)

	setID := &cobra.Command{
		Use:     "set-identity EMAIL NAME=VALUE...",
		Short:   "Set (or with an empty VALUE remove) a user's identities",
		Example: "  sym users set-identity alice@example.com aws_iam=alice\n  sym users set-identity alice@example.com aws_iam:210987654321=alice-prod",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := map[string]string{}
			for _, kv := range args[1:] {
				k, v, err := splitKV(kv)
				if err != nil {
					return err
				}
				ids[k] = v
			}
			c, err := client()
			if err != nil {
				return err
			}
			var u user
			if err := c.Do(ctx(), "PATCH", "/users/"+url.PathEscape(args[0]), map[string]any{"identities": ids}, &u); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), u)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) %s\n", u.Email, u.Role, identityString(u.Identities))
			return nil
		},
	}
	users.AddCommand(setID)

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var us []user
			if err := c.Do(ctx(), "GET", "/users", nil, &us); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), us)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tROLE\tIDENTITIES")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Email, u.Role, identityString(u.Identities))
			}
			return tw.Flush()
		},
	}
	users.AddCommand(list)
	root.AddCommand(users)

	tokens := &cobra.Command{Use: "tokens", Short: "Issue API tokens (admin)"}
	issue := &cobra.Command{
		Use:   "issue EMAIL",
		Short: "Issue a bearer token for a user; it is shown once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				Token     string `json:"token"`
				UserEmail string `json:"user_email"`
			}
			if err := c.Do(ctx(), "POST", "/tokens", map[string]string{"user_email": args[0]}, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Token)
			return nil
		},
	}
	tokens.AddCommand(issue)
	root.AddCommand(tokens)
}
