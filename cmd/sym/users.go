package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/model"
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
	checkIDs := func(kvs []string) (map[string]string, error) {
		ids := map[string]string{}
		for _, kv := range kvs {
			k, v, err := splitKV(kv)
			if err != nil {
				return nil, err
			}
			if err := model.CheckIdentityKey(k); err != nil {
				return nil, usageError{err}
			}
			ids[k] = v
		}
		return ids, nil
	}
	var role string
	var identities []string
	create := &cobra.Command{
		Use:     "create EMAIL",
		Short:   "Create a user",
		Example: "  sym users create alice@example.com --role member --identity aws_iam=alice",
		Args:    exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !authz.ValidRole(role) {
				return usageError{fmt.Errorf("--role %q: use admin, member, auditor or automation", role)}
			}
			ids, err := checkIDs(identities)
			if err != nil {
				return err
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
	create.Flags().StringVar(&role, "role", "member", "admin, member, auditor (reads everything, writes nothing) or automation (tokens for CI and bots: request on behalf of people, never approve)")
	create.Flags().StringArrayVar(&identities, "identity", nil, "an identity, KIND=VALUE: aws_iam=<IAM user name>, aws_sso=<Identity Center user>, aws_lambda=<name your Lambda functions know>; KIND:ACCOUNT_ID=VALUE for one account; repeatable")
	users.AddCommand(clientFlags(create, true))

	setID := &cobra.Command{
		Use:     "set-identity EMAIL NAME=VALUE...",
		Short:   "Set (or with an empty VALUE remove) a user's identities",
		Example: "  sym users set-identity alice@example.com aws_iam=alice\n  sym users set-identity alice@example.com aws_iam:210987654321=alice-prod",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{fmt.Errorf("'sym users set-identity' needs EMAIL and at least one KIND=VALUE, e.g. aws_iam=alice")}
			}
			return nil
		},
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
	users.AddCommand(clientFlags(setID, true))

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  noArgs,
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
			t := newTable("no users yet: an admin adds them with 'sym users create EMAIL --identity aws_iam=<IAM user>'", "EMAIL", "ROLE", "IDENTITIES")
			for _, u := range us {
				t.row(u.Email, u.Role, identityString(u.Identities))
			}
			return t.flush(cmd.OutOrStdout())
		},
	}
	users.AddCommand(clientFlags(list, true))

	del := &cobra.Command{
		Use:     "delete EMAIL",
		Short:   "Delete a user and their tokens",
		Example: "  sym users delete alice@example.com",
		Args:    exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if err := c.Do(ctx(), "DELETE", "/users/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	users.AddCommand(clientFlags(del, false))
	root.AddCommand(users)

	root.AddCommand(newTokensCmd())
}
