package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/spf13/cobra"
)

// request is the client's view of an access request.
type request struct {
	ID              string     `json:"id"`
	State           string     `json:"state"`
	Flow            string     `json:"flow"`
	Target          string     `json:"target"`
	Requester       string     `json:"requester"`
	Reason          string     `json:"reason"`
	Duration        string     `json:"duration"`
	Approver        string     `json:"approver"`
	Message         string     `json:"message"`
	Error           string     `json:"error"`
	DeescalateError string     `json:"deescalate_error"`
	CreatedAt       time.Time  `json:"created_at"`
	ExpiresAt       time.Time  `json:"expires_at"`
	Deadline        *time.Time `json:"deadline"`
	EndedAt         *time.Time `json:"ended_at"`
}

func printRequest(w io.Writer, r *request) error {
	if asJSON {
		return printJSON(w, r)
	}
	fmt.Fprintf(w, "request %s: %s\n", r.ID, r.State)
	fmt.Fprintf(w, "  flow %s, target %s, for %s, requested by %s\n", r.Flow, r.Target, r.Duration, r.Requester)
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	if r.Approver != "" {
		fmt.Fprintf(w, "  decided by %s", r.Approver)
		if r.Message != "" {
			fmt.Fprintf(w, ": %s", r.Message)
		}
		fmt.Fprintln(w)
	}
	switch {
	case r.State == "pending":
		fmt.Fprintf(w, "  expires unanswered at %s\n", r.ExpiresAt.Local().Format(time.RFC3339))
	case r.Deadline != nil && (r.State == "active" || r.State == "approved"):
		fmt.Fprintf(w, "  access ends at %s (in %s)\n", r.Deadline.Local().Format(time.RFC3339), time.Until(*r.Deadline).Round(time.Second))
	case r.EndedAt != nil:
		fmt.Fprintf(w, "  access ended at %s\n", r.EndedAt.Local().Format(time.RFC3339))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	if r.DeescalateError != "" {
		fmt.Fprintf(w, "  removing access failed and is being retried: %s\n", r.DeescalateError)
	}
	return nil
}

func init() {
	var target, reason, duration, forUser string
	var wait bool
	var waitFor time.Duration
	req := &cobra.Command{
		Use:   "request FLOW",
		Short: "Ask for temporary access through a flow",
		Example: `  sym request aws-access --target prod-admins --reason "incident 42" --duration 1h
  sym request aws-access --target prod-admins --reason "deploy" --duration 30m --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			inputs := map[string]any{"target_id": target, "reason": reason}
			if duration != "" {
				inputs["duration"] = duration
			}
			var r request
			if err := c.Do(ctx(), "POST", "/events/request", map[string]any{"flow": args[0], "flow_inputs": inputs, "user_email": forUser}, &r); err != nil {
				return err
			}
			if wait {
				deadline := time.Now().Add(waitFor)
				if !asJSON {
					fmt.Fprintf(cmd.ErrOrStderr(), "request %s is pending; waiting for an approver...\n", r.ID)
				}
				for r.State == "pending" || r.State == "approved" {
					if time.Now().After(deadline) {
						return fmt.Errorf("request %s still %s after %s", r.ID, r.State, waitFor)
					}
					time.Sleep(time.Second)
					if err := c.Do(ctx(), "GET", "/requests/"+url.PathEscape(r.ID), nil, &r); err != nil {
						return err
					}
				}
			}
			if err := printRequest(cmd.OutOrStdout(), &r); err != nil {
				return err
			}
			if wait && r.State != "active" {
				return fmt.Errorf("request %s ended %s", r.ID, r.State)
			}
			return nil
		},
	}
	req.Flags().StringVar(&target, "target", "", "target name or id (required)")
	req.Flags().StringVar(&reason, "reason", "", "why you need access (required)")
	req.Flags().StringVar(&duration, "duration", "", "how long: 30s, 30m, 1h, 1h30m (default: the flow's)")
	req.Flags().StringVar(&forUser, "for", "", "request on behalf of this user (admin bot only)")
	req.Flags().BoolVar(&wait, "wait", false, "wait until the request is decided and print the outcome")
	req.Flags().DurationVar(&waitFor, "wait-timeout", 30*time.Minute, "how long --wait waits")
	_ = req.MarkFlagRequired("target")
	root.AddCommand(req)

	for _, verb := range []struct{ name, short string }{
		{"approve", "Approve a pending request (access is granted at once)"},
		{"deny", "Deny a pending request"},
		{"revoke", "End active access now"},
	} {
		var message string
		verb := verb
		cmd := &cobra.Command{
			Use:   verb.name + " REQUEST_ID",
			Short: verb.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := client()
				if err != nil {
					return err
				}
				var r request
				err = c.Do(ctx(), "POST", "/requests/"+url.PathEscape(args[0])+"/"+verb.name, map[string]string{"message": message}, &r)
				if err != nil {
					return err
				}
				return printRequest(cmd.OutOrStdout(), &r)
			},
		}
		cmd.Flags().StringVarP(&message, "message", "m", "", "a message recorded with the decision")
		root.AddCommand(cmd)
	}

	var state, user string
	list := &cobra.Command{
		Use:   "requests [REQUEST_ID]",
		Short: "List access requests, or show one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				var r request
				if err := c.Do(ctx(), "GET", "/requests/"+url.PathEscape(args[0]), nil, &r); err != nil {
					return err
				}
				return printRequest(cmd.OutOrStdout(), &r)
			}
			var rs []request
			if err := c.Do(ctx(), "GET", api.Query("/requests", "state", state, "user", user), nil, &rs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tREQUESTER\tTARGET\tDURATION\tCREATED")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, r.Requester, r.Target, r.Duration, r.CreatedAt.Local().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&state, "state", "", "only requests in this state (pending, approved, active, ended, denied, expired, errored)")
	list.Flags().StringVar(&user, "user", "", "only requests by this email")
	root.AddCommand(list)

	var requestID string
	var limit int
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var evs []struct {
				Seq       int64             `json:"seq"`
				RequestID string            `json:"request_id"`
				Type      string            `json:"type"`
				Actor     string            `json:"actor"`
				At        time.Time         `json:"at"`
				Details   map[string]string `json:"details"`
			}
			if err := c.Do(ctx(), "GET", api.Query("/events", "request_id", requestID, "limit", fmt.Sprint(limit)), nil, &evs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), evs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tEVENT\tACTOR\tREQUEST\tDETAILS")
			for _, e := range evs {
				var parts []string
				for _, k := range sortedKeys(e.Details) {
					parts = append(parts, k+"="+e.Details[k])
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05.000"), e.Type, e.Actor, e.RequestID, strings.Join(parts, " "))
			}
			return tw.Flush()
		},
	}
	audit.Flags().StringVar(&requestID, "request", "", "only the events of this request")
	audit.Flags().IntVar(&limit, "limit", 1000, "at most this many events")
	root.AddCommand(audit)
}
