// Command sym is the sym server and its command-line client.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/model"
	"github.com/spf13/cobra"
)

// version is set at build time (make build, make install: -X main.version=...).
var version = ""

// flags of the client commands (clientFlags adds them where they apply)
var (
	asJSON bool
	apiURL string
)

// Exit codes, documented in the root command's help.
const (
	exitError    = 1 // the command could not do what it was asked
	exitUsage    = 2 // the command line is wrong
	exitNoAccess = 3 // the request ended without access: denied, expired, errored, withdrawn
)

var root = &cobra.Command{
	Use:   "sym",
	Short: "Temporary AWS access through an approval flow",
	Long: `sym runs the access platform (sym server) and talks to it.

The client commands reach the server at $SYM_API_URL (or --api-url) with the
token in $SYM_JWT, the same variables as the Terraform provider. Start with
'sym doctor': it checks what is usually wrong.

Exit codes: 0 done; 1 the command failed (the server refused, cannot be
reached, ...); 2 the command line is wrong; 3 the request ended without
access (denied, expired, errored or withdrawn: 'sym approve' of a grant that
failed, 'sym request --wait').`,
	SilenceUsage:  true,
	SilenceErrors: true,
	// ran marks that arguments and flags were accepted: an error after it
	// comes from the command itself, one before it from the command line.
	PersistentPreRun: func(*cobra.Command, []string) { ran = true },
}

var ran bool

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func main() {
	root.Version = buildVersion()
	root.SetVersionTemplate("sym {{.Version}}\n")
	root.AddCommand(newConnectorCmd())
	root.AddCommand(newBackupCmd(), newRestoreCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see 'sym %s --help')", err, commandPath(c))}
	})
	requireSubcommands(root)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "error:", err)
	if api.StatusOf(err) == http.StatusUnauthorized {
		fmt.Fprintln(stderr, "The token sent is $SYM_JWT's: export SYM_JWT=<a live token of this server>.")
	}
	var ue usageError
	var ne noAccessError
	switch {
	case errors.As(err, &ne):
		return exitNoAccess
	case errors.As(err, &ue) || !ran:
		// An error before the command ran is about the command line
		// (unknown command, wrong number of arguments).
		if !errors.As(err, &ue) && !strings.Contains(err.Error(), "--help") {
			fmt.Fprintln(stderr, "Run 'sym --help' for the commands, 'sym COMMAND --help' for one of them.")
		}
		return exitUsage
	}
	return exitError
}

func commandPath(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
}

// requireSubcommands makes every command that only groups others (sym
// users, sym tokens, ...) refuse an unknown subcommand instead of printing
// its help and succeeding.
func requireSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommands(sub)
	}
	if c == root || c.Run != nil || c.RunE != nil || !c.HasSubCommands() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for 'sym %s'", args[0], commandPath(cmd))
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		var names []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usageError{fmt.Errorf("%s (its commands: %s)", msg, strings.Join(names, ", "))}
	}
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// noAccessError is a request that ended without access: exit code 3.
type noAccessError struct{ error }

func (e noAccessError) Unwrap() error { return e.error }

// clientFlags adds the flags of a command that talks to the server: --json
// (when it prints something worth reading as JSON) and --api-url.
func clientFlags(cmd *cobra.Command, withJSON bool) *cobra.Command {
	if withJSON {
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	}
	cmd.Flags().StringVar(&apiURL, "api-url", "", "sym server URL (default $SYM_API_URL, else "+defaultAPIURL+")")
	return cmd
}

const defaultAPIURL = "http://127.0.0.1:8420"

// serverURL is the server's base URL: --api-url, $SYM_API_URL or the
// default, checked to be an http(s) URL.
func serverURL() (string, error) {
	base, from := apiURL, "--api-url"
	if base == "" {
		base, from = os.Getenv("SYM_API_URL"), "SYM_API_URL"
	}
	if base == "" {
		return defaultAPIURL, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageError{fmt.Errorf("%s %q is not a URL of a sym server: write it with its scheme, e.g. http://%s",
			from, base, strings.TrimPrefix(strings.TrimPrefix(base, "//"), "/"))}
	}
	return base, nil
}

func client() (*api.Client, error) {
	base, err := serverURL()
	if err != nil {
		return nil, err
	}
	token := os.Getenv("SYM_JWT")
	if token == "" {
		return nil, usageError{fmt.Errorf("SYM_JWT is not set: export SYM_JWT=<token> (an admin issues one with 'sym tokens issue EMAIL'; the admin token is the server's SYM_ADMIN_TOKEN)")}
	}
	return api.NewClient(base, token), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns without trailing spaces, or the empty
// message when there are no rows.
type table struct {
	buf   bytes.Buffer
	tw    *tabwriter.Writer
	rows  int
	empty string
}

func newTable(empty string, header ...string) *table {
	t := &table{empty: empty}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(t.tw, strings.Join(header, "\t"))
	return t
}

func (t *table) row(cells ...string) {
	t.rows++
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush(w io.Writer) error {
	if t.rows == 0 {
		_, err := fmt.Fprintln(w, t.empty)
		return err
	}
	if err := t.tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
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

// durationFlag checks a duration flag's value the way the server will read
// it, so that a wrong one is a wrong command line (exit 2).
func durationFlag(flag, value string) error {
	if _, err := model.ParseDuration(value); err != nil {
		return usageError{fmt.Errorf("%s %s", flag, err)}
	}
	return nil
}

// exactArgs wants n arguments, named by what, and says so when they are
// missing or too many.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if len(args) < n {
			return usageError{fmt.Errorf("'sym %s' needs %s (see 'sym %s --help')", commandPath(cmd), what, commandPath(cmd))}
		}
		return usageError{fmt.Errorf("'sym %s' takes %s, not %d arguments: %s (quote a value that has spaces)",
			commandPath(cmd), what, len(args), strings.Join(args, " "))}
	}
}

// noArgs refuses arguments to a command that takes none, naming them (a
// command with subcommands says which it has instead).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return cobra.NoArgs(cmd, args)
	}
	return usageError{fmt.Errorf("'sym %s' takes no arguments, not: %s (its flags: see 'sym %s --help')",
		commandPath(cmd), strings.Join(args, " "), commandPath(cmd))}
}

// optionalArg takes at most one argument, named by what.
func optionalArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= 1 {
			return nil
		}
		return usageError{fmt.Errorf("'sym %s' takes at most one %s, not %d arguments: %s (quote a value that has spaces)",
			commandPath(cmd), what, len(args), strings.Join(args, " "))}
	}
}
