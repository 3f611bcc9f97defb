package slack

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opensym/sym/internal/model"
	slackgo "github.com/slack-go/slack"
)

// The notifier follows the audit log from a cursor kept in the database:
// every request, whichever way it was made (Slack, the web app, the API),
// is posted to its flow's request channel, its messages are updated in
// place as it moves, and the requester gets a direct message at each step.
// A step is posted at least once: a crash between a post and the cursor's
// write posts that step again (messages of a request are updated, not
// duplicated, since their channel and ts are stored).

const cursorName = "slack"

// maxAttempts bounds how often one event is tried before the notifier
// moves past it (a deleted channel must not stop every later message).
const maxAttempts = 5

// Start runs the notifier until Stop.
func (a *App) Start() {
	a.once.Do(func() {
		a.wg.Add(1)
		go a.loop()
	})
}

// Stop ends the notifier, after the clicks being decided; what it did not
// post yet is posted after the next start.
func (a *App) Stop() {
	select {
	case <-a.stop:
		return
	default:
	}
	close(a.stop)
	a.wg.Wait()
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	a.decisions.Wait()
}

// later runs fn after the HTTP answer, in its own goroutine that Stop
// waits for; once Stop has begun, at once.
func (a *App) later(fn func()) {
	a.mu.Lock()
	stopping := a.stopping
	if !stopping {
		a.decisions.Add(1)
	}
	a.mu.Unlock()
	if stopping {
		fn()
		return
	}
	go func() {
		defer a.decisions.Done()
		fn()
	}()
}

// Kick makes the notifier read the audit log now.
func (a *App) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *App) loop() {
	defer a.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		cancel()
	}()
	cursor, found, err := a.cfg.Store.EventCursor(ctx, cursorName)
	if err == nil && !found {
		// The first start posts what happens from now on, not the history.
		if cursor, err = a.cfg.Store.LastEventSeq(ctx); err == nil {
			err = a.cfg.Store.SetEventCursor(ctx, cursorName, cursor)
		}
	}
	if err != nil {
		a.cfg.Log.Error("slack notifier: read its cursor", "err", err)
	}
	failures := 0
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.kick:
		}
		if wss, err := a.workspaces(ctx); err == nil && len(wss) == 0 {
			// No workspace yet: keep up with the log, so that declaring one
			// later does not post the history.
			if last, err := a.cfg.Store.LastEventSeq(ctx); err == nil && last != cursor {
				cursor = last
				_ = a.cfg.Store.SetEventCursor(ctx, cursorName, cursor)
			}
			continue
		}
		for {
			evs, err := a.cfg.Store.Events(ctx, "", cursor, 200)
			if err != nil {
				a.cfg.Log.Error("slack notifier: read the audit log", "err", err)
				break
			}
			stuck := false
			for _, ev := range evs {
				if err := a.notify(ctx, ev); err != nil {
					failures++
					if failures < maxAttempts && ctx.Err() == nil {
						a.cfg.Log.Warn("slack notifier: will retry", "event", ev.Seq, "type", ev.Type, "request_id", ev.RequestID, "attempt", failures, "err", err)
						stuck = true
						break
					}
					a.cfg.Log.Error("slack notifier: giving up on an event", "event", ev.Seq, "type", ev.Type, "request_id", ev.RequestID, "err", err)
				}
				failures = 0
				cursor = ev.Seq
				if err := a.cfg.Store.SetEventCursor(ctx, cursorName, cursor); err != nil {
					a.cfg.Log.Error("slack notifier: save its cursor", "err", err)
				}
			}
			if stuck || len(evs) < 200 {
				break
			}
		}
	}
}

// notify posts what one audit event means for Slack.
func (a *App) notify(ctx context.Context, ev model.AuditEvent) error {
	if ev.RequestID == "" {
		return nil
	}
	req, err := a.cfg.Store.GetRequest(ctx, ev.RequestID)
	if err != nil {
		return fmt.Errorf("read request %s: %w", ev.RequestID, err)
	}
	ws, err := a.workspaceFor(ctx, req)
	if err != nil {
		return err
	}
	if ws == nil {
		return nil // no workspace is configured
	}
	vars, err := a.flowVars(ctx, req)
	if err != nil {
		return err
	}
	channel := strings.TrimSpace(vars["request_channel"])
	switch model.Event(ev.Type) {
	case model.Requested:
		if channel == "" {
			a.cfg.Log.Warn("slack: the flow has no vars.request_channel; the request is not posted", "flow", req.Flow, "request_id", req.ID)
			return a.dm(ctx, ws, req.Requester, fmt.Sprintf("Your request for *%s* is waiting for an approver, but flow %s names no Slack channel (vars.request_channel), so approvers are not told here.", req.Target, req.Flow))
		}
		if err := a.postRequest(ctx, ws, req, channel); err != nil {
			return err
		}
		return a.dm(ctx, ws, req.Requester, fmt.Sprintf("Your request for *%s* (%s) was posted to %s for approval.", req.Target, humanDuration(req.Duration), channelRef(channel)))
	}
	a.updateMessages(ctx, ws, req)
	text := dmText(ev, req)
	if text == "" {
		return nil
	}
	return a.dm(ctx, ws, req.Requester, text)
}

// dmText is what the requester is told about an event ("" for nothing).
func dmText(ev model.AuditEvent, req *model.Request) string {
	d := ev.Details
	msg := ""
	if m := d["message"]; m != "" {
		msg = fmt.Sprintf(": “%s”", m)
	}
	switch model.Event(ev.Type) {
	case model.Approve:
		return fmt.Sprintf("%s approved your request for *%s*%s. Granting access now.", ev.Actor, req.Target, msg)
	case model.Escalated:
		until := ""
		if req.Deadline != nil {
			until = " until " + req.Deadline.UTC().Format("15:04 UTC")
		}
		return fmt.Sprintf(":white_check_mark: You have access to *%s*%s.", req.Target, until)
	case model.Deny:
		return fmt.Sprintf("%s denied your request for *%s*%s.", ev.Actor, req.Target, msg)
	case model.Expire:
		return fmt.Sprintf("Your request for *%s* expired: nobody answered in time.", req.Target)
	case model.EscalateFailed:
		return fmt.Sprintf(":x: Access to *%s* could not be granted: %s", req.Target, d["error"])
	case model.Deescalated:
		if d["deescalate_type"] == "scheduled" {
			return fmt.Sprintf("Your access to *%s* ended at its deadline.", req.Target)
		}
		return fmt.Sprintf("Your access to *%s* was revoked by %s.", req.Target, ev.Actor)
	case model.DeescalateFailed:
		if d["attempt"] == "1" {
			return fmt.Sprintf(":warning: Removing your access to *%s* failed (%s); sym retries until it is removed.", req.Target, d["error"])
		}
	}
	return ""
}

func (a *App) flowVars(ctx context.Context, req *model.Request) (map[string]string, error) {
	flow, err := a.cfg.Store.GetEntity(ctx, "flows", req.FlowID)
	if err != nil {
		// The flow is gone: there is no channel to post to.
		return map[string]string{}, nil
	}
	out := map[string]string{}
	if m, ok := flow.Body["vars"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out, nil
}

// postRequest posts a request to a channel once; later calls update it.
func (a *App) postRequest(ctx context.Context, ws *workspace, req *model.Request, channel string) error {
	msgs, err := a.cfg.Store.SlackMessages(ctx, req.ID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Channel == channel {
			a.updateMessages(ctx, ws, req)
			return nil
		}
	}
	ch, ts, err := ws.api.PostMessageContext(ctx, channel, a.messageOptions(req)...)
	if err != nil {
		return fmt.Errorf("post request %s to %s: %w", req.ID, channel, err)
	}
	if ch == "" {
		ch = channel
	}
	return a.cfg.Store.SaveSlackMessage(ctx, req.ID, ch, ts)
}

// updateMessages redraws a request's messages with its current state.
func (a *App) updateMessages(ctx context.Context, ws *workspace, req *model.Request) {
	msgs, err := a.cfg.Store.SlackMessages(ctx, req.ID)
	if err != nil {
		a.cfg.Log.Error("slack: read the request's messages", "request_id", req.ID, "err", err)
		return
	}
	for _, m := range msgs {
		if _, _, _, err := ws.api.UpdateMessageContext(ctx, m.Channel, m.TS, a.messageOptions(req)...); err != nil {
			a.cfg.Log.Error("slack: update the request's message", "request_id", req.ID, "channel", m.Channel, "err", err)
		}
	}
}

// dm sends the requester a direct message.
func (a *App) dm(ctx context.Context, ws *workspace, email, text string) error {
	id, err := a.slackIDOf(ctx, ws, email)
	if err != nil {
		a.cfg.Log.Warn("slack: no direct message", "user", email, "reason", err.Error())
		return nil // a person without Slack is not an error
	}
	if _, _, err := ws.api.PostMessageContext(ctx, id, slackgo.MsgOptionText(text, true)); err != nil {
		return fmt.Errorf("direct message to %s: %w", email, err)
	}
	return nil
}

// messageOptions draws a request's channel message: who asks for what and
// why, where it stands, and Approve and Deny buttons while it is pending.
func (a *App) messageOptions(req *model.Request) []slackgo.MsgOption {
	head := fmt.Sprintf("*%s* requests *%s* (flow %s) for %s", esc(req.Requester), esc(req.Target), esc(req.Flow), humanDuration(req.Duration))
	if req.Reason != "" {
		head += "\n> " + strings.ReplaceAll(esc(req.Reason), "\n", "\n> ")
	}
	// The flow's other prompt fields (a ticket number, say), for the
	// approver to see what was asked.
	for _, name := range slices.Sorted(maps.Keys(req.Fields)) {
		head += "\n" + esc(name) + ": " + esc(req.Fields[name])
	}
	blocks := []slackgo.Block{slackgo.NewSectionBlock(markdown(head), nil, nil),
		slackgo.NewContextBlock("state", markdown(stateLine(req)))}
	var buttons []slackgo.BlockElement
	if req.State == model.Pending {
		approve := slackgo.NewButtonBlockElement(actionApprove, req.ID, plain("Approve"))
		approve.Style = slackgo.StylePrimary
		deny := slackgo.NewButtonBlockElement(actionDeny, req.ID, plain("Deny"))
		deny.Style = slackgo.StyleDanger
		buttons = append(buttons, approve, deny)
	}
	if a.cfg.PublicURL != "" {
		open := slackgo.NewButtonBlockElement("sym_open", req.ID, plain("Open in sym"))
		open.URL = strings.TrimRight(a.cfg.PublicURL, "/") + "/requests/" + req.ID
		buttons = append(buttons, open)
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slackgo.NewActionBlock("decide", buttons...))
	}
	fallback := fmt.Sprintf("%s requests %s for %s: %s", req.Requester, req.Target, humanDuration(req.Duration), req.State)
	return []slackgo.MsgOption{slackgo.MsgOptionText(fallback, true), slackgo.MsgOptionBlocks(blocks...)}
}

func stateLine(req *model.Request) string {
	switch req.State {
	case model.Pending:
		return ":hourglass: Waiting for an approver"
	case model.Approved:
		return fmt.Sprintf(":gear: Approved by %s; granting access", esc(req.Approver))
	case model.Active:
		until := ""
		if req.Deadline != nil {
			until = ", until " + req.Deadline.UTC().Format("15:04 UTC")
		}
		return fmt.Sprintf(":white_check_mark: Approved by %s; access active%s", esc(req.Approver), until)
	case model.Ended:
		if req.DeescalateType == "revoke" {
			return ":lock: Access revoked"
		}
		return ":lock: Access ended at its deadline"
	case model.Denied:
		return fmt.Sprintf(":no_entry: Denied by %s", esc(req.Approver))
	case model.Expired:
		return ":zzz: Expired: nobody answered in time"
	case model.Errored:
		return ":x: The grant failed: " + esc(req.Error)
	case model.Withdrawn:
		return ":leftwards_arrow_with_hook: Withdrawn by the requester"
	}
	return string(req.State)
}

func channelRef(ch string) string {
	if strings.HasPrefix(ch, "#") || strings.HasPrefix(ch, "C") || strings.HasPrefix(ch, "G") {
		return ch
	}
	return "#" + ch
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return d.String()
}
