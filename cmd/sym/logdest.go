package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opensym/sym/internal/logdest"
	"github.com/spf13/cobra"
)

func init() {
	cmd := &cobra.Command{
		Use:   "log-destinations",
		Short: "Inspect where the audit log is shipped (Kinesis, Firehose, HTTP, error loggers)",
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show how far each log destination and error logger is behind",
		Long: `status lists every log destination and error logger with what it still
owes: the number of queued audit events, the age of the oldest one (the lag),
the last delivery, and the last error with the next retry when the destination
is failing.

Delivery is at least once from a durable outbox: a destination that is down
loses nothing and receives its backlog in order once it answers again.
The exit status is 0 whatever the state; use --max-lag to fail when a
destination is further behind than that (for a monitoring check).`,
		Example: `  sym log-destinations status
  sym log-destinations status --json
  sym log-destinations status --max-lag 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			maxLag, _ := cmd.Flags().GetDuration("max-lag")
			if maxLag < 0 {
				return usageError{fmt.Errorf("--max-lag must be positive (e.g. 5m), or 0 never to fail")}
			}
			c, err := client()
			if err != nil {
				return err
			}
			var sts []logdest.Status
			if err := c.Do(ctx(), "GET", "/log-destinations/status", nil, &sts); err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), sts); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tTYPE\tTARGET\tENVIRONMENTS\tSTATE\tPENDING\tLAG\tDELIVERED\tLAST DELIVERY\tLAST ERROR")
				for _, s := range sts {
					last := "-"
					if s.LastDeliveredAt != nil {
						last = s.LastDeliveredAt.Local().Format("2006-01-02 15:04:05")
					}
					errText := "-"
					if s.LastError != "" && s.State != "ok" {
						errText = s.LastError
						if s.NextAttemptAt != nil {
							errText += fmt.Sprintf(" (retry at %s)", s.NextAttemptAt.Local().Format("15:04:05"))
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", s.ID, s.Kind, s.Type, s.Target,
						strings.Join(s.Environments, ","), s.State, s.Pending,
						(time.Duration(s.LagSeconds * float64(time.Second))).Round(time.Millisecond), s.DeliveredTotal, last, errText)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if maxLag > 0 {
				for _, s := range sts {
					if s.LagSeconds > maxLag.Seconds() {
						return fmt.Errorf("%s %s is %.0fs behind (more than --max-lag %s)", strings.ReplaceAll(s.Kind, "_", " "), s.ID, s.LagSeconds, maxLag)
					}
				}
			}
			return nil
		},
	}
	status.Flags().Duration("max-lag", 0, "exit with status 1 when any destination is further behind than this (0: never)")
	cmd.AddCommand(clientFlags(status, true))
	root.AddCommand(cmd)
}
