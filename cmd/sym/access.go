package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
	"github.com/spf13/cobra"
)

// request is the client's view of an access request.
type request struct {
	ID              string            `json:"id"`
	State           string            `json:"state"`
	Flow            string            `json:"flow"`
	Target          string            `json:"target"`
	Requester       string            `json:"requester"`
	Reason          string            `json:"reason"`
	Fields          map[string]string `json:"fields"`
	Duration        string            `json:"duration"`
	Approver        string            `json:"approver"`
	Message         string            `json:"message"`
	EndedBy         string            `json:"ended_by"`
	EndMessage      string            `json:"end_message"`
	DeescalateType  string            `json:"deescalate_type"`
	Approvers       []string          `json:"approvers"`
	SelfApproval    bool              `json:"self_approval"`
	Error           string            `json:"error"`
	DeescalateError string            `json:"deescalate_error"`
	CreatedAt       time.Time         `json:"created_at"`
	ExpiresAt       time.Time         `json:"expires_at"`
	Deadline        *time.Time        `json:"deadline"`
	EndedAt         *time.Time        `json:"ended_at"`
}

// humanDuration prints a duration the way people write it (1h, 30m,
// 1h30m); text it cannot read is printed as it came.
func humanDuration(s string) string {
	if d, err := time.ParseDuration(s); err == nil {
		return model.FormatDuration(d)
	}
	return s
}

func printRequest(w io.Writer, r *request) error {
	if asJSON {
		return printJSON(w, r)
	}
	fmt.Fprintf(w, "request %s: %s\n", r.ID, r.State)
	fmt.Fprintf(w, "  flow %s, target %s, for %s, requested by %s\n", r.Flow, r.Target, humanDuration(r.Duration), r.Requester)
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	for _, k := range sortedKeys(r.Fields) {
		fmt.Fprintf(w, "  %s: %s\n", k, r.Fields[k])
	}
	if r.Approver != "" {
		verb := "approved"
		if r.State == "denied" {
			verb = "denied"
		}
		fmt.Fprintf(w, "  %s by %s", verb, r.Approver)
		if r.Message != "" {
			fmt.Fprintf(w, ": %s", r.Message)
		}
		fmt.Fprintln(w)
	}
	if r.EndedBy != "" {
		verb := "revoked"
		if r.State == "withdrawn" {
			verb = "withdrawn"
		}
		fmt.Fprintf(w, "  %s by %s", verb, r.EndedBy)
		if r.EndMessage != "" {
			fmt.Fprintf(w, ": %s", r.EndMessage)
		}
		fmt.Fprintln(w)
	}
	switch {
	case r.State == "pending":
		who := "a sym admin (the flow lists no approvers)"
		if len(r.Approvers) > 0 {
			who = strings.Join(r.Approvers, ", ")
		}
		if r.SelfApproval {
			who += " (the requester too)"
		}
		fmt.Fprintf(w, "  waiting for an approver: %s\n", who)
		fmt.Fprintf(w, "  next: an approver runs 'sym approve %[1]s' or 'sym deny %[1]s'; the requester may 'sym withdraw %[1]s'\n", r.ID)
		fmt.Fprintf(w, "  expires unanswered at %s\n", r.ExpiresAt.Local().Format(time.RFC3339))
	case r.State == "removing":
		fmt.Fprintf(w, "  access may remain: sym is removing it and retries until AWS confirms\n")
	case r.Deadline != nil && (r.State == "active" || r.State == "approved"):
		fmt.Fprintf(w, "  access ends at %s (in %s)\n", r.Deadline.Local().Format(time.RFC3339),
			model.FormatDuration(time.Until(*r.Deadline).Round(time.Second)))
	case r.EndedAt != nil:
		fmt.Fprintf(w, "  %s at %s\n", map[bool]string{true: "access ended", false: "ended"}[r.State == "ended"], r.EndedAt.Local().Format(time.RFC3339))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	if r.DeescalateError != "" {
		fmt.Fprintf(w, "  removing access failed and is being retried: %s\n", r.DeescalateError)
	}
	return nil
}

// noAccess says why r holds no access, for the exit code 3 cases.
func noAccess(r *request) error {
	switch r.State {
	case "errored":
		return noAccessError{fmt.Errorf("request %s was approved but the grant failed: %s (the server log has the details; fix the cause, then request again)", r.ID, r.Error)}
	case "removing":
		if r.Error != "" {
			return noAccessError{fmt.Errorf("request %s was approved but the grant failed: %s; what may have landed is being removed (the request ends errored once AWS confirms)", r.ID, r.Error)}
		}
	case "denied", "expired", "withdrawn", "ended":
		return noAccessError{fmt.Errorf("request %s ended %s without access", r.ID, r.State)}
	}
	return nil
}

func init() {
	var target, reason, duration, forUser string
	var fields []string
	var wait bool
	var waitFor time.Duration
	req := &cobra.Command{
		Use:   "request FLOW",
		Short: "Ask for temporary access through a flow",
		Long: `Ask for temporary access through a flow. The request waits for an approver
(sym approve); --wait blocks until it is decided and exits 3 when it ends
without access (denied, expired, errored, withdrawn).`,
		Example: `  sym request aws-access --target prod-admins --reason "incident 42" --duration 1h
  sym request aws-access --target prod-admins --reason "deploy" --duration 30m --wait
  sym request aws-access --target prod-admins --reason "migration" --field ticket=OPS-42`,
		Args: exactArgs(1, "FLOW (the flow's name: terraform output flow_name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if duration != "" {
				if err := durationFlag("--duration", duration); err != nil {
					return err
				}
			}
			if wait && waitFor <= 0 {
				return usageError{fmt.Errorf("--wait-timeout must be positive (e.g. 30m)")}
			}
			c, err := client()
			if err != nil {
				return err
			}
			inputs := map[string]any{"target_id": target, "reason": reason}
			if duration != "" {
				inputs["duration"] = duration
			}
			for _, kv := range fields {
				k, v, err := splitKV(kv)
				if err != nil {
					return err
				}
				if _, taken := inputs[k]; taken {
					return usageError{fmt.Errorf("--field %s: use --%s instead", kv, strings.TrimSuffix(k, "_id"))}
				}
				inputs[k] = v
			}
			var r request
			if err := c.Do(ctx(), "POST", "/events/request", map[string]any{"flow": args[0], "flow_inputs": inputs, "user_email": forUser}, &r); err != nil {
				if forUser == "" && api.FieldOf(err) == "user_email" {
					return fmt.Errorf("%w; name the person this request is for with --for EMAIL", err)
				}
				return err
			}
			if wait {
				deadline := time.Now().Add(waitFor)
				if !asJSON {
					fmt.Fprintf(cmd.ErrOrStderr(), "request %s is pending; waiting for an approver...\n", r.ID)
				}
				for r.State == "pending" || r.State == "approved" {
					if time.Now().After(deadline) {
						return fmt.Errorf("request %s still %s after %s (--wait-timeout); it goes on: 'sym requests %s' shows it", r.ID, r.State, waitFor, r.ID)
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
			if wait {
				return noAccess(&r)
			}
			return nil
		},
	}
	req.Flags().StringVar(&target, "target", "", "target name or id (required)")
	req.Flags().StringVar(&reason, "reason", "", "why you need access (required)")
	req.Flags().StringVar(&duration, "duration", "", "how long: 30s, 30m, 1h, 1h30m (default: the flow's)")
	req.Flags().StringArrayVar(&fields, "field", nil, "another prompt field of the flow, NAME=VALUE (e.g. ticket=OPS-42); repeatable")
	req.Flags().StringVar(&forUser, "for", "", "request on behalf of this user (automation tokens, the admin bot's included, must name one; others may not)")
	req.Flags().BoolVar(&wait, "wait", false, "wait until the request is decided and print the outcome")
	req.Flags().DurationVar(&waitFor, "wait-timeout", 30*time.Minute, "how long --wait waits")
	_ = req.MarkFlagRequired("target")
	root.AddCommand(clientFlags(req, true))

	for _, verb := range []struct{ name, short, long string }{
		{"approve", "Approve a pending request (access is granted at once)",
			"Approve a pending request. The server grants access before it answers: the exit\ncode is 3 when the grant failed (the request is then errored)."},
		{"deny", "Deny a pending request", "Deny a pending request (an approver's answer)."},
		{"revoke", "End active access now", "End active access now: the requester, an approver or an admin."},
		{"withdraw", "Take back a pending request (the requester or an admin)",
			"Take back a pending request before anyone answers it: the requester or an\nadmin. Nothing was granted, so nothing is removed."},
	} {
		var message string
		verb := verb
		cmd := &cobra.Command{
			Use:     verb.name + " REQUEST_ID",
			Short:   verb.short,
			Long:    verb.long,
			Example: fmt.Sprintf("  sym %s 3f1c2a9e-...  -m \"reason\"", verb.name),
			Args:    exactArgs(1, "REQUEST_ID ('sym requests' lists them)"),
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
				if err := printRequest(cmd.OutOrStdout(), &r); err != nil {
					return err
				}
				if verb.name == "approve" && (r.State == "errored" || (r.State == "removing" && r.Error != "")) {
					return noAccess(&r)
				}
				return nil
			},
		}
		cmd.Flags().StringVarP(&message, "message", "m", "", "a message recorded with the step (shown in the request and its audit event)")
		root.AddCommand(clientFlags(cmd, true))
	}

	var state, user, before string
	list := &cobra.Command{
		Use:   "requests [REQUEST_ID]",
		Short: "List access requests, or show one",
		Example: `  sym requests --state pending
  sym requests 3f1c2a9e-...
  sym requests --before 3f1c2a9e-...   # the page after the one that ended with that request`,
		Args: optionalArg("REQUEST_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if state != "" && !model.State(state).Valid() {
				return usageError{fmt.Errorf("--state %q is not a state: use one of %s", state, strings.Join(model.StateNames(), ", "))}
			}
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
			if err := c.Do(ctx(), "GET", api.Query("/requests", "state", state, "user", user, "before", before), nil, &rs); err != nil {
				return err
			}
			if len(rs) >= store.MaxList {
				// On stderr: --json stays one JSON document.
				fmt.Fprintf(cmd.ErrOrStderr(), "showing %d requests, the most the server lists at once; there may be older ones: the next page is --before %s (or narrow the list with --state or --user)\n", len(rs), rs[len(rs)-1].ID)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			empty := "no requests"
			if state != "" {
				empty = "no " + state + " requests"
			}
			t := newTable(empty, "ID", "STATE", "REQUESTER", "TARGET", "DURATION", "CREATED")
			for _, r := range rs {
				t.row(r.ID, r.State, r.Requester, r.Target, humanDuration(r.Duration), r.CreatedAt.Local().Format(time.RFC3339))
			}
			return t.flush(cmd.OutOrStdout())
		},
	}
	list.Flags().StringVar(&state, "state", "", "only requests in this state ("+strings.Join(model.StateNames(), ", ")+")")
	list.Flags().StringVar(&user, "user", "", "only requests by this email")
	list.Flags().StringVar(&before, "before", "", "only requests older than this one (the last of the page before): the next page")
	root.AddCommand(clientFlags(list, true))

	var requestID string
	var limit, last int
	var all bool
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log: the newest 100 events, oldest of them first",
		Example: `  sym audit                    # the newest 100 events
  sym audit --last 20
  sym audit --request 3f1c2a9e-...
  sym audit --all              # from the start, up to --limit events`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case all && cmd.Flags().Changed("last"):
				return usageError{fmt.Errorf("--last and --all do not go together: --last N is the newest N events, --all --limit N the oldest N")}
			case !all && cmd.Flags().Changed("limit"):
				return usageError{fmt.Errorf("--limit goes with --all (the oldest events first); for the newest events use --last N")}
			case last < 1 || last > store.MaxList:
				return usageError{fmt.Errorf("--last must be from 1 to %d, not %d", store.MaxList, last)}
			case limit < 1 || limit > store.MaxList:
				return usageError{fmt.Errorf("--limit must be from 1 to %d, not %d", store.MaxList, limit)}
			}
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
			// The whole log is for admins and auditors; one request's
			// events are for whoever may read the request.
			path := "/events"
			if requestID != "" {
				path = "/requests/" + url.PathEscape(requestID) + "/events"
			}
			q := api.Query(path, "last", fmt.Sprint(last))
			if all {
				q = api.Query(path, "limit", fmt.Sprint(limit))
			}
			if err := c.Do(ctx(), "GET", q, nil, &evs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), evs)
			}
			t := newTable("no events", "TIME", "EVENT", "ACTOR", "REQUEST", "DETAILS")
			for _, e := range evs {
				var parts []string
				for _, k := range sortedKeys(e.Details) {
					parts = append(parts, k+"="+e.Details[k])
				}
				t.row(e.At.Local().Format("2006-01-02 15:04:05.000"), e.Type, e.Actor, e.RequestID, strings.Join(parts, " "))
			}
			return t.flush(cmd.OutOrStdout())
		},
	}
	audit.Flags().StringVar(&requestID, "request", "", "only the events of this request")
	audit.Flags().IntVar(&last, "last", 100, "the newest this many events (at most 500)")
	audit.Flags().BoolVar(&all, "all", false, "from the oldest event on (with --limit) instead of the newest --last")
	audit.Flags().IntVar(&limit, "limit", 500, "with --all: at most this many events (the server caps it at 500)")
	audit.AddCommand(newAuditVerifyCmd())
	root.AddCommand(clientFlags(audit, true))
}
